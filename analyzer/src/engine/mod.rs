//! The engine: discover files, analyze each one on a rayon pool, and gather
//! one deterministic [`Report`].
//!
//! ```no_run
//! use faultline::engine::{ScanOptions, scan};
//! let options = ScanOptions { paths: vec!["src".into()], ..ScanOptions::default() };
//! let report = scan(&options)?;
//! println!("{} findings", report.findings.len());
//! # Ok::<(), faultline::engine::Error>(())
//! ```

pub mod analyze;
pub mod baseline;
pub mod cache;
pub mod discover;
pub mod prefilter;
mod progress;
mod prose;
pub mod select;
pub mod shard;

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultline_ir::{LineIndex, Span};
use faultline_rules::models::Models;
use faultline_rules::{Finding, Level, Rule, RuleMeta};
use rayon::prelude::*;
use thiserror::Error;

use crate::settle::Settings;

pub use analyze::{
    FileResult, analyze_source, analyze_source_with, enclosing_function, is_test_path,
};
pub use cache::Cache;
pub use discover::{DEFAULT_MAX_FILE_SIZE, SkipReason};
pub use select::{SelectError, families, select_rules};
pub use shard::{Shard, ShardError};

/// Where bugs in faultline itself are reported.
pub const BUG_REPORT_URL: &str = "https://github.com/faultline-dev/faultline/issues";

/// What to scan and how.
#[derive(Clone)]
pub struct ScanOptions {
    /// Files and directories to scan. Directories are walked honouring
    /// `.gitignore` and `.ignore`; files are scanned even if ignored.
    pub paths: Vec<PathBuf>,
    /// The rules to run (see [`select_rules`]).
    pub rules: Vec<&'static dyn Rule>,
    /// Worker threads; `None` means one per core.
    pub jobs: Option<NonZeroUsize>,
    /// Files larger than this many bytes are skipped.
    pub max_file_size: u64,
    /// Keep the source of files with findings in [`Report::sources`], for
    /// reporters that show snippets.
    pub keep_sources: bool,
    /// Gitignore-style globs of files and directories not to scan, relative
    /// to `exclude_base` (the configuration's directory).
    pub exclude: Vec<String>,
    /// What `exclude` globs are relative to; the scan root when `None`.
    pub exclude_base: Option<PathBuf>,
    /// The API models; the built-in ones when `None`.
    pub models: Option<Arc<Models>>,
    /// Suppressions, level overrides and risk zones (see [`crate::settle`]).
    pub settings: Settings,
    /// Test each file's bytes for the rules' needles before parsing it, and
    /// parse only files some rule can report in (see [`prefilter`]). It never
    /// changes the findings; off, every file is parsed.
    pub prefilter: bool,
    /// Called with (files analyzed, files to analyze): once when discovery
    /// is done, then after each file, from the worker threads.
    pub progress: Option<ProgressHook>,
    /// Scan only this part of the files (see [`shard`]).
    pub shard: Option<Shard>,
    /// The result cache; none when `None` (see [`cache`]).
    pub cache: Option<Arc<Cache>>,
}

/// A progress callback: `(done, total)` files (see [`ScanOptions::progress`]).
pub type ProgressHook = Arc<dyn Fn(usize, usize) + Send + Sync>;

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            paths: vec![PathBuf::from(".")],
            rules: faultline_rules::all_rules().to_vec(),
            jobs: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            keep_sources: false,
            exclude: Vec::new(),
            exclude_base: None,
            models: None,
            settings: Settings::default(),
            prefilter: true,
            progress: None,
            shard: None,
            cache: None,
        }
    }
}

impl fmt::Debug for ScanOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanOptions")
            .field("paths", &self.paths)
            .field(
                "rules",
                &self.rules.iter().map(|r| r.meta().id).collect::<Vec<_>>(),
            )
            .field("jobs", &self.jobs)
            .field("max_file_size", &self.max_file_size)
            .field("keep_sources", &self.keep_sources)
            .field("exclude", &self.exclude)
            .field("models", &self.models.as_ref().map(|m| m.files.len()))
            .field("settings", &self.settings)
            .field("prefilter", &self.prefilter)
            .field("progress", &self.progress.is_some())
            .field("shard", &self.shard)
            .field("cache", &self.cache)
            .finish()
    }
}

