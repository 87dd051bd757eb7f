use faultline_ir::{BinOp, FuncId, Kind, Module, NodeId, UnOp};
use foldhash::{HashMap, HashSet};

use crate::models::Models;
use crate::models::{StateKind, StateRole};
use crate::race::helpers::{
    StateModels, describe, entity, is_key_field, key_text, lock_call, receiver_text, value_nodes,
    version_checked,
};
use crate::utils::dataflow::{Flow, Origin, Source};
use crate::utils::sql::SqlKind;
use crate::utils::{args, receiver, strip};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds a value read from shared state, changed in application code and
    /// written back, with nothing that makes the read and the write one
    /// step: an ORM row loaded and saved, a `SELECT` followed by an `UPDATE`
    /// with the computed value, a cache or Redis `get` then `set`, an atomic
    /// `load` then `store`, a value read under one lock guard and written
    /// under another, or an attribute of `self`/`this` or a module-level
    /// variable (a Python `global`, a module dict, a JS top-level `let` or
    /// object) read before an `await` and assigned after it.
    ///
    /// ## Why is this bad?
    /// Two requests that run the same code at the same time both read the
    /// old value, both compute, and the second write silently discards the
    /// first: stock goes negative, a balance loses a payment, a counter
    /// loses increments. Tests with one client never see it.
    ///
    /// Reads that lock what they read (`select_for_update()`,
    /// `with_for_update()`, `SELECT … FOR UPDATE`), updates computed by the
    /// store (`F('stock') - 1`, `UPDATE … SET x = x + ?`, Prisma
    /// `{ increment }`, `$inc`, `INCR`, `fetch_add`), Redis `WATCH`,
    /// optimistic `version` checks and one lock held across the read and the
    /// write are safe.
    ///
    /// ## Example
    /// ```python
    /// product = Product.objects.get(pk=pk)
    /// product.stock = product.stock - qty
    /// product.save()
    /// ```
    /// ```typescript
    /// const p = await prisma.product.findUnique({ where: { id } });
    /// await prisma.product.update({ where: { id }, data: { stock: p.stock - qty } });
    /// ```
    /// ```rust
    /// let hits = counter.load(Ordering::SeqCst);
    /// counter.store(hits + 1, Ordering::SeqCst);
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// Product.objects.filter(pk=pk).update(stock=F("stock") - qty)
    /// ```
    /// ```typescript
    /// await prisma.product.update({ where: { id }, data: { stock: { decrement: qty } } });
    /// ```
    /// ```rust
    /// counter.fetch_add(1, Ordering::SeqCst);
    /// ```
    ///
    /// ## Known problems
    /// The analysis follows values inside one function; a read in one
    /// function and the write in another are not seen. A transaction alone
    /// does not make a read-modify-write safe under the default isolation
    /// level, so reads inside one are still reported unless they lock.
    ///
    /// Known misses: a full-row `save()` after setting a field to a value
    /// not derived from the row (it overwrites the other columns a
    /// concurrent writer changed); an aggregate (`count()`, a sum over
    /// fetched rows) recomputed and stored in another row; a module-level
    /// `Map`/`dict` changed through a method (`hits.set(k, n + 1)`) rather
    /// than an assignment; sea-orm `ActiveModel` updates; module-level
    /// values changed from threads rather than across an `await`.
    pub struct ReadModifyWrite => {
        id: "race/read-modify-write",
        family: Race,
        summary: "value read from shared state and written back without an atomic step",
        level: Error,
        languages: [Python, TypeScript, Rust],
        cwe: [362],
        precision: Medium,
    }
}

const INSTANCE_FIX: &str =
    "a lock held across the `await`, or an atomic update of the store behind it";

const GLOBAL_FIX: &str =
    "a lock held across the `await`, or state kept in a store with atomic updates";

impl Rule for ReadModifyWrite {
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
        cx.report_race(|w| &mut w.read_modify_write);
    }
}

