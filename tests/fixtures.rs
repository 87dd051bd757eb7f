//! The fixture harness: every file under `tests/fixtures/<family>/<rule>/`
//! with a scanned extension is analyzed with the directory's rule plus any
//! rule its annotations name, and the findings must match the annotations
//! (see `common/annotations.rs`). Fixture files must parse without syntax
//! errors. A summary per rule and language is printed on stderr
//! (`cargo test --test fixtures -- --nocapture` shows it).

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

#[path = "common/annotations.rs"]
mod annotations;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use annotations::{Found, Kind, Problem, check, parse};
use faultline::engine::analyze_source;
use faultline_grammars::Lang;
use faultline_ir::LineIndex;
use faultline_rules::{Rule, find_rule};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// `(rule id, file)` for every fixture file.
fn fixture_files() -> Vec<(String, PathBuf)> {
    let root = fixtures_dir();
    if !root.is_dir() {
        return Vec::new();
    }
    let mut files = Vec::new();
    for family in sorted_entries(&root).into_iter().filter(|p| p.is_dir()) {
        for rule in sorted_entries(&family).into_iter().filter(|p| p.is_dir()) {
            let id = format!(
                "{}/{}",
                family.file_name().unwrap().to_string_lossy(),
                rule.file_name().unwrap().to_string_lossy()
            );
            for file in sorted_entries(&rule) {
                if file.is_file() && Lang::from_path(&file).is_some() {
                    files.push((id.clone(), file));
                }
            }
        }
    }
    files
}

#[derive(Default)]
struct Counts {
    files: usize,
    by_kind: BTreeMap<Kind, usize>,
}

