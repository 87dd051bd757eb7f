//! The `faultline` binary end to end, on temporary directories.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

use std::fs;
use std::path::Path;

#[path = "common/cli.rs"]
mod cli;

use cli::{code, faultline, stderr, stdout, write};
use serde_json::Value;

fn clean_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/app.py",
        "def add(a, b):\n    return a + b\n",
    );
    write(
        dir.path(),
        "src/app.ts",
        "export const add = (a: number, b: number) => a + b;\n",
    );
    dir
}

fn dir_with_finding() -> tempfile::TempDir {
    let dir = clean_dir();
    write(
        dir.path(),
        "src/fetch.py",
        "import requests\nrequests.get(url)\n",
    );
    dir
}

/// A binary file, an invalid-UTF-8 file, a too-large file (with
/// `--max-file-size 4096`), a minified JS file and a broken file.
fn problem_dir() -> tempfile::TempDir {
    let dir = clean_dir();
    let root = dir.path();
    write(root, "data/blob.py", b"PK\x03\x04\x00\x00binary");
    write(root, "legacy/latin1.py", b"name = 'caf\xe9'\n");
    write(root, "big/huge.py", "x = 1\n".repeat(1_000));
    write(
        root,
        "static/bundle.js",
        format!("{}\n", "var a=function(){return 1};".repeat(100)),
    );
    // It mentions `requests`, so the prefilter lets it through to the parser.
    write(
        root,
        "src/broken.py",
        "def f(:\n    return requests.get(url, timeout=5)\n",
    );
    dir
}

#[test]
fn clean_directory_exits_0() {
    let dir = clean_dir();
    let out = faultline(dir.path(), &["scan"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("0 findings (0 errors, 0 warnings, 0 notes) in 2 files, 0 skipped"),
        "{text}"
    );
}

#[test]
fn a_finding_exits_1_unless_fail_on_is_higher() {
    let dir = dir_with_finding();
    let out = faultline(dir.path(), &["scan"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).contains("warning[external-call/missing-timeout]"));
    assert!(stdout(&out).contains("src/fetch.py:2:1"));
    assert_eq!(
        code(&faultline(dir.path(), &["scan", "--fail-on", "never"])),
        0
    );
    assert_eq!(
        code(&faultline(dir.path(), &["scan", "--fail-on", "error"])),
        0
    );
    assert_eq!(
        code(&faultline(dir.path(), &["scan", "--fail-on", "note"])),
        1
    );
    let ignored = faultline(dir.path(), &["scan", "--ignore", "external-call"]);
    assert_eq!(code(&ignored), 0);
}

#[test]
fn every_format_shows_a_finding() {
    let dir = dir_with_finding();
    let concise = stdout(&faultline(dir.path(), &["scan", "-f", "concise"]));
    assert!(
        concise.contains("src/fetch.py:2:1: warning[external-call/missing-timeout]: "),
        "{concise}"
    );
    let json: Value =
        serde_json::from_str(&stdout(&faultline(dir.path(), &["scan", "-f", "json"]))).unwrap();
    assert_eq!(json["findings"][0]["rule"], "external-call/missing-timeout");
    assert_eq!(json["findings"][0]["path"], "src/fetch.py");
    let sarif: Value =
        serde_json::from_str(&stdout(&faultline(dir.path(), &["scan", "-f", "sarif"]))).unwrap();
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "external-call/missing-timeout");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "src/fetch.py"
    );
}

#[test]
fn explain_shows_a_rules_documentation() {
    let out = faultline(
        Path::new("."),
        &["explain", "external-call/missing-timeout"],
    );
    assert_eq!(code(&out), 0);
    assert!(stdout(&out).contains("What it does"));
    let rules = stdout(&faultline(Path::new("."), &["rules"]));
    assert!(rules.contains("external-call/missing-timeout"), "{rules}");
}

