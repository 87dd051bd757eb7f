//! The engine end to end through the library, with rules defined here (the
//! registry is filled elsewhere): discovery, skip reasons, test-file
//! marking, panic isolation, positions and deterministic order.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

use std::fs;
use std::num::NonZeroUsize;
use std::path::Path;

use faultline::engine::{
    NoticeKind, Report, ScanOptions, SkipReason, analyze_source, scan, select_rules,
};
use faultline_grammars::Lang;
use faultline_ir::{Language, Span};
use faultline_rules::{Context, Family, Finding, Level, Precision, Rule, RuleMeta, Status};

static TEXT_META: RuleMeta = RuleMeta {
    id: "external-call/text-match",
    name: "TextMatch",
    family: Family::ExternalCall,
    summary: "finds `requests.get(` by text",
    docs: "## What it does\nA test rule.\n",
    level: Level::Warning,
    languages: &[Language::Python, Language::TypeScript, Language::Rust],
    cwe: &[],
    tags: &[],
    precision: Precision::High,
    security_severity: None,
    status: Status::Preview,
    since: "0.1.0",
};

/// Reports every `requests.get(` in the source, and whether the file is test
/// code.
struct TextMatch;

impl Rule for TextMatch {
    fn meta(&self) -> &'static RuleMeta {
        &TEXT_META
    }
    fn check(&self, cx: &mut Context<'_>) {
        let needle = "requests.get(";
        let mut found = Vec::new();
        for (at, _) in cx.source.match_indices(needle) {
            found.push(
                Finding::new(&TEXT_META, Span::new(at, at + needle.len()), "a get")
                    .with_help(format!("test file: {}", cx.is_test_file)),
            );
        }
        for f in found {
            cx.report(f);
        }
    }
}

static PANIC_META: RuleMeta = RuleMeta {
    id: "race/panics",
    name: "Panics",
    family: Family::Race,
    summary: "panics on `boom`",
    docs: "## What it does\nA test rule.\n",
    level: Level::Error,
    languages: &[Language::Python],
    cwe: &[],
    tags: &[],
    precision: Precision::High,
    security_severity: None,
    status: Status::Preview,
    since: "0.1.0",
};

/// Panics on any Python file that says `boom`.
struct Panics;

impl Rule for Panics {
    fn meta(&self) -> &'static RuleMeta {
        &PANIC_META
    }
    fn check(&self, cx: &mut Context<'_>) {
        assert!(!cx.source.contains("boom"), "the rule blew up");
    }
}

static TEXT: TextMatch = TextMatch;
static PANICS: Panics = Panics;

fn rules() -> Vec<&'static dyn Rule> {
    vec![&TEXT, &PANICS]
}

fn write(root: &Path, rel: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

fn scan_dir(root: &Path, jobs: usize) -> Report {
    scan(&ScanOptions {
        paths: vec![root.to_path_buf()],
        rules: rules(),
        jobs: NonZeroUsize::new(jobs),
        max_file_size: 10_000,
        keep_sources: true,
        ..ScanOptions::default()
    })
    .unwrap()
}

fn summary(report: &Report) -> Vec<String> {
    let mut lines: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {}",
                f.path, f.range.start.line, f.range.start.column, f.finding.rule
            )
        })
        .collect();
    lines.extend(
        report
            .skipped
            .iter()
            .map(|s| format!("skipped {} {}", s.path, s.reason.kind())),
    );
    lines.extend(
        report
            .notices
            .iter()
            .map(|n| format!("notice {} {}", n.path, n.kind.as_str())),
    );
    lines
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app/api.py", "import requests\nrequests.get(u)\n");
    write(root, "app/web.ts", "const x = 1;\n  requests.get(u)\n");
    write(root, "tests/test_api.py", "requests.get(u)\n");
    write(root, "app/boom.py", "requests.get(u)  # boom\n");
    write(root, "app/broken.py", "def f(:\n    requests.get(u)\n");
    write(root, "app/big.py", "x = 1\n".repeat(2_000));
    write(root, "app/blob.py", b"\x00\x01");
    write(root, "app/latin.py", b"x = '\xe9'\n");
    write(root, "app/bundle.js", format!("{}\n", "a();".repeat(400)));
    write(root, "app/notes.txt", "requests.get(u)\n");
    write(root, ".hidden/h.py", "requests.get(u)\n");
    write(root, "gen/ignored.py", "requests.get(u)\n");
    write(root, ".gitignore", "gen/\n");
    dir
}

