use faultline_ir::{Handler, Kind, Language, Module, NodeId};

use crate::external_call::helpers::{contains_external_call, external_call, is_write};
use crate::models::Models;
use crate::utils::{
    args, call_label, call_name, in_test_code, listed, receiver, segs, strip_await,
};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds failures of external calls (HTTP, database, subprocess, file,
    /// cache) that are caught or discarded with nothing done about them: an
    /// `except` that only passes or returns a default, an empty `catch`, a
    /// `.catch(() => {})`, a Rust `let _ =` or `.ok();` on the call's
    /// `Result`, or `.unwrap_or_default()` on it or on the read of its
    /// response's body (`resp.text().await.unwrap_or_default()`).
    ///
    /// ## Why is this bad?
    /// The failure still happened; now nobody knows. The order is not
    /// saved, the email not sent, the file not written, and the logs are
    /// clean. When it is noticed, days later, there is nothing to debug
    /// from.
    ///
    /// Handling counts: logging (stdlib `logging`, loguru, structlog,
    /// `console.error`, `tracing`, a project logger), re-raising, returning or
    /// recording the error, a metric. A handler for an exception that is
    /// normal control flow (`FileNotFoundError`, `KeyError`) is not reported,
    /// nor is a bare `except` around code that makes no external call. A
    /// comment in the handler that explains the choice lowers the finding to
    /// a note.
    ///
    /// ## Example
    /// ```python
    /// try:
    ///     requests.post(hook_url, json=event, timeout=5)
    /// except Exception:
    ///     pass
    /// ```
    /// ```typescript
    /// await fetch(hookUrl, { method: "POST", body }).catch(() => {});
    /// ```
    /// ```rust
    /// let _ = client.post(hook_url).json(&event).send().await;
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// try:
    ///     requests.post(hook_url, json=event, timeout=5)
    /// except requests.RequestException:
    ///     logger.warning("webhook delivery failed", exc_info=True)
    /// ```
    /// ```typescript
    /// await fetch(hookUrl, { method: "POST", body }).catch((err) => log.warn({ err }, "webhook failed"));
    /// ```
    /// ```rust
    /// if let Err(e) = client.post(hook_url).json(&event).send().await {
    ///     tracing::warn!(error = %e, "webhook delivery failed");
    /// }
    /// ```
    pub struct SwallowedError => {
        id: "external-call/swallowed-error",
        family: ExternalCall,
        summary: "external call failure caught and ignored",
        level: Warning,
        languages: [Python, TypeScript, Rust],
        cwe: [390],
        precision: High,
    }
}

impl Rule for SwallowedError {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        let calls = crate::external_call::helpers::needles(lang, models, &[])?;
        // Python swallows in an `except` or `contextlib.suppress`;
        // JavaScript in a `catch` or an uninspected `Promise.allSettled`.
        Some(match lang {
            Language::Python => calls.and_any(["except", "suppress"]),
            l if l.is_js_family() => calls.and_any(["catch", "allSettled"]),
            _ => calls,
        })
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        let mut out = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            match m.kind(id) {
                Kind::Try { body, handlers, .. } => {
                    if in_test_code(cx, id) || !contains_external_call(cx, *body, false) {
                        continue;
                    }
                    for h in handlers {
                        if catches_failures(cx, h) && swallows(m, h) {
                            out.push(self.handler_finding(cx, h));
                        }
                    }
                }
                Kind::With { items, body, .. } if m.language == Language::Python => {
                    let suppresses = items.iter().any(|it| {
                        segs(m, it.context)
                            .iter()
                            .map(|s| s.name.as_str())
                            .eq(["contextlib", "suppress"])
                            && args(m, it.context)
                                .iter()
                                .any(|a| catches_type(cx, a.value))
                    });
                    if suppresses
                        && !in_test_code(cx, id)
                        && contains_external_call(cx, *body, false)
                    {
                        out.push(
                            Finding::new(
                                &Self::META,
                                m.node(id).span,
                                "`contextlib.suppress(..)` silences the failure of an external call",
                            )
                            .with_help("catch the error and log it, or let it propagate"),
                        );
                    }
                }
                Kind::Assign {
                    targets,
                    value: Some(v),
                    ..
                } if m.language == Language::Rust => {
                    if targets.len() == 1
                        && matches!(m.kind(targets[0]), Kind::Name(n) if n == "_")
                        && let Some(call) = discarded_result(cx, *v)
                        && !in_test_code(cx, id)
                    {
                        out.push(
                            Finding::new(
                                &Self::META,
                                m.node(id).span,
                                format!(
                                    "the `Result` of `{}` is discarded with `let _ =`",
                                    call_label(cx, call)
                                ),
                            )
                            .with_help("handle the error: log it, return it with `?`, or count it"),
                        );
                    }
                }
                Kind::ExprStmt { expr, value: false } => {
                    if in_test_code(cx, id) {
                        continue;
                    }
                    if let Some(f) = self.statement_finding(cx, *expr) {
                        out.push(f);
                    }
                }
                Kind::If {
                    cond, els: None, ..
                } if m.language == Language::Rust => {
                    if let Kind::Let { pattern, value } = m.kind(*cond)
                        && matches!(m.kind(*pattern), Kind::Call { .. } if call_name(m, *pattern) == Some("Ok"))
                        && let Some(call) = discarded_result(cx, *value)
                        && external_call(cx, call).is_some_and(|h| is_write(m, call, &h))
                        && !in_test_code(cx, id)
                    {
                        out.push(
                            Finding::new(
                                &Self::META,
                                m.node(id).span,
                                format!(
                                    "the error of `{}` is ignored: `if let Ok(..)` has no `else`",
                                    call_label(cx, call)
                                ),
                            )
                            .with_help("add an `else` (or match on `Err(e)`) that logs or returns the error"),
                        );
                    }
                }
                Kind::Call { .. } => {
                    if in_test_code(cx, id) {
                        continue;
                    }
                    if let Some(f) = self.defaulted_result(cx, id) {
                        out.push(f);
                    }
                    if let Some(f) = self.empty_catch_callback(cx, id) {
                        out.push(f);
                    }
                }
                _ => {}
            }
        }
        for f in out {
            cx.report(f);
        }
    }
}

