//! Shared logic of the retry family: finding retry constructs and what they
//! retry, and telling operations that are safe to repeat from those that
//! are not.

use crate::utils::listed;
use faultline_ir::{BinOp, FuncId, FuncKind, Kind, Language, LoopKind, Module, NodeId, Span};
use foldhash::{HashMap, HashMapExt, HashSet};

use crate::Context;
use crate::external_call::helpers::{external_call, http_method};
use crate::models::{ArgSpec, ConditionSpec, EffectKind, EffectModel, RetryModel};
use crate::utils::sql::{self, SqlKind};
use crate::utils::{
    args, call_name, callee, collect, literal_text, receiver, segs, strip, strip_await, text,
};

/// Which requests a retrying client or session repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientId {
    /// Requests whose path goes through this construction call.
    Call(NodeId),
    /// Requests of a module-level default client (`axios.post`).
    Root(String),
}

/// What a retry construct runs again.
#[derive(Clone, Debug)]
pub enum Region {
    /// Everything under these nodes (loop and `try` bodies, callables).
    Roots(Vec<NodeId>),
    /// Everything under these nodes that starts before this offset (a task
    /// re-run by `self.retry()` repeats what came before the call).
    Before(Vec<NodeId>, u32),
    /// The POST/PATCH requests sent through a client.
    Client(ClientId),
    /// An operation passed by reference (`with_retries(stripe.Charge.create, ..)`):
    /// the wrapper call and the reference.
    Reference(NodeId, NodeId),
}

/// A retry construct that repeats something on any failure.
#[derive(Clone, Debug)]
pub struct Construct {
    /// How messages name it (already in backticks where it is code).
    pub label: String,
    /// Where it is (the related location).
    pub span: Span,
    /// A second related location (the loop inside a retry helper).
    pub inner: Option<(Span, String)>,
    /// What it runs again.
    pub region: Region,
    /// Whether it retries only failures to connect (safe to repeat anything).
    pub connection_only: bool,
}

/// A non-idempotent operation found in a retried region.
#[derive(Clone, Debug)]
pub struct Effect {
    /// The call inside the region (where the finding points).
    pub call: NodeId,
    /// The operation's own call, when it is inside a same-file helper.
    pub inner: Option<NodeId>,
    /// What it does.
    pub kind: EffectKind,
    /// What it does, for messages.
    pub what: String,
    /// How to make it safe, for messages.
    pub fix: String,
}

/// Whether the text names an idempotency key (`Idempotency-Key`,
/// `idempotency_key=`, `idempotencyKey`, `RequestStrategy::Idempotent`).
fn names_idempotency(t: &str) -> bool {
    t.to_ascii_lowercase().contains("idempoten")
}

/// Whether anything under `root` (entering callables) names an idempotency
/// key: a string, an identifier, a keyword argument or an object key.
pub fn mentions_idempotency(m: &Module, root: NodeId) -> bool {
    let mut nodes = Vec::new();
    collect(m, root, true, &mut nodes);
    nodes.into_iter().any(|n| match m.kind(n) {
        Kind::Str(s) => names_idempotency(s),
        Kind::Name(s) => names_idempotency(s),
        Kind::Attr { name, .. } => names_idempotency(name),
        Kind::Call { args, .. } | Kind::New { args, .. } => args
            .iter()
            .any(|a| a.name.as_deref().is_some_and(names_idempotency)),
        Kind::Object { entries, .. } => entries
            .iter()
            .any(|e| e.key.as_deref().is_some_and(names_idempotency)),
        _ => false,
    })
}

/// Whether an operation carries an idempotency key: in its arguments, in a
/// step of its builder chain, or anywhere in the function that sends it.
pub fn carries_idempotency_key(m: &Module, call: NodeId) -> bool {
    if mentions_idempotency(m, call) {
        return true;
    }
    if segs(m, call)
        .iter()
        .filter_map(|s| s.call)
        .any(|c| mentions_idempotency(m, c))
    {
        return true;
    }
    // `headers=headers` / `{ headers }` built earlier in the function.
    let mut values: Vec<NodeId> = args(m, call).iter().map(|a| a.value).collect();
    for a in args(m, call) {
        if let Kind::Object { entries, .. } = m.kind(a.value) {
            values.extend(entries.iter().map(|e| e.value));
        }
    }
    if values.into_iter().any(|v| {
        let r = resolve_local(m, v);
        r != v && mentions_idempotency(m, r)
    }) {
        return true;
    }
    // The function that sends it sets one up (`session.headers.update(..)`).
    let func = m.function(m.owner(call));
    func.kind != FuncKind::Module
        && func.kind != FuncKind::Lambda
        && mentions_idempotency(m, func.body)
}

/// Whether a statement is not safe to repeat: an `INSERT` that is not an
/// upsert, or an `UPDATE` that adds to a column.
fn sql_repeats_badly(sql_text: &str) -> bool {
    match sql::analyze(sql_text) {
        Some(f) => match f.kind {
            SqlKind::Insert => !f.upsert,
            SqlKind::Update => !f.relative_sets.is_empty(),
            _ => false,
        },
        None => false,
    }
}

