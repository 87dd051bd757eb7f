//! Analysis of one file: read, classify, lower, run the rules, locate the
//! findings. The file's tree and IR are dropped before the next file starts,
//! so memory stays flat however large the repository is.

use std::any::Any;
use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use faultline_grammars::{GrammarError, Lang, LowerOptions};
use faultline_ir::{Comment, FuncId, FuncKind, LineIndex, Module, Span};
use faultline_rules::models::Models;
use faultline_rules::{Context, Finding, Rule};

use super::discover::{Candidate, SkipReason, classify};
use super::prefilter::Prefilter;
use super::{BUG_REPORT_URL, FileFinding, Notice, NoticeKind, Range, Skipped};
use crate::settle::{Settings, settle_file};

/// What analyzing one source text produced.
#[derive(Debug, Default)]
pub struct FileResult {
    /// Every finding of every rule that applies to the language, in the
    /// order the rules reported them.
    pub findings: Vec<Finding>,
    /// For each finding (same order), the qualified name of the innermost
    /// function whose span contains it (`Class.method`, `outer.inner`,
    /// `handler.<lambda>`); `None` at the top level. Part of fingerprints.
    pub functions: Vec<Option<String>>,
    /// The file's comments, for inline suppressions.
    pub comments: Vec<Comment>,
    /// The spans of syntax errors; the rest of the file was still analyzed.
    pub syntax_errors: Vec<Span>,
    /// Set when the file could not be parsed at all (no rule ran).
    pub failure: Option<GrammarError>,
}

/// Lowers `source` and runs every rule of `rules` that applies to `lang`,
/// with the built-in API models.
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
    analyze_source_with(
        path,
        lang,
        source,
        rules,
        is_test_file,
        faultline_rules::models::builtin(),
    )
}

/// [`analyze_source`] with these API models (the built-ins plus a
/// project's own, see [`Models::with_user`]).
pub fn analyze_source_with(
    path: &str,
    lang: Lang,
    source: &str,
    rules: &[&'static dyn Rule],
    is_test_file: bool,
    models: &Models,
) -> FileResult {
    let running: Vec<&dyn Rule> = rules
        .iter()
        .copied()
        .filter(|r| r.meta().applies_to(lang.ir()))
        .collect();
    // Code that builds only for tests is left out when no running rule
    // reports there.
    let options = LowerOptions {
        test_code: running.iter().any(|r| r.reports_in_test_files()),
    };
    let mut module = match faultline_grammars::lower_with(lang, source, options) {
        Ok(module) => module,
        Err(e) => {
            return FileResult {
                failure: Some(e),
                ..FileResult::default()
            };
        }
    };
    faultline_rules::prepare(&mut module, models);
    let lines = LineIndex::new(source);
    let mut cx = Context::new(&module, source, path, &lines, is_test_file)
        .with_models(models)
        .with_running(running.iter().map(|r| r.meta().id).collect());
    for rule in running {
        rule.check(&mut cx);
    }
    let findings = cx.into_findings();
    let functions = findings
        .iter()
        .map(|f| enclosing_function(&module, f.span))
        .collect();
    FileResult {
        findings,
        functions,
        comments: std::mem::take(&mut module.comments),
        syntax_errors: std::mem::take(&mut module.syntax_errors),
        failure: None,
    }
}

/// The qualified name of the innermost function (not the top level) whose
/// span contains `span`.
pub fn enclosing_function(module: &Module, span: Span) -> Option<String> {
    let (id, _) = module
        .functions
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind != FuncKind::Module && f.span.contains(span))
        .min_by_key(|(_, f)| f.span.end - f.span.start)?;
    let mut parts = Vec::new();
    let mut cur = Some(FuncId(u32::try_from(id).ok()?));
    while let Some(fid) = cur {
        let f = module.functions.get(fid.0 as usize)?;
        if f.kind == FuncKind::Module {
            break;
        }
        parts.push(match &f.class {
            Some(class) => format!("{class}.{}", f.name),
            None => f.name.clone(),
        });
        cur = f.parent;
    }
    parts.reverse();
    Some(parts.join("."))
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
    /// How many findings inline suppressions silenced.
    pub suppressed: usize,
    /// `(path, source)` when sources are kept and the file has findings.
    pub source: Option<(String, String)>,
    /// The prefilter ruled the file out: it was not parsed.
    pub prefiltered: bool,
}

