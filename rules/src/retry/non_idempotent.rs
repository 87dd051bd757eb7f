use faultline_ir::{FuncId, Kind, Module, NodeId, Span};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::external_call::helpers::http_method;
use crate::models::Models;
use crate::models::{CallKind, EffectKind, RetryModel, RetryShape};
use crate::retry::helpers::{
    ClientId, Construct, Effect, Functions, Region, callable_roots, callee_text, calls_parameter,
    client_of, condition_safe, direct_effect, effect_of, enabled, find_arg, param_named,
    policy_connection_only, reference_effect, resolve_call, retried_methods, retries_writes,
    retry_loop, through_client,
};
use crate::utils::{
    args, call_label, callee, collect, in_test_code, is_test_function, receiver, segs, strip_await,
};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds operations that are not safe to repeat — a POST or PATCH
    /// without an `Idempotency-Key` header, a charge, refund or transfer
    /// without an idempotency key, an `INSERT` that is not an upsert, an
    /// email, SMS or push, a published message — run inside something that
    /// repeats them when they fail: a retry decorator or helper (tenacity,
    /// backoff, retrying, p-retry, async-retry, exponential-backoff,
    /// `backoff::retry`, tokio-retry, again), a client or session configured
    /// to retry POST (urllib3 `Retry(allowed_methods=None)` mounted on a
    /// session, axios-retry with `isRetryableError`, got `retry.methods`,
    /// reqwest-retry middleware), a job that is re-run on failure (Celery
    /// `autoretry_for` / `self.retry()`, rq `Retry`, BullMQ `attempts`), a
    /// hand-written loop that catches the failure, or tests the response
    /// status (`if r.status_code >= 500: continue`, `if (res.ok) return`),
    /// and goes round again, or a same-file helper that does one of these.
    ///
    /// ## Why is this bad?
    /// A failure is not proof that nothing happened. A timeout after the
    /// provider charged the card, a dropped connection after the row was
    /// written, a 502 from a proxy after the email left: the retry does it
    /// again. Customers are charged twice, receive two receipts, and
    /// duplicate orders appear — only under load, when timeouts happen.
    ///
    /// Safe, and not reported: GET, PUT, DELETE and HEAD; requests and
    /// payment calls that carry an idempotency key; upserts and inserts that
    /// name their key; retries limited to failures to connect (tenacity
    /// `retry_if_exception_type(ConnectionError)`, backoff on
    /// `requests.ConnectionError`, urllib3 `Retry(read=0)`, a Rust arm
    /// guarded by `e.is_connect()`).
    ///
    /// ## Example
    /// ```python
    /// @retry(stop=stop_after_attempt(3))
    /// def charge(order):
    ///     return stripe.Charge.create(amount=order.total, currency="usd", source=order.token)
    /// ```
    /// ```typescript
    /// await pRetry(() => stripe.charges.create({ amount, currency: "usd", source }), { retries: 3 });
    /// ```
    /// ```rust
    /// backoff::future::retry(ExponentialBackoff::default(), || async {
    ///     Ok(client.post(url).json(&order).send().await?)
    /// }).await?;
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// @retry(stop=stop_after_attempt(3))
    /// def charge(order):
    ///     return stripe.Charge.create(
    ///         amount=order.total, currency="usd", source=order.token,
    ///         idempotency_key=f"charge-{order.id}",
    ///     )
    /// ```
    /// ```typescript
    /// await pRetry(
    ///   () => stripe.charges.create({ amount, currency: "usd", source }, { idempotencyKey: `charge-${order.id}` }),
    ///   { retries: 3 },
    /// );
    /// ```
    /// ```rust
    /// backoff::future::retry(ExponentialBackoff::default(), || async {
    ///     Ok(client.post(url).header("Idempotency-Key", &order.id).json(&order).send().await?)
    /// }).await?;
    /// ```
    ///
    /// ## Known problems
    /// Only code in the same file is followed: a retrying client or a
    /// helper built in another module, and a Celery or BullMQ processor
    /// defined away from its queue, are not seen. A status-code loop is
    /// recognized when it tests the status of a response made in the loop
    /// against a literal code or with `ok` / `is_success()` /
    /// `is_server_error()`; a status compared with a named set of codes
    /// (`in RETRY_CODES`) is not. A `tenacity.Retrying(...)` object called
    /// with a function (`Retrying(...)(send, order)`) is not followed.
    pub struct NonIdempotent => {
        id: "retry/non-idempotent",
        family: Retry,
        summary: "operation that is not safe to repeat is retried",
        level: Error,
        languages: [Python, TypeScript, Rust],
        cwe: [799, 837],
        precision: Medium,
    }
}

