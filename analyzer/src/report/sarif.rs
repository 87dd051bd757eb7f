//! The SARIF 2.1.0 format, for GitHub code scanning, IDE SARIF viewers and
//! `faultline merge`.
//!
//! One run. `tool.driver.rules` describes every rule that ran, from its
//! metadata and docs (the same text `faultline explain` shows). Each result
//! points at its rule by `ruleId` and `ruleIndex`; its location is relative
//! to `%SRCROOT%`, which `originalUriBaseIds` maps to the scan root. Columns
//! are UTF-16 code units (`columnKind: utf16CodeUnits`), and regions are
//! complete (start and end line and column). Skipped files, syntax errors
//! and internal errors are `invocations[0].toolExecutionNotifications`, each
//! with the file's location and a `descriptor` naming one of the
//! `tool.driver.notifications` (`faultline/skipped`, …).
//!
//! For GitHub code scanning:
//! - every result has `partialFingerprints`: GitHub's own
//!   `primaryLocationLineHash` (computed as `upload-sarif` would) and the
//!   `faultline/v1` fingerprint, which survives edits elsewhere in the file
//!   and reformatting (see [`crate::settle::fingerprint`]);
//! - every rule has `help.markdown` (its documentation), `properties.tags`
//!   (family, `security` for security-relevant rules, `external/cwe/cwe-N`),
//!   `precision`, `problem.severity` and, when set, `security-severity`;
//! - a finding in a risk zone has `properties.zones`;
//! - there is one run, and `automationDetails.id` only when a category is
//!   given (`--sarif-category NAME` writes `NAME/`);
//! - at most [`MAX_RESULTS`] results (GitHub's limit per run): beyond it,
//!   the most severe are kept, in report order, and [`dropped`] says how
//!   many were left out (the CLI warns on stderr).
//! - problems with suppression comments are results of the pseudo-rule
//!   `faultline/suppression`, which is always the last rule of the driver.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use faultline_rules::{Family, Level, RuleMeta};
use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    ReportingDescriptorReference, Result as SarifResult, ResultLevel, Run, RunAutomationDetails,
    Sarif as SarifLog, Tool, ToolComponent,
};

use super::{INFORMATION_URI, Reporter, TOOL_NAME, TOOL_VERSION};
use crate::config::SUPPRESSION_RULE;
use crate::engine::{NoticeKind, Position, Range, Report};
use crate::settle::fingerprint::{LINE_HASH, V1};

/// The schema a log declares.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
/// The base id every artifact location is relative to.
pub const SRCROOT: &str = "%SRCROOT%";

/// GitHub code scanning accepts at most this many results per run.
pub const MAX_RESULTS: usize = 25_000;

/// The SARIF reporter.
#[derive(Clone, Debug, Default)]
pub struct Sarif {
    /// `runAutomationDetails.id` is `CATEGORY/` when set.
    pub category: Option<String>,
}

impl Reporter for Sarif {
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, &log_with(report, self.category.as_deref()))?;
        writeln!(out)
    }
}

/// How many findings of `report` a SARIF log leaves out ([`MAX_RESULTS`]).
pub fn dropped(report: &Report) -> usize {
    report.findings.len().saturating_sub(MAX_RESULTS)
}

/// The SARIF log of a report, without a category.
pub fn log(report: &Report) -> SarifLog {
    log_with(report, None)
}

/// The indexes of the findings a log keeps: all of them up to
/// [`MAX_RESULTS`], else the most severe, in report order.
fn kept(report: &Report) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..report.findings.len()).collect();
    if idx.len() > MAX_RESULTS {
        idx.sort_by_key(|&i| std::cmp::Reverse(report.findings[i].finding.level));
        idx.truncate(MAX_RESULTS);
        idx.sort_unstable();
    }
    idx
}

