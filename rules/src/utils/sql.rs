//! Embedded SQL, parsed with `sqlparser` rather than matched with regexes:
//! what a statement reads and writes, whether it is bounded, locked, atomic.
//! Shared by the `race` and `query` families.
//!
//! Query text in code is often built with placeholders (`?`, `$1`, `%s`,
//! `%(name)s`, `:name`) or interpolations; [`analyze`] takes the text with
//! interpolations already replaced by `?` and normalizes the placeholder
//! styles sqlparser does not know.

use sqlparser::ast::{
    AssignmentTarget, BinaryOperator, Expr, GroupByExpr, LimitClause, OnInsert, Query, SelectItem,
    SetExpr, Statement, TableFactor, TableObject, TableWithJoins,
};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;

/// What kind of statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlKind {
    /// `SELECT` (or `WITH … SELECT`).
    Select,
    /// `INSERT`.
    Insert,
    /// `UPDATE`.
    Update,
    /// `DELETE`.
    Delete,
    /// Anything else.
    Other,
}

/// Facts about one SQL statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlFacts {
    /// The statement kind.
    pub kind: SqlKind,
    /// Tables it reads or writes, lowercased, without schema quotes.
    pub tables: Vec<String>,
    /// `LIMIT`, `FETCH FIRST` or `TOP`.
    pub limited: bool,
    /// `FOR UPDATE` / `FOR SHARE` / `FOR NO KEY UPDATE`.
    pub locks: bool,
    /// Every projected column is an aggregate (`count(*)`, `sum(x)`) and there
    /// is no `GROUP BY`: one row.
    pub aggregate: bool,
    /// Whether there is a `WHERE`.
    pub filtered: bool,
    /// Columns compared with `=` (or `IN (…)`) in the `WHERE`, lowercased,
    /// without table qualifiers.
    pub eq_columns: Vec<String>,
    /// Columns of `eq_columns` compared with a parameter or another column
    /// rather than a literal (`user_id = $1`, not `status = 'open'`): a
    /// parent or lookup key rather than a category.
    pub param_eq_columns: Vec<String>,
    /// Columns an `UPDATE` sets.
    pub set_columns: Vec<String>,
    /// Columns an `UPDATE` sets relative to themselves (`x = x + ?`): atomic.
    pub relative_sets: Vec<String>,
    /// `INSERT … ON CONFLICT` / `ON DUPLICATE KEY` / `INSERT OR IGNORE|REPLACE`
    /// / `REPLACE INTO`: an upsert.
    pub upsert: bool,
}

impl SqlFacts {
    /// Whether the `WHERE` pins a key: equality on `id`, `pk`, `uuid`, a
    /// column ending in `_id`/`_uuid` that is the table's own key, or one of
    /// `unique` (configured unique columns).
    pub fn key_lookup(&self, unique: &[&str]) -> bool {
        self.eq_columns.iter().any(|c| {
            matches!(c.as_str(), "id" | "pk" | "uuid" | "key" | "slug")
                || unique.contains(&c.as_str())
                || self.tables.iter().any(|t| {
                    let t = t.rsplit('.').next().unwrap_or(t);
                    let singular = t.strip_suffix('s').unwrap_or(t);
                    *c == format!("{singular}_id") || *c == format!("{t}_id")
                })
        })
    }
}