/// The SQL of a call: at `at` of the call, else at the first argument of an
/// earlier step of its chain (`sqlx::query("..").bind(x).execute(..)`).
fn call_sql(m: &Module, call: NodeId, at: usize) -> Option<String> {
    let own = args(m, call)
        .iter()
        .filter(|a| a.name.is_none())
        .nth(at)
        .and_then(|a| literal_text(m, a.value));
    if own.is_some() {
        return own;
    }
    segs(m, call)
        .iter()
        .filter_map(|s| s.call)
        .filter(|c| *c != call)
        .find_map(|c| args(m, c).first().and_then(|a| literal_text(m, a.value)))
}

/// Whether a call names the row it writes (`pk=`, `{ id }`), so a repeat
/// fails instead of duplicating.
fn names_unique_key(m: &Module, call: NodeId, keys: &[String]) -> bool {
    if keys.is_empty() {
        return false;
    }
    args(m, call).iter().any(|a| {
        a.name.as_deref().is_some_and(|n| keys.iter().any(|k| k == n))
            || match m.kind(a.value) {
                Kind::Object { entries, .. } => entries.iter().any(|e| {
                    e.key.as_deref().is_some_and(|k| keys.iter().any(|u| u == k))
                        || matches!(m.kind(e.value), Kind::Object { entries: inner, .. }
                            if inner.iter().any(|x| x.key.as_deref().is_some_and(|k| keys.iter().any(|u| u == k))))
                }),
                _ => false,
            }
    })
}

fn effect_from_model(model: &EffectModel) -> (EffectKind, String, String) {
    (model.effect, model.what.clone(), model.fix.clone())
}

/// Whether a request method is one that is not safe to repeat.
fn unsafe_method(method: &str) -> bool {
    matches!(method, "post" | "patch")
}

/// The non-idempotent operation a call performs itself, if any.
pub fn direct_effect(cx: &Context<'_>, call: NodeId) -> Option<Effect> {
    let m = cx.module;
    if !matches!(m.kind(call), Kind::Call { .. } | Kind::New { .. }) {
        return None;
    }
    let s = segs(m, call);
    if s.last().and_then(|x| x.call) != Some(call) {
        return None;
    }
    let (kind, what, fix) = if let Some(model) = cx.models().effect(m.language, s) {
        if s.iter().any(|seg| listed(&model.safe_steps, &seg.name)) {
            return None;
        }
        if let Some(at) = model.sql_at {
            let sql_text = call_sql(m, call, at)?;
            if !sql_repeats_badly(&sql_text) {
                return None;
            }
        }
        if names_unique_key(m, call, &model.unique_keys) {
            return None;
        }
        if model.effect == EffectKind::Http
            && !http_method(m, call).is_some_and(|x| unsafe_method(&x))
        {
            return None;
        }
        effect_from_model(model)
    } else {
        let hit = external_call(cx, call)?;
        if hit.model.kind != crate::models::CallKind::Http
            || !http_method(m, call).is_some_and(|x| unsafe_method(&x))
        {
            return None;
        }
        (
            EffectKind::Http,
            "sends a request".to_string(),
            "send one (the same key on every attempt), or retry only connection errors".to_string(),
        )
    };
    if carries_idempotency_key(m, call) {
        return None;
    }
    Some(Effect {
        call,
        inner: None,
        kind,
        what,
        fix,
    })
}

/// Same-file functions by name.
pub struct Functions {
    by_name: HashMap<String, Vec<FuncId>>,
}

impl Functions {
    /// Indexes the named functions and methods of a module.
    pub fn new(m: &Module) -> Functions {
        let mut by_name: HashMap<String, Vec<FuncId>> = HashMap::new();
        for (i, f) in m.functions.iter().enumerate() {
            if matches!(f.kind, FuncKind::Function | FuncKind::Method) {
                by_name
                    .entry(f.name.clone())
                    .or_default()
                    .push(FuncId(i as u32));
            }
        }
        Functions { by_name }
    }

    /// The same-file function a callee expression names: `f`, `self.f`,
    /// `this.f`, `Self::f`.
    pub fn named_by(&self, m: &Module, callee_expr: NodeId) -> Option<FuncId> {
        let name = match m.kind(callee_expr) {
            Kind::Name(n) => n.as_str(),
            Kind::Attr { object, name } => match m.kind(*object) {
                Kind::Name(o) if matches!(o.as_str(), "self" | "this" | "cls" | "Self") => {
                    name.as_str()
                }
                _ => return None,
            },
            _ => return None,
        };
        let ids = self.by_name.get(name)?;
        // A method reached through `self`/`this` or a free function.
        let want_method = matches!(m.kind(callee_expr), Kind::Attr { .. });
        ids.iter()
            .copied()
            .find(|f| (m.function(*f).kind == FuncKind::Method) == want_method)
            .or_else(|| ids.first().copied())
    }
}

