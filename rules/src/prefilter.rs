//! What a file must contain for a rule to report anything in it.
//!
//! Every rule can name *needles* ([`Rule::needles`](crate::Rule::needles)):
//! strings a file must contain, ASCII case-insensitively, for the rule to
//! possibly report in it. They form [`Needles`]: a list of clauses, of which
//! one must hold; a clause holds when each of its groups has one of its
//! strings in the file. A pattern `requests.Session().get()` is one clause
//! of three groups: a path matches it only where `requests`, `Session` and
//! `get` are all written.
//!
//! A needle made only of identifier characters (`requests`, `remote_addr`)
//! must stand as a whole word; any other (`x-user`), or one written with a
//! leading `*` (`*x_user`, matching inside `HTTP_X_USER_ID`), may appear
//! anywhere. The engine tests each file's bytes for the needles of the
//! enabled rules in one pass before parsing it, runs only the rules whose
//! needles it found, and does not parse a file no rule can report in.
//!
//! Needles must never change results, so they are derived from what a rule
//! cannot do without: the models it matches resolved paths against (every
//! segment of a resolved path is an identifier or module name written in the
//! file, see [`Models::anchors`]), and the names, header names and keywords
//! its own logic requires. A rule that cannot name such strings returns
//! `None` and runs on every file. `tests/prefilter.rs` checks that scans
//! with and without the prefilter report the same findings.

use faultline_ir::Language;

use crate::models::{Models, Table};

/// Groups of which every one must have one of its strings in the file.
pub type Clause = Vec<Vec<String>>;

/// What a file must contain for a rule to report in it: one of the
/// clauses must hold, and a clause holds when every one of its groups has
/// one of its strings in the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Needles {
    clauses: Vec<Vec<Vec<String>>>,
}

impl Needles {
    /// Needles any one of which is enough.
    pub fn any<S: Into<String>>(needles: impl IntoIterator<Item = S>) -> Needles {
        let mut out = Needles::default();
        for n in needles {
            out.push_all(vec![vec![n.into()]]);
        }
        out
    }

    /// Adds a clause: every group must have one of its strings in the file.
    /// Empty groups are dropped; a clause left empty is not added.
    pub fn push_all(&mut self, groups: Vec<Vec<String>>) {
        let mut groups: Vec<Vec<String>> = groups
            .into_iter()
            .map(normalize)
            .filter(|g| !g.is_empty())
            .collect();
        if groups.is_empty() {
            return;
        }
        groups.sort();
        groups.dedup();
        self.clauses.push(groups);
    }

    /// These needles, each clause also requiring one of `needles` (a
    /// keyword the rule's logic cannot do without, such as `except`).
    pub fn and_any<S: Into<String>>(mut self, needles: impl IntoIterator<Item = S>) -> Needles {
        let group = normalize(needles.into_iter().map(Into::into).collect());
        if group.is_empty() {
            return Needles::default();
        }
        for c in &mut self.clauses {
            c.push(group.clone());
            c.sort();
            c.dedup();
        }
        self.normalized()
    }

    /// Adds every clause of `other`.
    pub fn extend(&mut self, other: Needles) {
        self.clauses.extend(other.clauses);
    }

    /// The clauses, each a list of groups of alternatives.
    pub fn clauses(&self) -> &[Vec<Vec<String>>] {
        &self.clauses
    }

    /// Whether no clause can hold: the rule can never report.
    pub fn is_empty(&self) -> bool {
        self.clauses.is_empty()
    }

    /// Sorted, without duplicate clauses or clauses implied by another (a
    /// clause that only adds groups to another holds only where it does).
    pub fn normalized(mut self) -> Needles {
        self.clauses
            .sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        self.clauses.dedup();
        let mut kept: Vec<Vec<Vec<String>>> = Vec::new();
        for c in self.clauses {
            if !kept.iter().any(|k| k.iter().all(|g| c.contains(g))) {
                kept.push(c);
            }
        }
        kept.sort();
        Needles { clauses: kept }
    }
}

/// The needles of every pattern of `tables`, plus `extra` keywords any one
/// of which is enough; `None` when some pattern could match any file.
pub fn from_tables(
    models: &Models,
    lang: Language,
    tables: &[Table],
    extra: &[&str],
) -> Option<Needles> {
    let mut out = Needles::any(extra.iter().copied());
    for t in tables {
        out.extend(models.anchors(lang, *t)?);
    }
    Some(out.normalized())
}

/// The identifier-like pieces of a model string (`ssl.CERT_NONE`,
/// `environ.get(REMOTE_ADDR)`, `x-forwarded-for`): runs of letters, digits,
/// `_` and `-`.
pub fn pieces(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|p| !p.is_empty())
}

/// The piece of a dotted path a file must contain for the path to resolve
/// in it: its root (the package or import every use goes through), or its
/// longest piece when the root is shorter than three characters.
pub fn path_needle(s: &str) -> Option<&str> {
    let root = pieces(s).next()?;
    if root.len() >= 3 {
        return Some(root);
    }
    longest_piece(s)
}

