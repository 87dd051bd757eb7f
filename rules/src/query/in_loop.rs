use crate::utils::listed;
use faultline_ir::{Kind, LoopKind, Module, NodeId};
use foldhash::{HashSet, HashSetExt};

use crate::external_call::helpers::{external_call, is_write};
use crate::models::{CallKind, QueryModel};
use crate::models::{Models, Table};
use crate::prefilter::from_tables;
use crate::query::helpers::{
    batched_filter, chain_label, first_arg, in_population_helper, is_command_file, is_listify,
    query_of, single_assignment, sql_text,
};
use crate::query::unbounded::comprehension_iter;
use crate::utils::sql::{self, SqlKind};
use crate::utils::{call_name, collect, in_test_code, is_own_call, segs, strip, text};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds a query or external read issued once per element of a
    /// collection (the N+1 pattern): an ORM lookup, a SQL `SELECT` or an HTTP
    /// `GET` inside a `for` loop, a comprehension, or a `.map()` callback,
    /// that depends on the element.
    ///
    /// Not reported: pagination loops that follow a cursor or next link
    /// (`while next_url:`), loops over `range()`, retry and fallback loops
    /// (the call sits in a `try` that stops at the first success), loops
    /// over `chunks()`/batches/pages (already batched), writes that give
    /// each row its own values, loops over a queryset that preloads its
    /// relations (`prefetch_related`, `select_related`, `include`), and
    /// attribute access on the element (`order.customer`) that is not an
    /// explicit query call. Test code, Django management commands,
    /// migrations, scripts, CLI modules and data-population helpers
    /// (`random_data.py`, `seeds/`, functions named `populate_*`,
    /// `create_fake_*`, `seedDatabase`) are skipped.
    ///
    /// ## Why is this bad?
    /// One query per element turns a page of a hundred rows into a hundred
    /// and one round trips. It is fast on a developer's machine and slow in
    /// production, where the database is a network hop away and the
    /// collection is large; it also multiplies load on the database or the
    /// remote service by the size of the collection.
    ///
    /// ## Example
    /// ```python
    /// for order in orders:
    ///     customer = Customer.objects.get(pk=order.customer_id)
    /// ```
    /// ```typescript
    /// for (const order of orders) {
    ///   const customer = await prisma.customer.findUnique({ where: { id: order.customerId } });
    /// }
    /// ```
    /// ```rust
    /// for order in &orders {
    ///     let customer = customer::Entity::find_by_id(order.customer_id).one(db).await?;
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// customers = Customer.objects.in_bulk([o.customer_id for o in orders])
    /// ```
    /// ```typescript
    /// const customers = await prisma.customer.findMany({
    ///   where: { id: { in: orders.map((o) => o.customerId) } },
    /// });
    /// ```
    /// ```rust
    /// let ids: Vec<i64> = orders.iter().map(|o| o.customer_id).collect();
    /// let customers = customer::Entity::find()
    ///     .filter(customer::Column::Id.is_in(ids))
    ///     .all(db)
    ///     .await?;
    /// ```
    ///
    /// ## Known problems
    /// Queries hidden in a helper defined in another module are not seen;
    /// a helper in the same file is seen when it returns the query. Loops
    /// over a few known values (channels, configured hosts) are reported
    /// when the values come from the database rather than the code.
    pub struct InLoop => {
        id: "query/in-loop",
        family: Query,
        summary: "query or external call issued once per element of a collection",
        level: Note,
        languages: [Python, TypeScript, Rust],
        cwe: [1049],
        precision: Medium,
    }
}