impl SwallowedError {
    fn handler_finding(&self, cx: &Context<'_>, h: &Handler) -> Finding {
        let explained = cx
            .module
            .comments
            .iter()
            .any(|c| h.span.contains(c.span) && !c.text.is_empty());
        let what = if cx.module.language == Language::Python {
            "this `except`"
        } else {
            "this `catch`"
        };
        let f = Finding::new(
            &Self::META,
            h.span,
            format!(
                "{what} swallows the failure of an external call without logging or re-raising it"
            ),
        )
        .with_help(
            "log the error (with its traceback), re-raise it, or return an error to the caller",
        );
        if explained {
            f.with_level(Level::Note)
        } else {
            f
        }
    }

    /// `.catch(() => {})`, `.ok();`, `Promise.allSettled(..)` discarded.
    fn statement_finding(&self, cx: &Context<'_>, expr: NodeId) -> Option<Finding> {
        let m = cx.module;
        let e = strip_await(m, expr);
        let name = call_name(m, e)?;
        if name == "ok" && m.language == Language::Rust && args(m, e).is_empty() {
            let recv = receiver(m, e)?;
            let call = discarded_result(cx, recv)?;
            return Some(
                Finding::new(
                    &Self::META,
                    m.node(expr).span,
                    format!("`.ok()` discards the error of `{}`", call_label(cx, call)),
                )
                .with_help("handle the error: log it, return it with `?`, or count it"),
            );
        }
        if name == "allSettled"
            && m.language.is_js_family()
            && segs(m, e).first().is_some_and(|s| s.name == "Promise")
            && args(m, e)
                .iter()
                .any(|a| contains_external_call(cx, a.value, true))
        {
            return Some(
                Finding::new(
                    &Self::META,
                    m.node(expr).span,
                    "the results of `Promise.allSettled(..)` are never inspected, so its rejections vanish",
                )
                .with_help("keep the results and log or retry the entries whose `status` is \"rejected\""),
            );
        }
        None
    }

    /// `.catch(() => {})` / `.catch(() => null)` on a promise of an external call.
    fn empty_catch_callback(&self, cx: &Context<'_>, call: NodeId) -> Option<Finding> {
        let m = cx.module;
        if !m.language.is_js_family() || call_name(m, call) != Some("catch") {
            return None;
        }
        let recv = receiver(m, call)?;
        let a = args(m, call);
        (a.len() == 1 && empty_callback(m, a[0].value) && contains_external_call(cx, recv, false))
            .then(|| {
                Finding::new(
                    &Self::META,
                    m.node(call).span,
                    "`.catch(..)` throws away the failure of an external call",
                )
                .with_help("log the error or let it propagate: `.catch((err) => logger.warn({ err }, ..))`")
            })
    }

    /// Rust `.unwrap_or_default()` / `.ok().unwrap_or(..)` on an external
    /// call's `Result`.
    fn defaulted_result(&self, cx: &Context<'_>, id: NodeId) -> Option<Finding> {
        let m = cx.module;
        if m.language != Language::Rust || in_test_code(cx, id) {
            return None;
        }
        let name = call_name(m, id)?;
        if !matches!(name, "unwrap_or_default" | "unwrap_or") {
            return None;
        }
        let mut recv = receiver(m, id)?;
        if call_name(m, recv) == Some("ok") {
            recv = receiver(m, recv)?;
        }
        let call = discarded_result(cx, recv).or_else(|| body_read(cx, recv))?;
        Some(
            Finding::new(
                &Self::META,
                m.node(id).span,
                format!(
                    "`.{name}(..)` replaces the error of `{}` with a default",
                    call_label(cx, call)
                ),
            )
            .with_help("log the error before falling back, or return it with `?`"),
        )
    }
}

