//! File discovery and the rules for skipping files.
//!
//! One [`ignore::WalkBuilder`], configured in [`walk_builder`], walks every
//! path in parallel. It honours `.gitignore` (also outside a git
//! repository), `.ignore`, `.git/info/exclude` and the global git excludes,
//! and skips hidden files and directories. A file named on the command line
//! is always considered, even when ignored or hidden. Which files are source
//! is decided by [`Lang::from_path`], the one extension table.
//!
//! A candidate file is skipped, with a [`SkipReason`] that reaches every
//! report, when it is:
//!
//! - **too large**: over `--max-file-size` bytes (default 2 MiB);
//! - **unreadable**: opening or reading it failed;
//! - **binary**: a NUL byte in its first 8 KiB;
//! - **not UTF-8**: the reason gives the offset of the first invalid byte;
//! - **minified**: its name has a `.min.` part (`app.min.js`), or it has a
//!   line over 1,000 bytes *and* its average line is over 300 bytes. Both
//!   conditions are needed so that one long line (a data URL, a long string)
//!   in a hand-written file does not hide the file;
//! - **generated**: one of its first 5 lines holds `@generated` or
//!   `DO NOT EDIT` (the markers of protoc, Facebook's tooling, Go's
//!   convention and most code generators);
//! - **unsupported**: a file named on the command line whose extension is not
//!   one faultline scans;
//! - **excluded**: a file named on the command line that the configuration's
//!   `exclude` globs match (walked files that match are left out silently,
//!   like ignored ones), so that pre-commit, which names files, honours
//!   `exclude` too.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use faultline_grammars::Lang;
use ignore::overrides::{Override, OverrideBuilder};
use ignore::{WalkBuilder, WalkState};

use super::{Notice, NoticeKind, Skipped, relative_path};

/// The default `--max-file-size`: 2 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 2 * 1024 * 1024;
/// How many leading bytes are searched for a NUL byte.
pub const BINARY_SNIFF_LEN: usize = 8 * 1024;
/// A line longer than this (in bytes) hints at minified code…
pub const MINIFIED_LINE_LEN: usize = 1_000;
/// …when the average line is also longer than this.
pub const MINIFIED_AVERAGE_LINE_LEN: usize = 300;
/// How many leading lines are searched for a generated-code marker.
pub const GENERATED_MARKER_LINES: usize = 5;

/// Why a file was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Larger than the size limit.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// It could not be read.
    Unreadable(String),
    /// A NUL byte near its start.
    Binary,
    /// Not valid UTF-8.
    NotUtf8 {
        /// Byte offset of the first invalid byte.
        offset: usize,
    },
    /// Minified code.
    Minified(String),
    /// Generated code.
    Generated(String),
    /// Named on the command line, but not a language faultline scans.
    Unsupported,
    /// Named on the command line, but matched by the configuration's `exclude`.
    Excluded,
}

impl SkipReason {
    /// A stable kebab-case name (`too-large`, `unreadable`, `binary`,
    /// `not-utf8`, `minified`, `generated`, `unsupported`).
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::TooLarge { .. } => "too-large",
            SkipReason::Unreadable(_) => "unreadable",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 { .. } => "not-utf8",
            SkipReason::Minified(_) => "minified",
            SkipReason::Generated(_) => "generated",
            SkipReason::Unsupported => "unsupported",
            SkipReason::Excluded => "excluded",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::TooLarge { size, limit } => write!(
                f,
                "too large: {size} bytes, over the {limit}-byte limit (raise it with --max-file-size)"
            ),
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::Binary => write!(
                f,
                "binary: a NUL byte in the first {} KiB",
                BINARY_SNIFF_LEN / 1024
            ),
            SkipReason::NotUtf8 { offset } => {
                write!(f, "not UTF-8: invalid byte at offset {offset}")
            }
            SkipReason::Minified(why) => write!(f, "minified: {why}"),
            SkipReason::Generated(why) => write!(f, "generated: {why}"),
            SkipReason::Excluded => {
                write!(f, "excluded by `exclude` in the configuration")
            }
            SkipReason::Unsupported => {
                let exts: Vec<String> = Lang::all_extensions().map(|e| format!(".{e}")).collect();
                write!(
                    f,
                    "unsupported file type (faultline scans {})",
                    exts.join(", ")
                )
            }
        }
    }
}

/// A file to analyze.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Its absolute path.
    pub path: PathBuf,
    /// Its path relative to the scan root, with `/` separators.
    pub rel: String,
    /// Its language.
    pub lang: Lang,
}