impl Rule for InLoop {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        let mut out = from_tables(models, lang, &[Table::Queries], &[])?;
        // One HTTP call, database query or cache read per element is an
        // N+1 too.
        out.extend(models.call_anchors(lang, |c| {
            matches!(c.kind, CallKind::Http | CallKind::Db | CallKind::Cache)
        })?);
        // `cursor.execute("SELECT …")` per element.
        for q in models
            .queries(lang)
            .iter()
            .filter(|q| !q.cursor_execute.is_empty())
        {
            out.push_all(vec![q.cursor_execute.clone(), vec!["select".to_string()]]);
        }
        Some(out.normalized())
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        if cx.is_test_file || is_command_file(cx.path) {
            return;
        }
        let m = cx.module;
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            let Some(lp) = loop_of(cx, id) else { continue };
            if in_test_code(cx, id) || in_population_helper(m, id) || exempt_iter(cx, &lp) {
                continue;
            }
            let vars = loop_vars(cx, &lp);
            if vars.is_empty() {
                continue;
            }
            for n in &lp.body {
                let Some((what, batch)) = run(cx, *n) else {
                    continue;
                };
                if !depends_on(cx, *n, &lp, &vars) || retry_shape(m, *n, lp.node) {
                    continue;
                }
                if !seen.insert(*n) {
                    continue;
                }
                let iter = snippet_of(cx, lp.iter);
                out.push(
                    Finding::new(
                        &Self::META,
                        m.node(*n).span,
                        format!("`{what}` runs once per element of `{iter}`; {batch}"),
                    )
                    .with_related(m.node(lp.iter).span, "the loop"),
                );
            }
        }
        for f in out {
            cx.report(f);
        }
    }
}

/// A loop over a collection: its node, iterable, the nodes bound per
/// element (targets or callback parameters) and the nodes of its body.
struct LoopShape {
    node: NodeId,
    iter: NodeId,
    targets: Vec<NodeId>,
    params: Vec<String>,
    body: Vec<NodeId>,
}

fn loop_of(cx: &Context<'_>, id: NodeId) -> Option<LoopShape> {
    let m = cx.module;
    match m.kind(id) {
        Kind::Loop {
            kind: LoopKind::ForEach,
            target,
            iter: Some(iter),
            body,
            ..
        } => {
            let mut nodes = Vec::new();
            collect(m, *body, true, &mut nodes);
            Some(LoopShape {
                node: id,
                iter: *iter,
                targets: target.iter().copied().collect(),
                params: Vec::new(),
                body: nodes,
            })
        }
        Kind::Other(kids) => {
            let iter = comprehension_iter(cx, id)?;
            let at = kids.iter().position(|k| *k == iter)?;
            let target = at.checked_sub(1).and_then(|t| kids.get(t)).copied();
            let mut nodes = Vec::new();
            for (k, kid) in kids.iter().enumerate() {
                if k + 1 != at && k != at {
                    collect(m, *kid, true, &mut nodes);
                }
            }
            Some(LoopShape {
                node: id,
                iter,
                targets: target.into_iter().collect(),
                params: Vec::new(),
                body: nodes,
            })
        }
        // `items.map(async (x) => ...)`, `.forEach`, Rust `.for_each(|x| ..)`.
        Kind::Call { args, .. } => {
            let name = call_name(m, id)?;
            if !matches!(
                name,
                "map" | "forEach" | "flatMap" | "for_each" | "then_map"
            ) {
                return None;
            }
            let recv = crate::utils::receiver(m, id)?;
            let lambda = args.first()?.value;
            let Kind::Lambda(f) = m.kind(lambda) else {
                return None;
            };
            let func = m.function(*f);
            let mut nodes = Vec::new();
            collect(m, func.body, true, &mut nodes);
            Some(LoopShape {
                node: id,
                iter: recv,
                targets: Vec::new(),
                params: func.params.iter().map(|p| p.name.clone()).collect(),
                body: nodes,
            })
        }
        _ => None,
    }
}

