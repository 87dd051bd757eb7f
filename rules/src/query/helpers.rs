//! Shared logic of the query family: recognizing a query from its resolved
//! path, reading the bounds and filters along its builder chain, and the
//! SQL text it runs.

use crate::utils::listed;
use faultline_ir::{FuncId, Kind, Module, NodeId, Segment, Spread};

use crate::Context;
use crate::models::QueryModel;
use crate::utils::sql::{self, SqlKind};
use crate::utils::{args, callee, segs, strip, strip_await, text};

/// Python builtins that walk a whole iterable.
pub const LISTIFY: &[&str] = &["list", "tuple", "len", "sorted", "set", "frozenset"];

/// A query recognized on a node's path.
#[derive(Clone, Copy, Debug)]
pub struct Query<'m> {
    /// Its API.
    pub model: &'m QueryModel,
    /// How many leading segments of the path build it.
    pub source_len: usize,
}

/// The query API a node's path starts with.
pub fn query_of<'m>(cx: &Context<'m>, id: NodeId) -> Option<Query<'m>> {
    let s = segs(cx.module, id);
    let (model, source_len) = cx.models().query_source(cx.module.language, s)?;
    Some(Query { model, source_len })
}

/// How much of a query's result is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Bounded, streamed, reduced or looked up by key.
    Safe,
    /// Something the analysis cannot read decides it.
    Unknown,
    /// Loaded whole, filtered only by this parent key.
    Parent(String),
    /// Loaded whole with no key at all.
    Whole,
}

/// What the steps `segs[from..to]` of a chain do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steps {
    /// Every step keeps the same rows.
    Same,
    /// A step bounds, streams or reduces the rows.
    Bounded,
    /// A step the model does not know.
    Unknown,
}

/// What the steps between the source and `to` do, bounds given as options
/// included.
pub fn steps(cx: &Context<'_>, q: &Query<'_>, s: &[Segment], to: usize) -> Steps {
    let model = q.model;
    if let Some(c) = source_call(s, q.source_len) {
        match options(cx, model, c) {
            Steps::Same => {}
            other => return other,
        }
    }
    if let [group, agg] = model.grouping.as_slice()
        && let Some(g) = s.iter().position(|x| x.name == group)
        && s.get(g..to)
            .is_some_and(|r| r.iter().any(|x| x.name == agg))
    {
        return Steps::Bounded;
    }
    for seg in s.get(q.source_len..to).unwrap_or(&[]) {
        let name = seg.name.as_str();
        if model.bounds.iter().any(|b| b == name) {
            return Steps::Bounded;
        }
        if !(model.steps.iter().any(|b| b == name) || model.fetch.iter().any(|b| b == name)) {
            return Steps::Unknown;
        }
        if let Some(c) = seg.call {
            match options(cx, model, c) {
                Steps::Same => {}
                other => return other,
            }
        }
    }
    Steps::Same
}

/// The call that made the source's last segment.
pub fn source_call(s: &[Segment], source_len: usize) -> Option<NodeId> {
    s.get(source_len.checked_sub(1)?).and_then(|x| x.call)
}

/// Whether a call's arguments carry a bound (`take: 10`, `limit=10`).
fn options(cx: &Context<'_>, model: &QueryModel, call: NodeId) -> Steps {
    if model.limit_options.is_empty() {
        return Steps::Same;
    }
    let m = cx.module;
    let a = args(m, call);
    if a.iter().any(|x| {
        x.name
            .as_deref()
            .is_some_and(|n| model.limit_options.iter().any(|o| o == n))
            && !matches!(m.kind(x.value), Kind::Null)
    }) {
        return Steps::Bounded;
    }
    if a.iter().any(|x| x.spread == Spread::Keyword) {
        return Steps::Unknown;
    }
    let positional: Vec<_> = a.iter().filter(|x| x.name.is_none()).collect();
    if positional.iter().any(|x| x.spread != Spread::None) {
        return Steps::Unknown;
    }
    for &i in &model.options_at {
        let Some(arg) = positional.get(i) else {
            continue;
        };
        match m.kind(strip(m, arg.value)) {
            Kind::Object { entries, .. } => {
                if entries.iter().any(|e| {
                    e.key
                        .as_deref()
                        .is_some_and(|k| model.limit_options.iter().any(|o| o == k))
                }) {
                    return Steps::Bounded;
                }
                if entries.iter().any(|e| e.spread || e.key.is_none()) {
                    return Steps::Unknown;
                }
            }
            Kind::Null | Kind::Str(_) | Kind::Num(_) | Kind::Array(_) | Kind::Lambda(_) => {}
            Kind::Name(n) if n == "undefined" => {}
            _ => return Steps::Unknown,
        }
    }
    Steps::Same
}

