//! The content prefilter: one Aho-Corasick pass over a file's bytes decides
//! which rules can report in it, and a file no rule can report in is not
//! parsed at all.
//!
//! Each rule names its needles ([`Rule::needles`], derived from the API
//! models, including a project's own, and from what the rule's logic
//! requires; see [`faultline_rules::prefilter`]). A rule runs on a file
//! where one of its clauses holds: every group of the clause has one of its
//! needles in the file, ASCII case-insensitively. Rules without
//! needles run on every file. A file mentioning `faultline` is always
//! parsed, so that its suppression comments are still checked.
//!
//! A needle made only of identifier characters must stand as a whole word
//! (every resolved path segment is a whole identifier or module name in the
//! source); any other needle, or one written with a leading `*`, may appear
//! anywhere. A needle counts only in code: one found in a comment that
//! starts a line, or in a Python docstring, names nothing a rule can match
//! (see [`prose`](super::prose)).

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use faultline_ir::Language;
use faultline_rules::Rule;
use faultline_rules::models::Models;

use super::prose;

/// Written in every suppression comment.
const SUPPRESSION_NEEDLE: &str = "*faultline";

const LANGUAGES: [Language; 5] = [
    Language::Python,
    Language::TypeScript,
    Language::Tsx,
    Language::JavaScript,
    Language::Rust,
];

/// The needles of a rule set, per language.
#[derive(Debug)]
pub struct Prefilter {
    langs: Vec<(Language, LangFilter)>,
}

#[derive(Debug)]
struct LangFilter {
    lang: Language,
    /// The automaton over every needle of the language; `None` if it could
    /// not be built, and then every rule runs.
    automaton: Option<AhoCorasick>,
    /// Every rule of the language.
    applicable: Vec<usize>,
    /// The needles, lowercase.
    needles: Vec<String>,
    /// Per needle: whether it must be a whole word.
    word: Vec<bool>,
    /// The suppression needle.
    suppression: usize,
    /// Per rule with needles: its clauses, as groups of needle indexes.
    filtered: Vec<(usize, Vec<Vec<Vec<usize>>>)>,
    /// Rules of the language that run on every file.
    always: Vec<usize>,
    /// Rules of the language that never report in a test file.
    test_silent: Vec<usize>,
}

/// What the prefilter decided for one file.
#[derive(Debug, PartialEq, Eq)]
pub struct Selection {
    /// Indexes (into the rule list given to [`Prefilter::new`]) of the rules
    /// to run, in order.
    pub rules: Vec<usize>,
    /// Whether the file must be parsed: some rule runs, or it mentions
    /// `faultline`.
    pub parse: bool,
}

impl Prefilter {
    /// The prefilter of `rules` with `models`.
    pub fn new(rules: &[&'static dyn Rule], models: &Models) -> Prefilter {
        let langs = LANGUAGES
            .iter()
            .map(|&lang| (lang, LangFilter::new(lang, rules, models)))
            .collect();
        Prefilter { langs }
    }

    /// Which of the rules run on a file of `lang` with these bytes;
    /// `is_test` when the file is test code as a whole.
    pub fn select(&self, lang: Language, text: &[u8], is_test: bool) -> Selection {
        let Some(lf) = self.lang(lang) else {
            return Selection {
                rules: Vec::new(),
                parse: true,
            };
        };
        let runs = |i: &usize| !is_test || !lf.test_silent.contains(i);
        if lf.automaton.is_none() {
            return Selection {
                rules: lf.applicable.iter().copied().filter(runs).collect(),
                parse: true,
            };
        }
        let found: Vec<(usize, usize)> = lf.found(text).collect();
        let select = |present: &[bool]| {
            let mut rules: Vec<usize> = lf.always.iter().copied().filter(runs).collect();
            rules.extend(
                lf.filtered
                    .iter()
                    .filter(|(i, clauses)| runs(i) && first_holding(clauses, present).is_some())
                    .map(|(i, _)| *i),
            );
            rules.sort_unstable();
            rules
        };
        // Counting needles in prose too can only run more rules: when even
        // then none runs, the prose need not be found.
        let mut present = lf.present_in(&found, None);
        let mut rules = select(&present);
        if !rules.is_empty() {
            present = lf.present_in(&found, Some(&prose::prose(lf.lang, text)));
            rules = select(&present);
        }
        let parse = !rules.is_empty() || present.get(lf.suppression).copied().unwrap_or(false);
        Selection { rules, parse }
    }

    /// Why each rule runs on a file of `lang` with these bytes (for
    /// `faultline debug prefilter`): the rule's index and the first clause
    /// that holds, written `a+b|c` (`a` and one of `b`, `c`).
    pub fn reasons(&self, lang: Language, text: &[u8]) -> Vec<(usize, String)> {
        let Some(lf) = self.lang(lang) else {
            return Vec::new();
        };
        let present = lf.present(text);
        let has = |id: &usize| present.get(*id).copied().unwrap_or(false);
        let name = |id: &usize| lf.needles.get(*id).map_or("?", String::as_str);
        lf.filtered
            .iter()
            .filter_map(|(i, clauses)| {
                let c = first_holding(clauses, &present)?;
                let text = c
                    .iter()
                    .map(|g| {
                        g.iter()
                            .filter(|id| has(id))
                            .map(name)
                            .collect::<Vec<_>>()
                            .join("|")
                    })
                    .collect::<Vec<_>>()
                    .join("+");
                Some((*i, text))
            })
            .collect()
    }

    fn lang(&self, lang: Language) -> Option<&LangFilter> {
        self.langs
            .iter()
            .find(|(l, _)| *l == lang)
            .map(|(_, lf)| lf)
    }
}

impl LangFilter {
    /// Per needle: whether `text` contains it in code. A needle found only
    /// in prose (comments, docstrings) names nothing the rules can see; the
    /// suppression needle counts anywhere.
    fn present(&self, text: &[u8]) -> Vec<bool> {
        let found: Vec<(usize, usize)> = self.found(text).collect();
        self.present_in(&found, Some(&prose::prose(self.lang, text)))
    }

