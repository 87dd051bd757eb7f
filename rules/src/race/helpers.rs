//! What the `race` rules share: the API models' view of shared state (a
//! [`Classify`] for the data flow), how state is named, and which calls are
//! made safe by their arguments.

use crate::utils::listed;
use faultline_ir::{FuncId, FuncKind, Kind, Language, Module, NodeId, Spread};
use foldhash::{HashMap, HashMapExt};

use crate::Context;
use crate::models::{Models, StateKind, StateModel, StateRole};
use crate::utils::dataflow::{Classify, Flow, Origin, Source};
use crate::utils::{args, callee, in_test_code, is_own_call, receiver, segs, strip};

/// The models' view of shared state.
pub struct StateModels<'a> {
    models: &'a Models,
    lang: Language,
}

impl<'a> StateModels<'a> {
    /// For one file.
    pub fn new(cx: &Context<'a>) -> Self {
        StateModels {
            models: cx.models(),
            lang: cx.module.language,
        }
    }

    /// The `[[state]]` entries a call matches with this role.
    pub fn roles(&self, m: &Module, call: NodeId, role: StateRole) -> Vec<&'a StateModel> {
        if !matches!(m.kind(call), Kind::Call { .. } | Kind::New { .. }) || !is_own_call(m, call) {
            return Vec::new();
        }
        self.models
            .state(self.lang, segs(m, call))
            .into_iter()
            .filter(|s| s.role == role)
            .collect()
    }
}

impl Classify for StateModels<'_> {
    fn origin(&self, flow: &Flow<'_>, call: NodeId) -> Option<Origin> {
        let m = flow.m;
        // Client-specific entries (a Redis `exists`) win over the generic
        // ORM ones (`..exists()`).
        let mut candidates: Vec<(&StateModel, bool)> = self
            .roles(m, call, StateRole::Read)
            .into_iter()
            .map(|s| (s, false))
            .chain(
                self.roles(m, call, StateRole::Check)
                    .into_iter()
                    .map(|s| (s, true)),
            )
            .collect();
        candidates.sort_by_key(|(s, _)| s.kind == StateKind::Row);
        let st = candidates.into_iter().next()?;
        let (st, check) = st;
        let path = segs(m, call);
        let locked = path.iter().any(|s| listed(&st.locking, &s.name));
        let mut o = Origin {
            read: call,
            source: Source::Model(st.kind),
            entity: String::new(),
            key: None,
            label: flow.text(m.node(call).span),
            field: None,
            row: false,
            locked,
            guard: None,
            check,
            tracked: st.entity.as_deref() == Some("arg0"),
        };
        match st.kind {
            StateKind::Row => {
                o.entity = entity(flow, call, st);
                o.row = !check;
                o.label = short(&o.label);
            }
            StateKind::Key => {
                o.entity = receiver_text(flow, call);
                o.key = Some(key_text(flow, call, st));
                let key = o.key.clone().unwrap_or_default();
                o.label = format!("key `{}`", key.trim_matches('`'));
            }
            StateKind::Atomic => {
                o.entity = receiver_text(flow, call);
                o.label = o.entity.clone();
            }
            StateKind::Guard => {
                let lock = lock_call(m, call)?;
                o.guard = Some(lock);
                o.entity = receiver_text(flow, lock);
                o.label = o.entity.clone();
            }
            StateKind::File => {
                o.key = Some(path_text(flow, call));
                o.entity = "fs".to_string();
                o.label = format!("path `{}`", o.key.clone().unwrap_or_default());
            }
            StateKind::Lock | StateKind::Transaction => return None,
        }
        if o.entity.is_empty() {
            return None;
        }
        Some(o)
    }

    fn is_write(&self, flow: &Flow<'_>, call: NodeId) -> bool {
        let m = flow.m;
        if !is_own_call(m, call) {
            return false;
        }
        self.models.state(self.lang, segs(m, call)).iter().any(|s| {
            matches!(
                s.role,
                StateRole::Write | StateRole::Save | StateRole::Create | StateRole::Commit
            )
        })
    }

    fn scope(&self, flow: &Flow<'_>, expr: NodeId) -> Option<StateKind> {
        let m = flow.m;
        let e = strip(m, expr);
        let path = segs(m, e);
        if path.is_empty() {
            return None;
        }
        self.models
            .state(self.lang, path)
            .into_iter()
            .find(|s| s.role == StateRole::Scope)
            .map(|s| s.kind)
    }
}