/// Why a scan could not run at all. Problems with single files never stop a
/// scan: they become [`Skipped`] entries or [`Notice`]s.
#[derive(Debug, Error)]
pub enum Error {
    /// A path given to scan does not exist or cannot be resolved.
    #[error("cannot scan `{}`", path.display())]
    Path {
        /// The path as given.
        path: PathBuf,
        /// Why it cannot be resolved.
        source: io::Error,
    },
    /// No path was given.
    #[error("no path to scan was given")]
    NoPaths,
    /// An `exclude` glob is invalid.
    #[error("invalid `exclude` glob: {0}")]
    Exclude(String),
    /// The worker pool could not be started.
    #[error("cannot start {jobs} worker threads: {message}")]
    ThreadPool {
        /// The requested thread count.
        jobs: usize,
        /// rayon's message.
        message: String,
    },
}

/// A 1-based position in a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in UTF-8 bytes (what editors and rustc show).
    pub column: usize,
    /// 1-based column, counted in UTF-16 code units (what SARIF and LSP use).
    pub utf16_column: usize,
}

/// A range of source text: a byte span plus its start and end positions.
/// The end is exclusive (it is the position just after the last character).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Range {
    /// The byte span.
    pub span: Span,
    /// Where it starts.
    pub start: Position,
    /// Where it ends (exclusive).
    pub end: Position,
}

impl Range {
    /// The range of `span` in `source`. Offsets past the end are clamped and
    /// offsets inside a character are moved to its start.
    pub fn of_span(source: &str, lines: &LineIndex, span: Span) -> Range {
        let start = floor_char_boundary(source, span.start as usize);
        let end = floor_char_boundary(source, span.end as usize).max(start);
        Range {
            span: Span::new(start, end),
            start: position(source, lines, start),
            end: position(source, lines, end),
        }
    }
}

fn position(source: &str, lines: &LineIndex, offset: usize) -> Position {
    let line = lines.line(u32::try_from(offset).unwrap_or(u32::MAX));
    let line_start = (lines.line_start(line) as usize).min(offset);
    let prefix = source.get(line_start..offset).unwrap_or("");
    Position {
        line,
        column: prefix.len() + 1,
        utf16_column: prefix.encode_utf16().count() + 1,
    }
}

/// The largest char boundary of `s` at or below `offset`.
pub(crate) fn floor_char_boundary(s: &str, offset: usize) -> usize {
    let mut i = offset.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One finding, located in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFinding {
    /// The file, relative to [`Report::root`], with `/` separators.
    pub path: String,
    /// What the rule reported.
    pub finding: Finding,
    /// Where the primary span is.
    pub range: Range,
    /// Where each of `finding.related` is, in the same order.
    pub related: Vec<Range>,
    /// The qualified name of the innermost enclosing function
    /// (`Class.method`, `outer.inner`); `None` at the top level.
    pub function: Option<String>,
    /// The risk zones the file is in (the level was raised for them).
    pub zones: Vec<String>,
    /// What identifies the finding across commits.
    pub fingerprints: Fingerprints,
}

/// A finding's fingerprints (see [`crate::settle::fingerprint`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fingerprints {
    /// `faultline/v1`: rule, path, normalized flagged code and enclosing
    /// function, with `:occurrence`.
    pub v1: String,
    /// GitHub's `primaryLocationLineHash` of the start line.
    pub line_hash: String,
}

/// A file that was not analyzed, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file, relative to [`Report::root`], with `/` separators.
    pub path: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// What a [`Notice`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    /// The file has syntax errors; what parsed was still analyzed.
    SyntaxError,
    /// The file could not be parsed at all.
    ParseFailure,
    /// faultline itself failed on this file (a bug).
    InternalError,
    /// Walking the file tree hit a problem (an unreadable ignore file…).
    Discovery,
}

impl NoticeKind {
    /// The kebab-case name used in reports (`syntax-error`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::SyntaxError => "syntax-error",
            NoticeKind::ParseFailure => "parse-failure",
            NoticeKind::InternalError => "internal-error",
            NoticeKind::Discovery => "discovery",
        }
    }
    /// How serious it is, for reporters.
    pub fn level(self) -> Level {
        match self {
            NoticeKind::SyntaxError | NoticeKind::Discovery => Level::Note,
            NoticeKind::ParseFailure => Level::Warning,
            NoticeKind::InternalError => Level::Error,
        }
    }
}

/// Something about the scan itself that the user should know: syntax errors,
/// files faultline failed on. Notices never change the exit code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// The file, relative to [`Report::root`], with `/` separators.
    pub path: String,
    /// What it is about.
    pub kind: NoticeKind,
    /// Where in the file, when known.
    pub position: Option<Position>,
    /// One line, for humans.
    pub message: String,
}