    /// Per needle: whether one of the needles `found` (as [`found`] gives
    /// them) lies outside `prose`.
    ///
    /// [`found`]: LangFilter::found
    fn present_in(&self, found: &[(usize, usize)], prose: Option<&[Range<usize>]>) -> Vec<bool> {
        let mut present = vec![false; self.needles.len()];
        for &(id, start) in found {
            if present.get(id).is_none_or(|p| *p) {
                continue;
            }
            if id != self.suppression && prose.is_some_and(|p| prose::contains(p, start)) {
                continue;
            }
            if let Some(p) = present.get_mut(id) {
                *p = true;
            }
        }
        present
    }

    /// The needles found in `text` and where they start, in order of their
    /// end, repeated when found again; word needles only where they stand
    /// as a whole word.
    fn found<'a>(&'a self, text: &'a [u8]) -> impl Iterator<Item = (usize, usize)> + 'a {
        self.automaton
            .iter()
            .flat_map(move |ac| ac.find_overlapping_iter(text))
            .filter(move |m| {
                let word = self
                    .word
                    .get(m.pattern().as_usize())
                    .copied()
                    .unwrap_or(false);
                !word || is_word(text, m.start(), m.end())
            })
            .map(|m| (m.pattern().as_usize(), m.start()))
    }
}

impl LangFilter {
    fn new(lang: Language, rules: &[&'static dyn Rule], models: &Models) -> LangFilter {
        let mut table = NeedleTable::default();
        let mut filtered = Vec::new();
        let mut always = Vec::new();
        let mut applicable = Vec::new();
        let mut test_silent = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            if !rule.meta().applies_to(lang) {
                continue;
            }
            applicable.push(i);
            if !rule.reports_in_test_files() {
                test_silent.push(i);
            }
            match rule.needles(lang, models) {
                Some(ns) if !ns.is_empty() => {
                    let clauses = ns
                        .clauses()
                        .iter()
                        .map(|groups| {
                            groups
                                .iter()
                                .map(|g| g.iter().filter_map(|n| table.add(n)).collect())
                                .collect()
                        })
                        .collect();
                    filtered.push((i, clauses));
                }
                // A rule with no needles at all can never report here.
                Some(_) => {}
                None => always.push(i),
            }
        }
        let suppression = table.add(SUPPRESSION_NEEDLE).unwrap_or(0);
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A few hundred needles: the full DFA is small and the fastest
            // to search with.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&table.needles)
            .ok();
        LangFilter {
            lang,
            automaton,
            applicable,
            needles: table.needles,
            word: table.word,
            suppression,
            filtered,
            always,
            test_silent,
        }
    }
}

/// The distinct needles of a language.
#[derive(Default)]
struct NeedleTable {
    needles: Vec<String>,
    word: Vec<bool>,
    index: HashMap<(String, bool), usize>,
}

impl NeedleTable {
    /// The index of `needle`, added if new; `None` if empty.
    fn add(&mut self, needle: &str) -> Option<usize> {
        let (anywhere, text) = match needle.strip_prefix('*') {
            Some(rest) => (true, rest),
            None => (!needle.bytes().all(is_ident_byte), needle),
        };
        let key = (text.to_ascii_lowercase(), !anywhere);
        if key.0.is_empty() {
            return None;
        }
        let id = match self.index.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.needles.len();
                self.needles.push(key.0.clone());
                self.word.push(key.1);
                self.index.insert(key, id);
                id
            }
        };
        Some(id)
    }
}

