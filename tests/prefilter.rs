//! The content prefilter never changes findings: the fixture corpus, the
//! examples and (when `FAULTLINE_CORPUS` names a directory, as the benchmark
//! harness does) a registry corpus give the same findings with and without
//! it; it rules out files that mention nothing a rule looks for, still
//! checks suppression comments, and follows a project's own models.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use faultline::engine::{Report, ScanOptions, scan};
use faultline_rules::models::Models;

fn scan_with(paths: Vec<PathBuf>, prefilter: bool, models: Option<Arc<Models>>) -> Report {
    let options = ScanOptions {
        paths,
        prefilter,
        models,
        ..ScanOptions::default()
    };
    scan(&options).unwrap()
}

/// Every finding, as one comparable line.
fn findings(report: &Report) -> Vec<String> {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}:{}:{} {} {} [{}]",
                f.path,
                f.range.start.line,
                f.range.start.column,
                f.finding.rule,
                f.finding.message,
                f.fingerprints.v1
            )
        })
        .collect()
}

fn assert_same_findings(paths: &[PathBuf]) -> (Report, Report) {
    let off = scan_with(paths.to_vec(), false, None);
    let on = scan_with(paths.to_vec(), true, None);
    let (a, b) = (findings(&off), findings(&on));
    let missing: Vec<&String> = a.iter().filter(|f| !b.contains(f)).collect();
    let extra: Vec<&String> = b.iter().filter(|f| !a.contains(f)).collect();
    assert!(
        a == b,
        "the prefilter changed the findings\nmissing with it: {missing:#?}\nonly with it: {extra:#?}"
    );
    assert_eq!(off.stats.files_scanned, on.stats.files_scanned);
    assert_eq!(off.skipped, on.skipped);
    assert_eq!(off.stats.files_prefiltered, 0);
    (off, on)
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn the_fixture_corpus_gives_the_same_findings_with_and_without_the_prefilter() {
    let (off, on) = assert_same_findings(&[repo("tests/fixtures")]);
    assert!(off.findings.len() > 300, "{}", off.findings.len());
    // The fixtures are made of what the rules look for; a few files (the
    // near-miss-only ones of rules that need a keyword) may be ruled out.
    assert!(on.stats.files_prefiltered < on.stats.files_scanned / 4);
}

#[test]
fn the_examples_give_the_same_findings_with_and_without_the_prefilter() {
    let (off, _) = assert_same_findings(&[repo("examples")]);
    assert!(!off.findings.is_empty());
}

/// Set `FAULTLINE_CORPUS` to a directory (the benchmark corpus, or any
/// checkout) to compare on real code; `benches/run.sh` does.
#[test]
fn a_real_corpus_gives_the_same_findings_with_and_without_the_prefilter() {
    let Some(dir) = std::env::var_os("FAULTLINE_CORPUS") else {
        return;
    };
    let (_, on) = assert_same_findings(&[PathBuf::from(dir)]);
    assert!(on.stats.files_prefiltered > 0);
}

#[test]
fn files_without_needles_are_not_parsed_but_suppressions_still_are_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(root.join("math.py"), "def add(a, b):\n    return a + b\n").unwrap();
    fs::write(
        root.join("client.py"),
        "import requests\n\ndef fetch(url):\n    return requests.get(url)\n",
    )
    .unwrap();
    // No rule looks for anything here, but the suppression has no finding
    // to silence, which is reported.
    fs::write(
        root.join("quiet.py"),
        "def one():  # faultline: ignore[external-call/missing-timeout] legacy\n    return 1\n",
    )
    .unwrap();
    let on = scan_with(vec![root.to_path_buf()], true, None);
    let off = scan_with(vec![root.to_path_buf()], false, None);
    assert_eq!(findings(&on), findings(&off));
    assert_eq!(on.stats.files_scanned, 3);
    assert_eq!(on.stats.files_prefiltered, 1, "{:#?}", on.findings);
    let rules: Vec<(&str, &str)> = on
        .findings
        .iter()
        .map(|f| (f.path.as_str(), f.finding.rule))
        .collect();
    assert!(
        rules.contains(&("client.py", "external-call/missing-timeout")),
        "{rules:?}"
    );
    assert!(rules.iter().any(|(p, _)| *p == "quiet.py"), "{rules:?}");
}

