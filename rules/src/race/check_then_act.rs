use faultline_ir::{Kind, Module, NodeId, Span};
use foldhash::HashSet;

use crate::models::Models;
use crate::models::{StateKind, StateRole};
use crate::race::helpers::{
    StateModels, acts, conflict_caught, entity, is_cache_aside, is_safe, key_text, lock_call,
    path_text, receiver_text,
};
use crate::utils::dataflow::{Flow, Origin, Source};
use crate::utils::sql::SqlKind;
use crate::utils::{call_label, strip};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds an action that relies on an earlier check of shared state that
    /// may no longer hold when the action runs: create a row after checking
    /// that none exists (or that a quota is not reached), create a file
    /// after `exists()`, insert into a map after `contains_key` under
    /// another lock guard, set a cache key after reading it as an
    /// idempotency guard, or create an external resource because the stored
    /// external id was empty.
    ///
    /// ## Why is this bad?
    /// Two requests both pass the check before either acts: both create the
    /// row (a duplicate account, two subscriptions), both create the file,
    /// both charge the card. The window is small in tests and large under
    /// load and retries.
    ///
    /// `get_or_create`, upserts, `INSERT … ON CONFLICT`, `SET NX`,
    /// `cache.add`, the entry API under one guard, `exist_ok=True`,
    /// `O_EXCL` / `create_new(true)` / the `'wx'` flag, and catching the
    /// unique violation are safe.
    ///
    /// ## Example
    /// ```python
    /// if not User.objects.filter(email=email).exists():
    ///     User.objects.create(email=email)
    /// ```
    /// ```typescript
    /// if (!fs.existsSync(lockPath)) {
    ///   fs.writeFileSync(lockPath, String(process.pid));
    /// }
    /// ```
    /// ```rust
    /// if !Path::new(&path).exists() {
    ///     File::create(&path)?;
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// User.objects.get_or_create(email=email)
    /// ```
    /// ```typescript
    /// fs.writeFileSync(lockPath, String(process.pid), { flag: "wx" });
    /// ```
    /// ```rust
    /// OpenOptions::new().write(true).create_new(true).open(&path)?;
    /// ```
    ///
    /// ## Known problems
    /// A unique constraint in the schema that turns the duplicate into an
    /// error is not seen unless the error is caught around the action.
    pub struct CheckThenAct => {
        id: "race/check-then-act",
        family: Race,
        summary: "action that assumes an earlier check of shared state still holds",
        level: Warning,
        languages: [Python, TypeScript, Rust],
        cwe: [367],
        precision: Medium,
    }
}

struct Active {
    cond: NodeId,
    then: Span,
    els: Option<Span>,
    end: u32,
    guard_clause: bool,
    checks: Vec<Origin>,
}

impl Rule for CheckThenAct {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        super::needles(Self::META.id, lang, models)
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        cx.report_race(|w| &mut w.check_then_act);
    }
}

/// This rule's part of the race rules' shared walk (see [`super::walk`]).
#[derive(Default)]
pub(super) struct Walk {
    /// Conditions over shared state whose branches are being walked.
    active: Vec<Active>,
    /// Action, the read it relies on, what was checked, the fix.
    found: Vec<(NodeId, NodeId, String, String)>,
}

impl Walk {
    /// Before the walk of a function.
    pub(super) fn enter(&mut self) {
        self.active.clear();
    }

    /// At each node of the walk, in evaluation order.
    pub(super) fn node(&mut self, flow: &Flow<'_>, sm: &StateModels<'_>, n: NodeId) {
        let m = flow.m;
        match m.kind(n) {
            Kind::If { cond, then, els } => {
                let checks = cond_checks(flow, *cond);
                if !checks.is_empty() {
                    self.active.push(Active {
                        cond: *cond,
                        then: m.node(*then).span,
                        els: els.map(|e| m.node(e).span),
                        end: m.node(n).span.end,
                        guard_clause: exits(m, *then),
                        checks,
                    });
                }
                external_id(flow, *cond, *then, &mut self.found);
            }
            Kind::Call { .. } => {
                if let Some((o, fix)) = act(flow, sm, n, &self.active) {
                    let what = describe_check(&o);
                    self.found.push((n, o.read, what, fix));
                }
            }
            _ => {}
        }
    }