impl Rule for NonIdempotent {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        // Every effect is a modeled one or an HTTP call. A statement run
        // through a driver (`sql_at`) repeats badly only as an `INSERT`
        // or an `UPDATE`, written in the file (`direct_effect`).
        let mut out = models.effect_anchors(lang, |e| e.sql_at.is_none())?;
        out.extend(
            models
                .effect_anchors(lang, |e| e.sql_at.is_some())?
                .and_any(["*insert", "*update"]),
        );
        out.extend(models.call_anchors(lang, |c| c.kind == CallKind::Http)?);
        Some(out.normalized())
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        if cx.is_test_file {
            return;
        }
        let m = cx.module;
        let fns = Functions::new(m);
        let mut constructs = Vec::new();
        let mut pending = Vec::new();
        for i in 0..m.functions.len() {
            let fid = FuncId(i as u32);
            if is_test_function(m, fid) {
                continue;
            }
            for d in &m.function(fid).decorators {
                decorator_constructs(cx, &fns, fid, *d, &mut constructs, &mut pending);
            }
        }
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            match m.kind(id) {
                Kind::Call { .. } | Kind::New { .. } if !in_test_code(cx, id) => {
                    call_constructs(cx, &fns, id, &mut constructs);
                }
                Kind::Loop { .. } if !in_test_code(cx, id) => {
                    if let Some((roots, connection_only)) = retry_loop(cx, id) {
                        constructs.push(Construct {
                            label: "the retry loop".to_string(),
                            span: m.node(id).span,
                            inner: None,
                            region: Region::Roots(roots),
                            connection_only,
                        });
                    }
                }
                _ => {}
            }
        }
        helper_constructs(cx, &fns, &mut constructs, &pending);

        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for c in &constructs {
            if c.connection_only {
                continue;
            }
            for e in region_effects(cx, &fns, &c.region) {
                if in_test_code(cx, e.call) || !seen.insert(m.node(e.call).span.start) {
                    continue;
                }
                out.push(finding(cx, c, &e));
            }
        }
        for f in out {
            cx.report(f);
        }
    }
}

fn finding(cx: &Context<'_>, c: &Construct, e: &Effect) -> Finding {
    let m = cx.module;
    let line = |s: Span| cx.lines.line(s.start);
    let op = match e.inner {
        Some(inner) => format!(
            "`{}` (which calls `{}` on line {})",
            call_label(cx, e.call),
            call_label(cx, inner),
            line(m.node(inner).span)
        ),
        None => format!("`{}`", call_label(cx, e.call)),
    };
    let what = if e.kind == EffectKind::Http {
        let method = http_method(m, e.inner.unwrap_or(e.call))
            .or_else(|| reference_method(m, e.call))
            .unwrap_or_else(|| "post".to_string());
        format!("sends a {}", method.to_ascii_uppercase())
    } else {
        e.what.clone()
    };
    let gap = match e.kind {
        EffectKind::Payment => " without an idempotency key",
        EffectKind::Http => " without an `Idempotency-Key` header",
        _ => "",
    };
    let mut f = Finding::new(
        &NonIdempotent::META,
        m.node(e.call).span,
        format!(
            "{op} {what} and is retried by {} (line {}){gap}; {}",
            c.label,
            line(c.span),
            e.fix
        ),
    )
    .with_related(c.span, "the retry");
    if let Some((span, what)) = &c.inner {
        f = f.with_related(*span, what.clone());
    }
    if let Some(inner) = e.inner {
        f = f.with_related(m.node(inner).span, "the operation");
    }
    f
}