#[test]
fn a_projects_own_models_widen_the_prefilter() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(
        root.join("billing.py"),
        "import acmehttp\n\ndef charge(body):\n    return acmehttp.send(body)\n",
    )
    .unwrap();
    let user = "language = \"python\"\npackage = \"acme\"\n\n[[calls]]\npatterns = [\"acmehttp.send()\"]\nkind = \"http\"\ntimeout = { kwarg = \"timeout\" }\n";
    let models = Arc::new(Models::with_user(&[("faultline.toml", user)]).unwrap());
    let on = scan_with(vec![root.to_path_buf()], true, Some(models.clone()));
    let off = scan_with(vec![root.to_path_buf()], false, Some(models));
    assert_eq!(findings(&on), findings(&off));
    assert_eq!(on.stats.files_prefiltered, 0);
    assert_eq!(on.findings.len(), 1, "{:#?}", on.findings);
    // Without the project's model, nothing can report in the file.
    let builtin = scan_with(vec![root.to_path_buf()], true, None);
    assert_eq!(builtin.stats.files_prefiltered, 1);
}

#[test]
fn a_projects_own_request_context_widens_the_prefilter() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    fs::write(
        root.join("admin.py"),
        "from flask import Flask, g, request\n\napp = Flask(__name__)\n\n\n@app.before_request\ndef load_user():\n    g.user = User.query.get(request.headers.get(\"Acme-Principal\"))\n",
    )
    .unwrap();
    let user = "language = \"python\"\npackage = \"acme\"\n\n[request_context.headers]\nidentity = [\"acme-principal\"]\n";
    let models = Arc::new(Models::with_user(&[("faultline.toml", user)]).unwrap());
    let on = scan_with(vec![root.to_path_buf()], true, Some(models.clone()));
    let off = scan_with(vec![root.to_path_buf()], false, Some(models));
    assert_eq!(findings(&on), findings(&off));
    assert!(
        on.findings
            .iter()
            .any(|f| f.finding.rule == "trust/caller-asserted-identity"),
        "{:#?}",
        on.findings
    );
}

/// Splits a fixture into its preamble (everything before the first blank
/// line that is followed by a top-level line) and its top-level pieces: a
/// piece starts at a line in column 0 after a blank line.
fn pieces(text: &str) -> (String, Vec<String>) {
    let mut preamble = String::new();
    let mut pieces: Vec<String> = Vec::new();
    let mut blank = false;
    for line in text.lines() {
        let top = line.starts_with(|c: char| !c.is_whitespace() && !")]}".contains(c));
        if blank && top {
            pieces.push(String::new());
        }
        let into = pieces.last_mut().unwrap_or(&mut preamble);
        into.push_str(line);
        into.push('\n');
        blank = line.trim().is_empty();
    }
    (preamble, pieces)
}

/// A file's needles are judged as a whole, so a fixture that mixes many
/// cases can hide a needle a single case lacks. Every top-level piece of
/// every fixture, alone with the fixture's preamble (its imports and
/// module-level setup), must give the same findings with and without the
/// prefilter.
#[test]
fn every_fixture_piece_alone_gives_the_same_findings_with_and_without_the_prefilter() {
    let tmp = tempfile::tempdir().unwrap();
    let mut written = 0;
    let mut stack = vec![repo("tests/fixtures")];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
                continue;
            };
            if !["py", "js", "ts", "tsx", "rs"].contains(&ext) {
                continue;
            }
            let (preamble, parts) = pieces(&fs::read_to_string(&path).unwrap());
            let rel = path.strip_prefix(repo("tests/fixtures")).unwrap();
            let out = tmp.path().join(rel.with_extension(""));
            fs::create_dir_all(&out).unwrap();
            for (i, part) in parts.iter().enumerate() {
                fs::write(
                    out.join(format!("piece{i}.{ext}")),
                    format!("{preamble}{part}"),
                )
                .unwrap();
                written += 1;
            }
        }
    }
    assert!(written > 500, "{written} pieces");
    let (off, _) = assert_same_findings(&[tmp.path().to_path_buf()]);
    // Most pieces keep what they report when cut out of their fixture.
    assert!(off.findings.len() > 300, "{}", off.findings.len());
}
