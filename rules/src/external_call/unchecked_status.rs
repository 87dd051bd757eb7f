use crate::utils::listed;
use faultline_ir::{FuncId, Kind, Module, NodeId, Spread};
use foldhash::{HashSet, HashSetExt};

use crate::external_call::helpers::{external_call, is_write};
use crate::models::Models;
use crate::models::ResponseModel;
use crate::utils::{call_label, in_test_code, segs};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds HTTP responses whose body is read, or which are dropped, without
    /// any check of the status code on the way.
    ///
    /// ## Why is this bad?
    /// `requests`, httpx, aiohttp, `fetch` and `reqwest` hand back 4xx and 5xx
    /// responses as if they succeeded. Code that goes straight to `.json()`
    /// parses an error page as data: a `KeyError` three calls later, a
    /// `None` written to the database, or a payment marked as sent when the
    /// provider said 402. A dropped response to a POST loses the only sign
    /// that the write failed.
    ///
    /// A status check anywhere earlier on the path counts (`raise_for_status()`,
    /// `error_for_status()`, `if (!res.ok)`, a read of `.status_code`), and so
    /// does parsing the body into a validated type whose failure propagates
    /// (a pydantic model, a zod `.parse`, serde into a concrete struct). A
    /// response handed to another function is that function's business.
    /// Clients that throw on non-2xx (axios, got, ky) are not reported.
    ///
    /// ## Example
    /// ```python
    /// data = requests.get(url, timeout=10).json()
    /// ```
    /// ```typescript
    /// const res = await fetch(url);
    /// const user = await res.json();
    /// ```
    /// ```rust
    /// let v = client.get(url).send().await?.json::<serde_json::Value>().await?;
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// resp = requests.get(url, timeout=10)
    /// resp.raise_for_status()
    /// data = resp.json()
    /// ```
    /// ```typescript
    /// const res = await fetch(url);
    /// if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
    /// const user = await res.json();
    /// ```
    /// ```rust
    /// let v: User = client.get(url).send().await?.error_for_status()?.json().await?;
    /// ```
    pub struct UncheckedStatus => {
        id: "external-call/unchecked-status",
        family: ExternalCall,
        summary: "response body used without checking the HTTP status",
        level: Warning,
        languages: [Python, TypeScript, Rust],
        cwe: [252],
        precision: High,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    Check,
    Escape,
    Read,
}

impl Rule for UncheckedStatus {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        // Only calls that return a response and do not raise on its status.
        models.call_anchors(lang, |c| c.response.is_some() && !c.raises_on_status)
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        let models = cx.models();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for i in 0..m.nodes.len() {
            let p = NodeId(i as u32);
            let Some(hit) = external_call(cx, p) else {
                continue;
            };
            if hit.model.raises_on_status || in_test_code(cx, p) {
                continue;
            }
            if hit.client.is_some_and(|t| t.raises_on_status)
                || client_raises(cx, p, hit.client_len)
            {
                continue;
            }
            let Some(resp) = hit
                .model
                .response
                .as_deref()
                .and_then(|r| models.response(m.language, r))
            else {
                continue;
            };
            let k = segs(m, p).len() - 1;
            let producer_fn = m.owner(p);
            // Dropped: the response is the value of an expression statement.
            // A dropped GET is a ping or a warm-up; a dropped write loses the
            // only sign that it failed.
            let events = events_of(cx, p, k, resp);
            let lost = if is_dropped(m, p)
                && !(hit.model.returns_promise && m.language.is_js_family() && !awaited(m, p))
            {
                Some("is dropped without checking its status")
            } else if events.is_empty() && never_used(cx, p, k) {
                Some("is never inspected, so a failed write goes unnoticed")
            } else {
                None
            };
            if let Some(what) = lost {
                if is_write(m, p, &hit) && seen.insert(p) {
                    out.push(
                        Finding::new(
                            &Self::META,
                            m.node(p).span,
                            format!("the response of `{}` {what}", call_label(cx, p)),
                        )
                        .with_help(dropped_help(m.language)),
                    );
                }
                continue;
            }
            // Each unsafe read, judged against the checks before it.
            for &(pos, ev, node) in &events {
                if ev != Event::Read {
                    continue;
                }
                let g = m.owner(node);
                let guarded = events.iter().any(|&(q, e, n)| {
                    let same_fn = m.owner(n) == g;
                    match e {
                        // A status check anywhere in the reading function
                        // (`log(resp.text)` then `if resp.status_code != 200`)
                        // shows the failure path was thought of.
                        Event::Check => same_fn || (m.owner(n) == producer_fn && g != producer_fn),
                        Event::Escape => same_fn && q < pos,
                        Event::Read => false,
                    }
                });
                if guarded {
                    continue;
                }
                let at = report_site(cx, p, k, g, producer_fn).unwrap_or(node);
                if seen.insert(at) {
                    let read = segs(m, node)
                        .iter()
                        .skip(k + 1)
                        .find(|s| !is_transparent(s))
                        .map_or("body", |s| s.name.as_str());
                    out.push(
                        Finding::new(
                            &Self::META,
                            m.node(at).span,
                            format!(
                                "the response of `{}` is read with `.{read}` before its status is checked",
                                call_label(cx, at)
                            ),
                        )
                        .with_related(m.node(node).span, "body read here")
                        .with_help(help(m.language)),
                    );
                }
                break;
            }
        }
        for f in out {
            cx.report(f);
        }
    }
}