/// The method of a request passed by reference (`retry_call(requests.post, ..)`).
fn reference_method(m: &Module, wrapper: NodeId) -> Option<String> {
    args(m, wrapper).iter().find_map(|a| {
        segs(m, a.value)
            .last()
            .map(|s| s.name.as_str().to_ascii_lowercase())
            .filter(|n| n == "post" || n == "patch")
    })
}

/// The non-idempotent operations a construct runs again.
fn region_effects(cx: &Context<'_>, fns: &Functions, region: &Region) -> Vec<Effect> {
    let m = cx.module;
    let mut out = Vec::new();
    match region {
        Region::Roots(roots) | Region::Before(roots, _) => {
            let limit = match region {
                Region::Before(_, at) => *at,
                _ => u32::MAX,
            };
            for root in roots {
                let mut nodes = Vec::new();
                collect(m, *root, true, &mut nodes);
                for n in nodes {
                    if m.node(n).span.start >= limit {
                        continue;
                    }
                    if let Some(e) = effect_of(cx, fns, n, 2) {
                        out.push(e);
                    }
                }
            }
        }
        Region::Client(client) => {
            for i in 0..m.nodes.len() {
                let n = NodeId(i as u32);
                if matches!(m.kind(n), Kind::Call { .. })
                    && through_client(m, n, client)
                    && let Some(e) = direct_effect(cx, n)
                    && e.kind == EffectKind::Http
                {
                    out.push(e);
                }
            }
        }
        Region::Reference(wrapper, reference) => {
            if let Some(e) = reference_effect(cx, *wrapper, *reference) {
                out.push(e);
            }
        }
    }
    out
}

fn positional(m: &Module, call: NodeId, i: usize) -> Option<NodeId> {
    args(m, call)
        .iter()
        .filter(|a| a.name.is_none())
        .nth(i)
        .map(|a| a.value)
}

/// What a callable argument stands for: its code, or an operation passed
/// by reference.
fn operation_region(m: &Module, fns: &Functions, call: NodeId, op: NodeId) -> Region {
    match callable_roots(m, fns, op) {
        Some(roots) => Region::Roots(roots),
        None => Region::Reference(call, op),
    }
}

fn decorator_constructs(
    cx: &Context<'_>,
    fns: &Functions,
    fid: FuncId,
    d: NodeId,
    out: &mut Vec<Construct>,
    pending: &mut Vec<(FuncId, NodeId, FuncId)>,
) {
    let m = cx.module;
    let body = m.function(fid).body;
    let call = matches!(m.kind(d), Kind::Call { .. }).then_some(d);
    let head = call.map_or_else(|| callee_text(cx, d), |c| callee_text(cx, c));
    let head = match m.kind(d) {
        Kind::Call { .. } => head,
        _ => crate::utils::text(cx, m.node(d).span).trim().to_string(),
    };
    let Some(model) = cx.models().retry(m.language, segs(m, d)) else {
        // `@with_retries` / `@with_retries(3)`: a same-file retry helper.
        let target = call.and_then(|c| callee(m, c)).unwrap_or(d);
        if let Some(f) = fns.named_by(m, target)
            && f != fid
        {
            pending.push((fid, d, f));
        }
        return;
    };
    match model.shape {
        RetryShape::Decorator => {
            if call.is_some_and(|c| !enabled(m, c, model)) {
                return;
            }
            let connection_only = match (&model.condition, call) {
                (Some(spec), Some(c)) => condition_safe(cx, fns, spec, c),
                _ => false,
            };
            out.push(Construct {
                label: format!("`@{head}`"),
                span: m.node(d).span,
                inner: None,
                region: Region::Roots(vec![body]),
                connection_only,
            });
        }
        RetryShape::Task => {
            let Some(c) = call else { return };
            let turned_off = !enabled(
                m,
                c,
                &RetryModel {
                    enabled_by: vec![],
                    ..model.clone()
                },
            );
            if turned_off {
                return;
            }
            if !model.enabled_by.is_empty() && enabled(m, c, model) {
                let key = model
                    .enabled_by
                    .iter()
                    .find(|k| {
                        args(m, c)
                            .iter()
                            .any(|a| a.name.as_deref() == Some(k.as_str()))
                    })
                    .cloned()
                    .unwrap_or_default();
                let connection_only = model
                    .condition
                    .as_ref()
                    .is_some_and(|spec| condition_safe(cx, fns, spec, c));
                out.push(Construct {
                    label: format!("`@{head}({key}=…)`"),
                    span: m.node(d).span,
                    inner: None,
                    region: Region::Roots(vec![body]),
                    connection_only,
                });
                return;
            }
            task_reruns(cx, fid, c, model, out);
        }
        _ => {}
    }
}