/// Parses one statement. `None` when the text is not SQL sqlparser accepts.
pub fn analyze(sql: &str) -> Option<SqlFacts> {
    let text = normalize_placeholders(sql);
    let statements = Parser::parse_sql(&GenericDialect {}, &text).ok()?;
    let stmt = statements.into_iter().next()?;
    let mut f = SqlFacts {
        kind: SqlKind::Other,
        tables: Vec::new(),
        limited: false,
        locks: false,
        aggregate: false,
        filtered: false,
        eq_columns: Vec::new(),
        param_eq_columns: Vec::new(),
        set_columns: Vec::new(),
        relative_sets: Vec::new(),
        upsert: false,
    };
    match &stmt {
        Statement::Query(q) => {
            f.kind = SqlKind::Select;
            query_facts(q, &mut f);
        }
        Statement::Insert(ins) => {
            f.kind = SqlKind::Insert;
            if let TableObject::TableName(name) = &ins.table {
                f.tables.push(table_name(&name.to_string()));
            }
            f.upsert = ins.on.is_some() || ins.or.is_some() || ins.replace_into || ins.ignore;
            if let Some(OnInsert::DuplicateKeyUpdate(_)) = &ins.on {
                f.upsert = true;
            }
        }
        Statement::Update(up) => {
            f.kind = SqlKind::Update;
            tables_of(&up.table, &mut f.tables);
            f.limited = up.limit.is_some();
            if let Some(w) = &up.selection {
                f.filtered = true;
                eq_columns(w, &mut f.eq_columns);
            }
            for a in &up.assignments {
                let cols: Vec<String> = match &a.target {
                    AssignmentTarget::ColumnName(n) => vec![column_name(&n.to_string())],
                    AssignmentTarget::Tuple(ns) => {
                        ns.iter().map(|n| column_name(&n.to_string())).collect()
                    }
                };
                for c in cols {
                    if refers_to(&a.value, &c) {
                        f.relative_sets.push(c.clone());
                    }
                    f.set_columns.push(c);
                }
            }
        }
        Statement::Delete(del) => {
            f.kind = SqlKind::Delete;
            f.tables
                .extend(del.tables.iter().map(|t| table_name(&t.to_string())));
            let from = match &del.from {
                sqlparser::ast::FromTable::WithFromKeyword(v)
                | sqlparser::ast::FromTable::WithoutKeyword(v) => v,
            };
            for t in from {
                tables_of(t, &mut f.tables);
            }
            if let Some(w) = &del.selection {
                f.filtered = true;
                eq_columns(w, &mut f.eq_columns);
            }
        }
        _ => {}
    }
    Some(f)
}

fn query_facts(q: &Query, f: &mut SqlFacts) {
    f.limited |= match &q.limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => limit.is_some(),
        Some(LimitClause::OffsetCommaLimit { .. }) => true,
        None => false,
    } || q.fetch.is_some();
    f.locks |= !q.locks.is_empty();
    if let SetExpr::Select(s) = q.body.as_ref() {
        f.limited |= s.top.is_some();
        for t in &s.from {
            tables_of(t, &mut f.tables);
        }
        if let Some(w) = &s.selection {
            f.filtered = true;
            eq_columns(w, &mut f.eq_columns);
            param_eq_columns(w, &mut f.param_eq_columns);
        }
        let no_group = match &s.group_by {
            GroupByExpr::Expressions(v, _) => v.is_empty(),
            GroupByExpr::All(_) => false,
        };
        f.aggregate = no_group
            && !s.projection.is_empty()
            && s.projection.iter().all(|p| match p {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    is_aggregate(e)
                }
                _ => false,
            });
    } else if let SetExpr::Query(inner) = q.body.as_ref() {
        query_facts(inner, f);
    }
}

fn is_aggregate(e: &Expr) -> bool {
    match e {
        Expr::Function(func) => {
            let name = func.name.to_string().to_ascii_lowercase();
            matches!(
                name.as_str(),
                "count"
                    | "sum"
                    | "avg"
                    | "min"
                    | "max"
                    | "bool_and"
                    | "bool_or"
                    | "array_agg"
                    | "string_agg"
                    | "exists"
            )
        }
        Expr::Exists { .. } => true,
        Expr::Nested(inner) | Expr::Cast { expr: inner, .. } => is_aggregate(inner),
        _ => false,
    }
}

fn tables_of(t: &TableWithJoins, out: &mut Vec<String>) {
    if let TableFactor::Table { name, .. } = &t.relation {
        out.push(table_name(&name.to_string()));
    }
    for j in &t.joins {
        if let TableFactor::Table { name, .. } = &j.relation {
            out.push(table_name(&name.to_string()));
        }
    }
}

fn table_name(s: &str) -> String {
    s.replace(['"', '`', '[', ']'], "").to_ascii_lowercase()
}

fn column_name(s: &str) -> String {
    let s = table_name(s);
    s.rsplit('.').next().unwrap_or(&s).to_string()
}

fn eq_columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            eq_columns(left, out);
            eq_columns(right, out);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            for side in [left, right] {
                if let Some(c) = ident(side) {
                    out.push(c);
                }
            }
        }
        Expr::InList {
            expr,
            negated: false,
            ..
        } => {
            if let Some(c) = ident(expr) {
                out.push(c);
            }
        }
        Expr::Nested(inner) => eq_columns(inner, out),
        _ => {}
    }
}

fn param_eq_columns(e: &Expr, out: &mut Vec<String>) {
    match e {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            param_eq_columns(left, out);
            param_eq_columns(right, out);
        }
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            let literal = |x: &Expr| matches!(x, Expr::Value(v) if !matches!(v.value, sqlparser::ast::Value::Placeholder(_)));
            for (side, other) in [(left, right), (right, left)] {
                if let Some(c) = ident(side)
                    && !literal(other)
                {
                    out.push(c);
                }
            }
        }
        Expr::Nested(inner) => param_eq_columns(inner, out),
        _ => {}
    }
}

