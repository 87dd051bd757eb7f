//! Rule metadata, declared once per rule with [`declare_rule!`](crate::declare_rule).

use faultline_ir::Language;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// A risky shape worth knowing about.
    Note,
    /// A likely defect that needs a look.
    Warning,
    /// A likely incident.
    Error,
}

impl Level {
    /// `note`, `warning` or `error`, as SARIF spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
    /// One level higher (an error stays an error).
    pub fn raised(self) -> Level {
        match self {
            Level::Note => Level::Warning,
            Level::Warning | Level::Error => Level::Error,
        }
    }
}

/// The rule families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Failures of network, database, subprocess and file calls.
    ExternalCall,
    /// Read-modify-write on shared state.
    Race,
    /// Non-idempotent retries.
    Retry,
    /// Implicit trust of "internal" callers.
    Trust,
    /// Unbounded queries.
    Query,
}

impl Family {
    /// The id prefix: `external-call`, `race`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Family::ExternalCall => "external-call",
            Family::Race => "race",
            Family::Retry => "retry",
            Family::Trust => "trust",
            Family::Query => "query",
        }
    }
    /// One line on what the family finds.
    pub fn description(self) -> &'static str {
        match self {
            Family::ExternalCall => {
                "failures of network, database, subprocess and file calls that are not handled"
            }
            Family::Race => "read-modify-write and check-then-act races on shared state",
            Family::Retry => "retries that repeat an operation that is not safe to repeat",
            Family::Trust => "authorization that trusts where a request seems to come from",
            Family::Query => "queries whose whole result is loaded with no bound",
        }
    }
}

/// How often a rule's findings are right, as SARIF `precision` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    /// Almost never wrong.
    VeryHigh,
    /// Rarely wrong.
    High,
    /// Sometimes wrong.
    Medium,
    /// Often wrong.
    Low,
}

impl Precision {
    /// SARIF's spelling: `very-high`, `high`, `medium`, `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::VeryHigh => "very-high",
            Precision::High => "high",
            Precision::Medium => "medium",
            Precision::Low => "low",
        }
    }
}

/// Whether a rule's behaviour is settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// New; its findings may still change.
    Preview,
    /// Settled.
    Stable,
}

/// Everything known about a rule except its check.
#[derive(Debug)]
pub struct RuleMeta {
    /// `family/kebab-name`; never changes.
    pub id: &'static str,
    /// UpperCamel name (`MissingTimeout`).
    pub name: &'static str,
    /// The family.
    pub family: Family,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// The documentation (Markdown), from the rule's doc comment.
    pub docs: &'static str,
    /// Default level.
    pub level: Level,
    /// Languages it applies to.
    pub languages: &'static [Language],
    /// CWE numbers.
    pub cwe: &'static [u32],
    /// Extra tags (the family and `security` are added where relevant).
    pub tags: &'static [&'static str],
    /// How often it is right.
    pub precision: Precision,
    /// SARIF `security-severity` for security rules.
    pub security_severity: Option<&'static str>,
    /// Preview or stable.
    pub status: Status,
    /// The version that introduced it.
    pub since: &'static str,
}

impl RuleMeta {
    /// Whether the rule runs on files of `lang`.
    pub fn applies_to(&self, lang: Language) -> bool {
        self.languages
            .iter()
            .any(|l| *l == lang || (l.is_js_family() && lang.is_js_family()))
    }
    /// The part of the id after the family (`missing-timeout`).
    pub fn short_id(&self) -> &'static str {
        self.id.split_once('/').map_or(self.id, |(_, r)| r)
    }
    /// The SARIF/JSON tags: family, `security` for security rules, CWE tags,
    /// then the rule's own.
    pub fn all_tags(&self) -> Vec<String> {
        let mut t = vec![self.family.as_str().to_string()];
        if self.security_severity.is_some() {
            t.push("security".to_string());
        }
        for c in self.cwe {
            t.push(format!("external/cwe/cwe-{c}"));
        }
        t.extend(self.tags.iter().map(|s| s.to_string()));
        t
    }
    /// The first paragraph of `## What it does`, for SARIF fullDescription.
    pub fn what_it_does(&self) -> String {
        section(self.docs, "What it does").unwrap_or_else(|| self.summary.to_string())
    }
}

/// The text of a `## NAME` section of a Markdown document, trimmed.
pub fn section(docs: &str, name: &str) -> Option<String> {
    let head = format!("## {name}");
    let start = docs.find(&head)? + head.len();
    let rest = &docs[start..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    Some(rest[..end].trim().to_string())
}

/// Declares a rule's metadata beside its doc comment.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it does
///     /// ...
///     pub struct MissingTimeout => {
///         id: "external-call/missing-timeout",
///         family: ExternalCall,
///         summary: "network call that can wait forever",
///         level: Warning,
///         languages: [Python, TypeScript, Rust],
///         cwe: [1088],
///         precision: High,
///     }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident => {
            id: $id:literal,
            family: $family:ident,
            summary: $summary:literal,
            level: $level:ident,
            languages: [$($lang:ident),* $(,)?],
            cwe: [$($cwe:literal),* $(,)?],
            precision: $precision:ident
            $(, tags: [$($tag:literal),* $(,)?])?
            $(, security_severity: $sev:literal)?
            $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Default, Clone, Copy)]
        pub struct $name;

        impl $name {
            /// This rule's metadata.
            pub const META: $crate::RuleMeta = $crate::RuleMeta {
                id: $id,
                name: stringify!($name),
                family: $crate::Family::$family,
                summary: $summary,
                docs: concat!($($doc, "\n"),*),
                level: $crate::Level::$level,
                languages: &[$(faultline_ir::Language::$lang),*],
                cwe: &[$($cwe),*],
                tags: &[$($($tag),*)?],
                precision: $crate::Precision::$precision,
                security_severity: $crate::declare_rule!(@sev $($sev)?),
                status: $crate::Status::Preview,
                since: "0.1.0",
            };
        }
    };
    (@sev) => { None };
    (@sev $sev:literal) => { Some($sev) };
}