/// The non-idempotent operation a call performs, itself or inside a
/// same-file function it calls (up to `depth` levels down).
pub fn effect_of(cx: &Context<'_>, fns: &Functions, call: NodeId, depth: usize) -> Option<Effect> {
    if let Some(e) = direct_effect(cx, call) {
        return Some(e);
    }
    if depth == 0 {
        return None;
    }
    let m = cx.module;
    let f = fns.named_by(m, callee(m, call)?)?;
    if m.owner(call) == f {
        return None;
    }
    let mut nodes = Vec::new();
    collect(m, m.function(f).body, false, &mut nodes);
    nodes.into_iter().find_map(|n| {
        effect_of(cx, fns, n, depth - 1).map(|e| Effect {
            call,
            inner: Some(e.inner.unwrap_or(e.call)),
            ..e
        })
    })
}

/// Follows a name to the value last assigned to it in the same function or
/// at module level (`RETRYABLE = (ConnectionError,)`, `const op = () => ..`).
pub fn resolve_local(m: &Module, id: NodeId) -> NodeId {
    let Kind::Name(n) = m.kind(id) else {
        return id;
    };
    let mut f = Some(m.owner(id));
    while let Some(fid) = f {
        let mut nodes = Vec::new();
        collect(m, m.function(fid).body, false, &mut nodes);
        let own = fid == m.owner(id);
        let found = nodes.into_iter().rev().find_map(|x| match m.kind(x) {
            Kind::Assign {
                targets,
                value: Some(v),
                op: None,
                ..
            } if targets.len() == 1
                && matches!(m.kind(targets[0]), Kind::Name(t) if t == n)
                && (!own || m.node(x).span.start < m.node(id).span.start) =>
            {
                Some(*v)
            }
            _ => None,
        });
        if let Some(v) = found {
            return v;
        }
        f = m.function(fid).parent;
    }
    id
}

/// Where an option is given at a call: a keyword argument, a positional
/// argument or a key of an options object (possibly nested).
pub fn find_arg(m: &Module, call: NodeId, spec: &ArgSpec) -> Option<NodeId> {
    let a = args(m, call);
    if let Some(v) = a.iter().find(|x| {
        x.name
            .as_deref()
            .is_some_and(|n| spec.kwarg.iter().any(|k| k == n))
    }) {
        return Some(v.value);
    }
    let positional: Vec<_> = a.iter().filter(|x| x.name.is_none()).collect();
    for &p in &spec.position {
        if let Some(x) = positional.get(p) {
            return Some(x.value);
        }
    }
    for &p in &spec.options_at {
        let Some(x) = positional.get(p) else { continue };
        let mut obj = resolve_local(m, x.value);
        if let Some(nest) = &spec.nested_in {
            obj = resolve_local(m, entry(m, obj, nest)?);
        }
        if let Some(v) = spec.kwarg.iter().find_map(|k| entry(m, obj, k)) {
            return Some(v);
        }
    }
    None
}

fn entry(m: &Module, obj: NodeId, key: &str) -> Option<NodeId> {
    match m.kind(obj) {
        Kind::Object { entries, .. } => entries
            .iter()
            .find(|e| e.key.as_deref() == Some(key))
            .map(|e| e.value),
        _ => None,
    }
}

/// A value that turns an option off: `0`, `False`, `None`, `()`.
fn is_off(m: &Module, v: NodeId) -> bool {
    match m.kind(v) {
        Kind::Num(n) => n.trim() == "0",
        Kind::Bool(b) => !b,
        Kind::Null => true,
        Kind::Array(items) => items.is_empty(),
        Kind::Name(n) => n == "None",
        _ => false,
    }
}

/// The value of a keyword argument or (nested) option key anywhere in a
/// call's arguments.
fn option_anywhere(m: &Module, call: NodeId, key: &str) -> Option<NodeId> {
    for a in args(m, call) {
        if a.name.as_deref() == Some(key) {
            return Some(a.value);
        }
        let mut stack = vec![resolve_local(m, a.value)];
        while let Some(v) = stack.pop() {
            if let Kind::Object { entries, .. } = m.kind(v) {
                for e in entries {
                    if e.key.as_deref() == Some(key) {
                        return Some(e.value);
                    }
                    stack.push(e.value);
                }
            }
        }
    }
    None
}

/// Whether a construct's options turn retrying on (`enabled_by`, not
/// `0`/`1`/`None`) and none turns it off (`off_if_zero`).
pub fn enabled(m: &Module, call: NodeId, model: &RetryModel) -> bool {
    if model
        .off_if_zero
        .iter()
        .any(|k| option_anywhere(m, call, k).is_some_and(|v| is_off(m, v)))
    {
        return false;
    }
    model.enabled_by.is_empty()
        || model.enabled_by.iter().any(|k| {
            option_anywhere(m, call, k).is_some_and(|v| {
                !is_off(m, v) && !matches!(m.kind(v), Kind::Num(n) if n.trim() == "1")
            })
        })
}

