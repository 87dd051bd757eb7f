//! The JSON format: one document per scan, for scripts and dashboards.
//!
//! ## Wire format
//!
//! The document is one object. `version` is bumped on any change that can
//! break a reader (a field removed, renamed or retyped); new fields may be
//! added without a bump, so readers must ignore fields they do not know.
//!
//! ```json
//! {
//!   "version": 1,
//!   "tool": { "name": "faultline", "version": "0.1.0", "information_uri": "https://…" },
//!   "root": "/abs/path/of/the/scan/root",
//!   "rules": ["external-call/missing-timeout"],
//!   "findings": [
//!     {
//!       "rule": "external-call/missing-timeout",
//!       "level": "warning",
//!       "message": "`requests.get` has no timeout",
//!       "help": "pass `timeout=(connect, read)`",
//!       "path": "src/api.py",
//!       "range": {
//!         "start": { "line": 2, "column": 1, "utf16_column": 1, "offset": 16 },
//!         "end":   { "line": 2, "column": 18, "utf16_column": 18, "offset": 33 }
//!       },
//!       "related": [ { "message": "…", "range": { … } } ],
//!       "function": "fetch_user",
//!       "zones": ["payments"],
//!       "fingerprints": {
//!         "faultline/v1": "3f0c…9a:1",
//!         "primaryLocationLineHash": "8b7cf3e952e7aeb2:1"
//!       }
//!     }
//!   ],
//!   "skipped": [
//!     { "path": "static/app.min.js", "reason": "minified", "message": "minified: …" }
//!   ],
//!   "notices": [
//!     { "path": "src/broken.py", "kind": "syntax-error", "level": "note",
//!       "position": { "line": 3, "column": 1, "utf16_column": 1 }, "message": "…" }
//!   ],
//!   "stats": {
//!     "findings": 1, "errors": 0, "warnings": 1, "notes": 0,
//!     "files_scanned": 12, "files_skipped": 1, "bytes_scanned": 48213,
//!     "elapsed_ms": 31, "suppressed": 0, "baselined": 0, "outside_diff": 0,
//!     "files_prefiltered": 7, "files_cached": 0
//!   }
//! }
//! ```
//!
//! - `root` is absolute; every `path` is relative to it with `/` separators.
//! - `rules` lists the ids of the rules that ran.
//! - `level` is `error`, `warning` or `note`. `help` is `null` when the rule
//!   has nothing specific to say.
//! - `function` is the qualified name of the enclosing function (`null` at
//!   the top level); `zones` the risk zones the file is in (the level was
//!   raised one step); `fingerprints` holds the `faultline/v1` fingerprint
//!   (the baseline key) and GitHub's `primaryLocationLineHash`.
//! - `stats.suppressed`, `baselined` and `outside_diff` count the findings
//!   hidden by inline suppressions, the baseline and `--diff`.
//!   `files_prefiltered` counts the scanned files that mention nothing any
//!   enabled rule looks for, and so were not parsed; `files_cached` the
//!   files of `files_scanned` whose results came from the result cache.
//! - Lines and columns are 1-based. `column` counts UTF-8 bytes,
//!   `utf16_column` UTF-16 code units (as LSP and SARIF do); `offset` is the
//!   0-based byte offset in the file. `end` is exclusive.
//! - `skipped[].reason` is one of `too-large`, `unreadable`, `binary`,
//!   `not-utf8`, `minified`, `generated`, `unsupported`; `message` says why
//!   in words.
//! - `notices[].kind` is one of `syntax-error` (the file was still
//!   analyzed), `parse-failure`, `internal-error` (a faultline bug),
//!   `discovery`; `position` is `null` when unknown.
//! - Findings are sorted by path, line, column and rule; skipped files and
//!   notices by path.

use std::io::{self, Write};

use serde::Serialize;

use super::{INFORMATION_URI, Reporter, TOOL_NAME, TOOL_VERSION};
use crate::engine::{Position, Range, Report};
use faultline_rules::Level;

/// The version of the wire format.
pub const FORMAT_VERSION: u32 = 1;

