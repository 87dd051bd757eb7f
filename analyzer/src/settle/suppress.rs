//! Inline suppressions.
//!
//! A comment holding `faultline: ignore[RULE-ID] REASON` silences the
//! findings of that rule on the comment's own line(s) and, when the comment
//! stands on a line of its own, on the line just below it (a comment after
//! code covers that line only). Several ids may be listed (`ignore[a, b]`). Any comment syntax
//! of the language works (`#`, `//`, `/* */`, `{/* */}` in JSX), because
//! suppressions are read from the comments the front-end kept, never from
//! strings.
//!
//! Suppressions are themselves checked, and problems are reported as
//! findings of the pseudo-rule `faultline/suppression` at `note` level (so an
//! editor shows them on the comment, `--fail-on note` can gate on them, and
//! `[rules."faultline/suppression"] level = …` can change or turn them off):
//!
//! - a suppression with no reason (it still suppresses);
//! - a blanket `faultline: ignore` with no `[rule-id]` (it suppresses nothing);
//! - an id that names no rule;
//! - an unused suppression: its rule ran on the file but reported nothing on
//!   the lines it covers.

use faultline_ir::Span;
use faultline_rules::{Finding, Level};

use crate::config::SUPPRESSION_RULE;

/// One `faultline: ignore` comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suppression {
    /// The comment's span.
    pub span: Span,
    /// The first line of the comment (1-based).
    pub first_line: usize,
    /// The last line of the comment.
    pub last_line: usize,
    /// The comment stands alone on its line, so it covers the next line.
    pub covers_next: bool,
    /// The rule ids, or `None` for a blanket `ignore`.
    pub rules: Option<Vec<String>>,
    /// Why, when given.
    pub reason: Option<String>,
}

impl Suppression {
    /// Whether it covers a finding on `line`.
    pub fn covers(&self, line: usize) -> bool {
        self.first_line <= line && line <= self.last_line + usize::from(self.covers_next)
    }
}

/// Parses the text of one comment (markers removed); `None` when it holds
/// no `faultline: ignore`.
pub fn parse(text: &str) -> Option<(Option<Vec<String>>, Option<String>)> {
    let at = text.find("faultline:")?;
    let rest = text[at + "faultline:".len()..].trim_start();
    let rest = rest.strip_prefix("ignore")?;
    if rest.starts_with(|c: char| c.is_alphanumeric() || c == '-' || c == '_') {
        return None;
    }
    let (rules, rest) = match rest.strip_prefix('[') {
        Some(inner) => {
            let (ids, after) = inner.split_once(']').unwrap_or((inner, ""));
            let ids: Vec<String> = ids
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            (Some(ids), after)
        }
        None => (None, rest),
    };
    let reason = rest
        .trim()
        .trim_start_matches([':', '-', '\u{2014}', '\u{2013}'])
        .trim()
        .trim_end_matches("*/")
        .trim();
    let reason = (!reason.is_empty()).then(|| reason.to_string());
    Some((rules, reason))
}

/// What checking a file's suppressions produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// For each finding given, whether a suppression silenced it.
    pub suppressed: Vec<bool>,
    /// The pseudo-rule's findings about the suppressions themselves.
    pub problems: Vec<Finding>,
}

/// Matches `findings` (with their start lines) against `suppressions`.
/// `known` says whether a rule id exists; `ran` whether that rule ran on
/// this file (only then can a suppression of it be called unused).
pub fn apply(
    suppressions: &[Suppression],
    findings: &[(usize, &str)],
    known: &dyn Fn(&str) -> bool,
    ran: &dyn Fn(&str) -> bool,
) -> Outcome {
    let mut used: Vec<Vec<bool>> = suppressions
        .iter()
        .map(|s| vec![false; s.rules.as_ref().map_or(0, Vec::len)])
        .collect();
    let suppressed = findings
        .iter()
        .map(|(line, rule)| {
            let mut hit = false;
            for (s, used) in suppressions.iter().zip(used.iter_mut()) {
                if !s.covers(*line) {
                    continue;
                }
                for (id, u) in s.rules.iter().flatten().zip(used.iter_mut()) {
                    if id == rule {
                        *u = true;
                        hit = true;
                    }
                }
            }
            hit
        })
        .collect();

    let mut problems = Vec::new();
    let mut report = |span: Span, message: String, help: &str| {
        problems.push(Finding {
            rule: SUPPRESSION_RULE,
            level: Level::Note,
            span,
            message,
            help: Some(help.to_string()),
            related: Vec::new(),
        });
    };
    for (s, used) in suppressions.iter().zip(&used) {
        let Some(ids) = &s.rules else {
            report(
                s.span,
                "blanket `faultline: ignore` suppresses nothing: name the rule".to_string(),
                "write `faultline: ignore[rule-id] reason`; `faultline rules` lists the ids",
            );
            continue;
        };
        if ids.is_empty() {
            report(
                s.span,
                "`faultline: ignore[]` names no rule and suppresses nothing".to_string(),
                "write `faultline: ignore[rule-id] reason`; `faultline rules` lists the ids",
            );
            continue;
        }
        for (id, used) in ids.iter().zip(used) {
            if !known(id) {
                report(
                    s.span,
                    format!("suppression of unknown rule `{id}`"),
                    "`faultline rules` lists the rule ids",
                );
            } else if !used && ran(id) {
                report(
                    s.span,
                    format!("unused suppression: no `{id}` finding on this line or the next"),
                    "remove the comment, or move it onto or just above the reported line",
                );
            }
        }
        if s.reason.is_none() && used.iter().any(|u| *u) {
            report(
                s.span,
                "suppression without a reason".to_string(),
                "say why after the brackets: `faultline: ignore[rule-id] retried by the caller`",
            );
        }
    }
    Outcome {
        suppressed,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_and_reasons() {
        assert_eq!(
            parse("faultline: ignore[external-call/missing-timeout] the SDK sets one"),
            Some((
                Some(vec!["external-call/missing-timeout".to_string()]),
                Some("the SDK sets one".to_string())
            ))
        );
        assert_eq!(
            parse("noqa  faultline: ignore[a, b] -- why"),
            Some((
                Some(vec!["a".to_string(), "b".to_string()]),
                Some("why".to_string())
            ))
        );
        assert_eq!(parse("faultline: ignore"), Some((None, None)));
        assert_eq!(
            parse("faultline: ignore[a]"),
            Some((Some(vec!["a".to_string()]), None))
        );
        assert_eq!(parse("faultline: ignored it"), None);
        assert_eq!(parse("see faultline docs"), None);
    }

    #[test]
    fn unused_unknown_and_reasonless_are_reported() {
        let s = |line, rules: &[&str], reason: Option<&str>| Suppression {
            span: Span::new(0, 1),
            first_line: line,
            last_line: line,
            covers_next: true,
            rules: Some(rules.iter().map(|r| (*r).to_string()).collect()),
            reason: reason.map(str::to_string),
        };
        let sups = [
            s(1, &["a/x"], Some("ok")),
            s(5, &["a/x"], None),
            s(9, &["a/x", "zzz"], Some("ok")),
        ];
        let findings = [(2, "a/x"), (3, "a/x"), (5, "a/x"), (7, "b/y")];
        let out = apply(&sups, &findings, &|id| id != "zzz", &|_| true);
        assert_eq!(out.suppressed, [true, false, true, false]);
        let messages: Vec<&str> = out.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "suppression without a reason",
                "unused suppression: no `a/x` finding on this line or the next",
                "suppression of unknown rule `zzz`",
            ]
        );
    }
}
