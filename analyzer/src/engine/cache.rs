//! The result cache: what analyzing a file produced, kept between scans so
//! that a re-scan of unchanged files parses nothing.
//!
//! A cache directory (`.faultline_cache/` by default, beside the
//! configuration file or in the scan root) holds one file per faultline
//! version and *settings key*, e.g. `0.1.0-3f9a…e1.json`. The settings key
//! covers everything that changes what a file produces: the enabled rules,
//! the API models, the settle settings (suppressions, level overrides, risk
//! zones), the size limit, and the caller's [`Cache::with_context`] (the CLI
//! puts the configuration there, which is where user models come from). The
//! file's header also names the build (the running executable's size and
//! modification time), so a rebuilt faultline of the same version never
//! reuses results of the old one: a header that does not match is a miss
//! for every file.
//!
//! The file maps each file's path (relative to the cache directory's parent,
//! absolute when outside it) to the xxh3-128 hash of its contents, the path
//! it had relative to the scan root (rules and fingerprints see that one),
//! and what the scan produced for it: the settled findings with their
//! ranges, functions, zones and fingerprints, the notices, the suppressed
//! count and the size; or the reason it was skipped (binary, not UTF-8,
//! minified, generated). Files faultline crashed on, and unreadable files,
//! are not cached.
//!
//! The file is read once when a scan starts and written once when it ends,
//! only if something changed: new results, or entries of files that are gone
//! from the paths scanned. Writing merges with what is on disk then (so
//! scans of different parts of a repository keep each other's entries),
//! goes to a temporary file in the same directory and renames it over the
//! old one, so a reader never sees a torn file and of two concurrent scans
//! the last one wins. Anything unreadable or malformed is a miss, never an
//! error; a cache that cannot be written leaves one [`Cache::warning`].
//!
//! JSON keeps the file inspectable and needs no new dependency; a warm scan
//! of a 40,000-file repository loads it in tens of milliseconds.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use faultline_ir::Span;
use faultline_rules::{Finding, Level, Related, Rule};
use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::{xxh3_64, xxh3_128};

use super::analyze::{self, Analyzed, Job, Outcome};
use super::discover::{Candidate, SkipReason};
use super::{FileFinding, Fingerprints, Notice, NoticeKind, Position, Range, ScanOptions, Skipped};
use crate::config::SUPPRESSION_RULE;

/// The default cache directory's name.
pub const CACHE_DIR_NAME: &str = ".faultline_cache";

/// Bumped whenever what is stored changes shape or meaning.
const FORMAT: u32 = 1;

/// What marks the directory as a cache (<https://bford.info/cachedir/>).
const CACHEDIR_TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by faultline.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// Temporary files older than this are left-overs of a killed scan.
const STALE_TEMP: Duration = Duration::from_secs(3600);

/// Where and how a scan caches its results (see the module docs). Share it
/// with the scan through [`ScanOptions::cache`] and look at
/// [`Cache::warning`] afterwards.
#[derive(Debug, Default)]
pub struct Cache {
    dir: Option<PathBuf>,
    context: String,
    warning: Mutex<Option<String>>,
}

impl Cache {
    /// A cache in `dir`, or in `.faultline_cache` in the scan root when
    /// `None`.
    pub fn new(dir: Option<PathBuf>) -> Cache {
        Cache {
            dir,
            ..Cache::default()
        }
    }

    /// With `context` in the settings key: anything beyond [`ScanOptions`]
    /// that changes results. Callers that pass their own
    /// [`ScanOptions::models`] must describe them here (the CLI passes the
    /// configuration, which holds the user models).
    pub fn with_context(mut self, context: impl Into<String>) -> Cache {
        self.context = context.into();
        self
    }

    /// Why the last scan could not write the cache, if it could not.
    pub fn warning(&self) -> Option<String> {
        self.warning
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn warn(&self, message: String) {
        let mut w = self.warning.lock().unwrap_or_else(PoisonError::into_inner);
        if w.is_none() {
            *w = Some(message);
        }
    }

    /// The directory, for a scan of `root`.
    pub fn dir_for(&self, root: &Path) -> PathBuf {
        let dir = self
            .dir
            .clone()
            .unwrap_or_else(|| root.join(CACHE_DIR_NAME));
        fs::canonicalize(&dir)
            .or_else(|_| std::path::absolute(&dir))
            .unwrap_or(dir)
    }

    /// Loads the cache file for `options` (an empty one when there is none
    /// or it does not match).
    pub(crate) fn open(&self, options: &ScanOptions, root: &Path) -> Session<'_> {
        let dir = self.dir_for(root);
        let base = dir.parent().map_or_else(|| dir.clone(), Path::to_path_buf);
        let settings = settings_key(options, &self.context);
        let header = Header {
            format: FORMAT,
            version: env!("CARGO_PKG_VERSION").to_string(),
            build: build_id(),
            key: format!("{:032x}", xxh3_128(settings.as_bytes())),
        };
        let file = dir.join(format!(
            "{}-{:016x}.json",
            header.version,
            xxh3_64(settings.as_bytes())
        ));
        let entries = read_entries(&file, &header).unwrap_or_default();
        Session {
            cache: self,
            dir,
            base,
            file,
            header,
            entries,
        }
    }
}