/// This rule's part of the race rules' shared walk (see [`super::walk`]).
#[derive(Default)]
pub(super) struct Walk {
    out: Vec<Finding>,
    /// Whether the function being walked uses an optimistic-locking write.
    optimistic: Optimistic,
    pending: HashMap<String, (NodeId, Origin)>,
    found: Found,
}

impl Walk {
    /// Before the walk of function `f`.
    pub(super) fn enter(&mut self, f: FuncId) {
        self.optimistic = Optimistic {
            func: f,
            known: None,
        };
        self.pending.clear();
        self.found.clear();
    }

    /// At each node of the walk, in evaluation order.
    pub(super) fn node(&mut self, flow: &Flow<'_>, sm: &StateModels<'_>, n: NodeId) {
        match flow.m.kind(n) {
            Kind::Assign {
                targets, value, op, ..
            } => {
                let mut vals = value.map(|v| flow.eval(v)).unwrap_or_default();
                for t in targets {
                    if op.is_some() {
                        vals.extend(flow.eval(*t));
                    }
                    assign(flow, n, *t, &vals, &mut self.pending, &mut self.found);
                }
            }
            Kind::Call { .. } => {
                call(
                    flow,
                    sm,
                    n,
                    &mut self.optimistic,
                    &mut self.pending,
                    &mut self.found,
                );
            }
            _ => {}
        }
    }

    /// After the walk of a function: its findings.
    pub(super) fn leave(&mut self, cx: &Context<'_>) {
        let m = cx.module;
        for (at, o, fix) in self.found.drain(..) {
            let line = cx.lines.line(m.node(o.read).span.start);
            let fix = fix.unwrap_or_else(|| default_fix(&o).to_string());
            self.out.push(
                Finding::new(
                    &ReadModifyWrite::META,
                    m.node(at).span,
                    format!(
                        "{} is read at line {line} and written back here; use {fix}",
                        describe(&o)
                    ),
                )
                .with_related(m.node(o.read).span, "read here"),
            );
        }
    }

    /// The findings of every function, one per span.
    pub(super) fn finish(self) -> Vec<Finding> {
        let mut seen = HashSet::default();
        self.out
            .into_iter()
            .filter(|f| seen.insert(f.span))
            .collect()
    }
}

fn default_fix(o: &Origin) -> &'static str {
    match o.source {
        Source::Instance => INSTANCE_FIX,
        Source::Global => GLOBAL_FIX,
        Source::Sql => "`UPDATE … SET x = x + ?` or `SELECT … FOR UPDATE` in a transaction",
        Source::Model(StateKind::Atomic) => "`fetch_add`, `compare_exchange` or `fetch_update`",
        Source::Model(StateKind::Guard) => "one guard held across the read and the write",
        Source::Model(StateKind::Key) => "an atomic increment or a compare-and-set",
        _ => "an update computed by the database, or a locking read",
    }
}

type Found = Vec<(NodeId, Origin, Option<String>)>;

/// Whether a function uses an optimistic-locking write, worked out when a
/// write first needs it.
struct Optimistic {
    func: FuncId,
    known: Option<bool>,
}

impl Default for Optimistic {
    fn default() -> Self {
        Optimistic {
            func: FuncId(0),
            known: None,
        }
    }
}

impl Optimistic {
    fn get(&mut self, m: &Module, sm: &StateModels<'_>) -> bool {
        let func = self.func;
        *self.known.get_or_insert_with(|| {
            crate::utils::function_nodes(m, func, false)
                .into_iter()
                .any(|n| !sm.roles(m, n, StateRole::Optimistic).is_empty())
        })
    }
}

