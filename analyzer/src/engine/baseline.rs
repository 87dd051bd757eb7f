//! The parse-only baseline the benchmark compares a scan against: the same
//! discovery, reading, skip rules and worker pool as [`super::scan`], then a
//! tree-sitter parse of every file and nothing else (`faultline debug
//! parse`). A scan that beats it is faster than parsing everything.

use std::time::{Duration, Instant};

use rayon::prelude::*;

use super::discover::classify;
use super::{Error, ScanOptions, Setup, setup};

/// What a parse-only pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ParseStats {
    /// Files parsed.
    pub files: usize,
    /// Bytes parsed.
    pub bytes: u64,
    /// Files skipped (by discovery, or when read).
    pub skipped: usize,
    /// Files whose tree has syntax errors.
    pub with_errors: usize,
    /// Wall time.
    pub elapsed: Duration,
}

/// Discovers and parses every file `options` would scan; runs no rule.
pub fn parse_all(options: &ScanOptions) -> Result<ParseStats, Error> {
    let started = Instant::now();
    let Setup {
        discovery, pool, ..
    } = setup(options)?;
    // (parsed, bytes, has errors)
    let parsed: Vec<Option<(u64, bool)>> = pool.install(|| {
        discovery
            .files
            .par_iter()
            .map(|file| {
                let bytes = std::fs::read(&file.path).ok()?;
                let text = classify(&file.path, &bytes).ok()?;
                let tree = faultline_grammars::parse(file.lang, text).ok()?;
                Some((text.len() as u64, tree.root_node().has_error()))
            })
            .collect()
    });
    let mut stats = ParseStats {
        skipped: discovery.skipped.len(),
        ..ParseStats::default()
    };
    for p in parsed {
        match p {
            Some((bytes, errors)) => {
                stats.files += 1;
                stats.bytes += bytes;
                stats.with_errors += usize::from(errors);
            }
            None => stats.skipped += 1,
        }
    }
    stats.elapsed = started.elapsed();
    Ok(stats)
}