    /// The findings of every function, one per action.
    pub(super) fn finish(self, cx: &Context<'_>) -> Vec<Finding> {
        let m = cx.module;
        let mut seen = HashSet::default();
        let mut out = Vec::new();
        for (at, check, what, fix) in self.found {
            if !seen.insert(at) {
                continue;
            }
            let line = cx.lines.line(m.node(check).span.start);
            let label = call_label(cx, at);
            out.push(
                Finding::new(
                    &CheckThenAct::META,
                    m.node(at).span,
                    format!(
                        "`{label}` relies on the check of {what} at line {line}, which a concurrent request can invalidate; use {fix}"
                    ),
                )
                .with_related(m.node(check).span, "checked here"),
            );
        }
        out
    }
}

fn describe_check(o: &Origin) -> String {
    match &o.source {
        Source::Model(StateKind::Key) | Source::Model(StateKind::File) => o.label.clone(),
        Source::Sql => format!("table `{}`", o.entity),
        _ => format!("`{}`", o.label),
    }
}

/// The reads of shared state a condition tests.
fn cond_checks(flow: &Flow<'_>, cond: NodeId) -> Vec<Origin> {
    let m = flow.m;
    let mut out: Vec<Origin> = Vec::new();
    m.walk(cond, &mut |n| {
        if matches!(
            m.kind(n),
            Kind::Name(_) | Kind::Call { .. } | Kind::Attr { .. } | Kind::Index { .. }
        ) {
            for o in flow.eval(n) {
                let keep = match o.source {
                    Source::Model(StateKind::Row) => o.check || o.row,
                    Source::Model(StateKind::Key)
                    | Source::Model(StateKind::File)
                    | Source::Model(StateKind::Guard)
                    | Source::Sql => true,
                    _ => false,
                };
                if keep && !o.locked && !out.contains(&o) {
                    out.push(o);
                }
            }
        }
    });
    out
}

/// Whether a branch leaves the enclosing code (`return`, `raise`, `throw`,
/// `continue`, `break`).
fn exits(m: &Module, branch: NodeId) -> bool {
    let stmts = match m.kind(branch) {
        Kind::Block(v) => v.clone(),
        _ => vec![branch],
    };
    stmts.iter().any(|s| {
        let s = match m.kind(*s) {
            Kind::ExprStmt { expr, .. } => *expr,
            _ => *s,
        };
        matches!(
            m.kind(s),
            Kind::Return(_) | Kind::Throw(_) | Kind::Continue | Kind::Break
        )
    })
}