/// `self.retry()` in a `bind=True` task re-runs everything before it.
fn task_reruns(
    cx: &Context<'_>,
    fid: FuncId,
    deco: NodeId,
    model: &RetryModel,
    out: &mut Vec<Construct>,
) {
    let m = cx.module;
    let (Some(method), Some(bind)) = (&model.rerun_method, &model.bind_kwarg) else {
        return;
    };
    let bound = args(m, deco).iter().any(|a| {
        a.name.as_deref() == Some(bind.as_str()) && matches!(m.kind(a.value), Kind::Bool(true))
    });
    let func = m.function(fid);
    let Some(first) = func.params.first() else {
        return;
    };
    if !bound {
        return;
    }
    let mut nodes = Vec::new();
    collect(m, func.body, false, &mut nodes);
    for n in nodes {
        let Some(c) = callee(m, n) else { continue };
        let Kind::Attr { object, name } = m.kind(c) else {
            continue;
        };
        if name != method || !matches!(m.kind(*object), Kind::Name(o) if *o == first.name) {
            continue;
        }
        let handler_types = m.ancestors(n).find_map(|a| match m.kind(a) {
            Kind::Try { handlers, .. } => handlers
                .iter()
                .find(|h| h.span.contains(m.node(n).span))
                .map(|h| h.types.clone()),
            _ => None,
        });
        let connection_only = handler_types.is_some_and(|ts| {
            !ts.is_empty()
                && ts.iter().all(|t| {
                    let items = match m.kind(*t) {
                        Kind::Array(v) => v.clone(),
                        _ => vec![*t],
                    };
                    items
                        .iter()
                        .all(|i| cx.models().is_connection_error(m.language, segs(m, *i)))
                })
        });
        out.push(Construct {
            label: format!("`{}.{method}()`", first.name),
            span: m.node(n).span,
            inner: None,
            region: Region::Before(vec![func.body], m.node(n).span.start),
            connection_only,
        });
    }
}