/// Methods that pass the response through unchanged.
const TRANSPARENT: &[&str] = &[
    "map_err",
    "context",
    "with_context",
    "wrap_err",
    "wrap_err_with",
    "inspect_err",
    "clone",
    "ok",
    "as_ref",
];

fn is_transparent(s: &faultline_ir::Segment) -> bool {
    s.called && TRANSPARENT.contains(&s.name.as_str())
}

/// Status checks, escapes and body reads of the response made by `p`, in
/// source order.
fn events_of(
    cx: &Context<'_>,
    p: NodeId,
    k: usize,
    resp: &ResponseModel,
) -> Vec<(u32, Event, NodeId)> {
    let m = cx.module;
    let mut events = Vec::new();
    let mut reads_seen = HashSet::new();
    for &(d, kk) in cx.uses().of(p) {
        if kk != k {
            continue;
        }
        let n = m.node(d);
        let Some(path) = &n.path else { continue };
        let start = n.span.start;
        // Result adapters keep the response: `send().map_err(..)?.json()`.
        let j = (k + 1..path.segments.len())
            .find(|&j| !is_transparent(&path.segments[j]))
            .unwrap_or(path.segments.len());
        match path.segments.get(j) {
            None => {
                if d != p && escapes(m, d) {
                    events.push((start, Event::Escape, d));
                }
            }
            Some(next) if listed(&resp.status_checks, &next.name) => {
                events.push((start, Event::Check, d));
            }
            Some(next) if listed(&resp.body_reads, &next.name) => {
                // The outermost node of this read (the call, not its callee).
                if path.segments.len() != j + 1 || !reads_seen.insert(start) {
                    continue;
                }
                // A read made inside a same-file wrapper is judged there.
                if next.call.is_some_and(|c| m.owner(c) != m.owner(d)) {
                    continue;
                }
                let read = outer_read(m, d);
                if validated(cx, read, &next.name) {
                    events.push((start, Event::Check, d));
                } else {
                    events.push((start, Event::Read, read));
                }
            }
            Some(_) => {}
        }
    }
    events.sort_by_key(|e| e.0);
    events
}

/// The call node of a read whose path node is its callee.
fn outer_read(m: &Module, d: NodeId) -> NodeId {
    match m.parent(d) {
        Some(par) if matches!(m.kind(par), Kind::Call { callee, .. } if *callee == d) => par,
        _ => d,
    }
}