/// A one-line, at most 40-character rendering for labels.
fn short(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > 40 {
        let cut: String = line.chars().take(37).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}

/// Source text without whitespace, borrows and clones, for comparing names
/// of state.
pub fn norm(s: &str) -> String {
    let mut t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    for suffix in [
        ".clone()",
        ".to_string()",
        ".as_str()",
        ".into()",
        ".to_owned()",
        ".as_path()",
    ] {
        while let Some(x) = t.strip_suffix(suffix) {
            t = x.to_string();
        }
    }
    t.trim_start_matches('&')
        .trim_start_matches("mut")
        .trim_start_matches("await")
        .to_string()
}

/// The receiver's text, normalized (`self.redis`, `r`).
pub fn receiver_text(flow: &Flow<'_>, call: NodeId) -> String {
    let m = flow.m;
    receiver(m, call).map_or_else(String::new, |r| norm(&flow.text(m.node(r).span)))
}

/// How a row's model or table is named, per the model's `entity` mode.
pub fn entity(flow: &Flow<'_>, call: NodeId, st: &StateModel) -> String {
    let m = flow.m;
    let raw = match st.entity.as_deref() {
        Some("arg0") => chain_arg0(m, call).map(|a| root_text(flow, a)),
        Some("root") => receiver(m, call).map(|r| root_text(flow, r)),
        Some("path") => Some(path_text(flow, call)),
        _ => match receiver(m, call) {
            Some(r) => {
                let t = norm(&flow.text(m.node(strip(m, r)).span));
                let mut cut = t.as_str();
                if let Some(i) = cut.find(".objects") {
                    cut = &cut[..i];
                }
                for stop in [".where(", ".filter(", ".find("] {
                    if let Some(i) = cut.find(stop) {
                        cut = &cut[..i];
                    }
                }
                Some(cut.to_string())
            }
            None => chain_arg0(m, call).map(|a| root_text(flow, a)),
        },
    };
    raw.unwrap_or_default().to_ascii_lowercase()
}

/// The first positional argument of the innermost call of a chain that has
/// one (`session.query(Account).filter(..).first()` → `Account`).
fn chain_arg0(m: &Module, call: NodeId) -> Option<NodeId> {
    let mut chain = vec![call];
    let mut cur = call;
    for _ in 0..12 {
        match receiver(m, cur).map(|r| strip(m, r)) {
            Some(r) if matches!(m.kind(r), Kind::Call { .. }) => {
                chain.push(r);
                cur = r;
            }
            _ => break,
        }
    }
    chain.iter().rev().find_map(|c| {
        args(m, *c)
            .iter()
            .find(|a| a.name.is_none() && a.spread == Spread::None)
            .map(|a| a.value)
    })
}

/// The root name of an expression chain (`items.find(id)` → `items`,
/// `select(Account).where(..)` → `account`), last path segment only.
fn root_text(flow: &Flow<'_>, e: NodeId) -> String {
    let m = flow.m;
    let mut cur = strip(m, e);
    for _ in 0..12 {
        match m.kind(cur) {
            Kind::Call { .. } => match receiver(m, cur) {
                Some(r) => cur = strip(m, r),
                None => match args(m, cur).first() {
                    Some(a) => cur = strip(m, a.value),
                    None => break,
                },
            },
            Kind::Unary { operand, .. } => cur = *operand,
            _ => break,
        }
    }
    let t = norm(&flow.text(m.node(cur).span));
    let t = t.strip_suffix("::table").unwrap_or(&t);
    t.rsplit(['.', ':']).next().unwrap_or(t).to_string()
}

/// The key of a keyed-store call: its positional arguments before the value.
pub fn key_text(flow: &Flow<'_>, call: NodeId, st: &StateModel) -> String {
    let m = flow.m;
    let limit = st.value_args.iter().min().copied().unwrap_or(usize::MAX);
    args(m, call)
        .iter()
        .filter(|a| a.name.is_none() && a.spread == Spread::None)
        .take(limit)
        .map(|a| norm(&flow.text(m.node(a.value).span)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The file path a file-system call is about: its first argument, the
/// first argument of the call it is chained on (`Path::new(p).exists()`),
/// or its receiver (`p.exists()`).
pub fn path_text(flow: &Flow<'_>, call: NodeId) -> String {
    let m = flow.m;
    let mut cur = call;
    for _ in 0..8 {
        if let Some(a) = args(m, cur)
            .iter()
            .find(|a| a.name.is_none() && a.spread == Spread::None)
            && !matches!(m.kind(a.value), Kind::Str(s) if s.len() <= 3)
        {
            return norm(&flow.text(m.node(a.value).span));
        }
        match receiver(m, cur).map(|r| strip(m, r)) {
            Some(r) if matches!(m.kind(r), Kind::Call { .. }) => cur = r,
            Some(r) => return norm(&flow.text(m.node(r).span)),
            None => break,
        }
    }
    String::new()
}

/// The `lock()`/`read()`/`write()` call of a `Mutex`/`RwLock` a path goes
/// through.
pub fn lock_call(m: &Module, call: NodeId) -> Option<NodeId> {
    let path = segs(m, call);
    path.windows(2).find_map(|w| {
        let (prev, s) = (&w[0], &w[1]);
        (s.called
            && matches!(s.name.as_str(), "lock" | "read" | "write" | "try_lock")
            && (prev.name.contains("Mutex") || prev.name.contains("RwLock")))
        .then_some(s.call)
        .flatten()
    })
}

/// Whether a call is made safe by its arguments or builder steps
/// (`nx=True`, `exist_ok=True`, `{ flag: 'wx' }`, `.create_new(true)`,
/// `os.O_EXCL`).
pub fn is_safe(m: &Module, call: NodeId, st: &StateModel) -> bool {
    if st.safe.is_empty() && st.safe_values.is_empty() {
        return false;
    }
    let truthy = |v: NodeId| !matches!(m.kind(v), Kind::Bool(false) | Kind::Null);
    let mut calls = vec![call];
    let mut cur = call;
    while let Some(r) = receiver(m, cur).map(|r| strip(m, r)) {
        if !matches!(m.kind(r), Kind::Call { .. }) || calls.len() > 12 {
            break;
        }
        calls.push(r);
        cur = r;
    }
    // Builder steps chained after the call (`.values(..).on_conflict_do_nothing()`).
    let mut cur = call;
    while let Some(attr) = m.parent(cur)
        && matches!(m.kind(attr), Kind::Attr { object, .. } if *object == cur)
        && let Some(outer) = m.parent(attr)
        && matches!(m.kind(outer), Kind::Call { .. })
        && calls.len() < 24
    {
        calls.push(outer);
        cur = outer;
    }
    for c in &calls {
        if let Some(Kind::Attr { name, .. }) = callee(m, *c).map(|x| m.kind(x))
            && listed(&st.safe, name)
            && args(m, *c).first().is_none_or(|a| truthy(a.value))
        {
            return true;
        }
    }
    for a in args(m, call) {
        if a.name.as_ref().is_some_and(|n| st.safe.contains(n)) && truthy(a.value) {
            return true;
        }
        let mut found = false;
        m.walk(a.value, &mut |n| match m.kind(n) {
            Kind::Str(s) if st.safe_values.contains(s) => found = true,
            Kind::Object { entries, .. }
                if entries.iter().any(|e| {
                    e.key.as_ref().is_some_and(|k| st.safe.contains(k)) && truthy(e.value)
                }) =>
            {
                found = true;
            }
            Kind::Attr { name, .. } | Kind::Name(name) if listed(&st.safe, name) => found = true,
            _ => {}
        });
        if found {
            return true;
        }
    }
    false
}

/// Whether a call acts at all, for models that only act with some
/// arguments (`open(p, "w")`, `.create(true)`).
pub fn acts(m: &Module, call: NodeId, st: &StateModel) -> bool {
    if st.requires.is_empty() {
        return true;
    }
    let mut cur = Some(call);
    for _ in 0..12 {
        let Some(c) = cur else { break };
        if let Some(Kind::Attr { name, .. }) = callee(m, c).map(|x| m.kind(x))
            && listed(&st.requires, name)
            && !args(m, c)
                .first()
                .is_some_and(|a| matches!(m.kind(a.value), Kind::Bool(false)))
        {
            return true;
        }
        for a in args(m, c) {
            let mut found = false;
            m.walk(a.value, &mut |n| {
                if let Kind::Str(s) = m.kind(n)
                    && st.requires.contains(s)
                {
                    found = true;
                }
            });
            if found {
                return true;
            }
        }
        cur = receiver(m, c)
            .map(|r| strip(m, r))
            .filter(|r| matches!(m.kind(*r), Kind::Call { .. }));
    }
    false
}

/// The nodes that carry the value a write call writes.
pub fn value_nodes(m: &Module, call: NodeId, st: &StateModel) -> Vec<NodeId> {
    let all = args(m, call);
    if !st.value_keys.is_empty() {
        let mut out = Vec::new();
        for a in all {
            if let Kind::Object { entries, .. } = m.kind(strip(m, a.value)) {
                out.extend(
                    entries
                        .iter()
                        .filter(|e| e.key.as_ref().is_some_and(|k| st.value_keys.contains(k)))
                        .map(|e| e.value),
                );
            }
        }
        if !out.is_empty() {
            return out;
        }
    }
    if !st.value_args.is_empty() {
        return all
            .iter()
            .filter(|a| a.name.is_none())
            .enumerate()
            .filter(|(i, _)| st.value_args.contains(i))
            .map(|(_, a)| a.value)
            .collect();
    }
    let mut out = Vec::new();
    for a in all {
        match m.kind(strip(m, a.value)) {
            Kind::Object { entries, .. } if !st.value_keys.is_empty() => out.extend(
                entries
                    .iter()
                    .filter(|e| !matches!(e.key.as_deref(), Some("where" | "filter")))
                    .map(|e| e.value),
            ),
            _ => out.push(a.value),
        }
    }
    out
}

/// Whether a field name is a key, not state (`id`, `pk`, `user_id`, `userId`).
pub fn is_key_field(field: Option<&str>) -> bool {
    field.is_some_and(|f| {
        let l = f.to_ascii_lowercase();
        matches!(l.as_str(), "id" | "pk" | "uuid" | "_id" | "key" | "slug")
            || l.ends_with("_id")
            || l.ends_with("_pk")
            || (f.ends_with("Id") && f.len() > 2)
    })
}

/// Whether a write is guarded by an optimistic version check
/// (`filter(id=.., version=v).update(..)`, `where: { id, version }`).
pub fn version_checked(m: &Module, call: NodeId) -> bool {
    let mut found = false;
    let mut cur = Some(call);
    for _ in 0..12 {
        let Some(c) = cur else { break };
        for a in args(m, c) {
            if a.name.as_ref().is_some_and(|n| n.contains("version")) {
                found = true;
            }
            m.walk(a.value, &mut |n| {
                if let Kind::Object { entries, .. } = m.kind(n)
                    && entries
                        .iter()
                        .any(|e| e.key.as_ref().is_some_and(|k| k.contains("version")))
                {
                    found = true;
                }
            });
        }
        cur = receiver(m, c)
            .map(|r| strip(m, r))
            .filter(|r| matches!(m.kind(*r), Kind::Call { .. }));
    }
    found
}

/// Whether a node sits in the body of a `try` whose handler catches a
/// unique violation (`IntegrityError`, `UniqueViolation`, `FileExistsError`)
/// or, in JS, any error (a `catch` cannot name its type).
pub fn conflict_caught(m: &Module, n: NodeId) -> bool {
    let mut prev = n;
    for a in m.ancestors(n) {
        if let Kind::Try { body, handlers, .. } = m.kind(a)
            && *body == prev
        {
            let js = m.language.is_js_family();
            if handlers.iter().any(|h| {
                js || {
                    h.types.iter().any(|t| {
                        let mut hit = false;
                        m.walk(*t, &mut |x| {
                            let name = match m.kind(x) {
                                Kind::Name(s) | Kind::Attr { name: s, .. } => s.as_str(),
                                _ => "",
                            };
                            if ["Integrity", "Unique", "Duplicate", "Exists", "Conflict"]
                                .iter()
                                .any(|k| name.contains(k))
                            {
                                hit = true;
                            }
                        });
                        hit
                    })
                }
            }) {
                return true;
            }
        }
        prev = a;
    }
    false
}

/// The functions a family rule looks at: not test code, with the `Lambda`
/// node of callbacks.
pub fn functions(cx: &Context<'_>) -> Vec<(FuncId, Option<NodeId>)> {
    let m = cx.module;
    let lambdas = crate::utils::dataflow::lambda_nodes(m);
    (0..m.functions.len())
        .map(|i| FuncId(i as u32))
        .filter(|f| !in_test_code(cx, m.function(*f).body))
        .map(|f| (f, lambdas.get(&f).copied()))
        .collect()
}

/// How messages name the value an origin stands for.
pub fn describe(o: &Origin) -> String {
    match &o.source {
        Source::Model(StateKind::Key) | Source::Model(StateKind::File) => o.label.clone(),
        Source::Sql => format!("a row of `{}`", o.entity),
        _ => format!("`{}`", o.label),
    }
}

/// Which functions run only under a row lock their callers took
/// (`select_for_update()`, `with_for_update()`, `FOR UPDATE`): built once
/// per file, asked per function.
pub struct LockedCallers<'a> {
    m: &'a Module,
    /// Same-file call sites by the name they call (`f(..)`, `self.f(..)`).
    sites: HashMap<&'a str, Vec<NodeId>>,
}

impl<'a> LockedCallers<'a> {
    /// The call sites of a module; none when it takes no row lock at all.
    pub fn new(m: &'a Module) -> LockedCallers<'a> {
        let mut sites: HashMap<&'a str, Vec<NodeId>> = HashMap::new();
        let locks = m
            .nodes
            .iter()
            .filter_map(|n| n.path.as_ref())
            .any(|p| p.segments.iter().any(|s| is_row_lock(&s.name)));
        if locks {
            for (i, node) in m.nodes.iter().enumerate() {
                let Kind::Call { callee, .. } = &node.kind else {
                    continue;
                };
                let name = match m.kind(*callee) {
                    Kind::Name(n) => Some(n.as_str()),
                    Kind::Attr { object, name } => matches!(
                        m.kind(*object),
                        Kind::Name(o) if o == "self" || o == "cls" || o == "this"
                    )
                    .then_some(name.as_str()),
                    _ => None,
                };
                if let Some(n) = name {
                    sites.entry(n).or_default().push(NodeId(i as u32));
                }
            }
        }
        LockedCallers { m, sites }
    }

    /// Whether every same-file call of `f` happens after its caller took a
    /// row lock, directly or through callers that do (up to three calls
    /// up): the caller's lock serializes the function's reads and writes.
    pub fn hold_lock(&self, f: FuncId) -> bool {
        self.held(f, 3)
    }

    fn held(&self, f: FuncId, depth: usize) -> bool {
        let m = self.m;
        let func = m.function(f);
        if depth == 0 || !matches!(func.kind, FuncKind::Function | FuncKind::Method) {
            return false;
        }
        let Some(sites) = self.sites.get(func.name.as_str()) else {
            return false;
        };
        for &id in sites {
            let caller = m.owner(id);
            let start = m.node(id).span.start;
            let locked_before = crate::utils::function_nodes(m, caller, false)
                .into_iter()
                .any(|n| {
                    m.node(n).span.start < start && segs(m, n).iter().any(|s| is_row_lock(&s.name))
                });
            if !locked_before && (caller == f || !self.held(caller, depth - 1)) {
                return false;
            }
        }
        !sites.is_empty()
    }
}

fn is_row_lock(name: &str) -> bool {
    matches!(
        name,
        "select_for_update" | "with_for_update" | "for_update" | "setLock"
    )
}

/// Whether a cache read is a cache-aside lookup rather than a guard: its
/// value is bound to a variable that is used outside the condition
/// (returned, unpacked), so a concurrent refill writes the same value.
pub fn is_cache_aside(m: &Module, read: NodeId, cond: NodeId) -> bool {
    let Some(var) = m.ancestors(read).find_map(|a| match m.kind(a) {
        Kind::Assign { targets, .. } => targets.iter().find_map(|t| match m.kind(*t) {
            Kind::Name(n) => Some((n.clone(), *t)),
            _ => None,
        }),
        _ => None,
    }) else {
        return false;
    };
    let (name, target) = var;
    let cond_span = m.node(cond).span;
    let body = m.function(m.owner(read)).body;
    let mut used = false;
    m.walk(body, &mut |n| {
        if n != target
            && matches!(m.kind(n), Kind::Name(x) if *x == name)
            && !cond_span.contains(m.node(n).span)
        {
            used = true;
        }
    });
    used
}
