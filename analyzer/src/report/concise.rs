//! The concise format: one line per finding, in the short form rustc, gcc
//! and clang use, which vim (`:cfile`, `:make`), emacs' compilation mode and
//! CI problem matchers parse with their default patterns:
//!
//! ```text
//! src/api.py:12:5: warning[external-call/missing-timeout]: `requests.get` has no timeout
//! ```
//!
//! Lines are 1-based, columns are 1-based UTF-8 byte offsets. A finding in
//! a risk zone ends with ` [zone: NAME]`.
//!
//! Notices and skipped files are reported too, after the findings, so that
//! a scan's problems are never silent — but only a notice with a position
//! (a syntax error) gets a `path:line:col:` prefix. Skipped files and
//! position-less notices are written as `path: level[faultline/…]: message`,
//! which those parsers list without a line to jump to, so `:cnext` still
//! walks the findings only:
//!
//! ```text
//! src/broken.py:3:1: note[faultline/syntax-error]: syntax error at line 3; …
//! vendor/app.min.js: note[faultline/skipped]: minified: the file name …
//! ```
//!
//! There is no summary line.

use std::io::{self, Write};

use super::{Reporter, zone_suffix};
use crate::engine::Report;

/// The concise reporter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Concise;

impl Reporter for Concise {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        for f in &report.findings {
            writeln!(
                out,
                "{}:{}:{}: {}[{}]: {}{}",
                f.path,
                f.range.start.line,
                f.range.start.column,
                f.finding.level.as_str(),
                f.finding.rule,
                one_line(&f.finding.message),
                zone_suffix(&f.zones)
            )?;
        }
        for n in &report.notices {
            let at = n
                .position
                .map_or_else(String::new, |p| format!(":{}:{}", p.line, p.column));
            writeln!(
                out,
                "{}{at}: {}[faultline/{}]: {}",
                n.path,
                n.kind.level().as_str(),
                n.kind.as_str(),
                one_line(&n.message)
            )?;
        }
        for s in &report.skipped {
            writeln!(
                out,
                "{}: note[faultline/skipped]: {}",
                s.path,
                one_line(&s.reason.to_string())
            )?;
        }
        Ok(())
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}
