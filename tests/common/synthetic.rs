//! One fixed, hand-built report shared by the reporter snapshot tests and
//! the SARIF schema tests: findings at several levels, a help line, related
//! locations, non-ASCII text before a finding (so UTF-8 and UTF-16 columns
//! differ), a file whose source was not kept, skipped files and notices.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use faultline::engine::{
    FileFinding, Fingerprints, Notice, NoticeKind, Position, Range, Report, SkipReason, Skipped,
    Stats,
};
use faultline::settle::fingerprint::{line_hashes, v1_hash};
use faultline_ir::{Language, LineIndex, Span};
use faultline_rules::{Family, Finding, Level, Precision, RuleMeta, Status};

pub static MISSING_TIMEOUT: RuleMeta = RuleMeta {
    id: "external-call/missing-timeout",
    name: "MissingTimeout",
    family: Family::ExternalCall,
    summary: "network call that can wait forever",
    docs: "## What it does\nFinds network calls made without a timeout.\n\n## Why is this bad?\nA peer that never answers holds the worker forever.\n\n## Example\n```python\nrequests.get(url)\n```\n\nUse instead:\n```python\nrequests.get(url, timeout=10)\n```\n",
    level: Level::Warning,
    languages: &[Language::Python, Language::TypeScript, Language::Rust],
    cwe: &[1088],
    tags: &["reliability"],
    precision: Precision::High,
    security_severity: None,
    status: Status::Preview,
    since: "0.1.0",
};

pub static LOST_UPDATE: RuleMeta = RuleMeta {
    id: "race/lost-update",
    name: "LostUpdate",
    family: Family::Race,
    summary: "read-modify-write of shared state without a lock",
    docs: "## What it does\nFinds a value read, changed and written back with no lock.\n\n## Why is this bad?\nTwo writers lose one update.\n",
    level: Level::Error,
    languages: &[Language::Python],
    cwe: &[362],
    tags: &[],
    precision: Precision::Medium,
    security_severity: Some("5.9"),
    status: Status::Preview,
    since: "0.1.0",
};

pub static UNBOUNDED: RuleMeta = RuleMeta {
    id: "query/unbounded-select",
    name: "UnboundedSelect",
    family: Family::Query,
    summary: "query that loads a whole table",
    docs: "## What it does\nFinds queries with no limit.\n",
    level: Level::Note,
    languages: &[Language::TypeScript],
    cwe: &[],
    tags: &[],
    precision: Precision::Low,
    security_severity: None,
    status: Status::Preview,
    since: "0.1.0",
};

pub const API_PY: &str = "import requests\n\n\ndef fetch(url):\n    resp = requests.get(url)\n    return resp.json()\n\n\ndef save(db, key):\n    n = db.get(key)\n    db.set(key, n + 1)\n\n\ndef send(url):\n    label = \"café 😀\"; requests.post(url, data=label)\n";

pub const REPO_TS: &str =
    "export async function all(db) {\n  return db.query(\"SELECT * FROM users\");\n}\n";

fn span(src: &str, needle: &str) -> Span {
    let start = src.find(needle).unwrap();
    Span::new(start, start + needle.len())
}

fn located(path: &str, src: &str, finding: Finding) -> FileFinding {
    let lines = LineIndex::new(src);
    let range = Range::of_span(src, &lines, finding.span);
    let text: String = src
        .lines()
        .nth(range.start.line - 1)
        .unwrap()
        .split_whitespace()
        .collect();
    let zones = if path.starts_with("web/") {
        vec!["payments".to_string()]
    } else {
        Vec::new()
    };
    FileFinding {
        path: path.to_string(),
        function: None,
        zones,
        fingerprints: Fingerprints {
            v1: format!("{}:1", v1_hash(finding.rule, path, &text, None)),
            line_hash: line_hashes(src)[range.start.line - 1].clone(),
        },
        range,
        related: finding
            .related
            .iter()
            .map(|r| Range::of_span(src, &lines, r.span))
            .collect(),
        finding,
    }
}

/// The fixed report.
pub fn report() -> Report {
    let findings = vec![
        located(
            "svc/api.py",
            API_PY,
            Finding::new(
                &MISSING_TIMEOUT,
                span(API_PY, "requests.get(url)"),
                "`requests.get` is called without a timeout",
            )
            .with_help("pass `timeout=` (seconds, or a `(connect, read)` tuple)"),
        ),
        located(
            "svc/api.py",
            API_PY,
            Finding::new(
                &LOST_UPDATE,
                span(API_PY, "db.set(key, n + 1)"),
                "`db.set` writes back a value read earlier with no lock",
            )
            .with_related(span(API_PY, "db.get(key)"), "the value is read here"),
        ),
        located(
            "svc/api.py",
            API_PY,
            Finding::new(
                &MISSING_TIMEOUT,
                span(API_PY, "requests.post(url, data=label)"),
                "`requests.post` is called without a timeout",
            ),
        ),
        located(
            "web/repo.ts",
            REPO_TS,
            Finding::new(
                &UNBOUNDED,
                span(REPO_TS, "db.query(\"SELECT * FROM users\")"),
                "`SELECT * FROM users` has no `LIMIT`",
            ),
        ),
    ];
    Report {
        root: PathBuf::from("/repo"),
        findings,
        skipped: vec![
            Skipped {
                path: "data/blob.py".into(),
                reason: SkipReason::Binary,
            },
            Skipped {
                path: "legacy/latin1.py".into(),
                reason: SkipReason::NotUtf8 { offset: 17 },
            },
            Skipped {
                path: "static/app.min.js".into(),
                reason: SkipReason::Minified(
                    "the file name `app.min.js` marks minified code".into(),
                ),
            },
        ],
        notices: vec![
            Notice {
                path: "svc/broken.py".into(),
                kind: NoticeKind::SyntaxError,
                position: Some(Position {
                    line: 3,
                    column: 5,
                    utf16_column: 5,
                }),
                message: "syntax error at line 3; the rest of the file was still analyzed".into(),
            },
            Notice {
                path: "svc/crash.py".into(),
                kind: NoticeKind::InternalError,
                position: None,
                message: "faultline crashed while analyzing this file (boom); the file was skipped"
                    .into(),
            },
        ],
        rules: vec![&MISSING_TIMEOUT, &UNBOUNDED, &LOST_UPDATE],
        // The TypeScript file's source is not kept: its finding has no snippet.
        sources: BTreeMap::from([("svc/api.py".to_string(), API_PY.to_string())]),
        stats: Stats {
            files_scanned: 4,
            bytes_scanned: 1234,
            elapsed: Duration::from_millis(42),
            ..Stats::default()
        },
    }
}