#[test]
fn a_scan_reports_findings_skips_and_notices_in_order() {
    let dir = project();
    let report = scan_dir(dir.path(), 2);
    assert_eq!(
        summary(&report),
        [
            "app/api.py:2:1 external-call/text-match",
            "app/broken.py:2:5 external-call/text-match",
            "app/web.ts:2:3 external-call/text-match",
            "tests/test_api.py:1:1 external-call/text-match",
            "skipped app/big.py too-large",
            "skipped app/blob.py binary",
            "skipped app/bundle.js minified",
            "skipped app/latin.py not-utf8",
            "notice app/boom.py internal-error",
            "notice app/broken.py syntax-error",
        ]
    );
    assert_eq!(report.stats.files_scanned, 4);
    assert_eq!(report.root, fs::canonicalize(dir.path()).unwrap());
    let help = |path: &str| {
        report
            .findings
            .iter()
            .find(|f| f.path == path)
            .and_then(|f| f.finding.help.clone())
            .unwrap()
    };
    assert_eq!(help("tests/test_api.py"), "test file: true");
    assert_eq!(help("app/api.py"), "test file: false");
    let boom = report
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::InternalError)
        .unwrap();
    assert!(
        boom.message.contains("the rule blew up"),
        "{}",
        boom.message
    );
    assert!(boom.message.contains("report it"), "{}", boom.message);
    let broken = report
        .notices
        .iter()
        .find(|n| n.kind == NoticeKind::SyntaxError)
        .unwrap();
    assert_eq!(broken.position.map(|p| p.line), Some(1));
    // Sources are kept for files with findings only.
    assert!(report.sources.contains_key("app/api.py"));
    assert!(!report.sources.contains_key("app/big.py"));
}

#[test]
fn the_order_does_not_depend_on_threads() {
    let dir = project();
    let one = summary(&scan_dir(dir.path(), 1));
    for _ in 0..3 {
        assert_eq!(summary(&scan_dir(dir.path(), 2)), one);
    }
}

#[test]
fn a_file_argument_is_scanned_relative_to_its_parent_even_if_ignored() {
    let dir = project();
    let file = dir.path().join("gen/ignored.py");
    let report = scan(&ScanOptions {
        paths: vec![file],
        rules: rules(),
        ..ScanOptions::default()
    })
    .unwrap();
    assert_eq!(
        summary(&report),
        ["ignored.py:1:1 external-call/text-match"]
    );

    let txt = dir.path().join("app/notes.txt");
    let report = scan(&ScanOptions {
        paths: vec![txt],
        rules: rules(),
        ..ScanOptions::default()
    })
    .unwrap();
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].reason, SkipReason::Unsupported);
}

#[test]
fn several_paths_share_their_common_root() {
    let dir = project();
    let report = scan(&ScanOptions {
        paths: vec![dir.path().join("app/api.py"), dir.path().join("tests")],
        rules: rules(),
        ..ScanOptions::default()
    })
    .unwrap();
    assert_eq!(
        summary(&report),
        [
            "app/api.py:1:1 external-call/text-match",
            "tests/test_api.py:1:1 external-call/text-match",
        ]
        .map(|s| s.replace("app/api.py:1:1", "app/api.py:2:1"))
    );
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let err = scan(&ScanOptions {
        paths: vec!["/no/such/dir".into()],
        ..ScanOptions::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("/no/such/dir"), "{err}");
}

#[test]
fn analyze_source_runs_the_rules_of_the_language() {
    let result = analyze_source("x.py", Lang::Python, "requests.get(u)\n", &rules(), false);
    assert_eq!(result.findings.len(), 1);
    assert!(result.syntax_errors.is_empty());
    assert!(result.failure.is_none());
}

#[test]
fn selection_by_family_and_id() {
    let all = rules();
    let ids = |sel: &[&str], ign: &[&str]| -> Vec<&str> {
        let sel: Vec<String> = sel.iter().map(|s| s.to_string()).collect();
        let ign: Vec<String> = ign.iter().map(|s| s.to_string()).collect();
        select_rules(&all, &sel, &ign)
            .unwrap()
            .iter()
            .map(|r| r.meta().id)
            .collect()
    };
    assert_eq!(ids(&[], &[]), ["external-call/text-match", "race/panics"]);
    assert_eq!(ids(&["race/"], &[]), ["race/panics"]);
    assert_eq!(
        ids(&["race", "external-call/text-match"], &["race"]),
        ["external-call/text-match"]
    );
    let err = select_rules(&all, &["external-call/text-mach".to_string()], &[])
        .err()
        .unwrap();
    assert_eq!(err.suggestions, ["external-call/text-match"]);
}
