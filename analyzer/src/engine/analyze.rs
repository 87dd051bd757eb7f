//! Analysis of one file: read, classify, lower, run the rules, locate the
//! findings. The file's tree and IR are dropped before the next file starts,
//! so memory stays flat however large the repository is.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use faultline_grammars::{GrammarError, Lang};
use faultline_ir::{LineIndex, Span};
use faultline_rules::{Context, Finding, Rule};

use super::discover::{Candidate, SkipReason, classify};
use super::{BUG_REPORT_URL, FileFinding, Notice, NoticeKind, Range, Skipped};

/// What analyzing one source text produced.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Every finding of every rule that applies to the language, in the
    /// order the rules reported them.
    pub findings: Vec<Finding>,
    /// The spans of syntax errors; the rest of the file was still analyzed.
    pub syntax_errors: Vec<Span>,
    /// Set when the file could not be parsed at all (no rule ran).
    pub failure: Option<GrammarError>,
}

/// Lowers `source` and runs every rule of `rules` that applies to `lang`.
///
/// `path` is what rules see as [`Context::path`]; `is_test_file` is what
/// they see as [`Context::is_test_file`] (see [`is_test_path`]). Panics of
/// rules propagate: the scan catches them per file, the fixture harness
/// wants to see them.
pub fn analyze_source(
    path: &str,
    lang: Lang,
    source: &str,
    rules: &[&'static dyn Rule],
    is_test_file: bool,
) -> FileResult {
    let mut module = match faultline_grammars::lower(lang, source) {
        Ok(module) => module,
        Err(e) => {
            return FileResult {
                failure: Some(e),
                ..FileResult::default()
            };
        }
    };
    faultline_rules::prepare(&mut module, faultline_rules::models::builtin());
    let lines = LineIndex::new(source);
    let mut cx = Context::new(&module, source, path, &lines, is_test_file);
    for rule in rules
        .iter()
        .filter(|r| r.meta().applies_to(module.language))
    {
        rule.check(&mut cx);
    }
    let findings = cx.into_findings();
    FileResult {
        findings,
        syntax_errors: module.syntax_errors,
        failure: None,
    }
}

/// Whether a path (relative to the scan root, `/`-separated) is test code as
/// a whole: anything under a `tests/`, `test/`, `__tests__/`, `spec/` or Rust
/// `benches/` directory; `test_*.py`, `*_test.py`, `conftest.py`;
/// `*.test.{ts,tsx,js,jsx,mts,cts,mjs,cjs}`; `*.spec.*`; and Rust `build.rs`.
pub fn is_test_path(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    let Some(name) = parts.pop() else {
        return false;
    };
    let in_test_dir = parts.iter().any(|dir| {
        matches!(
            *dir,
            "tests" | "test" | "__tests__" | "spec" | "e2e" | "playwright" | "cypress" | "testing"
        ) || (*dir == "benches" && name.ends_with(".rs"))
    });
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
    let python = matches!(ext, "py" | "pyi")
        && (stem.starts_with("test_") || stem.ends_with("_test") || stem == "conftest");
    let js = matches!(
        ext,
        "ts" | "tsx" | "js" | "jsx" | "mts" | "cts" | "mjs" | "cjs"
    ) && stem.ends_with(".test");
    let spec = stem.ends_with(".spec") || stem.contains(".spec.");
    in_test_dir || python || js || spec || name == "build.rs"
}

/// What happened to one file in a scan.
#[derive(Debug)]
pub(crate) enum Outcome {
    Analyzed(Analyzed),
    Skipped(Skipped),
    Failed(Notice),
}

#[derive(Debug)]
pub(crate) struct Analyzed {
    pub findings: Vec<FileFinding>,
    pub notices: Vec<Notice>,
    pub bytes: u64,
    /// `(path, source)` when sources are kept and the file has findings.
    pub source: Option<(String, String)>,
}

/// Analyzes one discovered file; a panic becomes an internal-error notice.
pub(crate) fn process(file: &Candidate, rules: &[&'static dyn Rule], keep_source: bool) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| process_inner(file, rules, keep_source))) {
        Ok(outcome) => outcome,
        Err(payload) => Outcome::Failed(Notice {
            path: file.rel.clone(),
            kind: NoticeKind::InternalError,
            position: None,
            message: format!(
                "faultline crashed while analyzing this file ({}); the file was skipped. \
                 This is a bug: please report it at {BUG_REPORT_URL} with the file if you can",
                panic_message(payload.as_ref())
            ),
        }),
    }
}

fn process_inner(file: &Candidate, rules: &[&'static dyn Rule], keep_source: bool) -> Outcome {
    let skipped = |reason| {
        Outcome::Skipped(Skipped {
            path: file.rel.clone(),
            reason,
        })
    };
    let bytes = match std::fs::read(&file.path) {
        Ok(bytes) => bytes,
        Err(e) => return skipped(SkipReason::Unreadable(e.to_string())),
    };
    let text = match classify(&file.path, &bytes) {
        Ok(text) => text,
        Err(reason) => return skipped(reason),
    };
    // A byte-order mark is not code: blank it out, keeping every offset.
    let source = match text.strip_prefix('\u{feff}') {
        Some(rest) => format!("   {rest}"),
        None => text.to_string(),
    };
    drop(bytes);

    let is_test = is_test_path(&file.rel);
    let result = analyze_source(&file.rel, file.lang, &source, rules, is_test);
    let lines = LineIndex::new(&source);
    let mut notices = Vec::new();
    if let Some(failure) = result.failure {
        notices.push(Notice {
            path: file.rel.clone(),
            kind: NoticeKind::ParseFailure,
            position: None,
            message: format!("could not be parsed, so it was not analyzed: {failure}"),
        });
    }
    if let Some(first) = result.syntax_errors.iter().min() {
        let start = Range::of_span(&source, &lines, *first).start;
        let more = result.syntax_errors.len() - 1;
        let others = match more {
            0 => String::new(),
            1 => " (and 1 more)".to_string(),
            n => format!(" (and {n} more)"),
        };
        notices.push(Notice {
            path: file.rel.clone(),
            kind: NoticeKind::SyntaxError,
            position: Some(start),
            message: format!(
                "syntax error at line {}{others}; the rest of the file was still analyzed",
                start.line
            ),
        });
    }
    let findings: Vec<FileFinding> = result
        .findings
        .into_iter()
        .map(|finding| FileFinding {
            path: file.rel.clone(),
            range: Range::of_span(&source, &lines, finding.span),
            related: finding
                .related
                .iter()
                .map(|r| Range::of_span(&source, &lines, r.span))
                .collect(),
            finding,
        })
        .collect();
    let keep = keep_source && !findings.is_empty();
    Outcome::Analyzed(Analyzed {
        findings,
        notices,
        bytes: source.len() as u64,
        source: keep.then(|| (file.rel.clone(), source)),
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_test_paths() {
        for p in [
            "tests/api.py",
            "pkg/test/x.py",
            "web/__tests__/a.ts",
            "spec/a.rb",
            "test_api.py",
            "svc/api_test.py",
            "conftest.py",
            "a.test.tsx",
            "a.spec.ts",
            "benches/load.rs",
            "build.rs",
        ] {
            assert!(is_test_path(p), "{p}");
        }
        for p in [
            "src/api.py",
            "testing.py",
            "contest.py",
            "latest/a.py",
            "a.ts",
            "src/build.rs.bak",
            "benches/data.py",
        ] {
            assert!(!is_test_path(p), "{p}");
        }
    }

    #[test]
    fn panic_messages() {
        let payload: Box<dyn Any + Send> = Box::new("boom");
        assert_eq!(panic_message(payload.as_ref()), "boom");
        let payload: Box<dyn Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(payload.as_ref()), "bang");
    }
}
