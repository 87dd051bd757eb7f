//! The `github` format: GitHub Actions workflow commands, which the runner
//! turns into annotations on the pull request's diff.
//!
//! ```text
//! ::warning file=app/client.py,line=12,endLine=12,col=5,endColumn=22,title=external-call/missing-timeout::`requests.get` has no timeout%0Ahelp: pass `timeout=`
//! ```
//!
//! Errors are `::error`, warnings `::warning`, notes `::notice`. Messages
//! escape `%`, `\r` and `\n`; properties also escape `:` and `,` (GitHub's
//! own escaping). `file` is the path relative to the scan root, so scan from
//! the repository root for annotations to land on the diff.
//!
//! GitHub shows at most 10 annotations of each level per step and 50 per
//! job, and drops the rest. So at most [`PER_LEVEL`] findings of each level
//! become annotations (errors first, at most [`MAX_ANNOTATIONS`] in all);
//! every other finding is still printed, as a plain `path:line:col:` log
//! line, and a last line sums up:
//!
//! ```text
//! faultline: 14 findings (2 errors, 12 warnings, 0 notes); 12 annotated, 2 more listed above (GitHub shows 10 annotations per level per step)
//! ```
//!
//! Skipped files and notices are plain log lines too.

use std::io::{self, Write};

use faultline_rules::Level;

use super::{Reporter, plural, zone_suffix};
use crate::engine::{FileFinding, Report};

/// Annotations of one level that GitHub shows per step.
pub const PER_LEVEL: usize = 10;
/// Annotations GitHub keeps per job.
pub const MAX_ANNOTATIONS: usize = 50;

/// The GitHub Actions reporter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Github;

/// Escapes a message (the data after `::`).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    }
}

fn annotation(f: &FileFinding) -> String {
    let mut message = format!("{}{}", f.finding.message, zone_suffix(&f.zones));
    if let Some(help) = &f.finding.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let (end_line, end_col) = if f.range.end.line > f.range.start.line {
        (f.range.start.line, None)
    } else {
        (f.range.end.line, Some(f.range.end.column))
    };
    let mut props = format!(
        "file={},line={},endLine={},col={}",
        escape_property(&f.path),
        f.range.start.line,
        end_line,
        f.range.start.column
    );
    if let Some(c) = end_col {
        props.push_str(&format!(",endColumn={c}"));
    }
    props.push_str(&format!(",title={}", escape_property(f.finding.rule)));
    format!(
        "::{} {props}::{}",
        command(f.finding.level),
        escape_data(&message)
    )
}

impl Reporter for Github {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let mut order: Vec<&FileFinding> = report.findings.iter().collect();
        order.sort_by_key(|f| std::cmp::Reverse(f.finding.level));
        let mut per_level = [0usize; 3];
        let mut annotated = 0;
        let mut rest = Vec::new();
        for f in order {
            let slot = &mut per_level[f.finding.level as usize];
            if *slot < PER_LEVEL && annotated < MAX_ANNOTATIONS {
                *slot += 1;
                annotated += 1;
                writeln!(out, "{}", annotation(f))?;
            } else {
                rest.push(f);
            }
        }
        rest.sort_by(|a, b| (&a.path, a.range.start).cmp(&(&b.path, b.range.start)));
        for f in &rest {
            writeln!(
                out,
                "{}:{}:{}: {}[{}]: {}{}",
                f.path,
                f.range.start.line,
                f.range.start.column,
                f.finding.level.as_str(),
                f.finding.rule,
                f.finding.message.replace(['\n', '\r'], " "),
                zone_suffix(&f.zones)
            )?;
        }
        for n in &report.notices {
            writeln!(
                out,
                "faultline: {}: {}: {}",
                n.kind.as_str(),
                n.path,
                n.message.replace(['\n', '\r'], " ")
            )?;
        }
        for s in &report.skipped {
            writeln!(out, "faultline: skipped {}: {}", s.path, s.reason)?;
        }
        write!(
            out,
            "faultline: {} ({}, {}, {})",
            plural(report.findings.len(), "finding", "findings"),
            plural(report.count(Level::Error), "error", "errors"),
            plural(report.count(Level::Warning), "warning", "warnings"),
            plural(report.count(Level::Note), "note", "notes"),
        )?;
        if !rest.is_empty() {
            write!(
                out,
                "; {annotated} annotated, {} more listed above (GitHub shows {PER_LEVEL} \
                 annotations per level per step)",
                rest.len()
            )?;
        }
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(escape_data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }
}