fn call_constructs(cx: &Context<'_>, fns: &Functions, c: NodeId, out: &mut Vec<Construct>) {
    let m = cx.module;
    let s = segs(m, c);
    let own = s.last().and_then(|x| x.call) == Some(c);
    let label = format!("`{}`", callee_text(cx, c));
    let span = m.node(c).span;
    if own && let Some(model) = cx.models().retry(m.language, s) {
        let connection_only = model
            .condition
            .as_ref()
            .is_some_and(|spec| condition_safe(cx, fns, spec, c));
        match model.shape {
            RetryShape::Wrapper => {
                if !enabled(m, c, model) {
                    return;
                }
                let Some(op) = model.operation.and_then(|i| positional(m, c, i)) else {
                    return;
                };
                if !is_callable_like(m, fns, op) {
                    return;
                }
                out.push(Construct {
                    label,
                    span,
                    inner: None,
                    region: operation_region(m, fns, c, op),
                    connection_only,
                });
            }
            RetryShape::Attempts => {
                let Some(body) = m.ancestors(c).take(3).find_map(|a| match m.kind(a) {
                    Kind::Loop {
                        iter: Some(it),
                        body,
                        ..
                    } if strip_await(m, *it) == c => Some(*body),
                    _ => None,
                }) else {
                    return;
                };
                out.push(Construct {
                    label,
                    span,
                    inner: None,
                    region: Region::Roots(vec![body]),
                    connection_only,
                });
            }
            RetryShape::Client => {
                if connection_only || !retries_writes(&retried_methods(m, model, c)) {
                    return;
                }
                let client = match model.client_at {
                    Some(i) => positional(m, c, i).and_then(|v| client_of(m, v)),
                    None => match m.parent(c) {
                        Some(p) if args(m, p).iter().any(|a| a.value == c) => {
                            Some(ClientId::Call(p))
                        }
                        _ => Some(ClientId::Call(c)),
                    },
                };
                let Some(client) = client else { return };
                out.push(Construct {
                    label,
                    span,
                    inner: None,
                    region: Region::Client(client),
                    connection_only: false,
                });
            }
            RetryShape::Worker => {
                let Some(op) = model.operation.and_then(|i| positional(m, c, i)) else {
                    return;
                };
                if !worker_retries(cx, c, model) {
                    return;
                }
                out.push(Construct {
                    label: format!("the {label} of a queue with `attempts`"),
                    span,
                    inner: None,
                    region: operation_region(m, fns, c, op),
                    connection_only: false,
                });
            }
            _ => {}
        }
    }
    mounted_policy(cx, c, out);
}

/// Whether a wrapper's operation argument is code (a lambda, a function,
/// a closure variable) or a reference to an operation.
fn is_callable_like(m: &Module, fns: &Functions, v: NodeId) -> bool {
    callable_roots(m, fns, v).is_some()
        || matches!(m.kind(v), Kind::Name(_) | Kind::Attr { .. }) && !segs(m, v).is_empty()
}