/// The longest piece of a member chain or path: every piece of a chain read
/// off a request object, or of a resolved path, is written where it is
/// used, and the longest is the rarest.
pub fn longest_piece(s: &str) -> Option<&str> {
    pieces(s).max_by_key(|p| p.len())
}

/// The last piece of a member chain (`socket.remoteAddress` →
/// `remoteAddress`): the member a read of the chain must name.
pub fn member_needle(s: &str) -> Option<&str> {
    pieces(s).last()
}

/// A header name as code writes it, matched anywhere: `x-user-id`, and
/// `x_user_id` for CGI keys (`HTTP_X_USER_ID`) and parameters bound by name.
pub fn header_needles(name: &str) -> [String; 2] {
    let name = name.trim_end_matches('*');
    [format!("*{name}"), format!("*{}", name.replace('-', "_"))]
}

/// Sorted, deduplicated, without empty strings.
pub fn normalize(mut needles: Vec<String>) -> Vec<String> {
    needles.retain(|n| !n.is_empty());
    needles.sort();
    needles.dedup();
    needles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_split_model_strings() {
        assert_eq!(
            pieces("environ.get(REMOTE_ADDR)").collect::<Vec<_>>(),
            ["environ", "get", "REMOTE_ADDR"]
        );
        assert_eq!(
            path_needle("jose.jwt.get_unverified_claims()"),
            Some("jose")
        );
        assert_eq!(path_needle("fs.readFile()"), Some("readFile"));
        assert_eq!(
            member_needle("req.socket.remoteAddress"),
            Some("remoteAddress")
        );
        assert_eq!(header_needles("x-user*")[1], "*x_user");
    }

    #[test]
    fn tables_give_package_names() {
        let m = crate::models::builtin();
        let n = from_tables(m, Language::Python, &[Table::Calls], &[]).unwrap();
        let has = |s: &str| n.clauses().iter().flatten().flatten().any(|x| x == s);
        assert!(has("requests"), "{n:?}");
        // `requests.get` needs both names, not either.
        assert!(
            n.clauses()
                .iter()
                .any(|c| c.len() > 1 && c.iter().any(|g| g == &["requests"])),
            "{n:?}"
        );
    }

    #[test]
    fn clauses_implied_by_another_are_dropped() {
        let mut n = Needles::any(["a"]);
        n.push_all(vec![vec!["a".into()], vec!["b".into()]]);
        n.push_all(vec![vec!["c".into(), "b".into()], vec![]]);
        let n = n.normalized();
        assert_eq!(
            n.clauses(),
            [
                vec![vec!["a".to_string()]],
                vec![vec!["b".to_string(), "c".to_string()]]
            ]
        );
        assert!(Needles::any(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn a_required_keyword_joins_every_clause() {
        let mut n = Needles::any(["a"]);
        n.push_all(vec![vec!["b".into()], vec!["c".into()]]);
        let n = n.and_any(["x", "y"]);
        let xy = vec!["x".to_string(), "y".to_string()];
        assert_eq!(
            n.clauses(),
            [
                vec![vec!["a".to_string()], xy.clone()],
                vec![vec!["b".to_string()], vec!["c".to_string()], xy]
            ]
        );
        // Requiring one of nothing: no clause can hold.
        assert!(Needles::any(["a"]).and_any(Vec::<String>::new()).is_empty());
    }

    #[test]
    fn call_needles_can_be_limited_to_the_calls_a_rule_acts_on() {
        let m = crate::models::builtin();
        let has = |n: &Needles, s: &str| n.clauses().iter().flatten().flatten().any(|x| x == s);
        let all = m.anchors(Language::Python, Table::Calls).unwrap();
        let timed = m
            .call_anchors(Language::Python, |c| c.timeout.is_some())
            .unwrap();
        // `shutil.rmtree` is a call, but it takes no timeout.
        assert!(has(&all, "shutil") && !has(&timed, "shutil"), "{timed:?}");
        assert!(has(&timed, "requests"), "{timed:?}");
    }

    #[test]
    fn a_driver_statement_is_a_retried_effect_only_with_insert_or_update() {
        let m = crate::models::builtin();
        let rule = crate::all_rules()
            .iter()
            .find(|r| r.meta().id == "retry/non-idempotent")
            .unwrap();
        let n = rule.needles(Language::TypeScript, m).unwrap();
        let with = |s: &str| {
            n.clauses()
                .iter()
                .filter(|c| c.iter().any(|g| g.iter().any(|x| x == s)))
                .collect::<Vec<_>>()
        };
        // `..query()` runs SQL: it needs a write statement in the file.
        let query = with("query");
        assert!(!query.is_empty(), "{n:?}");
        for c in query {
            assert!(
                c.iter().any(|g| g.contains(&"*insert".to_string())),
                "{c:?}"
            );
        }
        // A payment needs no statement.
        let stripe = with("stripe");
        assert!(!stripe.is_empty(), "{n:?}");
        assert!(
            stripe
                .iter()
                .all(|c| !c.iter().any(|g| g.contains(&"*insert".to_string()))),
            "{stripe:?}"
        );
    }
}
