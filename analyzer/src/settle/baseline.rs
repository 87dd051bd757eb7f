//! Baselines: the fingerprints of accepted findings, so that a team adopts
//! faultline on an old codebase without fixing its history first.
//!
//! `faultline scan --write-baseline FILE` writes every current finding;
//! `faultline scan --baseline FILE` then hides the findings whose
//! `faultline/v1` fingerprint is in the file and reports the rest. The file
//! is JSON, meant to be committed:
//!
//! ```json
//! {
//!   "version": 1,
//!   "fingerprint": "faultline/v1",
//!   "findings": [
//!     { "fingerprint": "5f0c…e1:1", "rule": "external-call/missing-timeout",
//!       "path": "app/client.py", "line": 12, "message": "…" }
//!   ]
//! }
//! ```
//!
//! Only `fingerprint` is used to match; `rule`, `path`, `line` and `message`
//! are there for reviewers of the file. A baseline of another `version` or
//! `fingerprint` kind is refused with an error, never silently ignored.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::fingerprint::V1;
use crate::engine::Report;

/// The version of the baseline file format.
pub const BASELINE_VERSION: u32 = 1;

/// A baseline file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_VERSION`].
    pub version: u32,
    /// The fingerprint kind the entries hold ([`V1`]).
    pub fingerprint: String,
    /// The accepted findings.
    pub findings: Vec<Entry>,
}

/// One accepted finding.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its `faultline/v1` fingerprint.
    pub fingerprint: String,
    /// The rule id.
    pub rule: String,
    /// The path relative to the scan root.
    pub path: String,
    /// The line when the baseline was written.
    pub line: usize,
    /// The message when the baseline was written.
    pub message: String,
}

/// A baseline could not be read.
#[derive(Debug, Error)]
pub enum BaselineError {
    /// Reading failed.
    #[error("cannot read the baseline `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not a baseline this version understands.
    #[error("invalid baseline `{}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Baseline {
    /// The baseline of every finding of a report.
    pub fn of(report: &Report) -> Baseline {
        Baseline {
            version: BASELINE_VERSION,
            fingerprint: V1.to_string(),
            findings: report
                .findings
                .iter()
                .map(|f| Entry {
                    fingerprint: f.fingerprints.v1.clone(),
                    rule: f.finding.rule.to_string(),
                    path: f.path.clone(),
                    line: f.range.start.line,
                    message: f.finding.message.clone(),
                })
                .collect(),
        }
    }

    /// Reads and checks a baseline file.
    pub fn read(path: &Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let invalid = |message: String| BaselineError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let baseline: Baseline = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if baseline.version != BASELINE_VERSION {
            return Err(invalid(format!(
                "version {} is not supported (this faultline reads version {BASELINE_VERSION})",
                baseline.version
            )));
        }
        if baseline.fingerprint != V1 {
            return Err(invalid(format!(
                "fingerprint kind `{}` is not supported (expected `{V1}`)",
                baseline.fingerprint
            )));
        }
        Ok(baseline)
    }

    /// The baseline as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Removes the findings of `report` that the baseline accepts; returns
    /// how many were removed.
    pub fn apply(&self, report: &mut Report) -> usize {
        let known: HashSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let before = report.findings.len();
        report
            .findings
            .retain(|f| !known.contains(f.fingerprints.v1.as_str()));
        let hidden = before - report.findings.len();
        report.stats.baselined += hidden;
        hidden
    }
}
