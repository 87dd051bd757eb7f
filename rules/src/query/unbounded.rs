use crate::utils::listed;
use faultline_ir::{Kind, LoopKind, NodeId};

use crate::models::{Models, Table};
use crate::prefilter::from_tables;
use crate::query::helpers::{
    Query, Verdict, bounded_later, bounded_sql, built_in_branching_helper, chain_label,
    cursor_execute, first_arg, in_population_helper, is_command_file, is_listify, judge, query_of,
    small_sql, small_table, source_call, sql_label, sql_text,
};
use crate::utils::sql;
use crate::utils::{call_name, in_test_code, is_own_call, segs, strip};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds queries whose whole result is loaded into memory with no bound:
    /// a Django queryset iterated or `list()`-ed with no slice, a SQLAlchemy
    /// `.all()` with no `.limit()`, a Mongo `find()` turned into a list,
    /// Prisma `findMany` with no `take`, TypeORM `find`/`getMany` with no
    /// `take`, Sequelize `findAll` with no `limit`, diesel `.load()`, sea-orm
    /// `.all()`, and SQL run with a fetch-all API (`fetchall()`,
    /// `fetch_all`, `pool.query`) whose `SELECT` has no `LIMIT`.
    ///
    /// Bounds are followed through the builder chain, through variables the
    /// query is stored in, same-file helpers that return it, and args
    /// objects. Lookups by key (`id`, `pk`, `uuid`, `_id`), `IN` lists,
    /// aggregates, `count()`, slices, pagination and streaming APIs
    /// (`.iterator()`, `.yield_per()`, cursors, `fetch()` streams) are safe.
    /// A query filtered only by a parent key (`WHERE order_id = ?`,
    /// `.filter(order=order)`) is a note; a whole-table query is a warning.
    /// Test code, Django management commands, migrations, scripts, CLI
    /// modules and data-population helpers (`populatedb`, `random_data.py`,
    /// `seeds/`, functions named `populate_*`, `create_fake_*`,
    /// `seedDatabase`) are skipped: one-off jobs walk whole tables on
    /// purpose. Tables that hold configuration are skipped too: names ending
    /// in `Configuration`, `Config` or `Settings`, `Site`, `Permission`,
    /// `ContentType`, `Country`, `Currency`, `Language`, `Locale`,
    /// `Timezone`, and whatever a project lists in `small_tables` of a
    /// `[[models]]` table in its configuration (`small_tables = ["Channel",
    /// "Warehouse"]`), matched on the model or table a query reads
    /// (`Channel.objects`, `session.query(Channel)`, `prisma.channel`,
    /// `channels::table`, `FROM channels`).
    ///
    /// ## Why is this bad?
    /// Code written and tested against a hundred rows runs against ten
    /// million. A query with no bound loads every row into memory at once:
    /// the request slows with the table, the worker's memory grows until it
    /// is killed, and one large tenant takes the service down.
    ///
    /// ## Example
    /// ```python
    /// orders = list(Order.objects.filter(status="open"))
    /// ```
    /// ```typescript
    /// const orders = await prisma.order.findMany({ where: { status: "open" } });
    /// ```
    /// ```rust
    /// let orders = sqlx::query_as::<_, Order>("SELECT * FROM orders").fetch_all(&pool).await?;
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// orders = list(Order.objects.filter(status="open").order_by("id")[:100])
    /// ```
    /// ```typescript
    /// const orders = await prisma.order.findMany({ where: { status: "open" }, take: 100 });
    /// ```
    /// ```rust
    /// let orders = sqlx::query_as::<_, Order>("SELECT * FROM orders ORDER BY id LIMIT 100")
    ///     .fetch_all(&pool)
    ///     .await?;
    /// ```
    ///
    /// ## Known problems
    /// A bound applied where the analysis cannot see it (a custom manager
    /// in another module, a limit held in a variable the query options are
    /// spread from) silences the finding. `IN` lists of any size count as
    /// lookups by key: their result is as large as the caller's list.
    /// Table sizes are not known: a small table whose name does not say it
    /// holds configuration (channels, warehouses, installed apps) is
    /// reported like any other until the project lists it in
    /// `small_tables`. A data-population helper whose file and function
    /// names do not say so is analyzed as service code.
    pub struct Unbounded => {
        id: "query/unbounded",
        family: Query,
        summary: "query whose whole result is loaded with no bound",
        level: Warning,
        languages: [Python, TypeScript, Rust],
        cwe: [770],
        precision: Medium,
    }
}