#[test]
fn a_missing_path_exits_2_and_names_it() {
    let dir = clean_dir();
    let out = faultline(dir.path(), &["scan", "does-not-exist"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("cannot scan `does-not-exist`"), "{err}");
    assert!(err.to_lowercase().contains("no such file"), "{err}");
}

#[test]
fn an_unknown_rule_in_select_exits_2_and_lists_families() {
    let dir = clean_dir();
    for flag in ["--select", "--ignore"] {
        let out = faultline(dir.path(), &["scan", flag, "external-call,no-such-family"]);
        assert_eq!(code(&out), 2);
        let err = stderr(&out);
        assert!(err.contains("`no-such-family`"), "{err}");
        assert!(
            err.contains("valid families: external-call, race, retry, trust, query"),
            "{err}"
        );
    }
    let typo = stderr(&faultline(
        dir.path(),
        &["scan", "--select", "externall-call"],
    ));
    assert!(typo.contains("did you mean `external-call`"), "{typo}");
}

#[test]
fn families_and_fail_on_never_are_accepted() {
    let dir = clean_dir();
    let out = faultline(
        dir.path(),
        &[
            "scan",
            "--select",
            "external-call/,race",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn json_and_sarif_parse_and_concise_is_line_based() {
    let dir = clean_dir();
    let json: Value =
        serde_json::from_str(&stdout(&faultline(dir.path(), &["scan", "-f", "json"]))).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["tool"]["name"], "faultline");
    assert_eq!(json["stats"]["files_scanned"], 2);
    assert!(json["findings"].as_array().unwrap().is_empty());

    let sarif: Value =
        serde_json::from_str(&stdout(&faultline(dir.path(), &["scan", "-f", "sarif"]))).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["tool"]["driver"]["name"], "faultline");
    assert!(sarif["runs"][0]["results"].as_array().unwrap().is_empty());

    let concise = faultline(dir.path(), &["scan", "-f", "concise"]);
    assert_eq!(code(&concise), 0);
    assert_eq!(stdout(&concise), "");
}

#[test]
fn output_writes_the_report_to_a_file() {
    let dir = clean_dir();
    let out = faultline(
        dir.path(),
        &[
            "scan",
            "src",
            "-f",
            "sarif",
            "-o",
            "reports/nested/out.sarif",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    let written = fs::read_to_string(dir.path().join("reports/nested/out.sarif")).unwrap();
    let sarif: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn an_unwritable_output_exits_2_and_names_the_file() {
    let dir = clean_dir();
    write(dir.path(), "blocker", "a file, not a directory");
    let out = faultline(
        dir.path(),
        &["scan", "-o", "blocker/out.json", "-f", "json"],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("cannot write the report to `blocker/out.json`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn skipped_files_are_reported_with_reasons_in_every_format() {
    let dir = problem_dir();
    let args = ["scan", "--max-file-size", "4096", "--color", "never"];

    let human = faultline(dir.path(), &args);
    assert_eq!(code(&human), 0, "{}", stderr(&human));
    let text = stdout(&human);
    for expected in [
        "skipped `data/blob.py`: binary",
        "skipped `legacy/latin1.py`: not UTF-8: invalid byte at offset 11",
        "skipped `big/huge.py`: too large: 6000 bytes, over the 4096-byte limit",
        "skipped `static/bundle.js`: minified",
        "`src/broken.py:1:7`: syntax error at line 1",
        "0 findings (0 errors, 0 warnings, 0 notes) in 3 files, 4 skipped",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }

    let json: Value = serde_json::from_str(&stdout(&faultline(
        dir.path(),
        &[&args[..], &["-f", "json"]].concat(),
    )))
    .unwrap();
    let skipped: Vec<(String, String)> = json["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected = [
        ("big/huge.py", "too-large"),
        ("data/blob.py", "binary"),
        ("legacy/latin1.py", "not-utf8"),
        ("static/bundle.js", "minified"),
    ]
    .map(|(p, r)| (p.to_string(), r.to_string()));
    assert_eq!(skipped, expected);
    assert_eq!(json["notices"][0]["kind"], "syntax-error");
    assert_eq!(json["notices"][0]["path"], "src/broken.py");
    assert_eq!(
        json["stats"]["files_scanned"], 3,
        "the broken file is analyzed"
    );

    let sarif: Value = serde_json::from_str(&stdout(&faultline(
        dir.path(),
        &[&args[..], &["-f", "sarif"]].concat(),
    )))
    .unwrap();
    let notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let texts: Vec<&str> = notes
        .iter()
        .map(|n| n["message"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 5, "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("binary")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("not UTF-8")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("too large")), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("minified")), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("syntax error")),
        "{texts:?}"
    );

    let concise = stdout(&faultline(
        dir.path(),
        &[&args[..], &["-f", "concise"]].concat(),
    ));
    assert!(
        concise.contains("src/broken.py:1:7: note[faultline/syntax-error]"),
        "{concise}"
    );
    assert!(
        concise.contains("data/blob.py: note[faultline/skipped]: binary"),
        "{concise}"
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let dir = problem_dir();
    let always = stdout(&faultline(dir.path(), &["scan", "--color", "always"]));
    assert!(always.contains("\x1b["));
    let never = stdout(&faultline(dir.path(), &["scan", "--color", "never"]));
    assert!(!never.contains('\x1b'));
    // Output to a pipe is not a terminal: no colour on `auto`.
    let auto = stdout(&faultline(dir.path(), &["scan"]));
    assert!(!auto.contains('\x1b'));
}

#[test]
fn quiet_leaves_only_findings() {
    let dir = problem_dir();
    let out = faultline(dir.path(), &["scan", "-q"]);
    assert_eq!(code(&out), 0);
    assert_eq!(stdout(&out), "");
}

#[test]
fn rules_lists_the_catalog() {
    let out = faultline(Path::new("."), &["rules"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json: Value = serde_json::from_str(&stdout(&faultline(
        Path::new("."),
        &["rules", "-f", "json"],
    )))
    .unwrap();
    assert_eq!(json["version"], 1);
    assert!(json["rules"].is_array());
}

#[test]
fn explain_an_unknown_rule_exits_2_with_close_matches() {
    let out = faultline(Path::new("."), &["explain", "externall-call"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("unknown rule `externall-call`"), "{err}");
    assert!(err.contains("did you mean `external-call`"), "{err}");
    let family = faultline(Path::new("."), &["explain", "external-call"]);
    assert_eq!(code(&family), 0);
    assert!(stdout(&family).starts_with("external-call: "));
}

#[test]
fn no_subcommand_prints_help() {
    let out = faultline(Path::new("."), &[]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("Usage: faultline"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_documents_options_exit_codes_and_examples() {
    let help = stdout(&faultline(Path::new("."), &["scan", "--help"]));
    for expected in [
        "--format",
        "--output",
        "--select",
        "--ignore",
        "--fail-on",
        "--jobs",
        "--max-file-size",
        "--color",
        "--quiet",
        "[default: human]",
        "[default: warning]",
        "[default: 2097152]",
        "Exit codes:",
        "Examples:",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in\n{help}");
    }
}

#[test]
fn debug_prefilter_reports_parsed_bytes_per_language_and_rules_that_alone_admit_files() {
    let dir = dir_with_finding();
    // Only the Python HTTP rules have needles in `fetch.py`; `app.py` and
    // `app.ts` mention nothing any rule looks for.
    let out = faultline(dir.path(), &["debug", "prefilter", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("3 files ("), "{text}");
    assert!(text.contains("1 would be parsed"), "{text}");
    let fetch = "import requests\nrequests.get(url)\n".len() / 1024;
    assert!(
        text.contains(&format!("python     1 of 2 files parsed ({fetch} of")),
        "{text}"
    );
    assert!(
        text.contains("typescript 0 of 1 files parsed (0 of 0 KB)"),
        "{text}"
    );
    // Several rules run on `fetch.py`: none of them alone admits it.
    let alone = text
        .split("rules that alone let files through (files, KB):\n")
        .nth(1)
        .unwrap();
    assert!(alone.starts_with("needles that let the most"), "{text}");
    // `--list`: the admitted file alone, with the rules that run on it.
    let out = faultline(dir.path(), &["debug", "prefilter", "--list", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let (path, rules) = lines[0].split_once('\t').unwrap();
    assert!(path.ends_with("fetch.py"), "{text}");
    assert!(
        rules
            .split(',')
            .any(|r| r == "external-call/missing-timeout"),
        "{text}"
    );
}