/// What the walk found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to analyze, sorted by relative path, without duplicates.
    pub files: Vec<Candidate>,
    /// Files skipped before reading them.
    pub skipped: Vec<Skipped>,
    /// Problems of the walk itself.
    pub notices: Vec<Notice>,
}

/// The one walker configuration. `threads == 0` picks a default.
/// `exclude` holds gitignore-style globs relative to `exclude_base`.
pub fn walk_builder(
    paths: &[PathBuf],
    threads: usize,
    exclude: &[String],
    exclude_base: &Path,
) -> Result<Option<WalkBuilder>, ignore::Error> {
    let Some((first, rest)) = paths.split_first() else {
        return Ok(None);
    };
    let mut builder = WalkBuilder::new(first);
    for path in rest {
        builder.add(path);
    }
    builder
        .standard_filters(true)
        .require_git(false)
        .follow_links(false)
        .threads(threads);
    if let Some(overrides) = exclusions(exclude, exclude_base)? {
        builder.overrides(overrides);
    }
    Ok(Some(builder))
}

/// The `exclude` globs as walker overrides, `None` when there are none.
fn exclusions(exclude: &[String], base: &Path) -> Result<Option<Override>, ignore::Error> {
    if exclude.is_empty() {
        return Ok(None);
    }
    let mut overrides = OverrideBuilder::new(base);
    for glob in exclude {
        overrides.add(&format!("!{glob}"))?;
    }
    overrides.build().map(Some)
}

enum Found {
    File(Candidate),
    Skipped(Skipped),
    Notice(Notice),
}

/// Walks `paths` (absolute) and sorts what it finds.
pub fn discover(
    paths: &[PathBuf],
    root: &Path,
    max_file_size: u64,
    threads: usize,
    exclude: &[String],
    exclude_base: &Path,
) -> Result<Discovery, super::Error> {
    let builder = walk_builder(paths, threads, exclude, exclude_base)
        .map_err(|e| super::Error::Exclude(e.to_string()))?;
    let Some(builder) = builder else {
        return Ok(Discovery::default());
    };
    let excluded =
        exclusions(exclude, exclude_base).map_err(|e| super::Error::Exclude(e.to_string()))?;
    let found = Mutex::new(Vec::new());
    builder.build_parallel().run(|| {
        let found = &found;
        let excluded = excluded.as_ref();
        Box::new(move |entry| {
            if let Some(item) = visit(entry, root, max_file_size, excluded)
                && let Ok(mut v) = found.lock()
            {
                v.push(item);
            }
            WalkState::Continue
        })
    });
    let mut discovery = Discovery::default();
    for item in found.into_inner().unwrap_or_else(PoisonError::into_inner) {
        match item {
            Found::File(c) => discovery.files.push(c),
            Found::Skipped(s) => discovery.skipped.push(s),
            Found::Notice(n) => discovery.notices.push(n),
        }
    }
    discovery.files.sort_by(|a, b| a.rel.cmp(&b.rel));
    discovery.files.dedup_by(|a, b| a.path == b.path);
    discovery.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    discovery.skipped.dedup();
    Ok(discovery)
}

fn visit(
    entry: Result<ignore::DirEntry, ignore::Error>,
    root: &Path,
    max_file_size: u64,
    excluded: Option<&Override>,
) -> Option<Found> {
    let entry = match entry {
        Ok(entry) => entry,
        Err(err) => return Some(walk_error(&err, root)),
    };
    if !entry.file_type().is_some_and(|t| t.is_file()) {
        return None;
    }
    let path = entry.path();
    let rel = relative_path(root, path);
    // The walker applies `exclude` below the paths given; a file given is checked here.
    if entry.depth() == 0 && excluded.is_some_and(|o| is_excluded(o, path)) {
        return Some(Found::Skipped(Skipped {
            path: rel,
            reason: SkipReason::Excluded,
        }));
    }
    let Some(lang) = Lang::from_path(path) else {
        // Only a file named on the command line is worth a word.
        return (entry.depth() == 0).then_some(Found::Skipped(Skipped {
            path: rel,
            reason: SkipReason::Unsupported,
        }));
    };
    let size = match entry.metadata() {
        Ok(m) => m.len(),
        Err(e) => {
            return Some(Found::Skipped(Skipped {
                path: rel,
                reason: SkipReason::Unreadable(e.to_string()),
            }));
        }
    };
    if size > max_file_size {
        return Some(Found::Skipped(Skipped {
            path: rel,
            reason: SkipReason::TooLarge {
                size,
                limit: max_file_size,
            },
        }));
    }
    Some(Found::File(Candidate {
        path: path.to_path_buf(),
        rel,
        lang,
    }))
}

