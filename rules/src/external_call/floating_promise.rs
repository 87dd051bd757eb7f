use faultline_ir::{FuncId, FuncKind, Kind, Language, Module, NodeId};

use crate::external_call::helpers::external_or_wrapper_call;
use crate::models::Models;
use crate::utils::{args, call_label, call_name, callee, in_test_code, receiver, segs};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};

declare_rule! {
    /// ## What it does
    /// Finds promises and coroutines of external calls, or of this file's own
    /// `async` functions, that nobody awaits, returns, stores or handles; and
    /// in Python, `asyncio.create_task(..)` whose task is thrown away.
    ///
    /// ## Why is this bad?
    /// A floating promise's failure is an unhandled rejection: logged at
    /// best, a process crash on Node 15+ at worst, and the caller carries on
    /// as if the call succeeded. In Python, calling an `async def` without
    /// `await` does not run it at all, and a task whose only reference is
    /// dropped can be garbage-collected before it finishes.
    ///
    /// `await`, `return`, `.catch(..)`, `.then(onFulfilled, onRejected)`,
    /// an explicit `void`, or keeping the promise/task (in a variable, a
    /// set, `Promise.all`) all count as handling it.
    ///
    /// ## Example
    /// ```typescript
    /// app.post("/orders", async (req, res) => {
    ///   const order = await createOrder(req.body);
    ///   sendReceipt(order.email);
    ///   res.status(201).json(order);
    /// });
    /// ```
    /// ```python
    /// async def handle(event):
    ///     asyncio.create_task(audit(event))
    /// ```
    ///
    /// Use instead:
    /// ```typescript
    /// await sendReceipt(order.email);
    /// ```
    /// ```python
    /// background_tasks = set()
    ///
    /// async def handle(event):
    ///     task = asyncio.create_task(audit(event))
    ///     background_tasks.add(task)
    ///     task.add_done_callback(background_tasks.discard)
    /// ```
    pub struct FloatingPromise => {
        id: "external-call/floating-promise",
        family: ExternalCall,
        summary: "promise or task of an external call left floating",
        level: Warning,
        languages: [Python, TypeScript],
        cwe: [755],
        precision: High,
    }
}

impl Rule for FloatingPromise {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        // A same-file `async` function, or: in Python a spawned task, in
        // JavaScript a call that returns a promise.
        let mut out = if lang == Language::Python {
            models.anchors(lang, crate::models::Table::Spawns)?
        } else {
            models.call_anchors(lang, |c| c.returns_promise)?
        };
        out.extend(crate::prefilter::Needles::any(["async"]));
        Some(out.normalized())
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
        for n in &m.nodes {
            let Kind::ExprStmt { expr, value: false } = n.kind else {
                continue;
            };
            if !matches!(m.kind(expr), Kind::Call { .. }) || in_test_code(cx, expr) {
                continue;
            }
            let finding = if m.language == Language::Python {
                python_floating(cx, expr)
            } else if m.language.is_js_family() {
                js_floating(cx, expr)
            } else {
                None
            };
            out.extend(finding);
        }
        for f in out {
            cx.report(f);
        }
    }
}

fn python_floating(cx: &Context<'_>, call: NodeId) -> Option<Finding> {
    let m = cx.module;
    if cx.models().is_spawn(m.language, segs(m, call)) {
        return Some(
            Finding::new(
                &FloatingPromise::META,
                m.node(call).span,
                format!(
                    "the task from `{}` is not kept; it can be garbage-collected before it finishes",
                    call_label(cx, call)
                ),
            )
            .with_help("keep a reference (e.g. add it to a set and discard it in `add_done_callback`) or await it"),
        );
    }
    let f = same_file_async(m, call)?;
    Some(
        Finding::new(
            &FloatingPromise::META,
            m.node(call).span,
            format!(
                "`{}` is an `async def` called without `await`; it never runs",
                m.function(f).name
            ),
        )
        .with_help("`await` it, or schedule it with `asyncio.create_task` and keep the task"),
    )
}

fn js_floating(cx: &Context<'_>, expr: NodeId) -> Option<Finding> {
    let m = cx.module;
    // Walk down `.then(ok)` / `.finally(..)` chains, which do not handle a
    // rejection; `.catch(..)` and `.then(ok, err)` do.
    let mut call = expr;
    loop {
        match call_name(m, call) {
            Some("catch") => return None,
            Some("then") if args(m, call).len() >= 2 => return None,
            Some("then" | "finally") => call = receiver(m, call)?,
            _ => break,
        }
        if !matches!(m.kind(call), Kind::Call { .. }) {
            return None;
        }
    }
    let what = if let Some(hit) = external_or_wrapper_call(cx, call) {
        if !hit.model.returns_promise {
            return None;
        }
        format!(
            "the promise of `{}` is neither awaited nor handled",
            call_label(cx, call)
        )
    } else {
        let f = same_file_async(m, call)?;
        format!(
            "`{}` is async and its promise is neither awaited nor handled",
            m.function(f).name
        )
    };
    Some(
        Finding::new(&FloatingPromise::META, m.node(expr).span, what).with_help(
            "`await` it, `return` it, or add `.catch(..)`; write `void` if dropping it is intended",
        ),
    )
}

/// The same-file `async` function a call invokes: a function by name, or a
/// method of the caller's class through `self.`/`this.`.
fn same_file_async(m: &Module, call: NodeId) -> Option<FuncId> {
    let c = callee(m, call)?;
    let (name, method_of) = match m.kind(c) {
        Kind::Name(n) => (n.as_str(), None),
        Kind::Attr { object, name } => match m.kind(*object) {
            Kind::Name(o) if o == "self" || o == "this" => {
                let class = class_of(m, m.owner(call))?;
                (name.as_str(), Some(class))
            }
            _ => return None,
        },
        _ => return None,
    };
    // A local binding of the same name shadows the function: not resolvable.
    let found = m.functions.iter().enumerate().find(|(_, f)| {
        f.name == name
            && match &method_of {
                Some(class) => {
                    f.kind == FuncKind::Method && f.class.as_deref() == Some(class.as_str())
                }
                None => f.kind == FuncKind::Function,
            }
    })?;
    found.1.is_async.then_some(FuncId(found.0 as u32))
}

fn class_of(m: &Module, mut f: FuncId) -> Option<String> {
    loop {
        let func = m.function(f);
        if let Some(c) = &func.class {
            return Some(c.clone());
        }
        f = func.parent?;
    }
}