/// `row.field = f(row.field)`, `self.x = f(self.x)` across an `await`,
/// `*m.lock().unwrap() = f(..)`.
fn assign(
    flow: &Flow<'_>,
    at: NodeId,
    target: NodeId,
    vals: &[Origin],
    pending: &mut HashMap<String, (NodeId, Origin)>,
    found: &mut Found,
) {
    let m = flow.m;
    if let Some(o) = global_write(flow, at, target, vals) {
        found.push((at, o, Some(GLOBAL_FIX.to_string())));
        return;
    }
    match m.kind(target) {
        Kind::Attr { object, name } => {
            if let Kind::Name(obj) = m.kind(*object) {
                if obj == "self" || obj == "this" {
                    let label = format!("{obj}.{name}");
                    let end = m.node(at).span.end;
                    for o in vals {
                        if o.source == Source::Instance
                            && o.entity == label
                            && flow.await_between(m.node(o.read).span, end)
                            && !flow.same_lock(o.read, at)
                        {
                            found.push((at, o.clone(), None));
                            return;
                        }
                    }
                    return;
                }
                let rows = flow.eval(*object);
                for r in rows.iter().filter(|r| r.row && !r.locked) {
                    if let Some(v) = vals
                        .iter()
                        .find(|v| v.read == r.read && !v.row && !is_key_field(v.field.as_deref()))
                    {
                        pending.insert(obj.to_string(), (at, v.clone()));
                    }
                }
            }
        }
        Kind::Unary {
            op: UnOp::Deref,
            operand,
        } => {
            let guard = lock_call(m, strip(m, *operand));
            let Some(guard) = guard else { return };
            let entity = receiver_text(flow, guard);
            if let Some(o) = vals.iter().find(|o| {
                o.source == Source::Model(StateKind::Guard)
                    && o.guard != Some(guard)
                    && o.entity == entity
            }) {
                found.push((at, o.clone(), None));
            }
        }
        _ => {}
    }
}

/// `counter = current + extra`, `stats.served = before + 1`,
/// `hits[page] = n + 1` where the module-level value was read before an
/// `await` that lies before the write, outside one lock scope.
fn global_write(flow: &Flow<'_>, at: NodeId, target: NodeId, vals: &[Origin]) -> Option<Origin> {
    let m = flow.m;
    let (g, key) = match m.kind(target) {
        Kind::Name(g) if flow.assigns_global(g) => (g, None),
        Kind::Attr { object, name } => match m.kind(*object) {
            Kind::Name(g) if flow.is_global(g) => (g, Some(name.to_string())),
            _ => return None,
        },
        Kind::Index { object, index } => match m.kind(*object) {
            Kind::Name(g) if flow.is_global(g) => (g, Some(flow.text(m.node(*index).span))),
            _ => return None,
        },
        _ => return None,
    };
    // `cached = cached || await load()`: a lazy default, the same value
    // whoever writes last.
    if let Kind::Assign { value, op, .. } = m.kind(at)
        && (matches!(op, Some(BinOp::Or | BinOp::Nullish | BinOp::And))
            || value.is_some_and(|v| {
                matches!(
                    m.kind(strip(m, v)),
                    Kind::Binary {
                        op: BinOp::Or | BinOp::Nullish,
                        ..
                    }
                )
            }))
    {
        return None;
    }
    let end = m.node(at).span.end;
    vals.iter()
        .find(|o| {
            o.source == Source::Global
                && o.entity == *g
                && (o.key.is_none() || key.is_none() || o.key == key)
                && flow.await_between(m.node(o.read).span, end)
                && !flow.same_lock(o.read, at)
        })
        .cloned()
}