/// Whether some queue in the file gives its jobs more than one attempt
/// (the same queue name as the worker's, when both are literals).
fn worker_retries(cx: &Context<'_>, worker: NodeId, model: &RetryModel) -> bool {
    let m = cx.module;
    let name_of = |call: NodeId| match positional(m, call, 0).map(|v| m.kind(v)) {
        Some(Kind::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let wanted = name_of(worker);
    (0..m.nodes.len()).any(|i| {
        let n = NodeId(i as u32);
        let s = segs(m, n);
        if s.last().and_then(|x| x.call) != Some(n) || !cx.models().is_retry_enabler(m.language, s)
        {
            return false;
        }
        let queue = s.iter().find_map(|x| x.call).and_then(name_of);
        let same = match (&wanted, &queue) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        same && enabled(m, n, model)
    })
}

/// `session.mount(prefix, HTTPAdapter(max_retries=Retry(allowed_methods=None)))`.
fn mounted_policy(cx: &Context<'_>, c: NodeId, out: &mut Vec<Construct>) {
    let m = cx.module;
    let Some(name) = crate::utils::call_name(m, c) else {
        return;
    };
    for adapter_model in cx.models().retries(m.language) {
        if adapter_model.shape != RetryShape::Adapter
            || adapter_model.mount.as_deref() != Some(name)
        {
            continue;
        }
        let Some(adapter) = positional(m, c, 1).and_then(|v| resolve_call(m, v)) else {
            continue;
        };
        if !cx
            .models()
            .retry_matches(m.language, adapter_model, segs(m, adapter))
        {
            continue;
        }
        let Some(policy) = adapter_model
            .policy
            .as_ref()
            .and_then(|spec| find_arg(m, adapter, spec))
            .and_then(|v| resolve_call(m, v))
        else {
            continue;
        };
        let Some(policy_model) = cx.models().retry(m.language, segs(m, policy)) else {
            continue;
        };
        if policy_model.shape != RetryShape::Policy
            || policy_connection_only(m, policy_model, policy)
            || !retries_writes(&retried_methods(m, policy_model, policy))
        {
            continue;
        }
        let Some(client) = receiver(m, c).and_then(|r| client_of(m, r)) else {
            continue;
        };
        out.push(Construct {
            label: format!(
                "the `{}` mounted with `{}`",
                callee_text(cx, policy),
                callee_text(cx, c)
            ),
            span: m.node(c).span,
            inner: Some((m.node(policy).span, "the retry policy".to_string())),
            region: Region::Client(client),
            connection_only: false,
        });
    }
}

/// Same-file helpers that retry a callable they are given, and their call
/// sites: `with_retries(lambda: stripe.Charge.create(..))`, `@retrying`.
fn helper_constructs(
    cx: &Context<'_>,
    fns: &Functions,
    out: &mut Vec<Construct>,
    pending: &[(FuncId, NodeId, FuncId)],
) {
    let m = cx.module;
    let mut helpers: HashMap<FuncId, (usize, Span)> = HashMap::new();
    for c in out.iter() {
        if c.connection_only {
            continue;
        }
        let hit = match &c.region {
            Region::Roots(roots) => calls_parameter(m, roots),
            Region::Reference(_, op) => param_named(m, *op),
            _ => None,
        };
        if let Some((f, i)) = hit {
            helpers.entry(f).or_insert((i, c.span));
        }
    }
    // `@with_retries` on a function: its body is retried.
    for (decorated, d, f) in pending {
        if let Some((_, inner)) = helpers.get(f) {
            let head = crate::utils::text(cx, m.node(*d).span).trim().to_string();
            let head = head.split('(').next().unwrap_or(&head).to_string();
            out.push(Construct {
                label: format!("`@{head}`"),
                span: m.node(*d).span,
                inner: Some((*inner, "the retry inside the decorator".to_string())),
                region: Region::Roots(vec![m.function(*decorated).body]),
                connection_only: false,
            });
        }
    }
    if helpers.is_empty() {
        return;
    }
    for i in 0..m.nodes.len() {
        let n = NodeId(i as u32);
        if !matches!(m.kind(n), Kind::Call { .. }) || in_test_code(cx, n) {
            continue;
        }
        let Some(target) = callee(m, n) else { continue };
        let Some(f) = fns.named_by(m, target) else {
            continue;
        };
        let Some((idx, inner)) = helpers.get(&f) else {
            continue;
        };
        if m.owner(n) == f || is_inside(m, m.owner(n), f) {
            continue;
        }
        let param = m
            .function(f)
            .params
            .iter()
            .filter(|p| !matches!(p.name.as_str(), "self" | "&self" | "&mut self" | "cls"))
            .nth(*idx)
            .map(|p| p.name.clone());
        let op = args(m, n)
            .iter()
            .find(|a| a.name.is_some() && a.name == param)
            .map(|a| a.value)
            .or_else(|| positional(m, n, *idx));
        let Some(op) = op else { continue };
        if !is_callable_like(m, fns, op) {
            continue;
        }
        out.push(Construct {
            label: format!("the retry helper `{}`", m.function(f).name),
            span: m.node(n).span,
            inner: Some((*inner, "the retry inside the helper".to_string())),
            region: operation_region(m, fns, n, op),
            connection_only: false,
        });
    }
}

/// Whether function `f` is nested inside `outer`.
fn is_inside(m: &Module, mut f: FuncId, outer: FuncId) -> bool {
    while let Some(p) = m.function(f).parent {
        if p == outer {
            return true;
        }
        f = p;
    }
    false
}