/// Whether some later use of `call` (a variable it was stored in, a
/// chained step) adds a bound.
pub fn bounded_later(cx: &Context<'_>, model: &QueryModel, call: NodeId) -> bool {
    let m = cx.module;
    cx.uses().of(call).iter().any(|&(n, k)| {
        let s = segs(m, n);
        s.get(k + 1..).is_some_and(|rest| {
            rest.iter().any(|seg| listed(&model.bounds, &seg.name))
                || rest
                    .iter()
                    .filter_map(|seg| seg.call)
                    .any(|c| options(cx, model, c) == Steps::Bounded)
        })
    })
}

/// Whether a query chain with the rows it keeps is loaded whole: the
/// verdict from its filters, its SQL, or a nested statement.
pub fn judge(cx: &Context<'_>, q: &Query<'_>, s: &[Segment], to: usize) -> Verdict {
    match steps(cx, q, s, to) {
        Steps::Bounded => return Verdict::Safe,
        Steps::Unknown => return Verdict::Unknown,
        Steps::Same => {}
    }
    let m = cx.module;
    if let Some(at) = q.model.sql_at {
        let Some(src) = source_call(s, q.source_len) else {
            return Verdict::Unknown;
        };
        let Some(arg) = statement_arg(m, src, at) else {
            return Verdict::Unknown;
        };
        // A statement built with a query builder (`select(M).where(..)`).
        if let Some(inner) = query_of(cx, arg) {
            let is = segs(m, arg);
            return judge(cx, &inner, is, is.len());
        }
        return match sql_text(cx, arg, 0).and_then(|t| sql::analyze(&t)) {
            Some(f) if f.kind != SqlKind::Select => Verdict::Safe,
            Some(f) if bounded_sql(&f) => Verdict::Safe,
            Some(f) => match f.param_eq_columns.first() {
                Some(c) => Verdict::Parent(c.clone()),
                None => Verdict::Whole,
            },
            None => Verdict::Unknown,
        };
    }
    let (pairs, unreadable) = filter_pairs(cx, q, s, to);
    verdict_of(&pairs, unreadable)
}

/// A statement that returns few rows: limited, aggregated, looked up by
/// key, or reading no table (`SELECT nextval(..)`, `generate_series`).
pub fn bounded_sql(f: &sql::SqlFacts) -> bool {
    f.limited
        || f.aggregate
        || f.key_lookup(&[])
        || f.tables
            .iter()
            .all(|t| t == "generate_series" || t == "dual")
}

/// Whether the query's filters hold an `IN` list built from a collection
/// (`filter(id__in=ids)`): one query for many elements, already batched.
pub fn batched_filter(cx: &Context<'_>, q: &Query<'_>, s: &[Segment]) -> bool {
    let (pairs, _) = filter_pairs(cx, q, s, s.len());
    pairs.iter().any(|p| p.op == Op::In && !p.literal)
}

fn filter_pairs(cx: &Context<'_>, q: &Query<'_>, s: &[Segment], to: usize) -> (Vec<Pair>, bool) {
    let mut pairs = Vec::new();
    let mut unreadable = false;
    let mut filter_calls: Vec<NodeId> = Vec::new();
    let from_source = q.model.filters.iter().any(|f| f == "source");
    if from_source && let Some(c) = source_call(s, q.source_len) {
        filter_calls.push(c);
    }
    for seg in s.get(..to).unwrap_or(&[]) {
        if listed(&q.model.filters, &seg.name)
            && let Some(c) = seg.call
        {
            filter_calls.push(c);
        }
    }
    for c in filter_calls {
        let is_source = from_source && source_call(s, q.source_len) == Some(c);
        read_filter_args(cx, q.model, c, is_source, &mut pairs, &mut unreadable);
    }
    (pairs, unreadable)
}

