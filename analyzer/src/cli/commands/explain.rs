//! `faultline explain RULE`: a rule's documentation, for a terminal.

use std::io::Write;

use clap::Args;
use faultline_rules::{RuleMeta, Status};

use super::rules::language_name;
use crate::ExitStatus;
use crate::engine::select::{close_matches, families};

/// Arguments of `faultline explain`.
#[derive(Debug, Args)]
#[command(after_help = "Example:\n  faultline explain external-call/missing-timeout")]
pub struct ExplainArgs {
    /// The rule id (`faultline rules` lists them), or a family to list its rules.
    #[arg(value_name = "RULE")]
    pub rule: String,
}

/// Runs `faultline explain`.
pub fn run(args: &ExplainArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let catalog = faultline_rules::all_rules();
    let wanted = args.rule.trim();
    if let Some(rule) = faultline_rules::find_rule(wanted) {
        write_explanation(rule.meta(), out)?;
        return Ok(ExitStatus::Success);
    }
    let family_name = wanted.strip_suffix('/').unwrap_or(wanted);
    if let Some(family) = families().iter().find(|f| f.as_str() == family_name) {
        writeln!(out, "{}: {}", family.as_str(), family.description())?;
        for rule in catalog.iter().filter(|r| r.meta().family == *family) {
            writeln!(out, "  {}  {}", rule.meta().id, rule.meta().summary)?;
        }
        return Ok(ExitStatus::Success);
    }
    let names = catalog
        .iter()
        .map(|r| r.meta().id)
        .chain(families().iter().map(|f| f.as_str()));
    let matches = close_matches(wanted, names);
    let hint = if matches.is_empty() {
        String::new()
    } else {
        let quoted: Vec<String> = matches.iter().map(|m| format!("`{m}`")).collect();
        format!("; did you mean {}?", quoted.join(" or "))
    };
    anyhow::bail!("unknown rule `{wanted}`{hint}\nrun `faultline rules` to list every rule")
}

/// Writes a rule's documentation: a header with its metadata, then its docs
/// with Markdown headings underlined and code blocks indented.
pub fn write_explanation(meta: &RuleMeta, out: &mut dyn Write) -> std::io::Result<()> {
    let langs: Vec<&str> = meta.languages.iter().map(|l| language_name(*l)).collect();
    let status = match meta.status {
        Status::Preview => "preview",
        Status::Stable => "stable",
    };
    writeln!(out, "{} ({})", meta.id, meta.name)?;
    writeln!(
        out,
        "{} · {} · precision {} · {status} since {}",
        meta.level.as_str(),
        langs.join(", "),
        meta.precision.as_str(),
        meta.since
    )?;
    if !meta.cwe.is_empty() {
        let cwes: Vec<String> = meta.cwe.iter().map(|c| format!("CWE-{c}")).collect();
        writeln!(out, "{}", cwes.join(", "))?;
    }
    writeln!(out)?;
    writeln!(out, "{}", meta.summary)?;
    let mut in_code = false;
    for raw in meta.docs.lines() {
        let line = raw.strip_prefix(' ').unwrap_or(raw);
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            writeln!(out, "    {line}")?;
        } else if let Some(heading) = line.strip_prefix("## ") {
            writeln!(out)?;
            writeln!(out, "{heading}")?;
            writeln!(out, "{}", "─".repeat(heading.chars().count()))?;
        } else {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