impl Rule for Unbounded {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        from_tables(models, lang, &[Table::Queries], &[])
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
        let mut out = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            let site = match m.kind(id) {
                Kind::Call { .. } | Kind::Macro { .. } if is_own_call(m, id) => fetch_site(cx, id)
                    .or_else(|| listify_site(cx, id))
                    .or_else(|| cursor_site(cx, id)),
                Kind::Call { .. } => listify_site(cx, id).or_else(|| cursor_site(cx, id)),
                Kind::Loop {
                    kind: LoopKind::ForEach,
                    iter: Some(it),
                    ..
                } => iterate_site(cx, *it),
                Kind::Other(_) => comprehension_iter(cx, id).and_then(|it| iterate_site(cx, it)),
                _ => None,
            };
            let Some(site) = site else { continue };
            if in_test_code(cx, id) || in_population_helper(m, id) {
                continue;
            }
            out.push(site);
        }
        for f in out {
            cx.report(f);
        }
    }
}

/// A query loaded by its own fetch step (`.all()`, `fetch_all`, `getMany`)
/// or by the source call itself (`findMany`, `findAll`).
fn fetch_site(cx: &Context<'_>, id: NodeId) -> Option<Finding> {
    let m = cx.module;
    let s = segs(m, id);
    let q = query_of(cx, id)?;
    let last = s.last()?;
    let fetches = if s.len() == q.source_len {
        q.model.source_fetches
    } else {
        listed(&q.model.fetch, &last.name)
    };
    if !fetches {
        return None;
    }
    if s.len() == q.source_len && bounded_later(cx, q.model, id) {
        return None;
    }
    if s.len() > q.source_len
        && let Some(at) = q.model.fetch_limit_at
        && crate::utils::args(m, id)
            .iter()
            .filter(|a| a.name.is_none())
            .nth(at)
            .is_some_and(|a| !matches!(m.kind(a.value), Kind::Null))
    {
        return None;
    }
    let to = if s.len() == q.source_len {
        s.len()
    } else {
        s.len() - 1
    };
    finding(cx, id, id, &q, s, to)
}

/// `list(qs)`, `len(qs)`, `tuple(cursor)`.
fn listify_site(cx: &Context<'_>, id: NodeId) -> Option<Finding> {
    let m = cx.module;
    if m.language != faultline_ir::Language::Python || !is_listify(m, id) {
        return None;
    }
    let arg = strip(m, first_arg(m, id)?);
    let q = query_of(cx, arg)?;
    if !q.model.listify {
        return None;
    }
    lazy_query(cx, id, arg, &q)
}

/// `for o in qs:` over a query object that loads every row when iterated.
fn iterate_site(cx: &Context<'_>, iter: NodeId) -> Option<Finding> {
    let m = cx.module;
    let iter = strip(m, iter);
    let q = query_of(cx, iter)?;
    if !q.model.iterate {
        return None;
    }
    lazy_query(cx, iter, iter, &q)
}

/// A lazy query (no fetch step yet) that `at` loads whole.
fn lazy_query(cx: &Context<'_>, at: NodeId, query: NodeId, q: &Query<'_>) -> Option<Finding> {
    let m = cx.module;
    let s = segs(m, query);
    if s.len() < q.source_len {
        return None;
    }
    if s.get(q.source_len..)
        .is_some_and(|rest| rest.iter().any(|x| listed(&q.model.fetch, &x.name)))
    {
        return None;
    }
    finding(cx, at, query, q, s, s.len())
}

