//! `faultline merge`: joins the SARIF logs of a sharded scan
//! (`faultline scan --shard K/N -f sarif`) into one log with one run, as one
//! scan of everything would have written it.
//!
//! - `tool.driver`: the first log's, with the rules of all logs (deduplicated
//!   by id, sorted by id with `faultline/suppression` last, as a scan sorts
//!   them) and the union of the notification descriptors;
//! - `results`: all of them, each `ruleIndex` pointing into the merged rules,
//!   exact duplicates dropped, sorted as a scan sorts findings (path, line,
//!   column, rule, message), at most [`sarif::MAX_RESULTS`] (the most severe
//!   are kept, as a scan does);
//! - one invocation: `executionSuccessful` only when every input's was, and
//!   the tool execution (and configuration) notifications of all logs, sorted
//!   as a scan sorts them (skipped files by path, then notices);
//! - `artifacts`, when present, deduplicated by location;
//! - `originalUriBaseIds`, `columnKind` and `automationDetails` of the first
//!   log. Logs of different categories are refused; different scan roots are
//!   a warning (paths stay relative to `%SRCROOT%`).
//!
//! Refused, with exit code 2: unreadable files, files that are not SARIF
//! 2.1.0, logs of another tool, and logs of different faultline versions.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::{Value, json};
use serde_sarif::sarif::{
    Artifact, Invocation, Notification, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Run, Sarif as SarifLog,
};

use super::{note, write_file};
use crate::ExitStatus;
use crate::config::SUPPRESSION_RULE;
use crate::report::{TOOL_NAME, sarif};

const AFTER_HELP: &str = "\
Joins the SARIF logs of `faultline scan --shard K/N -f sarif` into one log with
one run, as a scan of everything would have written it: the rules of all logs
(by id), every result (its ruleIndex re-pointed, sorted as a scan sorts them),
one invocation with every tool notification (successful only if all were).

Every input must be a SARIF 2.1.0 log written by faultline, all of one faultline
version (and one --sarif-category); otherwise nothing is written (exit 2).