/// The argument of a source call that holds its SQL or statement (for a
/// Rust macro, its first string).
fn statement_arg(m: &Module, call: NodeId, at: usize) -> Option<NodeId> {
    match m.kind(call) {
        Kind::Macro { args, .. } => args
            .iter()
            .copied()
            .find(|a| matches!(m.kind(*a), Kind::Str(_) | Kind::Template(_))),
        _ => args(m, call)
            .iter()
            .filter(|a| a.name.is_none())
            .nth(at)
            .map(|a| a.value),
    }
}

/// How a filter compares a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    In,
    Other,
}

struct Pair {
    column: String,
    op: Op,
    /// The value is a literal (a category such as `status="open"`).
    literal: bool,
}

fn verdict_of(pairs: &[Pair], unreadable: bool) -> Verdict {
    // A key, or an `IN` list built from the caller's collection (a
    // dataloader's keys, a page's ids): as many rows as the list.
    if pairs.iter().any(|p| {
        (is_key(&p.column) && matches!(p.op, Op::Eq | Op::In)) || (p.op == Op::In && !p.literal)
    }) {
        return Verdict::Safe;
    }
    if unreadable {
        return Verdict::Unknown;
    }
    match pairs.iter().find(|p| p.op == Op::Eq && !p.literal) {
        Some(p) => Verdict::Parent(p.column.clone()),
        None => Verdict::Whole,
    }
}

/// A row's own key: `id`, `pk`, `uuid`, Mongo's `_id`, a slug or token.
fn is_key(column: &str) -> bool {
    matches!(
        column.to_ascii_lowercase().as_str(),
        "id" | "pk" | "uuid" | "_id" | "slug" | "token" | "key" | "email" | "username"
    )
}

fn is_literal(m: &Module, id: NodeId) -> bool {
    match m.kind(id) {
        Kind::Str(_) | Kind::Num(_) | Kind::Bool(_) | Kind::Null => true,
        Kind::Unary { operand, .. } => is_literal(m, *operand),
        Kind::Name(n) => n == "None" || n == "True" || n == "False",
        _ => false,
    }
}

fn read_filter_args(
    cx: &Context<'_>,
    model: &QueryModel,
    call: NodeId,
    from_source: bool,
    pairs: &mut Vec<Pair>,
    unreadable: &mut bool,
) {
    let m = cx.module;
    for (i, a) in args(m, call).iter().enumerate() {
        if a.spread != Spread::None {
            *unreadable = true;
            continue;
        }
        if let Some(name) = &a.name {
            kwarg_pair(m, name, a.value, pairs);
            continue;
        }
        let v = strip(m, a.value);
        if from_source {
            // The filter object of `find(filter)` or the options of
            // `findMany({ where })`.
            if i > 0 {
                continue;
            }
            match (m.kind(v), &model.where_option) {
                (Kind::Object { entries, .. }, Some(w)) => {
                    match entries.iter().find(|e| e.key.as_deref() == Some(w)) {
                        Some(e) => object_pairs(m, e.value, pairs, unreadable),
                        None if entries.iter().any(|e| e.spread || e.key.is_none()) => {
                            *unreadable = true;
                        }
                        None => {}
                    }
                }
                (Kind::Object { .. }, None) => object_pairs(m, v, pairs, unreadable),
                _ => *unreadable = true,
            }
            continue;
        }
        // `where("o.userId = :uid", { uid })`: the object holds parameters.
        if i > 0 && matches!(m.kind(v), Kind::Object { .. }) {
            continue;
        }
        expr_pairs(cx, v, pairs, unreadable);
    }
}

/// Django-style `field__lookup=value`, SQLAlchemy `filter_by(field=value)`.
fn kwarg_pair(m: &Module, name: &str, value: NodeId, pairs: &mut Vec<Pair>) {
    const LOOKUPS: &[&str] = &[
        "exact",
        "iexact",
        "in",
        "gt",
        "gte",
        "lt",
        "lte",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "isnull",
        "range",
        "regex",
        "iregex",
        "date",
        "year",
        "month",
        "day",
        "search",
        "overlap",
        "has_key",
    ];
    let (column, op) = match name.rsplit_once("__") {
        Some((col, "exact" | "iexact")) => (col, Op::Eq),
        Some((col, "in")) => (col, Op::In),
        Some((col, l)) if LOOKUPS.contains(&l) => (col, Op::Other),
        _ => (name, Op::Eq),
    };
    pairs.push(Pair {
        column: column.to_string(),
        op,
        literal: is_literal(m, value) || is_literal_list(m, value),
    });
}