/// The JSON reporter.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool,
    root: String,
    rules: Vec<&'static str>,
    findings: Vec<FindingOut<'a>>,
    skipped: Vec<SkippedOut<'a>>,
    notices: Vec<NoticeOut<'a>>,
    stats: StatsOut,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
    information_uri: &'static str,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    rule: &'static str,
    level: &'static str,
    message: &'a str,
    help: Option<&'a str>,
    path: &'a str,
    range: RangeOut,
    related: Vec<RelatedOut<'a>>,
    function: Option<&'a str>,
    zones: &'a [String],
    fingerprints: FingerprintsOut<'a>,
}

#[derive(Serialize)]
struct FingerprintsOut<'a> {
    #[serde(rename = "faultline/v1")]
    v1: &'a str,
    #[serde(rename = "primaryLocationLineHash")]
    line_hash: &'a str,
}

#[derive(Serialize)]
struct RelatedOut<'a> {
    message: &'a str,
    range: RangeOut,
}

#[derive(Serialize)]
struct RangeOut {
    start: PositionOut,
    end: PositionOut,
}

#[derive(Serialize)]
struct PositionOut {
    line: usize,
    column: usize,
    utf16_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u32>,
}

#[derive(Serialize)]
struct SkippedOut<'a> {
    path: &'a str,
    reason: &'static str,
    message: String,
}

#[derive(Serialize)]
struct NoticeOut<'a> {
    path: &'a str,
    kind: &'static str,
    level: &'static str,
    position: Option<PositionOut>,
    message: &'a str,
}

#[derive(Serialize)]
struct StatsOut {
    findings: usize,
    errors: usize,
    warnings: usize,
    notes: usize,
    files_scanned: usize,
    files_skipped: usize,
    bytes_scanned: u64,
    elapsed_ms: u128,
    suppressed: usize,
    baselined: usize,
    outside_diff: usize,
    files_prefiltered: usize,
    files_cached: usize,
}

fn position(p: Position, offset: Option<u32>) -> PositionOut {
    PositionOut {
        line: p.line,
        column: p.column,
        utf16_column: p.utf16_column,
        offset,
    }
}

fn range(r: &Range) -> RangeOut {
    RangeOut {
        start: position(r.start, Some(r.span.start)),
        end: position(r.end, Some(r.span.end)),
    }
}

fn document(report: &Report) -> Document<'_> {
    Document {
        version: FORMAT_VERSION,
        tool: Tool {
            name: TOOL_NAME,
            version: TOOL_VERSION,
            information_uri: INFORMATION_URI,
        },
        root: report.root.display().to_string(),
        rules: report.rules.iter().map(|m| m.id).collect(),
        findings: report
            .findings
            .iter()
            .map(|f| FindingOut {
                rule: f.finding.rule,
                level: f.finding.level.as_str(),
                message: &f.finding.message,
                help: f.finding.help.as_deref(),
                path: &f.path,
                range: range(&f.range),
                related: f
                    .finding
                    .related
                    .iter()
                    .zip(&f.related)
                    .map(|(r, at)| RelatedOut {
                        message: &r.message,
                        range: range(at),
                    })
                    .collect(),
                function: f.function.as_deref(),
                zones: &f.zones,
                fingerprints: FingerprintsOut {
                    v1: &f.fingerprints.v1,
                    line_hash: &f.fingerprints.line_hash,
                },
            })
            .collect(),
        skipped: report
            .skipped
            .iter()
            .map(|s| SkippedOut {
                path: &s.path,
                reason: s.reason.kind(),
                message: s.reason.to_string(),
            })
            .collect(),
        notices: report
            .notices
            .iter()
            .map(|n| NoticeOut {
                path: &n.path,
                kind: n.kind.as_str(),
                level: n.kind.level().as_str(),
                position: n.position.map(|p| position(p, None)),
                message: &n.message,
            })
            .collect(),
        stats: StatsOut {
            findings: report.findings.len(),
            errors: report.count(Level::Error),
            warnings: report.count(Level::Warning),
            notes: report.count(Level::Note),
            files_scanned: report.stats.files_scanned,
            files_skipped: report.skipped.len(),
            bytes_scanned: report.stats.bytes_scanned,
            elapsed_ms: report.stats.elapsed.as_millis(),
            suppressed: report.stats.suppressed,
            baselined: report.stats.baselined,
            outside_diff: report.stats.outside_diff,
            files_prefiltered: report.stats.files_prefiltered,
            files_cached: report.stats.files_cached,
        },
    }
}

impl Reporter for Json {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &document(report))?;
        writeln!(out)
    }
}