/// Whether a bare reference to the response leaves the analysis' sight:
/// passed to a function, returned, stored in an object or container.
fn escapes(m: &Module, d: NodeId) -> bool {
    let mut cur = d;
    while let Some(par) = m.parent(cur) {
        match m.kind(par) {
            Kind::Await(_) | Kind::Question(_) => cur = par,
            Kind::Call { callee, .. } | Kind::New { callee, .. } => return *callee != cur,
            Kind::Return(_) | Kind::Object { .. } | Kind::Array(_) | Kind::Throw(_) => return true,
            Kind::ExprStmt { value, .. } => return *value,
            Kind::Assign { targets, value, .. } => {
                return *value == Some(cur)
                    && targets
                        .iter()
                        .any(|t| matches!(m.kind(*t), Kind::Attr { .. } | Kind::Index { .. }));
            }
            _ => return false,
        }
    }
    false
}

/// Whether the body read feeds a validating parse whose failure propagates.
fn validated(cx: &Context<'_>, read: NodeId, member: &str) -> bool {
    let m = cx.module;
    if m.language == faultline_ir::Language::Rust {
        if member != "json" {
            return false;
        }
        if let Kind::Call { type_args, .. } = m.kind(read)
            && let Some(t) = type_args.first()
        {
            return concrete_type(t);
        }
        // `let v: T = resp.json().await?`: the declared type decides; no
        // type in sight means inference from elsewhere: unknown, silent.
        let mut cur = read;
        while let Some(par) = m.parent(cur) {
            match m.kind(par) {
                Kind::Await(_) | Kind::Question(_) => cur = par,
                Kind::Call { callee, .. } if matches!(m.kind(*callee), Kind::Attr { name, .. } if name == "unwrap" || name == "expect" || name == "context" || name == "map_err" || name == "with_context") => {
                    cur = par
                }
                Kind::Attr { .. } => cur = par,
                Kind::Assign {
                    declared_type: Some(t),
                    ..
                } => return concrete_type(t),
                _ => return true,
            }
        }
        return true;
    }
    let mut cur = read;
    while let Some(par) = m.parent(cur) {
        match m.kind(par) {
            Kind::Await(_) => cur = par,
            Kind::Call { callee, args, .. } | Kind::New { callee, args } if *callee != cur => {
                let s = segs(m, par);
                if s.first().is_some_and(|x| x.name == "JSON") {
                    return false;
                }
                if cx.models().is_validator(m.language, s) {
                    return true;
                }
                // `Model(**resp.json())`: a model class built from the body.
                let spread_into_class = args
                    .iter()
                    .any(|a| a.value == cur && a.spread == Spread::Keyword)
                    && matches!(m.kind(*callee), Kind::Name(n) if n.chars().next().is_some_and(char::is_uppercase));
                return spread_into_class;
            }
            _ => return false,
        }
    }
    false
}

fn concrete_type(t: &str) -> bool {
    let t = t.trim();
    !(t.is_empty()
        || t == "_"
        || t.contains("Value")
        || t.contains("HashMap")
        || t.contains("BTreeMap")
        || t.starts_with("String")
        || t.contains("Vec<u8>"))
}

/// The response is bound but nothing ever looks at it: every later
/// reference is a `match`/`if let` subject whose patterns bind nothing.
fn never_used(cx: &Context<'_>, p: NodeId, k: usize) -> bool {
    let m = cx.module;
    let mut bound = false;
    for &(d, kk) in cx.uses().of(p) {
        let Some(path) = m.path(d) else { continue };
        if d == p || kk != k {
            continue;
        }
        if path.segments.len() > k + 1 && !is_transparent(&path.segments[k + 1]) {
            return false;
        }
        let Some(par) = m.parent(d) else { return false };
        match m.kind(par) {
            Kind::Assign { targets, .. } if targets.contains(&d) => bound = true,
            Kind::Assign { value: Some(v), .. } if *v == d || is_wrapper_of(m, *v, d) => {
                bound = true
            }
            Kind::Await(_) | Kind::Question(_) => {
                if !matches!(m.parent(par).map(|g| m.kind(g)), Some(Kind::Assign { .. })) {
                    return false;
                }
                bound = true;
            }
            Kind::Match { subject, arms } if *subject == d => {
                if arms
                    .iter()
                    .any(|a| a.pattern.is_some_and(|pt| binds_name(m, pt)))
                {
                    return false;
                }
            }
            Kind::Call { callee, .. } if *callee != d => return false,
            _ => {
                if !matches!(m.kind(d), Kind::Call { .. }) {
                    return false;
                }
            }
        }
    }
    bound
}