/// Counters of one scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Files that were analyzed (including the ones the prefilter ruled
    /// out).
    pub files_scanned: usize,
    /// Bytes of source that were analyzed.
    pub bytes_scanned: u64,
    /// Wall time of the whole scan.
    pub elapsed: Duration,
    /// Findings silenced by inline suppressions.
    pub suppressed: usize,
    /// Findings hidden by the baseline.
    pub baselined: usize,
    /// Findings hidden by `--diff` (on unchanged lines).
    pub outside_diff: usize,
    /// Files the prefilter ruled out: no enabled rule can report in them,
    /// so they were not parsed.
    pub files_prefiltered: usize,
    /// Files of `files_scanned` whose results came from the cache (they
    /// were not parsed).
    pub files_cached: usize,
}

/// The result of a scan, in a deterministic order: findings by path, line,
/// column and rule; skipped files and notices by path.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The scan root: paths in the report are relative to it. It is the
    /// directory given, the parent of a file given, or the closest common
    /// ancestor when several paths are given.
    pub root: PathBuf,
    /// The findings.
    pub findings: Vec<FileFinding>,
    /// Files that were not analyzed.
    pub skipped: Vec<Skipped>,
    /// Problems of the scan itself.
    pub notices: Vec<Notice>,
    /// The rules that ran, sorted by id.
    pub rules: Vec<&'static RuleMeta>,
    /// The source of each file with findings, when
    /// [`ScanOptions::keep_sources`] was set.
    pub sources: BTreeMap<String, String>,
    /// Counters.
    pub stats: Stats,
}

impl Report {
    /// How many findings are at `level`.
    pub fn count(&self, level: Level) -> usize {
        self.findings
            .iter()
            .filter(|f| f.finding.level == level)
            .count()
    }
    /// Whether any finding is at or above `level`.
    pub fn has_findings_at_or_above(&self, level: Level) -> bool {
        self.findings.iter().any(|f| f.finding.level >= level)
    }
    /// The metadata of an enabled rule.
    pub fn rule(&self, id: &str) -> Option<&'static RuleMeta> {
        self.rules.iter().copied().find(|m| m.id == id)
    }
    /// Sorts everything into the documented order.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| {
            (&a.path, a.range.start, a.finding.rule, &a.finding.message).cmp(&(
                &b.path,
                b.range.start,
                b.finding.rule,
                &b.finding.message,
            ))
        });
        self.skipped.sort_by(|a, b| a.path.cmp(&b.path));
        self.notices
            .sort_by(|a, b| (&a.path, a.position, a.kind).cmp(&(&b.path, b.position, b.kind)));
        self.rules.sort_by_key(|m| m.id);
    }
}

/// Scans `options.paths` and returns the report.
pub fn scan(options: &ScanOptions) -> Result<Report, Error> {
    let started = Instant::now();
    let Setup {
        paths,
        root,
        discovery,
        pool,
    } = setup(options)?;
    let models = options
        .models
        .as_deref()
        .unwrap_or_else(|| faultline_rules::models::builtin());
    let prefilter = options
        .prefilter
        .then(|| prefilter::Prefilter::new(&options.rules, models));
    let job = analyze::Job {
        rules: &options.rules,
        models,
        settings: &options.settings,
        keep_source: options.keep_sources,
        prefilter: prefilter.as_ref(),
    };
    let progress = progress::Counter::start(options.progress.as_ref(), discovery.files.len());
    let cache = options.cache.as_deref().map(|c| c.open(options, &root));
    let outcomes: Vec<(analyze::Outcome, Option<cache::Record>)> = pool.install(|| {
        discovery
            .files
            .par_iter()
            .map(|file| match &cache {
                Some(cache) => {
                    let (outcome, record) = cache.process(file, &job);
                    (progress.after(outcome), Some(record))
                }
                None => (progress.after(analyze::process(file, &job)), None),
            })
            .collect()
    });

    let mut report = Report {
        root,
        skipped: discovery.skipped,
        notices: discovery.notices,
        rules: options.rules.iter().map(|r| r.meta()).collect(),
        ..Report::default()
    };
    let mut records = Vec::new();
    for (outcome, record) in outcomes {
        let hit = record.as_ref().is_some_and(cache::Record::is_hit);
        records.extend(record);
        match outcome {
            analyze::Outcome::Analyzed(a) => {
                report.stats.files_scanned += 1;
                report.stats.files_cached += usize::from(hit);
                report.stats.bytes_scanned += a.bytes;
                report.stats.suppressed += a.suppressed;
                report.stats.files_prefiltered += usize::from(a.prefiltered);
                if let Some((path, source)) = a.source {
                    report.sources.insert(path, source);
                }
                report.findings.extend(a.findings);
                report.notices.extend(a.notices);
            }
            analyze::Outcome::Skipped(s) => report.skipped.push(s),
            analyze::Outcome::Failed(n) => report.notices.push(n),
        }
    }
    if let Some(cache) = cache {
        // A shard saw only part of the files: keep the other shards' entries.
        let seen: &[PathBuf] = if options.shard.is_some() { &[] } else { &paths };
        cache.finish(records, seen);
    }
    report.sort();
    report.stats.elapsed = started.elapsed();
    Ok(report)
}