fn path_text(m: &Module, id: NodeId) -> String {
    segs(m, id)
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether a retry condition limits retries to failed connections (or to
/// requests that are safe to repeat).
pub fn condition_safe(
    cx: &Context<'_>,
    fns: &Functions,
    spec: &ConditionSpec,
    call: NodeId,
) -> bool {
    let m = cx.module;
    match find_arg(m, call, &spec.at()) {
        None => spec.safe_when_absent,
        Some(v) => value_safe(cx, fns, spec, v, 0),
    }
}

fn value_safe(
    cx: &Context<'_>,
    fns: &Functions,
    spec: &ConditionSpec,
    v: NodeId,
    depth: usize,
) -> bool {
    let m = cx.module;
    if depth > 4 {
        return false;
    }
    let v = resolve_local(m, v);
    match m.kind(v) {
        Kind::Array(items) => {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| value_safe(cx, fns, spec, *i, depth + 1))
        }
        Kind::Binary {
            op: BinOp::Or | BinOp::Other,
            lhs,
            rhs,
        } => {
            value_safe(cx, fns, spec, *lhs, depth + 1) && value_safe(cx, fns, spec, *rhs, depth + 1)
        }
        Kind::Call { .. } => {
            let s = segs(m, v);
            if cx
                .models()
                .retry_predicate(m.language, &spec.exception_predicates, s)
            {
                let a = args(m, v);
                !a.is_empty()
                    && a.iter()
                        .filter(|x| x.name.is_none())
                        .all(|x| value_safe(cx, fns, spec, x.value, depth + 1))
            } else {
                false
            }
        }
        Kind::Name(_) | Kind::Attr { .. } => {
            let s = segs(m, v);
            if !s.is_empty()
                && (cx.models().is_connection_error(m.language, s)
                    || spec.safe.iter().any(|p| *p == path_text(m, v)))
            {
                return true;
            }
            match fns.named_by(m, v) {
                Some(f) => body_limits_retries(cx, spec, m.function(f).body),
                None => false,
            }
        }
        Kind::Lambda(f) => body_limits_retries(cx, spec, m.function(*f).body),
        _ => false,
    }
}

/// Whether a predicate's body limits retries: it tests for a connection
/// error, calls a safe predicate, or reads the request method.
fn body_limits_retries(cx: &Context<'_>, spec: &ConditionSpec, body: NodeId) -> bool {
    let m = cx.module;
    let mut nodes = Vec::new();
    collect(m, body, true, &mut nodes);
    nodes.into_iter().any(|n| match m.kind(n) {
        Kind::Name(_) | Kind::Attr { .. } => {
            let s = segs(m, n);
            (!s.is_empty() && cx.models().is_connection_error(m.language, s))
                || spec.safe.iter().any(|p| *p == path_text(m, n))
                || matches!(m.kind(n), Kind::Attr { name, .. } if name == "method")
        }
        Kind::Str(s) => cx.models().is_connection_check(m.language, s),
        _ => false,
    })
}

/// The methods a retry policy or client repeats; `None` for all of them.
pub fn retried_methods(m: &Module, model: &RetryModel, call: NodeId) -> Option<Vec<String>> {
    let spec = model.methods.as_ref()?;
    let Some(v) = find_arg(m, call, &spec.at()) else {
        return Some(spec.default.clone());
    };
    let v = resolve_local(m, v);
    let all = |t: &str| spec.all_values.iter().any(|x| x == t);
    match m.kind(v) {
        Kind::Null => None,
        Kind::Bool(false) if all("False") => None,
        Kind::Name(n) if all(n) => None,
        Kind::Array(items) => Some(
            items
                .iter()
                .filter_map(|i| match m.kind(*i) {
                    Kind::Str(s) => Some(s.to_ascii_uppercase()),
                    _ => None,
                })
                .collect(),
        ),
        _ => Some(spec.default.clone()),
    }
}

/// Whether a method list includes POST or PATCH.
pub fn retries_writes(methods: &Option<Vec<String>>) -> bool {
    methods
        .as_ref()
        .is_none_or(|ms| ms.iter().any(|x| x == "POST" || x == "PATCH"))
}

/// Whether a policy's options leave only connection retries (urllib3's
/// `Retry(read=0)` without a `status_forcelist`, or `total=0`).
pub fn policy_connection_only(m: &Module, model: &RetryModel, call: NodeId) -> bool {
    if model
        .off_if_zero
        .iter()
        .any(|k| option_anywhere(m, call, k).is_some_and(|v| is_off(m, v)))
    {
        return true;
    }
    !model.connection_only_if_zero.is_empty()
        && model
            .connection_only_if_zero
            .iter()
            .all(|k| option_anywhere(m, call, k).is_some_and(|v| is_off(m, v)))
        && model
            .status_retry_by
            .iter()
            .all(|k| option_anywhere(m, call, k).is_none_or(|v| is_off(m, v)))
}

/// The call a value stands for: the call itself, or the construction a
/// variable was bound to.
pub fn resolve_call(m: &Module, v: NodeId) -> Option<NodeId> {
    let v = strip(m, v);
    match m.kind(v) {
        Kind::Call { .. } | Kind::New { .. } => Some(v),
        Kind::Name(_) | Kind::Attr { .. } => {
            let c = segs(m, v).last()?.call?;
            Some(c)
        }
        _ => None,
    }
}

/// The client a value stands for: the last construction in its path, or a
/// module's default client.
pub fn client_of(m: &Module, v: NodeId) -> Option<ClientId> {
    let s = segs(m, strip(m, v));
    if let Some(c) = s.iter().rev().find_map(|x| x.call) {
        return Some(ClientId::Call(c));
    }
    match s {
        [only] => Some(ClientId::Root(only.name.to_string())),
        _ => None,
    }
}

/// Whether a call is sent through a client.
pub fn through_client(m: &Module, call: NodeId, client: &ClientId) -> bool {
    let s = segs(m, call);
    match client {
        ClientId::Call(c) => s.iter().any(|x| x.call == Some(*c)),
        ClientId::Root(r) => {
            s.first().is_some_and(|x| x.name == *r && x.call.is_none())
                && s.iter().filter(|x| x.called).count() == 1
        }
    }
}

/// The code a region of a callable covers: a lambda's body, a local
/// closure's, a same-file function's; `functools.partial(f, ..)` is `f`.
pub fn callable_roots(m: &Module, fns: &Functions, v: NodeId) -> Option<Vec<NodeId>> {
    let v = strip_await(m, v);
    match m.kind(v) {
        Kind::Lambda(f) => Some(vec![m.function(*f).body]),
        Kind::Name(_) | Kind::Attr { .. } => {
            let r = resolve_local(m, v);
            if r != v {
                if let Kind::Lambda(f) = m.kind(r) {
                    return Some(vec![m.function(*f).body]);
                }
            }
            fns.named_by(m, v).map(|f| vec![m.function(f).body])
        }
        Kind::Call { .. } if call_name(m, v) == Some("partial") => {
            let first = args(m, v).first()?;
            callable_roots(m, fns, first.value)
        }
        _ => None,
    }
}

/// The retried operation passed by reference (`with_retries(requests.post, url)`):
/// its model, read as if it were called.
pub fn reference_effect(cx: &Context<'_>, wrapper: NodeId, reference: NodeId) -> Option<Effect> {
    let m = cx.module;
    let mut s = segs(m, reference).to_vec();
    let last = s.last_mut()?;
    if last.called {
        return None;
    }
    last.called = true;
    let (kind, what, fix) = if let Some(model) = cx.models().effect(m.language, &s) {
        if model.sql_at.is_some() || model.effect == EffectKind::Http {
            return None;
        }
        effect_from_model(model)
    } else {
        let hit = cx.models().call(m.language, &s)?;
        let method = s.last().map(|x| x.name.to_ascii_lowercase())?;
        if hit.model.kind != crate::models::CallKind::Http || !unsafe_method(&method) {
            return None;
        }
        (
            EffectKind::Http,
            "sends a request".to_string(),
            "send one (the same key on every attempt), or retry only connection errors".to_string(),
        )
    };
    if carries_idempotency_key(m, wrapper) {
        return None;
    }
    Some(Effect {
        call: wrapper,
        inner: Some(reference),
        kind,
        what,
        fix,
    })
}

/// Whether a statement always leaves the loop or function (`return`,
/// `raise`, `break`), looking at the last statement of blocks.
fn always_exits(m: &Module, id: NodeId) -> bool {
    match m.kind(id) {
        Kind::Return(_) | Kind::Throw(_) | Kind::Break => true,
        Kind::Block(v) => v.last().is_some_and(|l| always_exits(m, *l)),
        Kind::ExprStmt { expr, .. } => always_exits(m, *expr),
        Kind::If {
            then, els: Some(e), ..
        } => always_exits(m, *then) && always_exits(m, *e),
        _ => false,
    }
}

/// Whether a statement leaves the loop on success: ends in `return`/`break`.
fn exits_on_success(m: &Module, id: NodeId) -> bool {
    match m.kind(id) {
        Kind::Return(_) | Kind::Break => true,
        Kind::Block(v) => v.last().is_some_and(|l| exits_on_success(m, *l)),
        Kind::ExprStmt { expr, .. } => exits_on_success(m, *expr),
        _ => false,
    }
}

/// Whether anything under `id` (not entering nested loops or functions)
/// leaves the loop: `return` or `break`.
fn contains_exit(m: &Module, id: NodeId) -> bool {
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        match m.kind(n) {
            Kind::Return(_) | Kind::Break => return true,
            Kind::Loop { .. } if n != id => {}
            _ => stack.extend(m.children(n)),
        }
    }
    false
}

