//! The human format: rustc-style diagnostics rendered by codespan-reporting.
//!
//! ```text
//! warning[external-call/missing-timeout]: `requests.get` has no timeout
//!   ┌─ src/api.py:2:1
//!   │
//! 2 │ requests.get(url)
//!   │ ^^^^^^^^^^^^^^^^^
//!   │
//!   = help: pass `timeout=(connect, read)`
//! ```
//!
//! Findings come first, in report order. Unless `quiet`, then come skipped
//! files, notices, and a summary line:
//! `N findings (E errors, W warnings, N notes) in F files, S skipped, T ms`.
//! When the report holds no source for a file (the scan did not keep it), a
//! finding is shown as its header and location without a snippet.

use std::collections::BTreeMap;
use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic, Label, Severity};
use codespan_reporting::files::{self, Files, SimpleFiles};
use codespan_reporting::term::termcolor::{Ansi, Color, ColorSpec, NoColor, WriteColor};
use codespan_reporting::term::{self, Config};
use faultline_rules::Level;

use super::{Reporter, plural, zone_suffix};
use crate::engine::{Report, floor_char_boundary};

/// The human reporter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Human {
    /// Write ANSI colour codes.
    pub color: bool,
    /// Only the findings: no skipped files, notices or summary.
    pub quiet: bool,
}

impl Reporter for Human {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        if self.color {
            render(report, self.quiet, &mut Ansi::new(out))
        } else {
            render(report, self.quiet, &mut NoColor::new(out))
        }
    }
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Note => Severity::Note,
        Level::Warning => Severity::Warning,
        Level::Error => Severity::Error,
    }
}

fn render<W: WriteColor>(report: &Report, quiet: bool, out: &mut W) -> io::Result<()> {
    let config = Config::default();
    let mut files = ByteColumns(SimpleFiles::new());
    let mut ids = BTreeMap::new();
    for (path, source) in &report.sources {
        ids.insert(path.as_str(), files.0.add(path.as_str(), source.as_str()));
    }

    for f in &report.findings {
        let mut diagnostic = Diagnostic::new(severity(f.finding.level))
            .with_code(f.finding.rule)
            .with_message(format!("{}{}", f.finding.message, zone_suffix(&f.zones)));
        if let (Some(&id), Some(source)) = (ids.get(f.path.as_str()), report.sources.get(&f.path)) {
            let byte_range = |r: &crate::engine::Range| {
                let start = floor_char_boundary(source, r.span.start as usize);
                start..floor_char_boundary(source, r.span.end as usize).max(start)
            };
            diagnostic = diagnostic.with_label(Label::primary(id, byte_range(&f.range)));
            for (related, range) in f.finding.related.iter().zip(&f.related) {
                diagnostic = diagnostic.with_label(
                    Label::secondary(id, byte_range(range)).with_message(&related.message),
                );
            }
        } else {
            diagnostic = diagnostic.with_note(format!(
                "at {}:{}:{}",
                f.path, f.range.start.line, f.range.start.column
            ));
            for (related, range) in f.finding.related.iter().zip(&f.related) {
                diagnostic = diagnostic.with_note(format!(
                    "{}: {}:{}:{}",
                    related.message, f.path, range.start.line, range.start.column
                ));
            }
        }
        if let Some(help) = &f.finding.help {
            diagnostic = diagnostic.with_note(format!("help: {help}"));
        }
        term::emit_to_write_style(out, &config, &files, &diagnostic).map_err(to_io)?;
    }
    if quiet {
        return Ok(());
    }

    for s in &report.skipped {
        header(out, Level::Note, "faultline/skipped")?;
        writeln!(out, "skipped `{}`: {}", s.path, s.reason)?;
    }
    for n in &report.notices {
        header(
            out,
            n.kind.level(),
            &format!("faultline/{}", n.kind.as_str()),
        )?;
        match n.position {
            Some(p) => writeln!(out, "`{}:{}:{}`: {}", n.path, p.line, p.column, n.message)?,
            None => writeln!(out, "`{}`: {}", n.path, n.message)?,
        }
    }
    if !report.skipped.is_empty() || !report.notices.is_empty() {
        writeln!(out)?;
    }
    summary(report, out)
}

fn header<W: WriteColor>(out: &mut W, level: Level, code: &str) -> io::Result<()> {
    let color = match level {
        Level::Note => Color::Green,
        Level::Warning => Color::Yellow,
        Level::Error => Color::Red,
    };
    out.set_color(ColorSpec::new().set_fg(Some(color)).set_bold(true))?;
    write!(out, "{}[{code}]", level.as_str())?;
    out.set_color(ColorSpec::new().set_bold(true))?;
    write!(out, ":")?;
    out.reset()?;
    write!(out, " ")
}

fn summary<W: WriteColor>(report: &Report, out: &mut W) -> io::Result<()> {
    out.set_color(ColorSpec::new().set_bold(true))?;
    write!(
        out,
        "{} ({}, {}, {}) in {}{}, {} skipped, {} ms",
        plural(report.findings.len(), "finding", "findings"),
        plural(report.count(Level::Error), "error", "errors"),
        plural(report.count(Level::Warning), "warning", "warnings"),
        plural(report.count(Level::Note), "note", "notes"),
        plural(report.stats.files_scanned, "file", "files"),
        match report.stats.files_cached {
            0 => String::new(),
            n => format!(" ({n} cached)"),
        },
        report.skipped.len(),
        report.stats.elapsed.as_millis()
    )?;
    let hidden = [
        (report.stats.suppressed, "suppressed inline"),
        (report.stats.baselined, "in the baseline"),
        (report.stats.outside_diff, "on unchanged lines"),
    ];
    for (n, what) in hidden {
        if n > 0 {
            write!(out, "; {n} {what}")?;
        }
    }
    out.reset()?;
    writeln!(out)
}

/// The report's sources, with columns counted in UTF-8 bytes as in every
/// other format (codespan counts characters by default).
struct ByteColumns<'a>(SimpleFiles<&'a str, &'a str>);

impl<'a> Files<'a> for ByteColumns<'a> {
    type FileId = usize;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: usize) -> Result<&'a str, files::Error> {
        Ok(self.0.get(id)?.name())
    }
    fn source(&'a self, id: usize) -> Result<&'a str, files::Error> {
        Ok(self.0.get(id)?.source())
    }
    fn line_index(&'a self, id: usize, byte_index: usize) -> Result<usize, files::Error> {
        self.0.line_index(id, byte_index)
    }
    fn line_range(
        &'a self,
        id: usize,
        line_index: usize,
    ) -> Result<std::ops::Range<usize>, files::Error> {
        self.0.line_range(id, line_index)
    }
    fn column_number(
        &'a self,
        id: usize,
        line_index: usize,
        byte_index: usize,
    ) -> Result<usize, files::Error> {
        let start = self.0.line_range(id, line_index)?.start;
        Ok(byte_index.saturating_sub(start) + 1)
    }
}

fn to_io(e: codespan_reporting::files::Error) -> io::Error {
    match e {
        codespan_reporting::files::Error::Io(e) => e,
        other => io::Error::other(other.to_string()),
    }
}