/// The SARIF log of a report; `category` becomes `automationDetails.id`.
pub fn log_with(report: &Report, category: Option<&str>) -> SarifLog {
    let mut descriptors: Vec<ReportingDescriptor> =
        report.rules.iter().map(|m| descriptor(m)).collect();
    descriptors.push(suppression_descriptor());
    let rule_index = |id: &str| {
        if id == SUPPRESSION_RULE {
            Some(report.rules.len())
        } else {
            report.rules.iter().position(|m| m.id == id)
        }
    };
    let driver = ToolComponent::builder()
        .name(TOOL_NAME)
        .version(TOOL_VERSION)
        .semantic_version(TOOL_VERSION)
        .information_uri(INFORMATION_URI)
        .rules(descriptors)
        .notifications(notification_descriptors())
        .build();
    let results: Vec<SarifResult> = kept(report)
        .into_iter()
        .filter_map(|i| report.findings.get(i))
        .map(|f| {
            let rule_index = rule_index(f.finding.rule);
            let related: Vec<Location> = f
                .finding
                .related
                .iter()
                .zip(&f.related)
                .enumerate()
                .map(|(i, (r, range))| Location {
                    id: Some(i64::try_from(i + 1).unwrap_or(i64::MAX)),
                    message: Some(text(&r.message)),
                    ..location(&f.path, Some(region(range)))
                })
                .collect();
            let mut result = SarifResult::builder()
                .rule_id(f.finding.rule)
                .level(result_level(f.finding.level))
                .message(text(&f.finding.message))
                .locations(vec![location(&f.path, Some(region(&f.range)))])
                .build();
            result.rule_index = rule_index.and_then(|i| i64::try_from(i).ok());
            result.related_locations = (!related.is_empty()).then_some(related);
            let mut fingerprints = BTreeMap::new();
            if !f.fingerprints.line_hash.is_empty() {
                fingerprints.insert(LINE_HASH.to_string(), f.fingerprints.line_hash.clone());
            }
            if !f.fingerprints.v1.is_empty() {
                fingerprints.insert(V1.to_string(), f.fingerprints.v1.clone());
            }
            result.partial_fingerprints = (!fingerprints.is_empty()).then_some(fingerprints);
            if !f.zones.is_empty() {
                result.properties = Some(PropertyBag {
                    tags: None,
                    additional_properties: BTreeMap::from([("zones".to_string(), json!(f.zones))]),
                });
            }
            result
        })
        .collect();
    let mut notifications: Vec<Notification> = report
        .skipped
        .iter()
        .map(|s| {
            notification(
                "faultline/skipped",
                Level::Note,
                format!("skipped: {}", s.reason),
                location(&s.path, None),
            )
        })
        .collect();
    notifications.extend(report.notices.iter().map(|n| {
        notification(
            notice_id(n.kind),
            n.kind.level(),
            n.message.clone(),
            location(&n.path, n.position.map(point_region)),
        )
    }));
    let invocation = Invocation::builder()
        .execution_successful(true)
        .tool_execution_notifications(notifications)
        .build();
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("utf16CodeUnits"))
        .original_uri_base_ids(BTreeMap::from([(
            SRCROOT.to_string(),
            ArtifactLocation::builder()
                .uri(directory_uri(&report.root))
                .build(),
        )]))
        .build();
    if let Some(category) = category.map(str::trim).filter(|c| !c.is_empty()) {
        let id = if category.ends_with('/') {
            category.to_string()
        } else {
            format!("{category}/")
        };
        run.automation_details = Some(RunAutomationDetails::builder().id(id).build());
    }
    SarifLog::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn text(s: &str) -> Message {
    Message::builder().text(s).build()
}

fn multiformat(text: &str, markdown: Option<&str>) -> MultiformatMessageString {
    MultiformatMessageString {
        text: text.to_string(),
        markdown: markdown.map(str::to_string),
        properties: None,
    }
}

fn result_level(level: Level) -> ResultLevel {
    match level {
        Level::Note => ResultLevel::Note,
        Level::Warning => ResultLevel::Warning,
        Level::Error => ResultLevel::Error,
    }
}

/// CodeQL's `problem.severity`, which GitHub code scanning reads.
fn problem_severity(level: Level) -> &'static str {
    match level {
        Level::Note => "recommendation",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

fn descriptor(meta: &RuleMeta) -> ReportingDescriptor {
    let mut properties = BTreeMap::from([
        ("precision".to_string(), json!(meta.precision.as_str())),
        (
            "problem.severity".to_string(),
            json!(problem_severity(meta.level)),
        ),
    ]);
    if let Some(sev) = meta.security_severity {
        properties.insert("security-severity".to_string(), json!(sev));
    }
    ReportingDescriptor::builder()
        .id(meta.id)
        .name(meta.name)
        .short_description(multiformat(meta.summary, None))
        .full_description(multiformat(&meta.what_it_does(), None))
        .help(multiformat(meta.docs.trim(), Some(meta.docs.trim())))
        .default_configuration(ReportingConfiguration {
            level: Some(json!(meta.level.as_str())),
            ..ReportingConfiguration::default()
        })
        .properties(PropertyBag {
            tags: Some(tags(meta)),
            additional_properties: properties,
        })
        .build()
}

/// The rule's tags, with `security` for the trust family too (whose rules
/// are about authorization even when no severity score is set).
fn tags(meta: &RuleMeta) -> Vec<String> {
    let mut tags = meta.all_tags();
    if meta.family == Family::Trust && !tags.iter().any(|t| t == "security") {
        tags.insert(1, "security".to_string());
    }
    tags
}

fn suppression_descriptor() -> ReportingDescriptor {
    let docs = "## What it does\nReports `faultline: ignore[rule-id] reason` comments that \
        have no reason, name no rule (a blanket `faultline: ignore`, which suppresses \
        nothing), name an unknown rule, or suppress nothing.\n\n## Why is this bad?\n\
        A suppression without a reason cannot be reviewed, and an unused one hides the next \
        real finding on its line.\n";
    ReportingDescriptor::builder()
        .id(SUPPRESSION_RULE)
        .name("Suppression")
        .short_description(multiformat(
            "suppression comment that needs attention",
            None,
        ))
        .full_description(multiformat(
            "Reports suppression comments with no reason or rule id, or that suppress nothing.",
            None,
        ))
        .help(multiformat(docs, Some(docs)))
        .default_configuration(ReportingConfiguration {
            level: Some(json!("note")),
            ..ReportingConfiguration::default()
        })
        .properties(PropertyBag {
            tags: Some(vec!["faultline".to_string(), "maintainability".to_string()]),
            additional_properties: BTreeMap::from([
                ("precision".to_string(), json!("very-high")),
                ("problem.severity".to_string(), json!("recommendation")),
            ]),
        })
        .build()
}

fn notice_id(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::SyntaxError => "faultline/syntax-error",
        NoticeKind::ParseFailure => "faultline/parse-failure",
        NoticeKind::InternalError => "faultline/internal-error",
        NoticeKind::Discovery => "faultline/discovery",
    }
}