/// The nodes under a loop body that belong to this loop (not to a nested
/// loop).
fn loop_nodes(m: &Module, body: NodeId) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(n) = stack.pop() {
        out.push(n);
        if !matches!(m.kind(n), Kind::Loop { .. }) {
            stack.extend(m.children(n));
        }
    }
    out
}

/// Whether a loop runs a bounded or open-ended number of attempts rather
/// than walking a collection: `while`, `loop`, `for i in range(n)`,
/// `for _ in 0..n`, a C-style `for`.
fn attempt_loop(m: &Module, kind: LoopKind, iter: Option<NodeId>) -> bool {
    match kind {
        LoopKind::While => iter.is_none_or(|c| !matches!(m.kind(c), Kind::Let { .. })),
        LoopKind::Infinite | LoopKind::DoWhile | LoopKind::ForClassic => true,
        LoopKind::ForEach => iter.is_some_and(|i| match m.kind(i) {
            Kind::Call { .. } => call_name(m, i) == Some("range"),
            // Rust `0..n`, `1..=n`.
            Kind::Binary {
                op: BinOp::Other, ..
            } => m.language == Language::Rust,
            _ => false,
        }),
    }
}

fn pattern_is(m: &Module, pat: Option<NodeId>, names: &[&str]) -> bool {
    pat.is_some_and(|p| match m.kind(p) {
        Kind::Call { .. } => call_name(m, p).is_some_and(|n| names.contains(&n)),
        Kind::Name(n) => names.contains(&n.as_str()),
        _ => false,
    })
}