fn call(
    flow: &Flow<'_>,
    sm: &StateModels<'_>,
    n: NodeId,
    optimistic: &mut Optimistic,
    pending: &mut HashMap<String, (NodeId, Origin)>,
    found: &mut Found,
) {
    let m = flow.m;
    for st in sm.roles(m, n, StateRole::Save) {
        let var = receiver(m, n)
            .into_iter()
            .chain(args(m, n).first().map(|a| a.value))
            .find_map(|x| match m.kind(strip(m, x)) {
                Kind::Name(v) if pending.contains_key(v.as_str()) => Some(v.clone()),
                _ => None,
            });
        if let Some(v) = var
            && let Some((_, o)) = pending.remove(v.as_str())
        {
            found.push((n, o, st.fix.clone()));
        }
    }
    for st in sm.roles(m, n, StateRole::Commit) {
        let tracked: Vec<String> = pending
            .iter()
            .filter(|(_, (_, o))| o.tracked)
            .map(|(k, _)| k.clone())
            .collect();
        for k in tracked {
            if let Some((_, o)) = pending.remove(&k) {
                found.push((n, o, st.fix.clone()));
            }
        }
    }
    for st in sm.roles(m, n, StateRole::Write) {
        let vals: Vec<Origin> = value_nodes(m, n, st)
            .into_iter()
            .flat_map(|v| flow.eval(v))
            .collect();
        let hit = match st.kind {
            StateKind::Row => {
                if version_checked(m, n) {
                    None
                } else {
                    let mut ent = entity(flow, n, st);
                    if let Some(r) = receiver(m, n)
                        && let Some(row) = flow.eval(r).into_iter().find(|o| o.row)
                    {
                        ent = row.entity;
                    }
                    vals.into_iter().find(|o| {
                        matches!(o.source, Source::Model(StateKind::Row))
                            && same_entity(&o.entity, &ent)
                            && !o.locked
                            && !o.row
                            && !o.check
                            && !is_key_field(o.field.as_deref())
                    })
                }
            }
            StateKind::Key if !optimistic.get(m, sm) => {
                let key = key_text(flow, n, st);
                let recv = receiver_text(flow, n);
                vals.into_iter().find(|o| {
                    o.source == Source::Model(StateKind::Key)
                        && o.key.as_deref() == Some(key.as_str())
                        && o.entity == recv
                        && !flow.same_lock(o.read, n)
                })
            }
            StateKind::Atomic => {
                let recv = receiver_text(flow, n);
                vals.into_iter()
                    .find(|o| o.source == Source::Model(StateKind::Atomic) && o.entity == recv)
            }
            StateKind::Guard => {
                let guard = lock_call(m, n);
                let ent = guard.map(|g| receiver_text(flow, g)).unwrap_or_default();
                vals.into_iter().find(|o| {
                    o.source == Source::Model(StateKind::Guard)
                        && o.guard.is_some()
                        && o.guard != guard
                        && o.entity == ent
                })
            }
            _ => None,
        };
        if let Some(o) = hit {
            found.push((n, o, st.fix.clone()));
            return;
        }
    }
    // Embedded SQL: an UPDATE whose parameters carry a value read by a SELECT.
    if let Some((_, facts)) = flow.chain_sql(n)
        && facts.kind == SqlKind::Update
        && facts.relative_sets.len() < facts.set_columns.len()
        && !is_chained_on(m, n)
    {
        let mut cur = Some(n);
        let mut vals = Vec::new();
        for _ in 0..12 {
            let Some(c) = cur else { break };
            for a in args(m, c) {
                vals.extend(flow.eval(a.value));
            }
            cur = receiver(m, c)
                .map(|r| strip(m, r))
                .filter(|r| matches!(m.kind(*r), Kind::Call { .. }));
        }
        if let Some(o) = vals.into_iter().find(|o| {
            o.source == Source::Sql
                && facts.tables.contains(&o.entity)
                && !o.locked
                && !is_key_field(o.field.as_deref())
        }) {
            found.push((n, o, None));
        }
    }
}

/// Whether another call is chained on this one (`.bind(..)` before
/// `.execute()`): only the outermost call of a chain is reported.
fn is_chained_on(m: &faultline_ir::Module, n: NodeId) -> bool {
    m.parent(n).is_some_and(|p| {
        matches!(m.kind(p), Kind::Attr { object, .. } if *object == n)
            || matches!(m.kind(p), Kind::Call { .. } if receiver(m, p) == Some(n))
    })
}

fn same_entity(a: &str, b: &str) -> bool {
    let a = a.rsplit(['.', ':']).next().unwrap_or(a);
    let b = b.rsplit(['.', ':']).next().unwrap_or(b);
    !a.is_empty() && a == b
}