Examples:
  faultline merge shard-1.sarif shard-2.sarif shard-3.sarif -o faultline.sarif
  faultline merge sarif/*.sarif > faultline.sarif";

/// Arguments of `faultline merge`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct MergeArgs {
    /// The SARIF logs to join (written by `faultline scan -f sarif`).
    #[arg(value_name = "SARIF", required = true)]
    pub inputs: Vec<PathBuf>,

    /// Write the merged log to FILE instead of stdout (parent directories are created).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `faultline merge`, writing the log to `--output` or `stdout`.
pub fn run(args: &MergeArgs, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let mut logs = Vec::with_capacity(args.inputs.len());
    for path in &args.inputs {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        logs.push(parse(&path.display().to_string(), &text)?);
    }
    let merged = merge(logs)?;
    for warning in &merged.warnings {
        note(&format!("warning: {warning}"));
    }
    let write = |out: &mut dyn Write| -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &merged.log)?;
        writeln!(out)
    };
    match &args.output {
        Some(path) => write_file(path, write)
            .with_context(|| format!("cannot write the merged log to `{}`", path.display()))?,
        None => write(stdout)?,
    }
    Ok(ExitStatus::Success)
}

/// One input log: its name (for messages) and its contents.
#[derive(Debug)]
pub struct Input {
    /// The file name, as given.
    pub name: String,
    /// The log.
    pub log: SarifLog,
    /// The faultline version that wrote it.
    pub version: String,
}

/// Checks that `text` is a SARIF 2.1.0 log written by faultline and reads it.
/// `name` names it in errors.
pub fn parse(name: &str, text: &str) -> anyhow::Result<Input> {
    let value: Value = serde_json::from_str(text)
        .with_context(|| format!("`{name}` is not a SARIF log: it is not valid JSON"))?;
    if value.get("version").and_then(Value::as_str) != Some("2.1.0") {
        let found = match value.get("version") {
            Some(v) => format!("its version is {v}"),
            None => "it has no `version`".to_string(),
        };
        bail!("`{name}` is not a SARIF 2.1.0 log: {found}");
    }
    let Some(runs) = value.get("runs").and_then(Value::as_array) else {
        bail!("`{name}` is not a SARIF 2.1.0 log: it has no `runs` array");
    };
    if runs.is_empty() {
        bail!("`{name}` has no run to merge");
    }
    let mut version: Option<String> = None;
    for run in runs {
        let driver = run.pointer("/tool/driver");
        let tool = driver.and_then(|d| d.get("name")).and_then(Value::as_str);
        if tool != Some(TOOL_NAME) {
            let by = tool.map_or_else(|| "an unnamed tool".to_string(), |t| format!("`{t}`"));
            bail!("`{name}` was written by {by}, not faultline; `merge` joins faultline logs only");
        }
        let Some(v) = driver
            .and_then(|d| d.get("version"))
            .and_then(Value::as_str)
        else {
            bail!(
                "`{name}` does not say which faultline version wrote it (no tool.driver.version)"
            );
        };
        match &version {
            Some(first) if first != v => {
                bail!("`{name}` holds runs of faultline {first} and {v}; merge logs of one version")
            }
            _ => version = Some(v.to_string()),
        }
    }
    let log: SarifLog = serde_json::from_value(value)
        .with_context(|| format!("`{name}` is not a valid SARIF 2.1.0 log"))?;
    Ok(Input {
        name: name.to_string(),
        log,
        version: version.unwrap_or_default(),
    })
}

/// A merged log, and what the user should know about it.
#[derive(Debug)]
pub struct Merged {
    /// The log, with one run.
    pub log: SarifLog,
    /// Problems that did not stop the merge.
    pub warnings: Vec<String>,
}

/// Merges faultline logs (see the module documentation).
pub fn merge(inputs: Vec<Input>) -> anyhow::Result<Merged> {
    let Some(first) = inputs.first() else {
        bail!("no SARIF log to merge");
    };
    for input in &inputs {
        if input.version != first.version {
            bail!(
                "`{}` is from faultline {} but `{}` is from faultline {}; merge logs of one \
                 faultline version (scan every shard with the same faultline)",
                input.name,
                input.version,
                first.name,
                first.version
            );
        }
    }
    let mut warnings = Vec::new();
    let runs: Vec<(String, Run)> = inputs
        .into_iter()
        .flat_map(|input| {
            let name = input.name;
            input
                .log
                .runs
                .into_iter()
                .map(move |run| (name.clone(), run))
        })
        .collect();
    let Some((first_name, first_run)) = runs.first() else {
        bail!("no run to merge");
    };

    // One category: the merged run is one analysis.
    let category = |run: &Run| run.automation_details.as_ref().and_then(|d| d.id.clone());
    for (name, run) in &runs {
        if category(run) != category(first_run) {
            let show =
                |c: Option<String>| c.map_or_else(|| "none".to_string(), |c| format!("`{c}`"));
            bail!(
                "`{name}` has the category {} but `{first_name}` has {}; merge the shards of \
                 one analysis (scan them with the same --sarif-category)",
                show(category(run)),
                show(category(first_run))
            );
        }
    }
    let root = |run: &Run| {
        run.original_uri_base_ids
            .as_ref()
            .and_then(|ids| ids.get(sarif::SRCROOT))
            .and_then(|loc| loc.uri.clone())
    };
    if let Some((name, run)) = runs.iter().find(|(_, run)| root(run) != root(first_run)) {
        warnings.push(format!(
            "`{name}` was scanned in {} but `{first_name}` in {}; the merged log keeps the \
             first root, and paths relative to each scan root",
            root(run).unwrap_or_else(|| "an unknown root".into()),
            root(first_run).unwrap_or_else(|| "an unknown root".into()),
        ));
    }

    // The rules: the union by id, in a scan's order.
    let mut rules: BTreeMap<String, ReportingDescriptor> = BTreeMap::new();
    let mut notification_descriptors: Vec<ReportingDescriptor> = Vec::new();
    for (_, run) in &runs {
        for rule in run.tool.driver.rules.iter().flatten() {
            rules.entry(rule.id.clone()).or_insert_with(|| rule.clone());
        }
        for descriptor in run.tool.driver.notifications.iter().flatten() {
            if !notification_descriptors
                .iter()
                .any(|d| d.id == descriptor.id)
            {
                notification_descriptors.push(descriptor.clone());
            }
        }
    }
    let suppression = rules.remove(SUPPRESSION_RULE);
    let rules: Vec<ReportingDescriptor> = rules.into_values().chain(suppression).collect();
    let index_of: BTreeMap<&str, i64> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i64::try_from(i).unwrap_or(i64::MAX)))
        .collect();

    let mut results: Vec<SarifResult> = Vec::new();
    let mut notifications: Vec<Notification> = Vec::new();
    let mut configuration: Vec<Notification> = Vec::new();
    let mut artifacts: Vec<Artifact> = Vec::new();
    let mut successful = true;
    for (name, run) in &runs {
        let old_rules = run.tool.driver.rules.as_deref().unwrap_or_default();
        for result in run.results.iter().flatten() {
            let id = result
                .rule_id
                .clone()
                .or_else(|| result.rule.as_ref().and_then(|r| r.id.clone()))
                .or_else(|| {
                    let i = usize::try_from(result.rule_index?).ok()?;
                    old_rules.get(i).map(|r| r.id.clone())
                });
            let Some(index) = id.as_deref().and_then(|id| index_of.get(id).copied()) else {
                bail!(
                    "`{name}` has a result whose rule is not among its rules ({}); it is not a \
                     log faultline wrote",
                    id.as_deref().unwrap_or("no ruleId")
                );
            };
            let mut result = result.clone();
            result.rule_id = id;
            result.rule_index = Some(index);
            if let Some(rule) = &mut result.rule {
                rule.index = Some(index);
            }
            results.push(result);
        }
        for invocation in run.invocations.iter().flatten() {
            successful &= invocation.execution_successful;
            notifications.extend(
                invocation
                    .tool_execution_notifications
                    .iter()
                    .flatten()
                    .cloned(),
            );
            configuration.extend(
                invocation
                    .tool_configuration_notifications
                    .iter()
                    .flatten()
                    .cloned(),
            );
        }
        artifacts.extend(run.artifacts.iter().flatten().cloned());
    }

    dedup_by_json(&mut results);
    results.sort_by_cached_key(result_key);
    let dropped = cap(&mut results);
    if dropped > 0 {
        warnings.push(format!(
            "the shards hold more than GitHub's limit of {} results per SARIF run; the merged \
             log keeps the {} most severe and leaves out {dropped}",
            sarif::MAX_RESULTS,
            sarif::MAX_RESULTS
        ));
    }
    dedup_by_json(&mut notifications);
    notifications.sort_by_cached_key(notification_key);
    dedup_by_json(&mut configuration);
    let mut seen = HashSet::new();
    artifacts.retain(|a| {
        let location = a
            .location
            .as_ref()
            .map(|l| (l.uri.clone(), l.uri_base_id.clone()));
        location.is_none() || seen.insert(location)
    });

    let mut run = first_run.clone();
    run.tool.driver.rules = Some(rules);
    run.tool.driver.notifications =
        (!notification_descriptors.is_empty()).then_some(notification_descriptors);
    run.results = Some(results);
    run.artifacts = (!artifacts.is_empty()).then_some(artifacts);
    let mut invocation = run
        .invocations
        .as_ref()
        .and_then(|i| i.first().cloned())
        .unwrap_or_else(|| Invocation::builder().execution_successful(true).build());
    invocation.execution_successful = successful;
    invocation.tool_execution_notifications = Some(notifications);
    invocation.tool_configuration_notifications =
        (!configuration.is_empty()).then_some(configuration);
    run.invocations = Some(vec![invocation]);

    let log = SarifLog::builder()
        .schema(sarif::SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    Ok(Merged { log, warnings })
}

/// Drops exact duplicates (the same log given twice), keeping the first.
fn dedup_by_json<T: serde::Serialize>(items: &mut Vec<T>) {
    let mut seen = HashSet::new();
    items.retain(|item| seen.insert(serde_json::to_string(item).unwrap_or_default()));
}

/// Where a location points: the decoded path, line and UTF-16 column.
fn location_key(locations: Option<&Vec<serde_sarif::sarif::Location>>) -> (String, i64, i64) {
    let physical = locations
        .and_then(|l| l.first())
        .and_then(|l| l.physical_location.as_ref());
    let path = physical
        .and_then(|p| p.artifact_location.as_ref())
        .and_then(|a| a.uri.as_deref())
        .map(decode_uri_path)
        .unwrap_or_default();
    let region = physical.and_then(|p| p.region.as_ref());
    let line = region.and_then(|r| r.start_line).unwrap_or(0);
    let column = region.and_then(|r| r.start_column).unwrap_or(0);
    (path, line, column)
}

/// A scan's order of findings: path, line, column, rule, message.
fn result_key(result: &SarifResult) -> (String, i64, i64, String, String) {
    let (path, line, column) = location_key(result.locations.as_ref());
    (
        path,
        line,
        column,
        result.rule_id.clone().unwrap_or_default(),
        result.message.text.clone().unwrap_or_default(),
    )
}

/// A scan's order of notifications: skipped files by path, then notices by
/// path, position and kind.
fn notification_key(n: &Notification) -> (u8, String, i64, i64, u8) {
    let id = n.descriptor.as_ref().and_then(|d| d.id.as_deref());
    let (path, line, column) = location_key(n.locations.as_ref());
    let kind = match id {
        Some("faultline/skipped") => return (0, path, 0, 0, 0),
        Some("faultline/syntax-error") => 0,
        Some("faultline/parse-failure") => 1,
        Some("faultline/internal-error") => 2,
        Some("faultline/discovery") => 3,
        _ => 4,
    };
    (1, path, line, column, kind)
}

/// Keeps at most [`sarif::MAX_RESULTS`] results, the most severe, in order;
/// returns how many were left out.
fn cap(results: &mut Vec<SarifResult>) -> usize {
    let total = results.len();
    if total <= sarif::MAX_RESULTS {
        return 0;
    }
    let severity = |r: &SarifResult| match r.level {
        Some(ResultLevel::Error) => 3,
        Some(ResultLevel::Warning) | None => 2,
        Some(ResultLevel::Note) => 1,
        Some(ResultLevel::None) => 0,
    };
    let mut idx: Vec<usize> = (0..total).collect();
    idx.sort_by_key(|&i| Reverse(results.get(i).map_or(0, severity)));
    idx.truncate(sarif::MAX_RESULTS);
    let keep: HashSet<usize> = idx.into_iter().collect();
    let mut i = 0;
    results.retain(|_| {
        i += 1;
        keep.contains(&(i - 1))
    });
    total - results.len()
}

/// Undoes the percent-encoding of a SARIF URI path (for sorting by path as
/// a scan does).
fn decode_uri_path(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_paths_are_decoded() {
        assert_eq!(decode_uri_path("src/%C3%A9%23.py"), "src/é#.py");
        assert_eq!(decode_uri_path("100%"), "100%");
        assert_eq!(decode_uri_path("a%zzb"), "a%zzb");
    }

    fn log(tool: &str, version: &str) -> String {
        json!({
            "version": "2.1.0",
            "runs": [{"tool": {"driver": {"name": tool, "version": version}}, "results": []}]
        })
        .to_string()
    }

    #[test]
    fn refuses_what_faultline_did_not_write() {
        let err = |name: &str, text: &str| parse(name, text).map(|_| ()).map_err(|e| e.to_string());
        assert_eq!(
            err("a.sarif", "{"),
            Err("`a.sarif` is not a SARIF log: it is not valid JSON".into())
        );
        assert_eq!(
            err("a.sarif", r#"{"version": "2.0.0", "runs": []}"#),
            Err("`a.sarif` is not a SARIF 2.1.0 log: its version is \"2.0.0\"".into())
        );
        assert_eq!(
            err("a.sarif", r#"{"version": "2.1.0"}"#),
            Err("`a.sarif` is not a SARIF 2.1.0 log: it has no `runs` array".into())
        );
        assert_eq!(
            err("e.sarif", &log("ESLint", "9.0.0")),
            Err("`e.sarif` was written by `ESLint`, not faultline; `merge` joins faultline logs only".into())
        );
        assert!(err("f.sarif", &log("faultline", "0.1.0")).is_ok());
    }

    #[test]
    fn refuses_different_versions() {
        let a = parse("a.sarif", &log("faultline", "0.1.0")).unwrap();
        let b = parse("b.sarif", &log("faultline", "0.2.0")).unwrap();
        let err = merge(vec![a, b]).map(|_| ()).unwrap_err().to_string();
        assert!(
            err.contains("`b.sarif` is from faultline 0.2.0 but `a.sarif` is from faultline 0.1.0"),
            "{err}"
        );
    }
}
