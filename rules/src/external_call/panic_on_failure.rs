use faultline_ir::{FuncId, FuncKind, Kind, Module, NodeId};

use crate::external_call::helpers::external_call;
use crate::models::Models;
use crate::utils::{call_label, call_name, in_test_code, receiver, segs, strip_await};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds `.unwrap()` and `.expect(..)` on the `Result` of an external
    /// call (HTTP, database, file, subprocess, socket) in code that runs
    /// while the service serves: handlers, workers, library code.
    ///
    /// ## Why is this bad?
    /// The network and the disk fail as a matter of course. A panic in a
    /// request handler turns one failed call into a dropped connection, a
    /// poisoned mutex or a dead worker task; in a background job, it stops
    /// the job for good. Inside a request handler this is an error; elsewhere
    /// a warning.
    ///
    /// Test code (`#[test]`, `#[cfg(test)]`, `tests/`, `benches/`,
    /// `build.rs`, cargo examples) is exempt, and so is start-up code in
    /// `fn main` before the server starts serving: failing fast at boot is
    /// the idiom.
    ///
    /// ## Example
    /// ```rust
    /// async fn get_user(State(db): State<PgPool>, Path(id): Path<i64>) -> Json<User> {
    ///     let user = sqlx::query_as("select * from users where id = $1")
    ///         .bind(id).fetch_one(&db).await.unwrap();
    ///     Json(user)
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// async fn get_user(State(db): State<PgPool>, Path(id): Path<i64>) -> Result<Json<User>, AppError> {
    ///     let user = sqlx::query_as("select * from users where id = $1")
    ///         .bind(id).fetch_one(&db).await?;
    ///     Ok(Json(user))
    /// }
    /// ```
    pub struct PanicOnFailure => {
        id: "external-call/panic-on-failure",
        family: ExternalCall,
        summary: "panic when an external call fails",
        level: Warning,
        languages: [Rust],
        cwe: [248],
        precision: High,
    }
}

impl Rule for PanicOnFailure {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        crate::external_call::helpers::needles(lang, models, &[])
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        if cargo_aux_file(cx.path) {
            return;
        }
        let mut out = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            let Some(name) = call_name(m, id) else {
                continue;
            };
            if name != "unwrap" && name != "expect" {
                continue;
            }
            let Some(recv) = receiver(m, id) else {
                continue;
            };
            let target = strip_await(m, recv);
            if !fallible_external(cx, target) || in_test_code(cx, id) || in_startup(m, id) {
                continue;
            }
            let handler = enclosing_functions(m, m.owner(id)).any(|f| m.function(f).is_handler);
            let level = if handler {
                Level::Error
            } else {
                Level::Warning
            };
            let what = call_label(cx, target);
            out.push(
                Finding::new(
                    &Self::META,
                    m.node(id).span,
                    format!(
                        "`.{name}()` panics when `{what}` fails{}",
                        if handler { " inside a request handler" } else { "" }
                    ),
                )
                .with_level(level)
                .with_help("propagate the error with `?` (add context with `.context(..)` or `map_err`) and handle it at the boundary"),
            );
        }
        for f in out {
            cx.report(f);
        }
    }
}

/// An external call or a read of an external response body.
fn fallible_external(cx: &Context<'_>, target: NodeId) -> bool {
    let m = cx.module;
    if let Some(hit) = external_call(cx, target) {
        return hit.model.fallible;
    }
    let s = segs(m, target);
    matches!(
        s.last().map(|x| x.name.as_str()),
        Some("json" | "text" | "bytes" | "chunk")
    ) && s
        .iter()
        .rev()
        .skip(1)
        .filter_map(|x| x.call)
        .any(|c| external_call(cx, c).is_some_and(|h| h.model.response.is_some()))
}

fn enclosing_functions(m: &Module, f: FuncId) -> impl Iterator<Item = FuncId> + '_ {
    std::iter::successors(Some(f), move |x| m.function(*x).parent)
}

/// Start-up code: in `fn main` before the first call that starts serving, or
/// in a same-file function that is only called from start-up code.
fn in_startup(m: &Module, id: NodeId) -> bool {
    startup_at(m, m.owner(id), m.node(id).span.start, 0)
}

fn startup_at(m: &Module, f: FuncId, at: u32, depth: usize) -> bool {
    let func = m.function(f);
    if func.name == "main" && func.kind == FuncKind::Function {
        let serve_at = m
            .descendants(func.body)
            .into_iter()
            .filter(|n| {
                matches!(
                    call_name(m, *n),
                    Some(
                        "serve" | "run" | "launch" | "listen" | "run_until_stopped" | "bind_rustls"
                    )
                )
            })
            .map(|n| m.node(n).span.start)
            .min();
        return serve_at.is_none_or(|s| at < s);
    }
    if depth >= 3 || !matches!(func.kind, FuncKind::Function | FuncKind::Lambda) {
        return false;
    }
    if func.kind == FuncKind::Lambda {
        return func.parent.is_some_and(|p| startup_at(m, p, at, depth + 1));
    }
    // Every same-file call of this function is itself start-up code.
    let mut callers = 0;
    for (i, n) in m.nodes.iter().enumerate() {
        let Kind::Call { callee, .. } = &n.kind else {
            continue;
        };
        if !matches!(m.kind(*callee), Kind::Name(x) if *x == func.name) {
            continue;
        }
        callers += 1;
        let call = NodeId(i as u32);
        // `tokio::spawn(worker(..))` at boot runs the worker while serving.
        let spawned = m
            .ancestors(call)
            .any(|a| matches!(call_name(m, a), Some(n) if n.starts_with("spawn")));
        if spawned {
            return false;
        }
        if !startup_at(m, m.owner(call), n.span.start, depth + 1) {
            return false;
        }
    }
    callers > 0
}

/// `build.rs`, `benches/`, and cargo examples (`examples/*.rs`).
fn cargo_aux_file(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    let file = parts.last().copied().unwrap_or("");
    file == "build.rs"
        || parts.contains(&"benches")
        || (parts.len() >= 2 && parts[parts.len() - 2] == "examples")
}
