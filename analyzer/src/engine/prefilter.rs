//! The content prefilter: one Aho-Corasick pass over a file's bytes decides
//! which rules can report in it, and a file no rule can report in is not
//! parsed at all.
//!
//! Each rule names its needles ([`Rule::needles`], derived from the API
//! models, including a project's own, and from what the rule's logic
//! requires; see [`faultline_rules::prefilter`]). A rule runs on a file that
//! contains one of its needles, ASCII case-insensitively; short needles
//! made of identifier characters must stand as a whole word. Rules without
//! needles run on every file. A file mentioning `faultline` is always
//! parsed, so that its suppression comments are still checked.
//!
//! A needle made only of identifier characters must stand as a whole word
//! (every resolved path segment is a whole identifier or module name in the
//! source); any other needle, or one written with a leading `*`, may appear
//! anywhere.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use faultline_ir::Language;
use faultline_rules::Rule;
use faultline_rules::models::Models;

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
    /// The automaton over every needle of the language; `None` if it could
    /// not be built, and then every rule runs.
    automaton: Option<AhoCorasick>,
    /// Every rule of the language.
    applicable: Vec<usize>,
    /// The suppression needle's slot: one past the last rule.
    suppression: usize,
    /// The needles, lowercase.
    needles: Vec<String>,
    /// Per needle: whether it must be a whole word.
    word: Vec<bool>,
    /// Per needle: the slots (indexes into the rule list; the last slot is
    /// the suppression needle) it satisfies.
    slots: Vec<Vec<usize>>,
    /// How many slots have needles (rules with needles, plus suppressions).
    filtered: usize,
    /// Rules of the language that run on every file.
    always: Vec<usize>,
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

    /// Which of the rules run on a file of `lang` with these bytes.
    pub fn select(&self, lang: Language, text: &[u8]) -> Selection {
        let Some(lf) = self.lang(lang) else {
            return Selection {
                rules: Vec::new(),
                parse: true,
            };
        };
        if lf.automaton.is_none() {
            return Selection {
                rules: lf.applicable.clone(),
                parse: true,
            };
        }
        let suppression = lf.suppression;
        let mut hit = vec![false; suppression + 1];
        let mut remaining = lf.filtered;
        for id in lf.found(text) {
            for &slot in lf.slots.get(id).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(h) = hit.get_mut(slot)
                    && !*h
                {
                    *h = true;
                    remaining -= 1;
                }
            }
            if remaining == 0 {
                break;
            }
        }
        let mut rules: Vec<usize> = lf.always.clone();
        rules.extend((0..suppression).filter(|&i| hit[i]));
        rules.sort_unstable();
        let parse = !rules.is_empty() || hit[suppression];
        Selection { rules, parse }
    }

    /// Every needle of `lang` found in `text` (for `faultline debug
    /// prefilter`): its text and the indexes of the rules it admits.
    pub fn needles_found(&self, lang: Language, text: &[u8]) -> Vec<(String, Vec<usize>)> {
        let Some(lf) = self.lang(lang) else {
            return Vec::new();
        };
        let mut seen = vec![false; lf.needles.len()];
        for id in lf.found(text) {
            if let Some(s) = seen.get_mut(id) {
                *s = true;
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .filter_map(|(id, _)| Some((lf.needles.get(id)?.clone(), lf.slots.get(id)?.clone())))
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
    /// The needles found in `text`, in order of their end, repeated when
    /// found again; word needles only where they stand as a whole word.
    fn found<'a>(&'a self, text: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
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
            .map(|m| m.pattern().as_usize())
    }
}

impl LangFilter {
    fn new(lang: Language, rules: &[&'static dyn Rule], models: &Models) -> LangFilter {
        let mut needles: Vec<String> = Vec::new();
        let mut slots: Vec<Vec<usize>> = Vec::new();
        let mut always = Vec::new();
        let mut applicable = Vec::new();
        let mut filtered = 1;
        let mut word: Vec<bool> = Vec::new();
        let mut index: HashMap<(String, bool), usize> = HashMap::new();
        let mut add = |needle: &str, slot: usize, needles: &mut Vec<String>| {
            let (anywhere, text) = match needle.strip_prefix('*') {
                Some(rest) => (true, rest),
                None => (!needle.bytes().all(is_ident_byte), needle),
            };
            let key = text.to_ascii_lowercase();
            if key.is_empty() {
                return;
            }
            match index.get(&(key.clone(), !anywhere)) {
                Some(&i) => slots[i].push(slot),
                None => {
                    index.insert((key.clone(), !anywhere), needles.len());
                    needles.push(key);
                    word.push(!anywhere);
                    slots.push(vec![slot]);
                }
            }
        };
        for (i, rule) in rules.iter().enumerate() {
            if !rule.meta().applies_to(lang) {
                continue;
            }
            applicable.push(i);
            match rule.needles(lang, models) {
                Some(ns) if !ns.is_empty() => {
                    filtered += 1;
                    for n in &ns {
                        add(n, i, &mut needles);
                    }
                }
                // A rule with no needles at all can never report here.
                Some(_) => {}
                None => always.push(i),
            }
        }
        add(SUPPRESSION_NEEDLE, rules.len(), &mut needles);
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&needles)
            .ok();
        LangFilter {
            automaton,
            applicable,
            suppression: rules.len(),
            needles,
            word,
            slots,
            filtered,
            always,
        }
    }
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
        let none = p.select(Language::Python, b"def add(a, b):\n    return a + b\n");
        assert_eq!(
            none,
            Selection {
                rules: Vec::new(),
                parse: false
            }
        );
        let http = p.select(Language::Python, b"import requests\nrequests.get(url)\n");
        assert!(http.parse);
        let ids: Vec<&str> = http.rules.iter().map(|&i| rules[i].meta().id).collect();
        assert!(ids.contains(&"external-call/missing-timeout"), "{ids:?}");
        assert!(!ids.contains(&"trust/unverified-token"), "{ids:?}");
        // Case does not matter; a suppression comment forces a parse.
        let upper = p.select(Language::Python, b"IMPORT REQUESTS");
        assert!(!upper.rules.is_empty());
        let suppressed = p.select(Language::Python, b"x = 1  # FaultLine: ignore[a/b] why");
        assert!(suppressed.rules.is_empty() && suppressed.parse);
    }
}