fn act(
    flow: &Flow<'_>,
    sm: &StateModels<'_>,
    n: NodeId,
    active: &[Active],
) -> Option<(Origin, String)> {
    let m = flow.m;
    let span = m.node(n).span;
    let regions: Vec<&Active> = active
        .iter()
        .filter(|a| {
            a.then.contains(span)
                || a.els.is_some_and(|e| e.contains(span))
                || (a.guard_clause && span.start >= a.end)
        })
        .collect();
    if regions.is_empty() || conflict_caught(m, n) {
        return None;
    }
    let cache_aside = |o: &Origin, cond: NodeId| {
        o.source == Source::Model(StateKind::Key) && !o.check && is_cache_aside(m, o.read, cond)
    };
    let matches_check = |pred: &dyn Fn(&Origin) -> bool| {
        regions.iter().find_map(|a| {
            a.checks
                .iter()
                .find(|o| {
                    pred(o)
                        && !flow.same_lock(o.read, n)
                        && !m.node(a.cond).span.contains(span)
                        && !cache_aside(o, a.cond)
                })
                .cloned()
        })
    };
    for st in sm.roles(m, n, StateRole::Create) {
        if !acts(m, n, st) || is_safe(m, n, st) {
            continue;
        }
        let fix = st.fix.clone().unwrap_or_default();
        let hit = match st.kind {
            StateKind::Row => {
                let ent = entity(flow, n, st);
                matches_check(&|o| {
                    o.source == Source::Model(StateKind::Row) && same_entity(&o.entity, &ent)
                })
            }
            StateKind::Key => {
                let key = key_text(flow, n, st);
                let recv = receiver_text(flow, n);
                matches_check(&|o| {
                    o.source == Source::Model(StateKind::Key)
                        && o.key.as_deref() == Some(key.as_str())
                        && o.entity == recv
                })
            }
            StateKind::File => {
                let path = path_text(flow, n);
                matches_check(&|o| {
                    o.source == Source::Model(StateKind::File)
                        && o.key.as_deref() == Some(path.as_str())
                })
            }
            StateKind::Guard => {
                let guard = lock_call(m, n);
                let ent = guard.map(|g| receiver_text(flow, g)).unwrap_or_default();
                matches_check(&|o| {
                    o.source == Source::Model(StateKind::Guard)
                        && o.entity == ent
                        && o.guard.is_some()
                        && o.guard != guard
                })
            }
            _ => None,
        };
        if let Some(o) = hit {
            return Some((o, fix));
        }
    }
    if let Some((_, facts)) = flow.chain_sql(n)
        && facts.kind == SqlKind::Insert
        && !facts.upsert
        && m.parent(n)
            .is_none_or(|p| !matches!(m.kind(p), Kind::Attr { object, .. } if *object == n))
    {
        let hit = matches_check(&|o| o.source == Source::Sql && facts.tables.contains(&o.entity));
        if let Some(o) = hit {
            return Some((
                o,
                "`INSERT … ON CONFLICT` (or `ON DUPLICATE KEY`), or catching the unique violation"
                    .to_string(),
            ));
        }
    }
    None
}

/// `if not row.stripe_id: c = create(..); row.stripe_id = c.id`: the
/// external resource is created twice when two requests see the empty id.
fn external_id(
    flow: &Flow<'_>,
    cond: NodeId,
    then: NodeId,
    found: &mut Vec<(NodeId, NodeId, String, String)>,
) {
    let m = flow.m;
    let mut tested: Option<(String, String, NodeId)> = None;
    m.walk(cond, &mut |n| {
        if let Kind::Attr { object, name } = m.kind(n)
            && let Kind::Name(obj) = m.kind(*object)
            && (name.ends_with("_id") || name.ends_with("Id"))
            && flow.eval(*object).iter().any(|o| o.row && !o.locked)
        {
            tested = Some((obj.to_string(), name.to_string(), n));
        }
    });
    let Some((obj, field, check)) = tested else {
        return;
    };
    let Kind::Block(stmts) = m.kind(then) else {
        return;
    };
    let mut calls: Vec<(String, NodeId)> = Vec::new();
    for s in stmts {
        let Kind::Assign {
            targets,
            value: Some(v),
            ..
        } = m.kind(*s)
        else {
            continue;
        };
        let v = strip(m, *v);
        for t in targets {
            match m.kind(*t) {
                Kind::Name(x) if matches!(m.kind(v), Kind::Call { .. }) => {
                    calls.push((x.to_string(), v));
                }
                Kind::Attr { object, name } if *name == field => {
                    if !matches!(m.kind(*object), Kind::Name(o) if *o == obj) {
                        continue;
                    }
                    let source = match m.kind(v) {
                        Kind::Call { .. } => Some(v),
                        Kind::Attr { object, .. } | Kind::Index { object, .. } => {
                            match m.kind(strip(m, *object)) {
                                Kind::Name(x) => {
                                    calls.iter().rev().find(|(n, _)| n == x).map(|(_, c)| *c)
                                }
                                Kind::Call { .. } => Some(strip(m, *object)),
                                _ => None,
                            }
                        }
                        _ => None,
                    };
                    if let Some(c) = source {
                        found.push((
                            c,
                            check,
                            format!("`{obj}.{field}`"),
                            "a row lock (`select_for_update()`) around the check and the store, or an idempotency key on the create".to_string(),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}

fn same_entity(a: &str, b: &str) -> bool {
    let a = a.rsplit(['.', ':']).next().unwrap_or(a);
    let b = b.rsplit(['.', ':']).next().unwrap_or(b);
    !a.is_empty() && a == b
}