/// `[1, 2, 3]`, `("a", "b")`: a list written in the code.
fn is_literal_list(m: &Module, id: NodeId) -> bool {
    matches!(m.kind(id), Kind::Array(items) if items.iter().all(|i| is_literal(m, *i)))
}

/// `{ userId: x, status: { in: [..] } }`, Mongo `{ _id: { $in: ids } }`.
fn object_pairs(m: &Module, obj: NodeId, pairs: &mut Vec<Pair>, unreadable: &mut bool) {
    let Kind::Object { entries, .. } = m.kind(strip(m, obj)) else {
        *unreadable = true;
        return;
    };
    for e in entries {
        let Some(key) = e.key.as_deref() else {
            *unreadable = true;
            continue;
        };
        if matches!(key, "AND" | "OR" | "$and" | "$or") {
            match m.kind(e.value) {
                Kind::Array(items) => {
                    for it in items {
                        object_pairs(m, *it, pairs, unreadable);
                    }
                }
                Kind::Object { .. } => object_pairs(m, e.value, pairs, unreadable),
                _ => *unreadable = true,
            }
            continue;
        }
        let (op, literal) = match m.kind(e.value) {
            Kind::Object { entries: ops, .. } => {
                if let Some(list) = ops
                    .iter()
                    .find(|o| matches!(o.key.as_deref(), Some("in" | "$in")))
                {
                    (Op::In, is_literal_list(m, list.value))
                } else if let Some(eq) = ops
                    .iter()
                    .find(|o| matches!(o.key.as_deref(), Some("equals" | "$eq")))
                {
                    (Op::Eq, is_literal(m, eq.value))
                } else {
                    (Op::Other, false)
                }
            }
            // TypeORM `In(ids)`, Sequelize `{ id: ids }`.
            Kind::Call { .. } => match crate::utils::call_name(m, e.value) {
                Some("In") => (Op::In, false),
                _ => (Op::Other, false),
            },
            Kind::Array(_) => (Op::In, is_literal_list(m, e.value)),
            _ => (Op::Eq, is_literal(m, e.value)),
        };
        pairs.push(Pair {
            column: key.to_string(),
            op,
            literal,
        });
    }
}

/// SQLAlchemy `Model.col == x`, `Model.id.in_(ids)`, `and_(..)`; diesel and
/// sea-orm `col.eq(x)`, `Column::Id.is_in(ids)`; Django `Q(field=x)`;
/// a SQL fragment `"o.userId = :uid"`.
fn expr_pairs(cx: &Context<'_>, v: NodeId, pairs: &mut Vec<Pair>, unreadable: &mut bool) {
    let m = cx.module;
    let v = strip_await(m, v);
    match m.kind(v) {
        Kind::Binary { op, lhs, rhs } => match op {
            faultline_ir::BinOp::Eq => match column_of(m, *lhs) {
                Some(c) => pairs.push(Pair {
                    column: c,
                    op: Op::Eq,
                    literal: is_literal(m, *rhs),
                }),
                None => *unreadable = true,
            },
            faultline_ir::BinOp::And | faultline_ir::BinOp::Other => {
                expr_pairs(cx, *lhs, pairs, unreadable);
                expr_pairs(cx, *rhs, pairs, unreadable);
            }
            faultline_ir::BinOp::Or => *unreadable = true,
            _ => pairs.push(Pair {
                column: column_of(m, *lhs).unwrap_or_default(),
                op: Op::Other,
                literal: false,
            }),
        },
        Kind::Call { .. } => {
            let name = crate::utils::call_name(m, v).unwrap_or("");
            let recv = crate::utils::receiver(m, v);
            match (name, recv) {
                ("eq", Some(r)) => match column_of(m, r) {
                    Some(c) => pairs.push(Pair {
                        column: c,
                        op: Op::Eq,
                        literal: args(m, v).first().is_some_and(|a| is_literal(m, a.value)),
                    }),
                    None => *unreadable = true,
                },
                ("in_" | "eq_any" | "is_in", Some(r)) => match column_of(m, r) {
                    Some(c) => pairs.push(Pair {
                        column: c,
                        op: Op::In,
                        literal: args(m, v)
                            .first()
                            .is_some_and(|a| is_literal_list(m, a.value)),
                    }),
                    None => *unreadable = true,
                },
                ("and" | "and_" | "Q", _) => {
                    for a in args(m, v) {
                        match &a.name {
                            Some(n) => kwarg_pair(m, n, a.value, pairs),
                            None => expr_pairs(cx, a.value, pairs, unreadable),
                        }
                    }
                }
                (
                    "ne" | "gt" | "ge" | "lt" | "le" | "gte" | "lte" | "like" | "ilike"
                    | "is_not_null" | "is_null" | "between" | "contains" | "starts_with",
                    _,
                ) => pairs.push(Pair {
                    column: String::new(),
                    op: Op::Other,
                    literal: false,
                }),
                _ => *unreadable = true,
            }
        }
        Kind::Str(_) | Kind::Template(_) => {
            let frag = sql_text(cx, v, 0).unwrap_or_default();
            match sql::analyze(&format!("SELECT * FROM t WHERE {frag}")) {
                Some(f) if f.key_lookup(&[]) => pairs.push(Pair {
                    column: "id".to_string(),
                    op: Op::Eq,
                    literal: false,
                }),
                Some(f) => {
                    for c in &f.eq_columns {
                        pairs.push(Pair {
                            column: c.clone(),
                            op: Op::Eq,
                            literal: !f.param_eq_columns.contains(c),
                        });
                    }
                    if f.eq_columns.is_empty() {
                        pairs.push(Pair {
                            column: String::new(),
                            op: Op::Other,
                            literal: false,
                        });
                    }
                }
                None => *unreadable = true,
            }
        }
        Kind::Bool(_) => {}
        _ => *unreadable = true,
    }
}