/// Loops that are not one call per element: counters, batches, pages, and
/// querysets that preload what the body reads.
fn exempt_iter(cx: &Context<'_>, lp: &LoopShape) -> bool {
    let m = cx.module;
    let t = text(cx, m.node(lp.iter).span).to_ascii_lowercase();
    let it = strip(m, lp.iter);
    if let Kind::Call { .. } = m.kind(it)
        && matches!(call_name(m, it), Some("range" | "enumerate" | "zip"))
        && t.starts_with("range")
    {
        return true;
    }
    let mut names: Vec<String> = lp
        .targets
        .iter()
        .map(|t| text(cx, m.node(*t).span).to_ascii_lowercase())
        .collect();
    names.extend(lp.params.iter().map(|p| p.to_ascii_lowercase()));
    let batched = |s: &str| {
        ["chunk", "batch", "page", "partition", "paginat", "slice"]
            .iter()
            .any(|w| s.contains(w))
    };
    if t.starts_with("range(")
        || t.contains("..")
        || batched(&t)
        || names.iter().any(|n| batched(n))
    {
        return true;
    }
    // A list written in the code: a handful of constants, not rows.
    let literal = match m.kind(it) {
        Kind::Name(n) => single_assignment(m, m.owner(it), n)
            .or_else(|| single_assignment(m, faultline_ir::FuncId(0), n)),
        _ => Some(it),
    };
    if literal.is_some_and(|l| matches!(m.kind(l), Kind::Array(_) | Kind::Object { .. })) {
        return true;
    }
    // A queryset or query that preloads relations.
    let s = segs(m, it);
    if let Some(q) = query_of(cx, it)
        && s.iter().any(|x| listed(&q.model.preloads, &x.name))
    {
        return true;
    }
    false
}

/// Names bound per element: the loop targets, callback parameters, and
/// names assigned inside the body.
fn loop_vars(cx: &Context<'_>, lp: &LoopShape) -> HashSet<String> {
    let m = cx.module;
    let mut vars: HashSet<String> = lp.params.iter().cloned().collect();
    for t in &lp.targets {
        m.walk(*t, &mut |n| {
            if let Kind::Name(x) = m.kind(n) {
                vars.insert(x.to_string());
            }
        });
    }
    for n in &lp.body {
        if let Kind::Assign { targets, .. } = m.kind(*n) {
            for t in targets {
                m.walk(*t, &mut |x| {
                    if let Kind::Name(v) = m.kind(x) {
                        vars.insert(v.to_string());
                    }
                });
            }
        }
    }
    vars.retain(|v| v != "_" && v != "self" && v != "this");
    vars
}

/// Whether the call (or a step of its chain built inside the loop) reads a
/// per-element name.
fn depends_on(cx: &Context<'_>, n: NodeId, lp: &LoopShape, vars: &HashSet<String>) -> bool {
    let m = cx.module;
    let span = m.node(lp.node).span;
    let mut roots = vec![n];
    roots.extend(
        segs(m, n)
            .iter()
            .filter_map(|s| s.call)
            .filter(|c| span.contains(m.node(*c).span)),
    );
    roots.iter().any(|r| {
        m.descendants(*r)
            .into_iter()
            .any(|d| matches!(m.kind(d), Kind::Name(x) if vars.contains(x.as_str())))
    })
}

/// A fallback or retry loop: the call sits in a `try` that returns or
/// breaks on success.
fn retry_shape(m: &Module, n: NodeId, lp: NodeId) -> bool {
    for a in m.ancestors(n) {
        if a == lp {
            return false;
        }
        if let Kind::Try { body, .. } = m.kind(a) {
            let stops = m
                .descendants(*body)
                .into_iter()
                .any(|d| matches!(m.kind(d), Kind::Return(_) | Kind::Break));
            if stops {
                return true;
            }
        }
    }
    false
}