/// Whether a guard or handler tests the error for a failed connection.
fn tests_connection(cx: &Context<'_>, id: NodeId) -> bool {
    let m = cx.module;
    let mut nodes = Vec::new();
    collect(m, id, false, &mut nodes);
    nodes.into_iter().any(|n| match m.kind(n) {
        Kind::Call { .. } => {
            call_name(m, n).is_some_and(|c| cx.models().is_connection_check(m.language, c))
        }
        _ => false,
    })
}

/// A hand-written retry loop: the body catches the failure of an attempt
/// and goes round again, and leaves the loop when the attempt succeeds.
/// Returns the attempted code and whether only failed connections are
/// retried.
pub fn retry_loop(cx: &Context<'_>, id: NodeId) -> Option<(Vec<NodeId>, bool)> {
    let m = cx.module;
    let Kind::Loop {
        kind, iter, body, ..
    } = m.kind(id)
    else {
        return None;
    };
    if !attempt_loop(m, *kind, *iter) {
        return None;
    }
    let nodes = loop_nodes(m, *body);
    let mut roots = Vec::new();
    let mut all_connection = true;
    for n in &nodes {
        match m.kind(*n) {
            Kind::Try {
                body: tb,
                handlers,
                orelse,
                ..
            } => {
                let retrying: Vec<_> = handlers
                    .iter()
                    .filter(|h| !always_exits(m, h.body))
                    .collect();
                if retrying.is_empty() {
                    continue;
                }
                let next_exits = m
                    .parent(*n)
                    .and_then(|p| match m.kind(p) {
                        Kind::Block(v) => v
                            .iter()
                            .position(|x| x == n)
                            .and_then(|i| v.get(i + 1))
                            .copied(),
                        _ => None,
                    })
                    .is_some_and(|next| exits_on_success(m, next));
                let success_exit = exits_on_success(m, *tb)
                    || orelse.is_some_and(|o| contains_exit(m, o))
                    || next_exits;
                if !success_exit {
                    continue;
                }
                let connection = retrying.iter().all(|h| {
                    !h.types.is_empty() && h.types.iter().all(|t| handler_types_connection(cx, *t))
                });
                all_connection &= connection;
                roots.push(*tb);
            }
            Kind::Match { subject, arms } if m.language == Language::Rust => {
                let ok_exits = arms
                    .iter()
                    .any(|a| pattern_is(m, a.pattern, &["Ok", "Some"]) && contains_exit(m, a.body));
                let retrying: Vec<_> = arms
                    .iter()
                    .filter(|a| {
                        pattern_is(m, a.pattern, &["Err", "_", "None"]) && !always_exits(m, a.body)
                    })
                    .collect();
                if !ok_exits || retrying.is_empty() {
                    continue;
                }
                all_connection &= retrying
                    .iter()
                    .all(|a| a.guard.is_some_and(|g| tests_connection(cx, g)));
                roots.push(*subject);
            }
            Kind::If { cond, then, els } if m.language == Language::Rust => {
                let Kind::Let { pattern, value } = m.kind(*cond) else {
                    continue;
                };
                let is_ok = pattern_is(m, Some(*pattern), &["Ok", "Some"]);
                let is_err = pattern_is(m, Some(*pattern), &["Err"]);
                let retry =
                    (is_ok && contains_exit(m, *then) && els.is_none_or(|e| !always_exits(m, e)))
                        || (is_err
                            && !always_exits(m, *then)
                            && els.is_some_and(|e| contains_exit(m, e)));
                if !retry {
                    continue;
                }
                all_connection = false;
                roots.push(*value);
            }
            _ => {}
        }
    }
    if roots.is_empty() && status_retry(m, &nodes, *body) {
        return Some((vec![*body], false));
    }
    if roots.is_empty() {
        None
    } else {
        Some((roots, all_connection))
    }
}