fn is_wrapper_of(m: &Module, outer: NodeId, inner: NodeId) -> bool {
    m.ancestors(inner).any(|a| a == outer)
}

/// Whether a pattern binds a name other than `_`.
fn binds_name(m: &Module, pat: NodeId) -> bool {
    m.descendants(pat).into_iter().any(|n| match m.kind(n) {
        Kind::Name(x) => x != "_" && x.chars().next().is_some_and(char::is_lowercase),
        _ => false,
    })
}

fn is_dropped(m: &Module, p: NodeId) -> bool {
    let mut cur = p;
    while let Some(par) = m.parent(cur) {
        match m.kind(par) {
            Kind::Await(_) | Kind::Question(_) => cur = par,
            Kind::Call { callee, .. } => {
                // `.unwrap()` / `.expect()` keep the value.
                match m.kind(*callee) {
                    Kind::Attr { name, object }
                        if *object == cur && (name == "unwrap" || name == "expect") =>
                    {
                        cur = par
                    }
                    _ => return false,
                }
            }
            Kind::Attr { name, .. } if name == "unwrap" || name == "expect" => cur = par,
            Kind::ExprStmt { value, .. } => return !*value,
            _ => return false,
        }
    }
    false
}

fn awaited(m: &Module, p: NodeId) -> bool {
    m.parent(p)
        .is_some_and(|par| matches!(m.kind(par), Kind::Await(_)))
}

/// Where to report: the producing call when the read is in its function (or
/// a callback inside it); otherwise the call of the same-file wrapper that
/// handed the response over.
fn report_site(
    cx: &Context<'_>,
    p: NodeId,
    k: usize,
    g: FuncId,
    producer_fn: FuncId,
) -> Option<NodeId> {
    let m = cx.module;
    if g == producer_fn || is_nested_in(m, g, producer_fn) {
        return Some(p);
    }
    cx.uses().of(p).iter().find_map(|&(id, kk)| {
        (kk == k
            && id != p
            && m.owner(id) == g
            && matches!(m.kind(id), Kind::Call { .. })
            && segs(m, id).len() == k + 1)
            .then_some(id)
    })
}

fn is_nested_in(m: &Module, mut f: FuncId, outer: FuncId) -> bool {
    while let Some(p) = m.function(f).parent {
        if p == outer {
            return true;
        }
        f = p;
    }
    false
}

/// aiohttp's `ClientSession(raise_for_status=True)`.
fn client_raises(cx: &Context<'_>, p: NodeId, client_len: usize) -> bool {
    let m = cx.module;
    let Some(hit) = external_call(cx, p) else {
        return false;
    };
    let Some(opt) = hit.client.and_then(|t| t.raise_option.as_deref()) else {
        return false;
    };
    let ctor = client_len
        .checked_sub(1)
        .and_then(|i| segs(m, p).get(i))
        .and_then(|s| s.call);
    ctor.is_some_and(|c| {
        crate::utils::args(m, c).iter().any(|a| {
            a.name.as_deref() == Some(opt) && !matches!(m.kind(a.value), Kind::Bool(false))
        })
    })
}

fn help(lang: faultline_ir::Language) -> &'static str {
    match lang {
        faultline_ir::Language::Python => {
            "call `resp.raise_for_status()` (or check `resp.status_code`) before using the body"
        }
        faultline_ir::Language::Rust => {
            "call `.error_for_status()?` (or check `.status()`) before reading the body"
        }
        _ => "check `res.ok` (or `res.status`) and handle the error before reading the body",
    }
}

fn dropped_help(lang: faultline_ir::Language) -> &'static str {
    match lang {
        faultline_ir::Language::Python => {
            "keep the response and call `raise_for_status()` (or check `status_code`)"
        }
        faultline_ir::Language::Rust => {
            "chain `.error_for_status()?` (or check `.status()`) so a 4xx/5xx is an error"
        }
        _ => "keep the response and check `res.ok`; throw or log when it is false",
    }
}