/// The external call whose `Result` `v` is (looking through `.await`, not
/// through `?`), unless it is a best-effort cleanup.
fn discarded_result(cx: &Context<'_>, v: NodeId) -> Option<NodeId> {
    let cur = awaited_value(cx.module, v);
    let hit = external_call(cx, cur)?;
    (hit.model.fallible && !hit.model.cleanup).then_some(cur)
}

/// `v` without its `.await`s (not through `?`, which propagates the error).
fn awaited_value(m: &Module, mut v: NodeId) -> NodeId {
    while let Kind::Await(e) = m.kind(v) {
        v = *e;
    }
    v
}

/// The read of the body of an external call's response that `v` is
/// (`resp.text().await`, `resp` bound to a `reqwest` send), looking
/// through `.await`: the body arrives over the network after the status
/// and can fail on its own.
fn body_read(cx: &Context<'_>, v: NodeId) -> Option<NodeId> {
    let m = cx.module;
    let cur = awaited_value(m, v);
    let (read, sent) = segs(m, cur).split_last()?;
    if read.call != Some(cur) {
        return None;
    }
    let hit = cx.models().call(m.language, sent)?;
    let response = cx
        .models()
        .response(m.language, hit.model.response.as_deref()?)?;
    listed(&response.body_reads, &read.name).then_some(cur)
}

/// Whether the handler catches failures of external calls: bare, broad, or
/// a modeled exception type.
fn catches_failures(cx: &Context<'_>, h: &Handler) -> bool {
    let m = cx.module;
    if m.language != Language::Python || h.types.is_empty() {
        return true;
    }
    let mut types = Vec::new();
    for t in &h.types {
        match m.kind(*t) {
            Kind::Array(items) => types.extend(items.iter().copied()),
            _ => types.push(*t),
        }
    }
    types.iter().any(|t| catches_type(cx, *t))
}

/// Whether an exception type is broad (`Exception`) or a modeled failure of
/// an external call (`requests.RequestException`, `OSError`).
fn catches_type(cx: &Context<'_>, t: NodeId) -> bool {
    let m = cx.module;
    let s = segs(m, t);
    let broad = s.len() == 1 && matches!(s[0].name.as_str(), "Exception" | "BaseException");
    let named_broad =
        matches!(m.kind(t), Kind::Name(n) if n == "Exception" || n == "BaseException");
    broad || named_broad || cx.models().is_external_exception(m.language, s)
}

/// Whether a handler does nothing with the failure: only `pass`,
/// `continue`, `break`, a default return or assignment, and no call, raise
/// or use of the exception.
fn swallows(m: &Module, h: &Handler) -> bool {
    let Kind::Block(stmts) = m.kind(h.body) else {
        return false;
    };
    for s in stmts {
        match m.kind(*s) {
            Kind::Pass | Kind::Continue | Kind::Break => {}
            Kind::ExprStmt { expr, .. } if matches!(m.kind(*expr), Kind::Str(_)) => {}
            Kind::Return(None) => {}
            // `return False` from a probe (`is_reachable()`): the
            // exception is the answer.
            Kind::Return(Some(v)) if matches!(m.kind(*v), Kind::Bool(_)) => return false,
            Kind::Return(Some(v)) if crate::utils::is_default_value(m, *v) => {}
            Kind::Assign {
                targets,
                value: Some(v),
                ..
            } if crate::utils::is_default_value(m, *v)
                && targets.iter().all(|t| matches!(m.kind(*t), Kind::Name(_))) => {}
            _ => return false,
        }
    }
    true
}

/// `() => {}`, `() => null`, `() => undefined`, `(e) => {}`.
fn empty_callback(m: &Module, v: NodeId) -> bool {
    let Kind::Lambda(f) = m.kind(v) else {
        return matches!(m.kind(v), Kind::Name(n) if n == "noop");
    };
    let body = m.function(*f).body;
    match m.kind(body) {
        Kind::Block(stmts) => stmts.iter().all(|s| match m.kind(*s) {
            Kind::Pass => true,
            Kind::Return(None) => true,
            Kind::Return(Some(v)) => crate::utils::is_default_value(m, *v),
            Kind::ExprStmt { expr, .. } => crate::utils::is_default_value(m, *expr),
            _ => false,
        }),
        _ => crate::utils::is_default_value(m, body),
    }
}