/// The call issues one query or external read: its label and the batched
/// alternative.
fn run(cx: &Context<'_>, n: NodeId) -> Option<(String, String)> {
    let m = cx.module;
    match m.kind(n) {
        Kind::Call { .. } | Kind::New { .. } => {}
        Kind::Loop { iter: Some(it), .. } => return iterated_query(cx, *it),
        Kind::Other(_) => return iterated_query(cx, comprehension_iter(cx, n)?),
        _ => return None,
    }
    if is_listify(m, n) {
        return iterated_query(cx, first_arg(m, n)?);
    }
    let s = segs(m, n);
    let own = is_own_call(m, n);
    // A same-file helper whose returned value is the query runs it here.
    let label = |_: &QueryModel| chain_label(cx, n);
    if let Some(q) = query_of(cx, n) {
        let last = s.last()?.name.as_str();
        let model = q.model;
        if model.writes.iter().any(|w| w == last) {
            return (own && same_value_write(m, n)).then(|| (label(model), model.batch.clone()));
        }
        // Past a step that ran the query (`in_bulk(..)`, `.all()`), the
        // value is its result, not a query.
        if s.len() > q.source_len + 1
            && s.get(q.source_len..s.len() - 1)
                .is_some_and(|mid| mid.iter().any(|x| !listed(&model.steps, &x.name)))
        {
            return None;
        }
        let runs = if s.len() == q.source_len {
            model.source_fetches
        } else {
            model.executes.iter().any(|e| e == last) || model.fetch.iter().any(|e| e == last)
        };
        if runs && !batched_filter(cx, &q, s) {
            return Some((label(model), model.batch.clone()));
        }
        return if own { sql_cursor_run(cx, n) } else { None };
    }
    if let Some(model) = cx.models().query_run(m.language, s) {
        return Some((label(model), model.batch.clone()));
    }
    if !own {
        return sql_cursor_run(cx, n);
    }
    if let Some(hit) = external_call(cx, n)
        && matches!(
            hit.model.kind,
            CallKind::Http | CallKind::Db | CallKind::Cache
        )
        && !is_write(m, n, &hit)
    {
        let batch = match hit.model.kind {
            CallKind::Http => "fetch them in one batched request, or concurrently with a bound",
            CallKind::Cache => "read them in one round trip (`mget`, a pipeline)",
            _ => "fetch them in one query",
        };
        return Some((chain_label(cx, n), batch.to_string()));
    }
    sql_cursor_run(cx, n)
}

/// A nested loop or `list()` over a query that loads it.
fn iterated_query(cx: &Context<'_>, it: NodeId) -> Option<(String, String)> {
    let m = cx.module;
    let it = strip(m, it);
    let q = query_of(cx, it)?;
    let s = segs(m, it);
    if !(q.model.iterate || q.model.listify)
        || s.get(q.source_len..)
            .is_some_and(|rest| rest.iter().any(|x| !listed(&q.model.steps, &x.name)))
        || batched_filter(cx, &q, s)
    {
        return None;
    }
    let built = segs(m, it).iter().rev().find_map(|x| x.call).unwrap_or(it);
    Some((chain_label(cx, built), q.model.batch.clone()))
}

/// `cursor.execute("SELECT ...")` per element.
fn sql_cursor_run(cx: &Context<'_>, n: NodeId) -> Option<(String, String)> {
    let m = cx.module;
    let name = call_name(m, n)?;
    let model: &QueryModel = cx
        .models()
        .queries(m.language)
        .iter()
        .find(|q| q.cursor_execute.iter().any(|e| e == name))?;
    let sql_node = first_arg(m, n)?;
    let t = sql_text(cx, sql_node, 0)?;
    let f = sql::analyze(&t)?;
    if f.kind != SqlKind::Select {
        return None;
    }
    Some((chain_label(cx, n), model.batch.clone()))
}

/// A write whose set values are all literals: every row gets the same
/// value, so one bulk update would do.
fn same_value_write(m: &Module, n: NodeId) -> bool {
    let a = crate::utils::args(m, n);
    !a.is_empty()
        && a.iter().all(|x| {
            matches!(
                m.kind(x.value),
                Kind::Str(_) | Kind::Num(_) | Kind::Bool(_) | Kind::Null
            )
        })
}

fn snippet_of(cx: &Context<'_>, id: NodeId) -> String {
    let t = chain_label(cx, id);
    if t.is_empty() {
        text(cx, cx.module.node(id).span).to_string()
    } else {
        t
    }
}
