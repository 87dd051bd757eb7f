//! `--diff REF`: keep only findings on lines changed since a git ref.
//!
//! The changed lines come from `git diff --unified=0 --relative REF` run in
//! the scan root (the working tree against `REF`, so uncommitted edits
//! count), plus every line of untracked files that git does not ignore.
//! A finding is kept when the line it starts on was added or changed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use thiserror::Error;

use crate::engine::Report;

/// `--diff` could not be computed. The CLI exits with 2.
#[derive(Debug, Error)]
pub enum DiffError {
    /// git is not installed or could not run.
    #[error("--diff needs git, which could not be run")]
    NoGit(#[source] std::io::Error),
    /// The scan root is not in a git work tree.
    #[error("--diff needs a git repository, and `{}` is not inside one", root.display())]
    NotARepository {
        /// The scan root.
        root: PathBuf,
    },
    /// The ref does not name a commit.
    #[error(
        "--diff: unknown git ref `{reference}` (fetch it first, e.g. `git fetch origin {reference}`, or check its spelling)"
    )]
    UnknownRef {
        /// The ref as given.
        reference: String,
    },
    /// git failed otherwise.
    #[error("--diff: `git {command}` failed: {stderr}")]
    Git {
        /// The git arguments.
        command: String,
        /// What git said.
        stderr: String,
    },
}

/// Added or changed lines per file (paths relative to the scan root).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangedLines {
    files: HashMap<String, Vec<(usize, usize)>>,
}

/// Every line of the file.
const WHOLE: (usize, usize) = (1, usize::MAX);

impl ChangedLines {
    /// Whether line `line` (1-based) of `path` was added or changed.
    pub fn contains(&self, path: &str, line: usize) -> bool {
        self.files
            .get(path)
            .is_some_and(|ranges| ranges.iter().any(|(a, b)| *a <= line && line <= *b))
    }

    /// The changed lines of `git diff --unified=0` output.
    pub fn parse(diff: &str) -> ChangedLines {
        let mut files: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        let mut current: Option<String> = None;
        for line in diff.lines() {
            if let Some(path) = line.strip_prefix("+++ ") {
                current = target_path(path);
            } else if let Some(hunk) = line.strip_prefix("@@ ")
                && let Some(file) = &current
                && let Some(range) = added_range(hunk)
            {
                files.entry(file.clone()).or_default().push(range);
            }
        }
        ChangedLines { files }
    }

    /// Marks every line of `path` as changed (an untracked file).
    pub fn add_whole_file(&mut self, path: &str) {
        self.files.insert(path.to_string(), vec![WHOLE]);
    }

    /// Removes the findings of `report` on unchanged lines; returns how
    /// many were removed.
    pub fn apply(&self, report: &mut Report) -> usize {
        let before = report.findings.len();
        report
            .findings
            .retain(|f| self.contains(&f.path, f.range.start.line));
        let hidden = before - report.findings.len();
        report.stats.outside_diff += hidden;
        hidden
    }
}

fn target_path(raw: &str) -> Option<String> {
    let raw = raw.trim_end_matches('\t');
    if raw == "/dev/null" {
        return None;
    }
    let unquoted = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => raw.to_string(),
    };
    Some(
        unquoted
            .strip_prefix("b/")
            .map_or(unquoted.clone(), str::to_string),
    )
}

/// `-a,b +c,d @@ …` → the new-side lines `c..=c+d-1`, none when `d` is 0.
fn added_range(hunk: &str) -> Option<(usize, usize)> {
    let plus = hunk.split_whitespace().find(|p| p.starts_with('+'))?;
    let plus = plus.trim_start_matches('+');
    let (start, count) = match plus.split_once(',') {
        Some((s, c)) => (s.parse::<usize>().ok()?, c.parse::<usize>().ok()?),
        None => (plus.parse::<usize>().ok()?, 1),
    };
    (count > 0).then(|| (start, start + count - 1))
}

fn git(root: &Path, args: &[&str]) -> Result<std::process::Output, DiffError> {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .output()
        .map_err(DiffError::NoGit)
}

/// The lines changed in the work tree at `root` since `reference`.
pub fn changed_lines(root: &Path, reference: &str) -> Result<ChangedLines, DiffError> {
    let inside = git(root, &["rev-parse", "--is-inside-work-tree"])?;
    if !inside.status.success() || String::from_utf8_lossy(&inside.stdout).trim() != "true" {
        return Err(DiffError::NotARepository {
            root: root.to_path_buf(),
        });
    }
    let commit = format!("{reference}^{{commit}}");
    let verify = git(root, &["rev-parse", "--verify", "--quiet", &commit])?;
    if !verify.status.success() || reference.starts_with('-') {
        return Err(DiffError::UnknownRef {
            reference: reference.to_string(),
        });
    }
    let args = [
        "diff",
        "--unified=0",
        "--no-color",
        "--no-ext-diff",
        "--relative",
        reference,
        "--",
    ];
    let out = git(root, &args)?;
    if !out.status.success() {
        return Err(DiffError::Git {
            command: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    let mut changed = ChangedLines::parse(&String::from_utf8_lossy(&out.stdout));
    let untracked = git(root, &["ls-files", "--others", "--exclude-standard"])?;
    if untracked.status.success() {
        for path in String::from_utf8_lossy(&untracked.stdout).lines() {
            changed.add_whole_file(path);
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hunks() {
        let diff = "diff --git a/a.py b/a.py\nindex 1..2 100644\n--- a/a.py\n+++ b/a.py\n@@ -3 +3 @@ def f():\n-x\n+y\n@@ -10,0 +11,2 @@\n+a\n+b\n@@ -20,3 +21,0 @@\n-gone\ndiff --git a/old.py b/old.py\n--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n--- a/\"q.py\"\n+++ \"b/sp ace.py\"\n@@ -0,0 +1 @@\n+z\n";
        let c = ChangedLines::parse(diff);
        assert!(c.contains("a.py", 3));
        assert!(!c.contains("a.py", 4));
        assert!(c.contains("a.py", 11) && c.contains("a.py", 12));
        assert!(!c.contains("a.py", 13) && !c.contains("a.py", 21));
        assert!(!c.contains("old.py", 1));
        assert!(c.contains("sp ace.py", 1));
    }
}