/// One scan's use of the cache.
pub(crate) struct Session<'a> {
    cache: &'a Cache,
    dir: PathBuf,
    base: PathBuf,
    file: PathBuf,
    header: Header,
    entries: HashMap<String, Entry>,
}

/// What the cache did for one file.
pub(crate) struct Record {
    key: String,
    kind: RecordKind,
}

enum RecordKind {
    /// The outcome came from the cache.
    Hit,
    /// Analyzed now; this is what to store.
    Fresh(Entry),
    /// Analyzed now, not to be stored (a crash, an unreadable file).
    Uncached,
}

impl Record {
    /// Whether the outcome came from the cache.
    pub fn is_hit(&self) -> bool {
        matches!(self.kind, RecordKind::Hit)
    }
}

impl Session<'_> {
    /// [`analyze::process`], answered from the cache when the file has not
    /// changed.
    pub(crate) fn process(&self, file: &Candidate, job: &Job<'_>) -> (Outcome, Record) {
        let key = self.key_of(&file.path);
        let read = fs::read(&file.path);
        let Ok(bytes) = &read else {
            let outcome = analyze::process_read(file, read, job);
            return (
                outcome,
                Record {
                    key,
                    kind: RecordKind::Uncached,
                },
            );
        };
        let hash = xxh3_128(bytes);
        if let Some(entry) = self.entries.get(&key)
            && entry.hash == hash
            && entry.rel.as_deref().unwrap_or(&key) == file.rel
            && let Some(outcome) = entry.outcome.restore(file, bytes, job)
        {
            return (
                outcome,
                Record {
                    key,
                    kind: RecordKind::Hit,
                },
            );
        }
        let outcome = analyze::process_read(file, read, job);
        let kind = match Stored::of(&outcome) {
            Some(stored) => RecordKind::Fresh(Entry {
                rel: (file.rel != key).then(|| file.rel.clone()),
                hash,
                outcome: stored,
            }),
            None => RecordKind::Uncached,
        };
        (outcome, Record { key, kind })
    }

    /// The entry key of an absolute path.
    fn key_of(&self, path: &Path) -> String {
        match path.strip_prefix(&self.base) {
            Ok(rel) => {
                let parts: Vec<_> = rel.components().map(|c| c.as_os_str()).collect();
                let parts: Vec<_> = parts.iter().map(|p| p.to_string_lossy()).collect();
                parts.join("/")
            }
            Err(_) => path.to_string_lossy().into_owned(),
        }
    }

    fn abs_of(&self, key: &str) -> PathBuf {
        self.base.join(key)
    }

    /// Writes what changed, merged with what is on disk now. `scanned` are
    /// the absolute paths the scan was given: entries below them that the
    /// scan did not meet belong to files that are gone (or now excluded).
    pub(crate) fn finish(mut self, records: Vec<Record>, scanned: &[PathBuf]) {
        let seen: HashSet<&str> = records.iter().map(|r| r.key.as_str()).collect();
        let under_scanned = |abs: &Path| scanned.iter().any(|p| abs.starts_with(p));
        let stale = self
            .entries
            .keys()
            .any(|k| !seen.contains(k.as_str()) && under_scanned(&self.abs_of(k)));
        let changed = records.iter().any(|r| !r.is_hit());
        if !stale && !changed {
            return;
        }
        drop(seen);
        if let Err(e) = self.write(records, scanned) {
            self.cache.warn(format!(
                "cannot write the result cache in `{}` ({e}); this scan was not cached \
                 (--no-cache turns the cache off, --cache-dir moves it)",
                self.dir.display()
            ));
        }
    }

    fn write(&mut self, records: Vec<Record>, scanned: &[PathBuf]) -> io::Result<()> {
        prepare_dir(&self.dir)?;
        // Another scan may have written since this one started.
        let mut merged = read_entries(&self.file, &self.header).unwrap_or_default();
        let seen: HashSet<&str> = records.iter().map(|r| r.key.as_str()).collect();
        merged.retain(|k, _| {
            !seen.contains(k.as_str()) && !scanned.iter().any(|p| self.base.join(k).starts_with(p))
        });
        drop(seen);
        for record in records {
            match record.kind {
                RecordKind::Hit => {
                    if let Some(entry) = self.entries.remove(&record.key) {
                        merged.insert(record.key, entry);
                    }
                }
                RecordKind::Fresh(entry) => {
                    merged.insert(record.key, entry);
                }
                RecordKind::Uncached => {}
            }
        }
        write_atomically(&self.file, |out| {
            serde_json::to_writer(&mut *out, &self.header)?;
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut *out, &merged)?;
            Ok(())
        })
    }
}