fn ident(e: &Expr) -> Option<String> {
    match e {
        Expr::Identifier(i) => Some(i.value.to_ascii_lowercase()),
        Expr::CompoundIdentifier(parts) => parts.last().map(|i| i.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// Whether `e` mentions column `col` (`stock - ?` mentions `stock`).
fn refers_to(e: &Expr, col: &str) -> bool {
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) => ident(e).is_some_and(|c| c == col),
        Expr::BinaryOp { left, right, .. } => refers_to(left, col) || refers_to(right, col),
        Expr::UnaryOp { expr, .. } | Expr::Nested(expr) | Expr::Cast { expr, .. } => {
            refers_to(expr, col)
        }
        Expr::Function(func) => func.to_string().to_ascii_lowercase().contains(col),
        _ => false,
    }
}

/// `%s`, `%(name)s` (psycopg), `:name` (SQLAlchemy `text`) → `?`.
fn normalize_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' && b.get(i + 1) == Some(&b's') {
            out.push('?');
            i += 2;
            continue;
        }
        if c == b'%' && b.get(i + 1) == Some(&b'(') {
            if let Some(end) = sql[i..].find(")s") {
                out.push('?');
                i += end + 2;
                continue;
            }
        }
        if c == b':'
            && b.get(i + 1)
                .is_some_and(|n| n.is_ascii_alphabetic() || *n == b'_')
            && (i == 0 || b[i - 1] != b':')
        {
            let mut j = i + 1;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            out.push('?');
            i = j;
            continue;
        }
        // Multi-byte characters are copied whole.
        let ch_len = sql[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&sql[i..i + ch_len]);
        i += ch_len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_limits_locks_and_keys() {
        let f = analyze("SELECT id, name FROM users WHERE org_id = $1").unwrap();
        assert_eq!(f.kind, SqlKind::Select);
        assert_eq!(f.tables, vec!["users"]);
        assert!(!f.limited && f.filtered && !f.key_lookup(&[]));
        assert!(
            analyze("select * from users where id = %s")
                .unwrap()
                .key_lookup(&[])
        );
        assert!(analyze("SELECT * FROM orders LIMIT 50").unwrap().limited);
        assert!(
            analyze("SELECT * FROM orders FETCH FIRST 10 ROWS ONLY")
                .unwrap()
                .limited
        );
        assert!(
            analyze("SELECT stock FROM items WHERE id = ? FOR UPDATE")
                .unwrap()
                .locks
        );
        assert!(analyze("SELECT count(*) FROM orders").unwrap().aggregate);
        assert!(
            !analyze("SELECT status, count(*) FROM orders GROUP BY status")
                .unwrap()
                .aggregate
        );
        assert!(
            analyze("select * from orders where order_id = :oid")
                .unwrap()
                .key_lookup(&[])
        );
    }

    #[test]
    fn parameter_equalities_are_told_from_literals() {
        let f = analyze("SELECT * FROM lines WHERE order_id = %s AND status = 'open'").unwrap();
        assert_eq!(f.eq_columns, vec!["order_id", "status"]);
        assert_eq!(f.param_eq_columns, vec!["order_id"]);
        let g = analyze("SELECT * FROM orders WHERE status = 'open'").unwrap();
        assert!(g.param_eq_columns.is_empty());
        let h = analyze("SELECT * FROM lines WHERE user_id = $1").unwrap();
        assert_eq!(h.param_eq_columns, vec!["user_id"]);
    }

    #[test]
    fn updates_and_inserts() {
        let f = analyze("UPDATE items SET stock = stock - ? WHERE id = ?").unwrap();
        assert_eq!(f.kind, SqlKind::Update);
        assert_eq!(f.relative_sets, vec!["stock"]);
        let g = analyze("UPDATE items SET stock = ? WHERE id = ?").unwrap();
        assert_eq!(g.set_columns, vec!["stock"]);
        assert!(g.relative_sets.is_empty());
        assert!(
            analyze("INSERT INTO t (a) VALUES (?) ON CONFLICT (a) DO NOTHING")
                .unwrap()
                .upsert
        );
        assert!(!analyze("INSERT INTO t (a) VALUES (?)").unwrap().upsert);
        assert!(analyze("not sql at all").is_none());
    }
}