/// What every file of a scan is analyzed with.
pub(crate) struct Job<'a> {
    pub rules: &'a [&'static dyn Rule],
    pub models: &'a Models,
    pub settings: &'a Settings,
    pub keep_source: bool,
    /// The content prefilter, when it is on.
    pub prefilter: Option<&'a Prefilter>,
}

/// Analyzes one discovered file; a panic becomes an internal-error notice.
pub(crate) fn process(file: &Candidate, job: &Job<'_>) -> Outcome {
    process_read(file, std::fs::read(&file.path), job)
}

/// [`process`] with the file already read (the result cache hashes the bytes
/// it analyzes).
pub(crate) fn process_read(
    file: &Candidate,
    read: std::io::Result<Vec<u8>>,
    job: &Job<'_>,
) -> Outcome {
    match catch_unwind(AssertUnwindSafe(|| process_inner(file, read, job))) {
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

fn process_inner(file: &Candidate, read: std::io::Result<Vec<u8>>, job: &Job<'_>) -> Outcome {
    let skipped = |reason| {
        Outcome::Skipped(Skipped {
            path: file.rel.clone(),
            reason,
        })
    };
    let bytes = match read {
        Ok(bytes) => bytes,
        Err(e) => return skipped(SkipReason::Unreadable(e.to_string())),
    };
    let text = match classify(&file.path, &bytes) {
        Ok(text) => text,
        Err(reason) => return skipped(reason),
    };
    let source = source_text(text);

    let is_test = is_test_path(&file.rel);
    let selected: Vec<&'static dyn Rule>;
    let rules = match job.prefilter {
        Some(prefilter) => {
            let selection = prefilter.select(file.lang.ir(), source.as_bytes(), is_test);
            if !selection.parse {
                return Outcome::Analyzed(Analyzed {
                    findings: Vec::new(),
                    notices: Vec::new(),
                    bytes: source.len() as u64,
                    suppressed: 0,
                    source: None,
                    prefiltered: true,
                });
            }
            selected = selection
                .rules
                .iter()
                .filter_map(|&i| job.rules.get(i).copied())
                .collect();
            &selected
        }
        None if is_test => {
            selected = job
                .rules
                .iter()
                .copied()
                .filter(|r| r.reports_in_test_files())
                .collect();
            &selected
        }
        None => job.rules,
    };
    let mut result = analyze_source_with(&file.rel, file.lang, &source, rules, is_test, job.models);
    let mut notices = Vec::new();
    if let Some(failure) = result.failure.take() {
        notices.push(Notice {
            path: file.rel.clone(),
            kind: NoticeKind::ParseFailure,
            position: None,
            message: format!("could not be parsed, so it was not analyzed: {failure}"),
        });
    }
    if let Some(first) = result.syntax_errors.iter().min() {
        let start = Range::of_span(&source, &LineIndex::new(&source), *first).start;
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
    let settled = settle_file(
        &file.path,
        &file.rel,
        file.lang,
        &source,
        text,
        result,
        job.rules,
        job.settings,
    );
    let keep = job.keep_source && !settled.findings.is_empty();
    Outcome::Analyzed(Analyzed {
        findings: settled.findings,
        notices,
        bytes: source.len() as u64,
        suppressed: settled.suppressed,
        source: keep.then(|| (file.rel.clone(), source.into_owned())),
        prefiltered: false,
    })
}

/// The text rules see: a byte-order mark is not code, so it is blanked out,
/// keeping every offset. Any other text is the file's own bytes, not a copy.
pub(crate) fn source_text(text: &str) -> Cow<'_, str> {
    match text.strip_prefix('\u{feff}') {
        Some(rest) => Cow::Owned(format!("   {rest}")),
        None => Cow::Borrowed(text),
    }
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
