//! The settle stage: what happens to the rules' findings before they are
//! reported.
//!
//! Per file, while its source and comments are at hand ([`settle_file`]):
//! 1. inline suppressions silence findings, and problems with the
//!    suppressions become findings of `faultline/suppression`
//!    ([`suppress`]);
//! 2. `[rules."ID"] level = …` from the configuration sets the level;
//! 3. a finding inside a risk zone is raised one level ([`Level::raised`])
//!    and tagged with the zone(s);
//! 4. fingerprints are computed ([`fingerprint`]).
//!
//! Then, on the whole report: the baseline hides accepted findings
//! ([`baseline`]) and `--diff` hides findings on unchanged lines ([`diff`]).

pub mod baseline;
pub mod diff;
pub mod fingerprint;
pub mod suppress;

use std::collections::HashMap;
use std::path::Path;

use faultline_grammars::Lang;
use faultline_ir::{LineIndex, Span};
use faultline_rules::{Finding, Rule};

use crate::config::{RuleLevels, Zones};
use crate::engine::{FileFinding, FileResult, Fingerprints, Range};

/// Settings of the per-file settle steps.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Level overrides and `off` rules from the configuration.
    pub levels: RuleLevels,
    /// Risk zones.
    pub zones: Zones,
    /// Honour and check inline suppressions.
    pub suppressions: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            levels: RuleLevels::default(),
            zones: Zones::default(),
            suppressions: true,
        }
    }
}

/// Whether only blanks (or the `{` of a JSX `{/* … */}`) precede the
/// comment on its line.
fn alone_on_its_line(source: &str, lines: &LineIndex, span: Span) -> bool {
    let start = lines.line_start(lines.line(span.start)) as usize;
    let before = source.get(start..span.start as usize).unwrap_or("").trim();
    before.is_empty() || before == "{"
}

/// What settling one file produced.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    pub findings: Vec<FileFinding>,
    pub suppressed: usize,
}

/// Settles the findings of one analyzed file (see the module docs).
/// `original` is the file's text as read (with a byte-order mark, if any),
/// which GitHub's line hash is computed over.
#[allow(clippy::too_many_arguments)]
pub(crate) fn settle_file(
    abs: &Path,
    rel: &str,
    lang: Lang,
    source: &str,
    original: &str,
    result: FileResult,
    rules: &[&'static dyn Rule],
    settings: &Settings,
) -> Settled {
    let FileResult {
        findings,
        functions,
        comments,
        ..
    } = result;
    // Most files have no finding and no suppression: index lines only when
    // something is to be located.
    let index = std::cell::OnceCell::new();
    let lines = || index.get_or_init(|| LineIndex::new(source));
    let line_of = |span: Span| lines().line(span.start);
    let mut located: Vec<(Finding, Option<String>)> = findings
        .into_iter()
        .zip(functions.into_iter().chain(std::iter::repeat(None)))
        .collect();

    // 1. Suppressions.
    let mut suppressed = 0;
    if settings.suppressions {
        let sups: Vec<suppress::Suppression> = comments
            .iter()
            .filter_map(|c| {
                let (rules, reason) = suppress::parse(&c.text)?;
                Some(suppress::Suppression {
                    span: c.span,
                    first_line: line_of(c.span),
                    last_line: lines().line(c.span.end.saturating_sub(1).max(c.span.start)),
                    covers_next: alone_on_its_line(source, lines(), c.span),
                    rules,
                    reason,
                })
            })
            .collect();
        if !sups.is_empty() {
            let keys: Vec<(usize, &str)> = located
                .iter()
                .map(|(f, _)| (line_of(f.span), f.rule))
                .collect();
            let language = lang.ir();
            let known = |id: &str| faultline_rules::find_rule(id).is_some();
            let ran = |id: &str| {
                rules
                    .iter()
                    .any(|r| r.meta().id == id && r.meta().applies_to(language))
            };
            let outcome = suppress::apply(&sups, &keys, &known, &ran);
            let mut keep = outcome.suppressed.iter().map(|s| !s);
            located.retain(|_| keep.next().unwrap_or(true));
            suppressed = outcome.suppressed.iter().filter(|s| **s).count();
            if !settings.levels.suppression_off() {
                located.extend(outcome.problems.into_iter().map(|p| (p, None)));
            }
        }
    }

    // 2. Levels, 3. zones.
    let zones = if settings.zones.is_empty() {
        Vec::new()
    } else {
        settings.zones.of(abs, rel)
    };
    for (f, _) in &mut located {
        if let Some(level) = settings.levels.level_of(f.rule) {
            f.level = level;
        }
        if !zones.is_empty() {
            f.level = f.level.raised();
        }
    }

    // 4. Locate and fingerprint, in report order.
    let mut out: Vec<FileFinding> = located
        .into_iter()
        .map(|(finding, function)| FileFinding {
            path: rel.to_string(),
            range: Range::of_span(source, lines(), finding.span),
            related: finding
                .related
                .iter()
                .map(|r| Range::of_span(source, lines(), r.span))
                .collect(),
            finding,
            function,
            zones: zones.clone(),
            fingerprints: Fingerprints::default(),
        })
        .collect();
    out.sort_by(|a, b| {
        (a.range.start, a.finding.rule, &a.finding.message).cmp(&(
            b.range.start,
            b.finding.rule,
            &b.finding.message,
        ))
    });
    if !out.is_empty() {
        let hashes = fingerprint::line_hashes(original);
        let starts = |line: usize| lines().line_start(line) as usize;
        let mut seen: HashMap<String, usize> = HashMap::new();
        for f in &mut out {
            let first = f.range.start.line;
            let last = if f.range.end.line > first && f.range.end.column == 1 {
                f.range.end.line - 1
            } else {
                f.range.end.line.max(first)
            };
            let last_exclusive_start = if last + 1 > lines().line_count() {
                source.len()
            } else {
                starts(last + 1)
            };
            let skip: Vec<Span> = comments
                .iter()
                .map(|c| c.span)
                .filter(|s| {
                    !(s.start < f.finding.span.end.max(f.finding.span.start + 1)
                        && f.finding.span.start < s.end)
                })
                .collect();
            let line_start = |l: usize| {
                if l > last {
                    last_exclusive_start
                } else {
                    starts(l)
                }
            };
            let text = fingerprint::normalized_lines(source, &line_start, first, last, &skip);
            let hash = fingerprint::v1_hash(f.finding.rule, rel, &text, f.function.as_deref());
            let n = seen.entry(hash.clone()).or_insert(0);
            *n += 1;
            f.fingerprints.v1 = format!("{hash}:{n}");
            f.fingerprints.line_hash = hashes
                .get(first.saturating_sub(1))
                .cloned()
                .unwrap_or_default();
        }
    }
    Settled {
        findings: out,
        suppressed,
    }
}
