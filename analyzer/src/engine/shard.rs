//! `--shard K/N`: one of N disjoint parts of a scan, so that a CI matrix can
//! scan a large repository in parallel and `faultline merge` the SARIF logs.
//!
//! A file belongs to shard `K` of `N` when
//! `fmix64(fnv1a64(path)) % N == K - 1`, where `path` is the file's path
//! relative to the scan root with `/` separators (what reports show),
//! `fnv1a64` is 64-bit FNV-1a over its UTF-8 bytes and `fmix64` is
//! MurmurHash3's 64-bit finalizer (which spreads FNV's weak low bits). Both
//! are fixed algorithms, so the split is the same on every machine, OS and
//! faultline release, whatever the number of threads or the walk order; a
//! file keeps its shard as long as its path and `N` stay the same.
//!
//! The split happens right after discovery, before any file is read: every
//! discovered file — analyzed, or skipped with its reason — and every
//! discovery notice is in exactly one shard.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use super::discover::Discovery;

/// One part of a sharded scan: shard `index` (1-based) of `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

/// Why a `K/N` shard is invalid.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ShardError {
    /// Not of the form `K/N` with two whole numbers.
    #[error("`{0}` is not of the form K/N (two whole numbers, as in `--shard 2/4`)")]
    Syntax(String),
    /// `N` is zero.
    #[error("`{0}`: the number of shards must be at least 1")]
    NoShards(String),
    /// `K` is not between 1 and `N`.
    #[error("`{spec}`: the shard must be between 1 and {count}")]
    OutOfRange {
        /// The shard as written.
        spec: String,
        /// `N`.
        count: u32,
    },
}

impl Shard {
    /// Shard `index` (1-based) of `count`; `1 <= index <= count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        let spec = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardError::NoShards(spec));
        }
        if index == 0 || index > count {
            return Err(ShardError::OutOfRange { spec, count });
        }
        Ok(Shard { index, count })
    }

    /// `K`, 1-based.
    pub fn index(self) -> u32 {
        self.index
    }

    /// `N`.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The 0-based shard a path (relative to the scan root, `/`-separated)
    /// belongs to when there are `count` shards (`count >= 1`).
    pub fn of(path: &str, count: u32) -> u32 {
        let bucket = fmix64(fnv1a64(path.as_bytes())) % u64::from(count.max(1));
        // `bucket < count <= u32::MAX`.
        u32::try_from(bucket).unwrap_or(0)
    }

    /// Whether this shard holds the file at `path` (relative to the scan
    /// root, `/`-separated).
    pub fn contains(self, path: &str) -> bool {
        Shard::of(path, self.count) == self.index - 1
    }

    /// Keeps what this shard holds: its files, skipped files and notices.
    pub fn select(self, mut discovery: Discovery) -> Discovery {
        discovery.files.retain(|c| self.contains(&c.rel));
        discovery.skipped.retain(|s| self.contains(&s.path));
        discovery.notices.retain(|n| self.contains(&n.path));
        discovery
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// Parses `K/N` (spaces around the numbers are allowed).
    fn from_str(s: &str) -> Result<Shard, ShardError> {
        let syntax = || ShardError::Syntax(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(syntax)?;
        let number = |part: &str| -> Result<u32, ShardError> {
            let part = part.trim();
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(syntax());
            }
            part.parse::<u32>().map_err(|_| syntax())
        };
        let (index, count) = (number(k)?, number(n)?);
        if count == 0 {
            return Err(ShardError::NoShards(s.to_string()));
        }
        if index == 0 || index > count {
            return Err(ShardError::OutOfRange {
                spec: s.to_string(),
                count,
            });
        }
        Ok(Shard { index, count })
    }
}

/// 64-bit FNV-1a.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