#[test]
#[expect(clippy::print_stderr, reason = "the harness prints its summary")]
fn fixtures_match_their_annotations() {
    let mut problems: Vec<(String, Problem)> = Vec::new();
    let mut counts: BTreeMap<(String, &'static str), Counts> = BTreeMap::new();
    let files = fixture_files();
    for (dir_rule, path) in &files {
        let display = path
            .strip_prefix(fixtures_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        let mut report = |p: Problem| problems.push((display.clone(), p));
        let lang = Lang::from_path(path).unwrap();
        let source = fs::read_to_string(path).unwrap();
        let (annotations, malformed) = parse(&source, lang);
        malformed.into_iter().for_each(&mut report);

        let mut rules: Vec<&'static dyn Rule> = Vec::new();
        let wanted = std::iter::once((dir_rule.as_str(), 0))
            .chain(annotations.iter().map(|a| (a.rule.as_str(), a.line)));
        for (id, line) in wanted {
            match find_rule(id) {
                Some(rule) if !rules.iter().any(|r| r.meta().id == id) => rules.push(rule),
                Some(_) => {}
                None => report(Problem {
                    line,
                    rule: id.to_string(),
                    what: "unknown rule".into(),
                    message: if line == 0 {
                        "the fixture directory names no registered rule".into()
                    } else {
                        "the annotation names no registered rule".into()
                    },
                }),
            }
        }

        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = analyze_source(&name, lang, &source, &rules, false);
        let lines = LineIndex::new(&source);
        if let Some(failure) = &result.failure {
            report(Problem {
                line: 0,
                rule: String::new(),
                what: "parse failure".into(),
                message: failure.to_string(),
            });
        }
        for span in &result.syntax_errors {
            report(Problem {
                line: lines.line(span.start),
                rule: String::new(),
                what: "syntax error".into(),
                message: "fixtures must parse cleanly".into(),
            });
        }
        let found: Vec<Found<'_>> = result
            .findings
            .iter()
            .map(|f| Found {
                line: lines.line(f.span.start),
                rule: f.rule,
                message: &f.message,
            })
            .collect();
        check(&annotations, &found)
            .into_iter()
            .for_each(&mut report);

        counts
            .entry((dir_rule.clone(), lang.name()))
            .or_default()
            .files += 1;
        for a in &annotations {
            let entry = counts.entry((a.rule.clone(), lang.name())).or_default();
            *entry.by_kind.entry(a.kind).or_default() += 1;
        }
    }

    let mut summary = format!(
        "fixtures: {} files\n{:<45} {:<11} {:>6} {:>4} {:>11} {:>7}\n",
        files.len(),
        "rule",
        "language",
        "expect",
        "ok",
        "todo-expect",
        "todo-ok"
    );
    let mut totals = [0usize; 4];
    for ((rule, lang), c) in &counts {
        let n = |k| c.by_kind.get(&k).copied().unwrap_or(0);
        let row = [
            n(Kind::Expect),
            n(Kind::Ok),
            n(Kind::TodoExpect),
            n(Kind::TodoOk),
        ];
        for (t, r) in totals.iter_mut().zip(row) {
            *t += r;
        }
        summary.push_str(&format!(
            "{rule:<45} {lang:<11} {:>6} {:>4} {:>11} {:>7}\n",
            row[0], row[1], row[2], row[3]
        ));
    }
    summary.push_str(&format!(
        "{:<45} {:<11} {:>6} {:>4} {:>11} {:>7}",
        "total", "", totals[0], totals[1], totals[2], totals[3]
    ));
    eprintln!("{summary}");

    problems.sort_by(|a, b| (&a.0, a.1.line).cmp(&(&b.0, b.1.line)));
    let list: Vec<String> = problems
        .iter()
        .map(|(file, p)| format!("{file}:{}: {} {}: {}", p.line, p.rule, p.what, p.message))
        .collect();
    assert!(
        list.is_empty(),
        "{} fixture problem(s):\n{}",
        list.len(),
        list.join("\n")
    );
}

/// STYLE 12: the annotations pin *where*; a snapshot per fixture file pins
/// *what* is said there — message, span, help and related locations. The
/// snapshots live beside the fixtures (`snapshots/<file>.snap`); review
/// changes with `cargo insta review`, never by hand.
#[test]
fn fixture_messages_match_their_snapshots() {
    for (dir_rule, path) in fixture_files() {
        let lang = Lang::from_path(&path).unwrap();
        let source = fs::read_to_string(&path).unwrap();
        let Some(rule) = find_rule(&dir_rule) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let result = analyze_source(&name, lang, &source, &[rule], false);
        let lines = LineIndex::new(&source);
        let at = |offset: u32| {
            let line = lines.line(offset);
            let col = offset - lines.line_start(line) + 1;
            format!("{line}:{col}")
        };
        let mut out = String::new();
        for f in &result.findings {
            out.push_str(&format!(
                "{} {}[{}] {}\n",
                at(f.span.start),
                f.level.as_str(),
                f.rule,
                f.message
            ));
            let text = source
                .get(f.span.start as usize..f.span.end as usize)
                .unwrap_or("");
            out.push_str(&format!("    at: {text}\n"));
            for r in &f.related {
                out.push_str(&format!(
                    "    related {}: {}\n",
                    at(r.span.start),
                    r.message
                ));
            }
            if let Some(h) = &f.help {
                out.push_str(&format!("    help: {h}\n"));
            }
        }
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(path.parent().unwrap().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!(name, out));
    }
}

/// A rule that says it never reports in test files is not run on them (and
/// such files may not be parsed at all), so that must hold: with the whole
/// file taken as test code, none of its fixtures' findings remain.
#[test]
fn rules_silent_in_test_files_report_nothing_there() {
    let mut checked = 0;
    for (dir_rule, path) in fixture_files() {
        let Some(rule) = find_rule(&dir_rule) else {
            continue;
        };
        if rule.reports_in_test_files() {
            continue;
        }
        let lang = Lang::from_path(&path).unwrap();
        let source = fs::read_to_string(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            !analyze_source(&name, lang, &source, &[rule], false)
                .findings
                .is_empty()
                || !source.contains("expect:"),
            "{}: the fixture reports nothing even outside test files",
            path.display()
        );
        let findings = analyze_source(&name, lang, &source, &[rule], true).findings;
        assert!(
            findings.is_empty(),
            "{} reported in a test file ({}:{})",
            dir_rule,
            path.display(),
            LineIndex::new(&source).line(findings[0].span.start)
        );
        checked += 1;
    }
    assert!(checked > 30, "only {checked} fixture files checked");
}