/// Everything in [`ScanOptions`] that changes what a file produces, plus the
/// caller's context.
fn settings_key(options: &ScanOptions, context: &str) -> String {
    let mut key = String::new();
    let rules: Vec<&str> = options.rules.iter().map(|r| r.meta().id).collect();
    let _ = writeln!(key, "format={FORMAT}");
    let _ = writeln!(key, "rules={}", rules.join(","));
    let models = match &options.models {
        Some(m) => m.files.join(","),
        None => "builtin".to_string(),
    };
    let _ = writeln!(key, "models={models}");
    let s = &options.settings;
    let _ = writeln!(key, "suppressions={}", s.suppressions);
    let _ = writeln!(key, "levels={:?}", s.levels);
    let _ = writeln!(key, "zones={}", s.zones.describe());
    let _ = writeln!(key, "max_file_size={}", options.max_file_size);
    // Files the prefilter rules out have no syntax-error notices.
    let _ = writeln!(key, "prefilter={}", options.prefilter);
    let _ = writeln!(key, "context={context}");
    key
}

/// Which faultline executable this is: a rebuild of the same version must
/// not reuse the old build's results.
fn build_id() -> String {
    let meta = std::env::current_exe().and_then(fs::metadata);
    match meta {
        Ok(m) => {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}-{modified}", m.len())
        }
        Err(_) => "unknown".to_string(),
    }
}

fn read_entries(file: &Path, header: &Header) -> Option<HashMap<String, Entry>> {
    let bytes = fs::read(file).ok()?;
    let newline = bytes.iter().position(|b| *b == b'\n')?;
    let (head, body) = bytes.split_at(newline);
    let found: Header = serde_json::from_slice(head).ok()?;
    if &found != header {
        return None;
    }
    serde_json::from_slice(body.get(1..)?).ok()
}

/// Creates the directory with its `.gitignore` and `CACHEDIR.TAG`.
fn prepare_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    for (name, contents) in [
        (".gitignore", "# Created by faultline.\n*\n"),
        ("CACHEDIR.TAG", CACHEDIR_TAG),
    ] {
        let path = dir.join(name);
        if !path.exists() {
            write_atomically(&path, |out| out.write_all(contents.as_bytes()))?;
        }
    }
    remove_stale_temps(dir);
    Ok(())
}

/// Writes `path` through a temporary file in its directory renamed over it.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<fs::File>) -> io::Result<()>,
) -> io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "cache".into(), |n| n.to_string_lossy().into_owned());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let temp = path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.into_inner().map_err(io::IntoInnerError::into_error)?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".tmp") {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_TEMP);
        if old {
            let _ = fs::remove_file(entry.path());
        }
    }
}

// The stored form.

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    format: u32,
    version: String,
    build: String,
    key: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    /// The path relative to the scan root, when it is not the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rel: Option<String>,
    hash: u128,
    outcome: Stored,
}

