//! What a file must contain for a rule to report anything in it.
//!
//! Every rule can name *needles* ([`Rule::needles`](crate::Rule::needles)):
//! strings of which a file must contain at least one, ASCII
//! case-insensitively, for the rule to possibly report in it. A needle made
//! only of identifier characters (`requests`, `remote_addr`) must stand as a
//! whole word; any other (`x-user`), or one written with a leading `*`
//! (`*x_user`, matching inside `HTTP_X_USER_ID`), may appear anywhere. The engine tests each file's bytes for the needles
//! of the enabled rules in one pass before parsing it, runs only the rules
//! whose needles it found, and does not parse a file no rule can report in.
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

/// The needles of every pattern of `tables`, plus `extra`; `None` when some
/// pattern could match any file.
pub fn from_tables(
    models: &Models,
    lang: Language,
    tables: &[Table],
    extra: &[&str],
) -> Option<Vec<String>> {
    let mut out: Vec<String> = extra.iter().map(|s| (*s).to_string()).collect();
    for t in tables {
        out.extend(models.anchors(lang, *t)?);
    }
    Some(normalize(out))
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
        assert!(n.iter().any(|x| x == "requests"), "{n:?}");
        assert!(n.iter().all(|x| !x.is_empty()));
    }
}