/// Whether `path` or one of its directories matches an `exclude` glob.
fn is_excluded(overrides: &Override, path: &Path) -> bool {
    let mut dir = path.parent();
    if overrides.matched(path, false).is_ignore() {
        return true;
    }
    while let Some(d) = dir.filter(|d| d.starts_with(overrides.path()) && *d != overrides.path()) {
        if overrides.matched(d, true).is_ignore() {
            return true;
        }
        dir = d.parent();
    }
    false
}

fn walk_error(err: &ignore::Error, root: &Path) -> Found {
    let path = error_path(err).map(|p| relative_path(root, p));
    match (err.io_error(), path) {
        (Some(io), Some(path)) => Found::Skipped(Skipped {
            path,
            reason: SkipReason::Unreadable(io.to_string()),
        }),
        (_, path) => Found::Notice(Notice {
            path: path.unwrap_or_else(|| ".".to_string()),
            kind: NoticeKind::Discovery,
            position: None,
            message: err.to_string(),
        }),
    }
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(error_path),
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

/// Decides from its name and contents whether a file that was read should be
/// skipped; returns its text otherwise.
pub fn classify<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, SkipReason> {
    let head = &bytes[..bytes.len().min(BINARY_SNIFF_LEN)];
    if head.contains(&0) {
        return Err(SkipReason::Binary);
    }
    let text = std::str::from_utf8(bytes).map_err(|e| SkipReason::NotUtf8 {
        offset: e.valid_up_to(),
    })?;
    if let Some(name) = path.file_name().and_then(|n| n.to_str())
        && name.contains(".min.")
    {
        return Err(SkipReason::Minified(format!(
            "the file name `{name}` marks minified code"
        )));
    }
    if let Some(why) = minified(text) {
        return Err(SkipReason::Minified(why));
    }
    if let Some(why) = generated(text) {
        return Err(SkipReason::Generated(why));
    }
    Ok(text)
}

fn minified(text: &str) -> Option<String> {
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    if longest <= MINIFIED_LINE_LEN {
        return None;
    }
    let average = text.len() / text.lines().count().max(1);
    (average > MINIFIED_AVERAGE_LINE_LEN).then(|| {
        format!(
            "a line of {longest} bytes and {average} bytes per line on average \
             (over {MINIFIED_LINE_LEN} and {MINIFIED_AVERAGE_LINE_LEN})"
        )
    })
}

fn generated(text: &str) -> Option<String> {
    text.lines()
        .take(GENERATED_MARKER_LINES)
        .enumerate()
        .find_map(|(i, line)| {
            ["@generated", "DO NOT EDIT"]
                .into_iter()
                .find(|m| line.contains(m))
                .map(|m| format!("line {} says `{m}`", i + 1))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify_str(name: &str, text: &str) -> Result<(), SkipReason> {
        classify(Path::new(name), text.as_bytes()).map(|_| ())
    }

    #[test]
    fn binary_and_invalid_utf8_are_skipped() {
        assert_eq!(
            classify(Path::new("a.py"), b"x = 1\0"),
            Err(SkipReason::Binary)
        );
        assert_eq!(
            classify(Path::new("a.py"), b"x = '\xff'"),
            Err(SkipReason::NotUtf8 { offset: 5 })
        );
    }

    #[test]
    fn minified_needs_a_long_line_and_a_long_average() {
        let long = "x".repeat(2_000);
        assert!(matches!(
            classify_str("a.js", &long),
            Err(SkipReason::Minified(_))
        ));
        let mostly_short = format!("{long}\n{}", "y = 1\n".repeat(100));
        assert_eq!(classify_str("a.js", &mostly_short), Ok(()));
        assert!(matches!(
            classify_str("vendor.min.js", "x"),
            Err(SkipReason::Minified(_))
        ));
    }

    #[test]
    fn generated_markers_near_the_top() {
        assert!(matches!(
            classify_str("a_pb2.py", "# Generated by protoc.  DO NOT EDIT!\nx = 1\n"),
            Err(SkipReason::Generated(_))
        ));
        let late = format!("{}# DO NOT EDIT\n", "x = 1\n".repeat(10));
        assert_eq!(classify_str("a.py", &late), Ok(()));
    }
}