/// What a scan and the parse-only baseline share: the resolved paths, the
/// root, the discovered files (of the shard, if any) and the worker pool.
struct Setup {
    paths: Vec<PathBuf>,
    root: PathBuf,
    discovery: discover::Discovery,
    pool: rayon::ThreadPool,
}

fn setup(options: &ScanOptions) -> Result<Setup, Error> {
    let paths = resolve_paths(&options.paths)?;
    let root = scan_root(&paths);
    let jobs = options.jobs.map_or(0, NonZeroUsize::get);
    let exclude_base = options.exclude_base.clone().unwrap_or_else(|| root.clone());
    let discovery = discover::discover(
        &paths,
        &root,
        options.max_file_size,
        jobs,
        &options.exclude,
        &exclude_base,
    )?;
    let discovery = match options.shard {
        Some(shard) => shard.select(discovery),
        None => discovery,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("faultline-worker-{i}"))
        .build()
        .map_err(|e| Error::ThreadPool {
            jobs,
            message: e.to_string(),
        })?;
    Ok(Setup {
        paths,
        root,
        discovery,
        pool,
    })
}

/// Makes every path absolute and checks that it exists.
fn resolve_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    if paths.is_empty() {
        return Err(Error::NoPaths);
    }
    paths
        .iter()
        .map(|p| {
            std::fs::canonicalize(p).map_err(|source| Error::Path {
                path: p.clone(),
                source,
            })
        })
        .collect()
}

/// The directory reports are relative to (see [`Report::root`]).
fn scan_root(paths: &[PathBuf]) -> PathBuf {
    let dir_of = |p: &PathBuf| -> PathBuf {
        if p.is_dir() {
            p.clone()
        } else {
            p.parent().map_or_else(|| p.clone(), Path::to_path_buf)
        }
    };
    let mut dirs = paths.iter().map(dir_of);
    let Some(mut root) = dirs.next() else {
        return PathBuf::from(".");
    };
    for dir in dirs {
        while !dir.starts_with(&root) {
            if !root.pop() {
                break;
            }
        }
    }
    root
}

/// `path` relative to `root`, with `/` separators.
pub(crate) fn relative_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.is_empty() {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    } else {
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_bytes_and_utf16_units() {
        let src = "é = 1\nx = \"😀\" + y\n";
        let lines = LineIndex::new(src);
        let y = src.find('y').unwrap();
        let r = Range::of_span(src, &lines, Span::new(y, y + 1));
        assert_eq!(r.start.line, 2);
        assert_eq!(r.start.column, 14);
        assert_eq!(r.start.utf16_column, 12);
        assert_eq!(r.end.column, 15);
        let inside = Range::of_span(src, &lines, Span::new(1, 1));
        assert_eq!(inside.start.column, 1);
        let past = Range::of_span(src, &lines, Span::new(1000, 2000));
        assert_eq!(past.start.line, 3);
    }

    #[test]
    fn root_is_the_common_ancestor() {
        let tmp = std::env::temp_dir();
        assert_eq!(scan_root(std::slice::from_ref(&tmp)), tmp);
        let a = tmp.join("a/b");
        let b = tmp.join("a/c/d");
        assert_eq!(scan_root(&[a, b]), tmp.join("a"));
    }

    #[test]
    fn relative_paths_use_forward_slashes() {
        let root = Path::new("/r");
        assert_eq!(relative_path(root, Path::new("/r/a/b.py")), "a/b.py");
        assert_eq!(relative_path(root, Path::new("/r")), "r");
    }
}