/// Fields and methods that give a response's status, and methods that test
/// it. A status test of a response made in the loop decides whether the
/// loop goes round again.
const STATUS_FIELDS: &[&str] = &["status_code", "status", "statusCode"];
const SUCCESS_TESTS: &[&str] = &["ok", "is_success"];
const FAILURE_TESTS: &[&str] = &["is_server_error", "is_client_error"];

/// A loop that retries on the response status rather than on an error:
/// the response of a call made in the loop is tested, a failing status goes
/// round again (`continue`, or falling through) and a good one leaves the
/// loop (`return`/`break`).
fn status_retry(m: &Module, nodes: &[NodeId], body: NodeId) -> bool {
    let mut bound = HashSet::default();
    for n in nodes {
        if let Kind::Assign {
            targets,
            value: Some(v),
            ..
        } = m.kind(*n)
        {
            let mut call = false;
            m.walk(*v, &mut |x| call |= matches!(m.kind(x), Kind::Call { .. }));
            if call {
                for t in targets {
                    if let Kind::Name(x) = m.kind(*t) {
                        bound.insert(x.to_string());
                    }
                }
            }
        }
    }
    if bound.is_empty() || !contains_exit(m, body) {
        return false;
    }
    let top: Vec<NodeId> = match m.kind(body) {
        Kind::Block(v) => v.clone(),
        _ => vec![body],
    };
    for n in nodes {
        let Kind::If { cond, then, els } = m.kind(*n) else {
            continue;
        };
        let Some(success) = status_polarity(m, *cond, &bound) else {
            continue;
        };
        let (on_success, on_failure) = if success {
            (Some(*then), *els)
        } else {
            (*els, Some(*then))
        };
        if on_failure.is_some_and(|f| has_continue(m, f) && !always_throws(m, f)) {
            return true;
        }
        // `if ok: return r` directly in the loop, and nothing after it
        // that always leaves the loop: a failure goes round again.
        let Some(pos) = top
            .iter()
            .position(|x| x == n || m.node(*x).span == m.node(*n).span)
        else {
            continue;
        };
        if on_success.is_some_and(|s| contains_exit(m, s))
            && on_failure.is_none_or(|f| !always_exits(m, f))
            && !top.iter().skip(pos + 1).any(|x| always_exits(m, *x))
        {
            return true;
        }
    }
    false
}

fn always_throws(m: &Module, id: NodeId) -> bool {
    match m.kind(id) {
        Kind::Throw(_) => true,
        Kind::Block(v) => v.last().is_some_and(|l| always_throws(m, *l)),
        Kind::ExprStmt { expr, .. } => always_throws(m, *expr),
        _ => false,
    }
}

/// Whether `continue` (of this loop) is under a node.
fn has_continue(m: &Module, id: NodeId) -> bool {
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        match m.kind(n) {
            Kind::Continue => return true,
            Kind::Loop { .. } => {}
            _ => stack.extend(m.children(n)),
        }
    }
    false
}