/// The column a filter names: `Order.user_id` → `user_id`,
/// `order::Column::UserId` → `user_id`, `users::id` → `id`.
fn column_of(m: &Module, id: NodeId) -> Option<String> {
    let name = match m.kind(id) {
        Kind::Attr { name, .. } => name.to_string(),
        Kind::Name(n) => n.to_string(),
        _ => segs(m, id).last()?.name.to_string(),
    };
    Some(snake(&name))
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The text of a SQL string: a literal, an f-string/template (interpolations
/// become `?`), a concatenation, `text(..)`/`sql.SQL(..)`, or a variable
/// assigned once in the function or at module level.
pub fn sql_text(cx: &Context<'_>, id: NodeId, depth: u8) -> Option<String> {
    if depth > 4 {
        return None;
    }
    let m = cx.module;
    let id = strip_await(m, id);
    match m.kind(id) {
        Kind::Str(_) | Kind::Template(_) => crate::utils::literal_text(m, id),
        Kind::Binary {
            op: faultline_ir::BinOp::Add,
            lhs,
            rhs,
        } => Some(sql_text(cx, *lhs, depth + 1)? + &sql_text(cx, *rhs, depth + 1)?),
        Kind::Call { .. } => {
            let name = crate::utils::call_name(m, id)?;
            if !matches!(name, "text" | "SQL" | "sql" | "dedent") {
                return None;
            }
            let a = args(m, id).first()?;
            sql_text(cx, a.value, depth + 1)
        }
        Kind::Name(n) => {
            let value = single_assignment(m, m.owner(id), n)
                .or_else(|| single_assignment(m, FuncId(0), n))?;
            sql_text(cx, value, depth + 1)
        }
        _ => None,
    }
}

/// The value of the one assignment to `name` in a function's body.
pub fn single_assignment(m: &Module, f: FuncId, name: &str) -> Option<NodeId> {
    let mut found = None;
    let mut count = 0;
    m.walk(m.function(f).body, &mut |n| {
        if let Kind::Assign {
            targets,
            value: Some(v),
            ..
        } = m.kind(n)
            && targets
                .iter()
                .any(|t| matches!(m.kind(*t), Kind::Name(x) if x == name))
        {
            count += 1;
            found = Some(*v);
        }
    });
    if count == 1 { found } else { None }
}

/// The `execute(sql)` a DB-API `fetchall()` reads: chained on it, or the
/// last one run earlier in the function on a receiver written the same way.
pub fn cursor_execute(cx: &Context<'_>, model: &QueryModel, fetch: NodeId) -> Option<NodeId> {
    let m = cx.module;
    let recv = strip_await(m, crate::utils::receiver(m, fetch)?);
    let is_exec = |c: NodeId| {
        crate::utils::call_name(m, c).is_some_and(|n| model.cursor_execute.iter().any(|e| e == n))
    };
    if matches!(m.kind(recv), Kind::Call { .. }) {
        return is_exec(recv).then_some(recv);
    }
    let recv_text = text(cx, m.node(recv).span);
    let start = m.node(fetch).span.start;
    let mut best: Option<NodeId> = None;
    m.walk(m.function(m.owner(fetch)).body, &mut |n| {
        if matches!(m.kind(n), Kind::Call { .. })
            && m.node(n).span.start < start
            && is_exec(n)
            && let Some(r) = crate::utils::receiver(m, n)
            && text(cx, m.node(r).span) == recv_text
            && best.is_none_or(|b| m.node(b).span.start < m.node(n).span.start)
        {
            best = Some(n);
        }
    });
    best
}

/// Whether the query on `node`'s path was built inside a same-file helper
/// that can also return something else (`return qs[:100]` on one branch,
/// `return qs` on another): which one reaches here is not known.
pub fn built_in_branching_helper(m: &Module, node: NodeId) -> bool {
    let Some(built) = segs(m, node).iter().rev().find_map(|x| x.call) else {
        return false;
    };
    let f = m.owner(built);
    if f == m.owner(node) || f == FuncId(0) {
        return false;
    }
    let mut other = false;
    m.walk(m.function(f).body, &mut |n| {
        if let Kind::Return(v) = m.kind(n) {
            let same = v.is_some_and(|v| {
                let v = strip(m, v);
                segs(m, v).iter().rev().find_map(|x| x.call) == Some(built)
            });
            other |= !same;
        }
    });
    other
}

/// The first positional argument of a call.
pub fn first_arg(m: &Module, call: NodeId) -> Option<NodeId> {
    args(m, call)
        .iter()
        .find(|a| a.name.is_none() && a.spread == Spread::None)
        .map(|a| a.value)
}

/// Whether a call is a Python builtin that walks its whole argument
/// (`list(qs)`, `len(qs)`).
pub fn is_listify(m: &Module, call: NodeId) -> bool {
    let Some(c) = callee(m, call) else {
        return false;
    };
    matches!(m.kind(c), Kind::Name(n) if LISTIFY.contains(&n.as_str())) && segs(m, c).len() <= 1
}

/// A short rendering of a chain with its arguments elided:
/// `Order.objects.filter(...).order_by(...)`.
pub fn chain_label(cx: &Context<'_>, id: NodeId) -> String {
    let t = text(cx, cx.module.node(id).span);
    let mut out = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut inner_empty = true;
    let hash_comments = cx.module.language == faultline_ir::Language::Python;
    let mut chars = t.chars().peekable();
    while let Some(ch) = chars.next() {
        // A comment between the steps of a chain is not part of it.
        if depth == 0 && ((ch == '/' && chars.peek() == Some(&'/')) || (ch == '#' && hash_comments))
        {
            for c in chars.by_ref() {
                if c == '\n' {
                    break;
                }
            }
            continue;
        }
        if depth > 0 {
            if let Some(q) = quote {
                if ch == q {
                    quote = None;
                }
                continue;
            }
            match ch {
                '"' | '\'' | '`' => {
                    quote = Some(ch);
                    inner_empty = false;
                }
                '(' | '[' | '{' => {
                    depth += 1;
                    inner_empty = false;
                }
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        if !inner_empty {
                            out.push_str("...");
                        }
                        out.push(ch);
                    }
                }
                c if !c.is_whitespace() => inner_empty = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '(' => {
                depth = 1;
                inner_empty = true;
                out.push(ch);
            }
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    let out = out.trim_start_matches("await").to_string();
    if out.chars().count() > 64 {
        let cut: String = out.chars().take(61).collect();
        format!("{cut}...")
    } else {
        out
    }
}

/// A short rendering of SQL text for messages.
pub fn sql_label(sql: &str) -> String {
    let one: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 48 {
        let cut: String = one.chars().take(45).collect();
        format!("{cut}...")
    } else {
        one
    }
}

/// Whether a file is a one-off command rather than a service path: Django
/// management commands, migrations, scripts, CLI modules, and the helpers
/// that fill a database with sample or seed data (`populatedb`,
/// `random_data.py`, `seeds/`).
pub fn is_command_file(path: &str) -> bool {
    let p = format!("/{path}");
    if [
        "/management/commands/",
        "/migrations/",
        "/scripts/",
        "/cli/",
        "/bin/",
        "/seeds/",
        "/seeders/",
        "/seed/",
        "/sample_data/",
    ]
    .iter()
    .any(|d| p.contains(d))
    {
        return true;
    }
    let file = p.rsplit('/').next().unwrap_or("");
    let stem = file.split('.').next().unwrap_or("");
    is_population_name(stem)
}

/// Whether a file or function name says it fills a database with sample,
/// random or seed data (`populatedb`, `random_data`, `create_fake_orders`,
/// `seedDatabase`).
pub fn is_population_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    const WHOLE: &[&str] = &["seed", "seeds", "seeder", "seeddata", "seeddb"];
    const PREFIX: &[&str] = &[
        "populate",
        "randomdata",
        "sampledata",
        "fakedata",
        "demodata",
        "dummydata",
        "createfake",
        "createrandom",
        "createsample",
        "createdemo",
        "createdummy",
        "generatefake",
        "generaterandom",
        "generatesample",
        "generatedemo",
        "generatedummy",
        "seeddatabase",
        "seeddb",
        "loadsampledata",
        "loaddemodata",
    ];
    WHOLE.contains(&n.as_str()) || PREFIX.iter().any(|p| n.starts_with(p))
}

/// Whether a node is inside a function (or one nested in it) whose name
/// says it populates sample or seed data: a script, not a request path.
pub fn in_population_helper(m: &Module, node: NodeId) -> bool {
    let mut f = Some(m.owner(node));
    while let Some(id) = f {
        if id == FuncId(0) {
            return false;
        }
        let func = m.function(id);
        if is_population_name(&func.name) {
            return true;
        }
        f = func.parent;
    }
    false
}

/// Whether the table a query reads is declared small (`small_tables` in a
/// model file: configuration such as channels or plugin settings): a model
/// or table named along its source (`Channel.objects`, `prisma.channel`,
/// `channels::table`, `channel::Entity`), a model passed to the source
/// (`session.query(Channel)`, `select(Channel)`), or the tables of its SQL.
pub fn small_table(cx: &Context<'_>, q: &Query<'_>, s: &[Segment]) -> bool {
    let m = cx.module;
    let models = cx.models();
    let small = |name: &str| models.is_small_table(m.language, name);
    let source = s.get(..q.source_len).unwrap_or(&[]);
    // `Warehouse.channels.through.objects`: the many-to-many table between
    // two models is neither of them.
    let from = source
        .iter()
        .rposition(|x| x.name == "through")
        .map_or(0, |i| i + 1);
    for seg in source.get(from..).unwrap_or(&[]) {
        if small(&seg.name) {
            return true;
        }
        let Some(c) = seg.call else { continue };
        for a in args(m, c).iter().filter(|a| a.name.is_none()) {
            let v = strip(m, a.value);
            if let Some(inner) = query_of(cx, v)
                && inner.model.name != q.model.name
            {
                let is = segs(m, v);
                if small_table(cx, &inner, is) {
                    return true;
                }
                continue;
            }
            if segs(m, v).last().is_some_and(|x| small(&x.name)) {
                return true;
            }
            if matches!(m.kind(v), Kind::Str(_) | Kind::Template(_))
                && sql_text(cx, v, 0)
                    .and_then(|t| sql::analyze(&t))
                    .is_some_and(|f| small_sql(cx, &f))
            {
                return true;
            }
        }
    }
    false
}

/// Whether every table a statement reads is declared small.
pub fn small_sql(cx: &Context<'_>, f: &sql::SqlFacts) -> bool {
    !f.tables.is_empty()
        && f.tables
            .iter()
            .all(|t| cx.models().is_small_table(cx.module.language, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_population_helpers() {
        assert!(is_command_file(
            "saleor/core/management/commands/populatedb.py"
        ));
        assert!(is_command_file("saleor/core/utils/random_data.py"));
        assert!(is_command_file("db/seeds/users.ts"));
        assert!(is_command_file("prisma/seed.ts"));
        assert!(is_command_file("app/populate_demo.py"));
        assert!(!is_command_file("saleor/checkout/tasks.py"));
        assert!(!is_command_file("src/seeding_rules.rs"));
        assert!(is_population_name("create_fake_orders"));
        assert!(is_population_name("seedDatabase"));
        assert!(!is_population_name("create_order"));
        assert!(!is_population_name("seed_rng"));
    }
}