/// The first clause of which every group has a needle in `present`.
fn first_holding<'a>(clauses: &'a [Vec<Vec<usize>>], present: &[bool]) -> Option<&'a [Vec<usize>]> {
    let has = |id: &usize| present.get(*id).copied().unwrap_or(false);
    clauses
        .iter()
        .find(|groups| groups.iter().all(|g| g.iter().any(has)))
        .map(Vec::as_slice)
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Whether `text[start..end]` is not part of a longer identifier.
fn is_word(text: &[u8], start: usize, end: usize) -> bool {
    let before = start
        .checked_sub(1)
        .and_then(|i| text.get(i))
        .is_some_and(|b| is_ident_byte(*b));
    let after = text.get(end).is_some_and(|b| is_ident_byte(*b));
    !before && !after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_needles_must_be_whole_words() {
        let text = b"zip = req.ip; skip(ips)";
        let at = |n: &str| {
            let s = std::str::from_utf8(text).unwrap();
            let i = s.find(n).unwrap();
            (i, i + n.len())
        };
        let (s, e) = at(".ip");
        assert!(is_word(text, s + 1, e));
        let (s, e) = at("zip");
        assert!(!is_word(text, s + 1, e));
        let (s, e) = at("ips");
        assert!(!is_word(text, s, e - 1));
        assert!(is_word(b"ip", 0, 2));
    }

    #[test]
    fn rules_run_only_where_their_needles_are() {
        let rules = faultline_rules::all_rules();
        let p = Prefilter::new(rules, faultline_rules::models::builtin());
        let none = p.select(
            Language::Python,
            b"def add(a, b):\n    return a + b\n",
            false,
        );
        assert_eq!(
            none,
            Selection {
                rules: Vec::new(),
                parse: false
            }
        );
        let http = p.select(
            Language::Python,
            b"import requests\nrequests.get(url)\n",
            false,
        );
        assert!(http.parse);
        let ids: Vec<&str> = http.rules.iter().map(|&i| rules[i].meta().id).collect();
        assert!(ids.contains(&"external-call/missing-timeout"), "{ids:?}");
        assert!(!ids.contains(&"trust/unverified-token"), "{ids:?}");
        // Case does not matter; a suppression comment forces a parse.
        let upper = p.select(
            Language::Python,
            b"IMPORT REQUESTS\nREQUESTS.GET(URL)",
            false,
        );
        assert!(!upper.rules.is_empty());
        // Every name of a pattern must be written: `get` alone is not
        // `requests.get`.
        let ids = |sel: Selection| -> Vec<&str> {
            sel.rules.iter().map(|&i| rules[i].meta().id).collect()
        };
        let get = p.select(Language::Python, b"value = cache.get(key)\n", false);
        assert!(
            !ids(get).contains(&"external-call/missing-timeout"),
            "a bare `get` admitted the HTTP rules"
        );
        // In a test file only the rules that report in test code run.
        let test = p.select(
            Language::Python,
            b"import requests\nrequests.get(url, verify=False)\n",
            true,
        );
        let test_ids = ids(test);
        assert!(
            !test_ids.contains(&"external-call/missing-timeout"),
            "{test_ids:?}"
        );
        assert!(
            test_ids.contains(&"trust/tls-verification-disabled"),
            "{test_ids:?}"
        );
        let plain = p.select(
            Language::Python,
            b"import requests\nrequests.get(url)\n",
            true,
        );
        assert!(!plain.parse, "{plain:?}");
        let suppressed = p.select(
            Language::Python,
            b"x = 1  # FaultLine: ignore[a/b] why",
            false,
        );
        assert!(suppressed.rules.is_empty() && suppressed.parse);
    }

    #[test]
    fn race_rules_need_a_read_and_an_action_on_the_same_state() {
        let rules = faultline_rules::all_rules();
        let p = Prefilter::new(rules, faultline_rules::models::builtin());
        let runs = |lang, text: &str, id: &str| {
            p.select(lang, text.as_bytes(), false)
                .rules
                .iter()
                .any(|&i| rules[i].meta().id == id)
        };
        let cta = "race/check-then-act";
        let rmw = "race/read-modify-write";
        // A create with nothing checked first.
        let only_create =
            "export function add(db, row) {\n  return db.user.create({ data: row });\n}\n";
        assert!(!runs(Language::TypeScript, only_create, cta));
        let checked =
            "const u = db.user.findUnique({ where });\nif (!u) db.user.create({ data });\n";
        assert!(runs(Language::TypeScript, checked, cta));
        // Embedded SQL: a SELECT, then an INSERT or an UPDATE.
        let sql = "cur.execute(\"SELECT id FROM users WHERE email = %s\", (e,))\nif cur.fetchone() is None:\n    cur.execute(\"INSERT INTO users (email) VALUES (%s)\", (e,))\n";
        assert!(runs(Language::Python, sql, cta));
        assert!(!runs(Language::Python, sql, rmw));
        assert!(runs(
            Language::Python,
            &sql.replace("INSERT INTO", "UPDATE"),
            rmw
        ));
        // A transaction alone reads and writes nothing.
        let scope = "with transaction.atomic():\n    session.commit()\n";
        assert!(!runs(Language::Python, scope, rmw));
        assert!(!runs(Language::Python, scope, cta));
        // An atomic that is only loaded.
        let load = "static N: AtomicUsize = AtomicUsize::new(0);\nfn n() -> usize { N.load(Ordering::SeqCst) }\n";
        assert!(!runs(Language::Rust, load, rmw));
        assert!(runs(
            Language::Rust,
            &format!("{load}fn z() {{ N.store(0, Ordering::SeqCst) }}\n"),
            rmw
        ));
    }
}