/// MurmurHash3's 64-bit finalizer: every input bit affects every output bit.
fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::discover::Candidate;
    use crate::engine::{Notice, NoticeKind, SkipReason, Skipped};

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn the_split_is_pinned() {
        // A change here moves files between shards for every user: the
        // algorithm is part of the interface.
        let shards: Vec<u32> = ["src/app.py", "src/lib.rs", "web/index.ts", "a", ""]
            .iter()
            .map(|p| Shard::of(p, 3))
            .collect();
        assert_eq!(shards, PINNED);
    }
    const PINNED: [u32; 5] = [1, 1, 1, 2, 2];

    #[test]
    fn parses_k_of_n() {
        assert_eq!("2/3".parse(), Shard::new(2, 3));
        assert_eq!(" 1 / 1 ".parse(), Shard::new(1, 1));
        assert_eq!(
            "3/3".parse::<Shard>().map(|s| s.to_string()),
            Ok("3/3".into())
        );
    }

    #[test]
    fn rejects_bad_shards() {
        for bad in [
            "",
            "3",
            "/3",
            "1/",
            "a/b",
            "-1/3",
            "+1/3",
            "1/3/5",
            "1.5/3",
            "99999999999/3",
        ] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err(ShardError::Syntax(bad.to_string())),
                "{bad:?}"
            );
        }
        assert_eq!(
            "0/0".parse::<Shard>(),
            Err(ShardError::NoShards("0/0".into()))
        );
        for bad in ["0/3", "4/3"] {
            assert_eq!(
                bad.parse::<Shard>(),
                Err(ShardError::OutOfRange {
                    spec: bad.into(),
                    count: 3
                })
            );
        }
        assert!(Shard::new(0, 2).is_err());
        assert!(Shard::new(3, 2).is_err());
        assert!(Shard::new(1, 0).is_err());
        let message = "4/3".parse::<Shard>().map_err(|e| e.to_string());
        assert_eq!(
            message,
            Err("`4/3`: the shard must be between 1 and 3".into())
        );
    }

    #[test]
    fn every_path_is_in_exactly_one_shard_and_shards_are_balanced() {
        let paths: Vec<String> = (0..3_000)
            .map(|i| format!("services/svc{}/src/module_{i}.py", i % 17))
            .collect();
        for count in [1, 2, 3, 4, 7] {
            let shards: Vec<Shard> = (1..=count).map(|k| Shard::new(k, count).unwrap()).collect();
            let mut sizes = vec![0usize; shards.len()];
            for path in &paths {
                let holders: Vec<usize> = shards
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.contains(path))
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(holders.len(), 1, "{path} in {holders:?} of {count}");
                sizes[holders[0]] += 1;
            }
            let expected = paths.len() / count as usize;
            for size in sizes {
                // Within 15% of an even split.
                assert!(
                    size.abs_diff(expected) * 100 <= expected * 15,
                    "{size} vs {expected}"
                );
            }
        }
    }

    #[test]
    fn select_keeps_files_skips_and_notices_of_the_shard() {
        let paths: Vec<String> = (0..60).map(|i| format!("d/f{i}.py")).collect();
        let discovery = || Discovery {
            files: paths
                .iter()
                .map(|p| Candidate {
                    path: p.into(),
                    rel: p.clone(),
                    lang: faultline_grammars::Lang::Python,
                })
                .collect(),
            skipped: paths
                .iter()
                .map(|p| Skipped {
                    path: format!("{p}.big"),
                    reason: SkipReason::Binary,
                })
                .collect(),
            notices: paths
                .iter()
                .map(|p| Notice {
                    path: p.clone(),
                    kind: NoticeKind::Discovery,
                    position: None,
                    message: String::new(),
                })
                .collect(),
        };
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        let mut notices = 0;
        for k in 1..=3 {
            let shard = Shard::new(k, 3).unwrap();
            let part = shard.select(discovery());
            assert!(!part.files.is_empty());
            assert!(part.files.iter().all(|c| shard.contains(&c.rel)));
            files.extend(part.files.into_iter().map(|c| c.rel));
            skipped.extend(part.skipped.into_iter().map(|s| s.path));
            notices += part.notices.len();
        }
        files.sort();
        skipped.sort();
        let mut all = paths.clone();
        all.sort();
        assert_eq!(files, all);
        let mut all_skipped: Vec<String> = paths.iter().map(|p| format!("{p}.big")).collect();
        all_skipped.sort();
        assert_eq!(skipped, all_skipped);
        assert_eq!(notices, paths.len());
    }
}