/// Whether a condition tests a response's status for success (`Some(true)`:
/// `r.ok`, `status == 200`, `status < 500`, `is_success()`) or failure
/// (`Some(false)`: `not r.ok`, `status >= 500`, `status in (502, 503)`).
fn status_polarity(m: &Module, cond: NodeId, bound: &HashSet<String>) -> Option<bool> {
    let rooted = |e: NodeId| {
        let mut cur = e;
        for _ in 0..8 {
            match m.kind(cur) {
                Kind::Name(n) => return bound.contains(n.as_str()),
                Kind::Attr { object, .. } => cur = *object,
                Kind::Call { .. } => match receiver(m, cur) {
                    Some(r) => cur = r,
                    None => return false,
                },
                Kind::Await(x) | Kind::Question(x) => cur = *x,
                _ => return false,
            }
        }
        false
    };
    let is_status = |e: NodeId| {
        let e = strip(m, e);
        let named = match m.kind(e) {
            Kind::Attr { name, .. } => STATUS_FIELDS.contains(&name.as_str()),
            Kind::Call { .. } => {
                let mut cur = e;
                // `resp.status().as_u16()`
                if call_name(m, cur) == Some("as_u16")
                    && let Some(r) = receiver(m, cur)
                {
                    cur = strip(m, r);
                }
                call_name(m, cur).is_some_and(|c| STATUS_FIELDS.contains(&c))
            }
            _ => false,
        };
        named && rooted(e)
    };
    let num = |e: NodeId| match m.kind(strip(m, e)) {
        Kind::Num(s) => s.replace('_', "").parse::<u32>().ok(),
        _ => None,
    };
    let good = |n: u32| (200..300).contains(&n);
    match m.kind(cond) {
        Kind::Unary {
            op: faultline_ir::UnOp::Not,
            operand,
        } => status_polarity(m, *operand, bound).map(|b| !b),
        Kind::Binary {
            op: BinOp::And | BinOp::Or,
            lhs,
            rhs,
        } => match (
            status_polarity(m, *lhs, bound),
            status_polarity(m, *rhs, bound),
        ) {
            (Some(a), Some(b)) if a == b => Some(a),
            (Some(a), None) | (None, Some(a)) => Some(a),
            _ => None,
        },
        Kind::Binary {
            op: op @ (BinOp::In | BinOp::NotIn),
            lhs,
            rhs,
        } if is_status(*lhs) => {
            let (Kind::Array(items) | Kind::Other(items)) = m.kind(strip(m, *rhs)) else {
                return None;
            };
            let codes: Option<Vec<u32>> = items.iter().map(|i| num(*i)).collect();
            let codes = codes.filter(|c| !c.is_empty())?;
            let all_good = if codes.iter().all(|c| good(*c)) {
                true
            } else if codes.iter().all(|c| *c >= 400) {
                false
            } else {
                return None;
            };
            Some(all_good == (*op == BinOp::In))
        }
        Kind::Binary { op, lhs, rhs } if op.is_comparison() => {
            let (n, op) = if is_status(*lhs) {
                (num(*rhs)?, *op)
            } else if is_status(*rhs) {
                let flipped = match op {
                    BinOp::Lt => BinOp::Gt,
                    BinOp::LtE => BinOp::GtE,
                    BinOp::Gt => BinOp::Lt,
                    BinOp::GtE => BinOp::LtE,
                    o => *o,
                };
                (num(*lhs)?, flipped)
            } else {
                return None;
            };
            match op {
                BinOp::Eq | BinOp::Is => Some(good(n)),
                BinOp::NotEq | BinOp::IsNot => Some(!good(n)),
                BinOp::Lt if n > 200 && n <= 500 => Some(true),
                BinOp::LtE if (200..500).contains(&n) => Some(true),
                BinOp::Gt if n >= 299 => Some(false),
                BinOp::GtE if n >= 300 => Some(false),
                _ => None,
            }
        }
        Kind::Attr { object, name }
            if SUCCESS_TESTS.contains(&name.as_str()) && rooted(*object) =>
        {
            Some(true)
        }
        Kind::Call { .. } if rooted(cond) => match call_name(m, cond) {
            Some(c) if SUCCESS_TESTS.contains(&c) => Some(true),
            Some(c) if FAILURE_TESTS.contains(&c) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn handler_types_connection(cx: &Context<'_>, t: NodeId) -> bool {
    let m = cx.module;
    match m.kind(t) {
        Kind::Array(items) => {
            !items.is_empty() && items.iter().all(|i| handler_types_connection(cx, *i))
        }
        _ => {
            let s = segs(m, t);
            !s.is_empty() && cx.models().is_connection_error(m.language, s)
        }
    }
}

/// Whether a region's code calls one of the parameters of the function
/// it is in (or of a function around it): that function is a retry helper.
/// Returns the helper and the parameter's index.
pub fn calls_parameter(m: &Module, roots: &[NodeId]) -> Option<(FuncId, usize)> {
    for root in roots {
        let mut nodes = Vec::new();
        collect(m, *root, true, &mut nodes);
        for n in nodes {
            let target = match m.kind(n) {
                Kind::Call { callee, .. } => *callee,
                _ => continue,
            };
            if let Some(hit) = param_named(m, target) {
                return Some(hit);
            }
        }
    }
    None
}

/// The function and index of the parameter a name refers to.
pub fn param_named(m: &Module, id: NodeId) -> Option<(FuncId, usize)> {
    let Kind::Name(n) = m.kind(id) else {
        return None;
    };
    let mut f = Some(m.owner(id));
    while let Some(fid) = f {
        let func = m.function(fid);
        let params: Vec<_> = func
            .params
            .iter()
            .filter(|p| !matches!(p.name.as_str(), "self" | "&self" | "&mut self" | "cls"))
            .collect();
        if let Some(i) = params.iter().position(|p| {
            p.name == *n
                || p.name.trim_start_matches("mut ") == n
                || p.name.split(':').next().map(str::trim) == Some(n.as_str())
        }) {
            return (func.kind != FuncKind::Lambda).then_some((fid, i));
        }
        f = func.parent;
    }
    None
}

/// The label of a construct's callee as written (`pRetry`, `backoff::future::retry`).
pub fn callee_text(cx: &Context<'_>, call: NodeId) -> String {
    let m = cx.module;
    let c = callee(m, call).unwrap_or(call);
    let t = text(cx, m.node(c).span).trim();
    let t = t.lines().next().unwrap_or(t);
    if t.chars().count() > 48 {
        t.chars().take(45).collect::<String>() + "…"
    } else {
        t.to_string()
    }
}
