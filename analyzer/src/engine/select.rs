//! Rule selection: `--select` and `--ignore`.
//!
//! Each item is an exact rule id (`external-call/missing-timeout`) or a
//! family prefix (`external-call` or `external-call/`). `--select` picks the
//! starting set (all rules when absent); `--ignore` then removes rules from
//! it. An item that names no rule and no family is an error.

use std::fmt;

use faultline_rules::{Family, Rule};

const FAMILIES: &[Family] = &[
    Family::ExternalCall,
    Family::Race,
    Family::Retry,
    Family::Trust,
    Family::Query,
];

// A new `Family` variant makes this match fail to compile, so that it gets
// added to `FAMILIES` too.
const fn listed(f: Family) {
    match f {
        Family::ExternalCall | Family::Race | Family::Retry | Family::Trust | Family::Query => {}
    }
}
const _: () = listed(Family::ExternalCall);

/// Every rule family, in the order they are listed to users.
pub fn families() -> &'static [Family] {
    FAMILIES
}

/// An item of `--select`/`--ignore` that names nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectError {
    /// The flag it was given to (`select` or `ignore`).
    pub flag: &'static str,
    /// The item.
    pub name: String,
    /// Known rule ids or families that look like it.
    pub suggestions: Vec<String>,
}

impl fmt::Display for SelectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown rule or family `{}` in --{}",
            self.name, self.flag
        )?;
        if !self.suggestions.is_empty() {
            let s: Vec<String> = self.suggestions.iter().map(|s| format!("`{s}`")).collect();
            write!(f, "; did you mean {}?", s.join(" or "))?;
        }
        let fams: Vec<&str> = families().iter().map(|f| f.as_str()).collect();
        write!(
            f,
            "\nvalid families: {} (run `faultline rules` for every rule id)",
            fams.join(", ")
        )
    }
}

impl std::error::Error for SelectError {}

/// The rules of `catalog` chosen by `select` and `ignore` (see the module
/// docs), in catalog order. Empty items are ignored.
pub fn select_rules(
    catalog: &[&'static dyn Rule],
    select: &[String],
    ignore: &[String],
) -> Result<Vec<&'static dyn Rule>, SelectError> {
    let selected = matcher(catalog, select, "select")?;
    let ignored = matcher(catalog, ignore, "ignore")?;
    Ok(catalog
        .iter()
        .copied()
        .filter(|r| {
            let id = r.meta().id;
            (select.iter().all(|s| s.trim().is_empty()) || selected(id)) && !ignored(id)
        })
        .collect())
}

enum Item {
    Rule(String),
    Family(&'static str),
}

fn matcher(
    catalog: &[&'static dyn Rule],
    items: &[String],
    flag: &'static str,
) -> Result<impl Fn(&str) -> bool + use<>, SelectError> {
    let mut parsed = Vec::new();
    for raw in items {
        let item = raw.trim();
        if item.is_empty() {
            continue;
        }
        let family = item.strip_suffix('/').unwrap_or(item);
        if let Some(f) = families().iter().find(|f| f.as_str() == family) {
            parsed.push(Item::Family(f.as_str()));
        } else if catalog.iter().any(|r| r.meta().id == item) {
            parsed.push(Item::Rule(item.to_string()));
        } else {
            return Err(SelectError {
                flag,
                name: item.to_string(),
                suggestions: suggest(item, catalog),
            });
        }
    }
    Ok(move |id: &str| {
        parsed.iter().any(|item| match item {
            Item::Rule(r) => r == id,
            Item::Family(f) => id.split_once('/').is_some_and(|(fam, _)| fam == *f),
        })
    })
}

fn suggest(name: &str, catalog: &[&'static dyn Rule]) -> Vec<String> {
    let names = families()
        .iter()
        .map(|f| f.as_str())
        .chain(catalog.iter().map(|r| r.meta().id));
    close_matches(name, names)
}

/// The candidates that look like `name`: within a third of its length in
/// edit distance, or sharing its part after the family. Best first, at most 3.
pub fn close_matches<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Vec<String> {
    fn short(s: &str) -> &str {
        s.split_once('/').map_or(s, |(_, r)| r)
    }
    let limit = (name.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, &str)> = candidates
        .filter_map(|c| {
            let d = edit_distance(name, c);
            if d <= limit || (name.contains('/') && short(name) == short(c)) || short(c) == name {
                Some((d, c))
            } else {
                None
            }
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_select_even_with_no_rules() {
        let none: Vec<String> = Vec::new();
        assert!(select_rules(&[], &["external-call".into()], &none).is_ok());
        assert!(select_rules(&[], &["race/".into()], &none).is_ok());
        let err = select_rules(&[], &["externall-call".into()], &none)
            .err()
            .unwrap();
        assert_eq!(err.suggestions, vec!["external-call".to_string()]);
        let text = err.to_string();
        assert!(text.contains("`externall-call`"), "{text}");
        assert!(
            text.contains("valid families: external-call, race"),
            "{text}"
        );
    }

    #[test]
    fn close_matches_prefer_small_distances() {
        let cands = ["external-call/missing-timeout", "race/lost-update"];
        assert_eq!(
            close_matches("external-call/missing-timout", cands.into_iter()),
            vec!["external-call/missing-timeout".to_string()]
        );
        assert_eq!(
            close_matches("missing-timeout", cands.into_iter()),
            vec!["external-call/missing-timeout".to_string()]
        );
        assert!(close_matches("zzz", cands.into_iter()).is_empty());
    }
}