/// DB-API: `cursor.execute(sql)` … `cursor.fetchall()`.
fn cursor_site(cx: &Context<'_>, id: NodeId) -> Option<Finding> {
    let m = cx.module;
    let name = call_name(m, id)?;
    let model = cx
        .models()
        .queries(m.language)
        .iter()
        .find(|q| !q.cursor_execute.is_empty() && q.fetch.iter().any(|f| f == name))?;
    // A chained `execute(..).fetchall()` with a path is a fetch site already.
    if query_of(cx, id).is_some() {
        return None;
    }
    let exec = cursor_execute(cx, model, id)?;
    let sql_node = first_arg(m, exec)?;
    let text = sql_text(cx, sql_node, 0)?;
    let f = sql::analyze(&text)?;
    if f.kind != sql::SqlKind::Select || bounded_sql(&f) || small_sql(cx, &f) {
        return None;
    }
    let verdict = match f.param_eq_columns.first() {
        Some(c) => Verdict::Parent(c.clone()),
        None => Verdict::Whole,
    };
    Some(
        sql_finding(cx, id, &text, &verdict, &model.instead)
            .with_related(m.node(exec).span, "the query is run here"),
    )
}

/// The iterable of a Python comprehension.
pub fn comprehension_iter(cx: &Context<'_>, id: NodeId) -> Option<NodeId> {
    let m = cx.module;
    if m.language != faultline_ir::Language::Python {
        return None;
    }
    let Kind::Other(kids) = m.kind(id) else {
        return None;
    };
    let t = crate::utils::text(cx, m.node(id).span);
    if !(t.starts_with('[') || t.starts_with('{') || t.starts_with('(')) || kids.len() < 3 {
        return None;
    }
    let for_at = m.node(id).span.start + u32::try_from(t.find(" for ")?).ok()?;
    let target = kids.iter().position(|k| m.node(*k).span.start > for_at)?;
    kids.get(target + 1).copied()
}

fn finding(
    cx: &Context<'_>,
    at: NodeId,
    query: NodeId,
    q: &Query<'_>,
    s: &[faultline_ir::Segment],
    to: usize,
) -> Option<Finding> {
    let m = cx.module;
    if built_in_branching_helper(m, query) {
        return None;
    }
    let verdict = judge(cx, q, s, to);
    if matches!(verdict, Verdict::Safe | Verdict::Unknown) || small_table(cx, q, s) {
        return None;
    }
    // Raw SQL: name the statement.
    if q.model.sql_at.is_some()
        && let Some(src) = source_call(s, q.source_len)
        && let Some(text) = sql_arg_text(cx, src, q)
    {
        return Some(sql_finding(cx, at, &text, &verdict, &q.model.instead));
    }
    let built = s.iter().rev().find_map(|x| x.call).unwrap_or(query);
    let label = chain_label(cx, built);
    let mut f = match &verdict {
        Verdict::Parent(col) => Finding::new(
            &Unbounded::META,
            m.node(at).span,
            format!(
                "`{label}` is loaded whole, filtered only by `{col}`; {}",
                q.model.instead
            ),
        )
        .with_level(Level::Note),
        _ => Finding::new(
            &Unbounded::META,
            m.node(at).span,
            format!("`{label}` is loaded whole; {}", q.model.instead),
        ),
    };
    if built != at && m.node(built).span.start < m.node(at).span.start {
        f = f.with_related(m.node(built).span, "the query is built here");
    }
    Some(f)
}

fn sql_arg_text(cx: &Context<'_>, src: NodeId, q: &Query<'_>) -> Option<String> {
    let m = cx.module;
    let node = match m.kind(src) {
        Kind::Macro { args, .. } => args
            .iter()
            .copied()
            .find(|a| matches!(m.kind(*a), Kind::Str(_) | Kind::Template(_)))?,
        _ => {
            crate::utils::args(m, src)
                .iter()
                .filter(|a| a.name.is_none())
                .nth(q.model.sql_at?)?
                .value
        }
    };
    if query_of(cx, node).is_some() {
        return None;
    }
    sql_text(cx, node, 0)
}

fn sql_finding(
    cx: &Context<'_>,
    at: NodeId,
    text: &str,
    verdict: &Verdict,
    instead: &str,
) -> Finding {
    let m = cx.module;
    let what = chain_label(cx, at);
    let sql = sql_label(text);
    match verdict {
        Verdict::Parent(col) => Finding::new(
            &Unbounded::META,
            m.node(at).span,
            format!("`{what}` loads every row of `{sql}`, filtered only by `{col}`; {instead}"),
        )
        .with_level(Level::Note),
        _ => Finding::new(
            &Unbounded::META,
            m.node(at).span,
            format!("`{what}` loads every row of `{sql}`; {instead}"),
        ),
    }
}