#[derive(Debug, Serialize, Deserialize)]
enum Stored {
    Analyzed(StoredAnalyzed),
    Skipped(StoredSkip),
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredAnalyzed {
    bytes: u64,
    #[serde(default, skip_serializing_if = "is_zero")]
    suppressed: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    findings: Vec<StoredFinding>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notices: Vec<StoredNotice>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    prefiltered: bool,
}

#[derive(Debug, Serialize, Deserialize)]
enum StoredSkip {
    Binary,
    NotUtf8(usize),
    Minified(String),
    Generated(String),
}

/// `[span start, span end, start line, column, UTF-16 column, end line,
/// column, UTF-16 column]`.
type StoredRange = [u64; 8];

#[derive(Debug, Serialize, Deserialize)]
struct StoredFinding {
    rule: String,
    level: String,
    span: [u32; 2],
    message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    help: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    related: Vec<StoredRelated>,
    range: StoredRange,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    function: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    zones: Vec<String>,
    v1: String,
    line_hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredRelated {
    span: [u32; 2],
    message: String,
    range: StoredRange,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredNotice {
    kind: String,
    position: Option<[usize; 3]>,
    message: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Stored {
    /// What to keep of an outcome; `None` for what is not cached.
    fn of(outcome: &Outcome) -> Option<Stored> {
        match outcome {
            Outcome::Analyzed(a) => Some(Stored::Analyzed(StoredAnalyzed {
                bytes: a.bytes,
                suppressed: a.suppressed,
                findings: a.findings.iter().map(StoredFinding::of).collect(),
                notices: a.notices.iter().map(StoredNotice::of).collect(),
                prefiltered: a.prefiltered,
            })),
            Outcome::Skipped(s) => Some(Stored::Skipped(match &s.reason {
                SkipReason::Binary => StoredSkip::Binary,
                SkipReason::NotUtf8 { offset } => StoredSkip::NotUtf8(*offset),
                SkipReason::Minified(why) => StoredSkip::Minified(why.clone()),
                SkipReason::Generated(why) => StoredSkip::Generated(why.clone()),
                _ => return None,
            })),
            Outcome::Failed(_) => None,
        }
    }

    /// The outcome again, for `file` whose contents are `bytes`; `None` when
    /// the entry does not make sense any more (a miss).
    fn restore(&self, file: &Candidate, bytes: &[u8], job: &Job<'_>) -> Option<Outcome> {
        let rel = &file.rel;
        match self {
            Stored::Skipped(skip) => Some(Outcome::Skipped(Skipped {
                path: rel.clone(),
                reason: match skip {
                    StoredSkip::Binary => SkipReason::Binary,
                    StoredSkip::NotUtf8(offset) => SkipReason::NotUtf8 { offset: *offset },
                    StoredSkip::Minified(why) => SkipReason::Minified(why.clone()),
                    StoredSkip::Generated(why) => SkipReason::Generated(why.clone()),
                },
            })),
            Stored::Analyzed(a) => {
                let findings = a
                    .findings
                    .iter()
                    .map(|f| f.restore(rel, job.rules))
                    .collect::<Option<Vec<_>>>()?;
                let notices = a
                    .notices
                    .iter()
                    .map(|n| n.restore(rel))
                    .collect::<Option<Vec<_>>>()?;
                let source = if job.keep_source && !findings.is_empty() {
                    let text = std::str::from_utf8(bytes).ok()?;
                    Some((rel.clone(), analyze::source_text(text).into_owned()))
                } else {
                    None
                };
                Some(Outcome::Analyzed(Analyzed {
                    findings,
                    notices,
                    bytes: a.bytes,
                    suppressed: a.suppressed,
                    source,
                    prefiltered: a.prefiltered,
                }))
            }
        }
    }
}

fn store_range(r: &Range) -> StoredRange {
    let n = |v: usize| v as u64;
    [
        u64::from(r.span.start),
        u64::from(r.span.end),
        n(r.start.line),
        n(r.start.column),
        n(r.start.utf16_column),
        n(r.end.line),
        n(r.end.column),
        n(r.end.utf16_column),
    ]
}

fn restore_range(r: &StoredRange) -> Option<Range> {
    let u = |v: u64| usize::try_from(v).ok();
    let [s0, s1, l0, c0, u0, l1, c1, u1] = *r;
    Some(Range {
        span: Span {
            start: u32::try_from(s0).ok()?,
            end: u32::try_from(s1).ok()?,
        },
        start: Position {
            line: u(l0)?,
            column: u(c0)?,
            utf16_column: u(u0)?,
        },
        end: Position {
            line: u(l1)?,
            column: u(c1)?,
            utf16_column: u(u1)?,
        },
    })
}

fn level_of(name: &str) -> Option<Level> {
    [Level::Note, Level::Warning, Level::Error]
        .into_iter()
        .find(|l| l.as_str() == name)
}

/// The `&'static` id of a rule: one of the scan's, a registered one, or the
/// suppression pseudo-rule.
fn rule_id(id: &str, rules: &[&'static dyn Rule]) -> Option<&'static str> {
    if id == SUPPRESSION_RULE {
        return Some(SUPPRESSION_RULE);
    }
    rules
        .iter()
        .map(|r| r.meta().id)
        .find(|r| *r == id)
        .or_else(|| faultline_rules::find_rule(id).map(|r| r.meta().id))
}

impl StoredFinding {
    fn of(f: &FileFinding) -> StoredFinding {
        StoredFinding {
            rule: f.finding.rule.to_string(),
            level: f.finding.level.as_str().to_string(),
            span: [f.finding.span.start, f.finding.span.end],
            message: f.finding.message.clone(),
            help: f.finding.help.clone(),
            related: f
                .finding
                .related
                .iter()
                .zip(&f.related)
                .map(|(r, range)| StoredRelated {
                    span: [r.span.start, r.span.end],
                    message: r.message.clone(),
                    range: store_range(range),
                })
                .collect(),
            range: store_range(&f.range),
            function: f.function.clone(),
            zones: f.zones.clone(),
            v1: f.fingerprints.v1.clone(),
            line_hash: f.fingerprints.line_hash.clone(),
        }
    }

    fn restore(&self, rel: &str, rules: &[&'static dyn Rule]) -> Option<FileFinding> {
        let span = |[start, end]: [u32; 2]| Span { start, end };
        let related = self
            .related
            .iter()
            .map(|r| {
                Some((
                    Related {
                        span: span(r.span),
                        message: r.message.clone(),
                    },
                    restore_range(&r.range)?,
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        let (related, ranges): (Vec<Related>, Vec<Range>) = related.into_iter().unzip();
        Some(FileFinding {
            path: rel.to_string(),
            finding: Finding {
                rule: rule_id(&self.rule, rules)?,
                level: level_of(&self.level)?,
                span: span(self.span),
                message: self.message.clone(),
                help: self.help.clone(),
                related,
            },
            range: restore_range(&self.range)?,
            related: ranges,
            function: self.function.clone(),
            zones: self.zones.clone(),
            fingerprints: Fingerprints {
                v1: self.v1.clone(),
                line_hash: self.line_hash.clone(),
            },
        })
    }
}

const NOTICE_KINDS: [NoticeKind; 4] = [
    NoticeKind::SyntaxError,
    NoticeKind::ParseFailure,
    NoticeKind::InternalError,
    NoticeKind::Discovery,
];

impl StoredNotice {
    fn of(n: &Notice) -> StoredNotice {
        StoredNotice {
            kind: n.kind.as_str().to_string(),
            position: n.position.map(|p| [p.line, p.column, p.utf16_column]),
            message: n.message.clone(),
        }
    }

    fn restore(&self, rel: &str) -> Option<Notice> {
        Some(Notice {
            path: rel.to_string(),
            kind: NOTICE_KINDS.into_iter().find(|k| k.as_str() == self.kind)?,
            position: self.position.map(|[line, column, utf16_column]| Position {
                line,
                column,
                utf16_column,
            }),
            message: self.message.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_json() {
        let entry = Entry {
            rel: Some("src/a.py".to_string()),
            hash: u128::MAX - 7,
            outcome: Stored::Skipped(StoredSkip::NotUtf8(3)),
        };
        let mut map = HashMap::new();
        map.insert("a/src/a.py".to_string(), entry);
        let text = serde_json::to_string(&map).unwrap();
        let back: HashMap<String, Entry> = serde_json::from_str(&text).unwrap();
        let e = &back["a/src/a.py"];
        assert_eq!(e.hash, u128::MAX - 7);
        assert_eq!(e.rel.as_deref(), Some("src/a.py"));
        assert!(matches!(e.outcome, Stored::Skipped(StoredSkip::NotUtf8(3))));
    }

    #[test]
    fn ranges_round_trip() {
        let r = Range {
            span: Span { start: 3, end: 9 },
            start: Position {
                line: 2,
                column: 4,
                utf16_column: 3,
            },
            end: Position {
                line: 2,
                column: 10,
                utf16_column: 8,
            },
        };
        assert_eq!(restore_range(&store_range(&r)), Some(r));
        let mut bad = store_range(&r);
        bad[0] = u64::MAX;
        assert_eq!(restore_range(&bad), None);
    }

    #[test]
    fn a_mismatched_or_torn_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        let header = Header {
            format: FORMAT,
            version: "1".into(),
            build: "b".into(),
            key: "k".into(),
        };
        let mut text = serde_json::to_string(&header).unwrap();
        text.push_str("\n{}");
        fs::write(&file, &text).unwrap();
        assert_eq!(read_entries(&file, &header).map(|m| m.len()), Some(0));
        let other = Header {
            build: "c".into(),
            ..header
        };
        assert!(read_entries(&file, &other).is_none());
        let header = Header {
            build: "b".into(),
            ..other
        };
        fs::write(&file, &text[..text.len() - 1]).unwrap();
        assert!(read_entries(&file, &header).is_none());
    }
}