fn notification_descriptors() -> Vec<ReportingDescriptor> {
    [
        (
            "faultline/skipped",
            "a file was not analyzed",
            "A file was not analyzed: too large, unreadable, binary, not UTF-8, minified or \
             generated. The notification says which.",
        ),
        (
            "faultline/syntax-error",
            "a file has syntax errors; what parsed was analyzed",
            "A file has syntax errors. The parser recovered and the rest of the file was \
             analyzed; findings near the error may be missing.",
        ),
        (
            "faultline/parse-failure",
            "a file could not be parsed",
            "A file could not be parsed at all, so no rule ran on it.",
        ),
        (
            "faultline/internal-error",
            "faultline failed on a file; this is a bug",
            "faultline crashed while analyzing a file, which was skipped. Please report it.",
        ),
        (
            "faultline/discovery",
            "walking the file tree hit a problem",
            "Walking the file tree hit a problem, such as an unreadable ignore file.",
        ),
    ]
    .into_iter()
    .map(|(id, summary, full)| {
        ReportingDescriptor::builder()
            .id(id)
            .short_description(multiformat(summary, None))
            .full_description(multiformat(full, None))
            .help(multiformat(full, Some(full)))
            .build()
    })
    .collect()
}

fn notification(id: &str, level: Level, message: String, at: Location) -> Notification {
    Notification::builder()
        .descriptor(ReportingDescriptorReference::builder().id(id).build())
        .level(json!(level.as_str()))
        .message(Message::builder().text(message).build())
        .locations(vec![at])
        .build()
}

fn location(path: &str, region: Option<Region>) -> Location {
    Location {
        physical_location: Some(PhysicalLocation {
            artifact_location: Some(
                ArtifactLocation::builder()
                    .uri(encode_uri_path(path))
                    .uri_base_id(SRCROOT)
                    .build(),
            ),
            region,
            ..PhysicalLocation::default()
        }),
        ..Location::default()
    }
}

fn region(range: &Range) -> Region {
    let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
    Region {
        start_line: Some(n(range.start.line)),
        start_column: Some(n(range.start.utf16_column)),
        end_line: Some(n(range.end.line)),
        end_column: Some(n(range.end.utf16_column)),
        ..Region::default()
    }
}

fn point_region(p: Position) -> Region {
    let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
    Region {
        start_line: Some(n(p.line)),
        start_column: Some(n(p.utf16_column)),
        ..Region::default()
    }
}

/// A `file://` URI for a directory, with a trailing slash so that relative
/// URIs resolve inside it.
pub fn directory_uri(dir: &Path) -> String {
    let mut path = dir.to_string_lossy().replace('\\', "/");
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    if !path.ends_with('/') {
        path.push('/');
    }
    format!("file://{}", encode_uri_path(&path))
}

/// Percent-encodes what a URI path cannot hold as is (RFC 3986: unreserved
/// characters, sub-delimiters, `:`, `@` and `/` stay).
fn encode_uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded_and_end_with_a_slash() {
        assert_eq!(directory_uri(Path::new("/a b/c")), "file:///a%20b/c/");
        assert_eq!(directory_uri(Path::new("/")), "file:///");
        assert_eq!(encode_uri_path("src/é#.py"), "src/%C3%A9%23.py");
    }
}
