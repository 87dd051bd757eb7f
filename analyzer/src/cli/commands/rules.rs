//! `faultline rules`: the rule catalog.

use std::io::Write;

use clap::{Args, ValueEnum};
use faultline_ir::Language;
use faultline_rules::RuleMeta;
use serde_json::json;

use crate::ExitStatus;

const AFTER_HELP: &str = "\
The text format prints one line per rule: id, default level, languages, summary.
The JSON format prints {\"version\": 1, \"rules\": [...]} with every rule's metadata.

Examples:
  faultline rules
  faultline rules --format json | jq '.rules[].id'";

/// Arguments of `faultline rules`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct RulesArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CatalogFormat::Text)]
    pub format: CatalogFormat,
}

/// How the catalog is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CatalogFormat {
    /// One aligned line per rule.
    Text,
    /// A JSON document.
    Json,
}

/// The lowercase name of a language.
pub fn language_name(lang: Language) -> &'static str {
    match lang {
        Language::Python => "python",
        Language::TypeScript => "typescript",
        Language::Tsx => "tsx",
        Language::JavaScript => "javascript",
        Language::Rust => "rust",
    }
}

fn languages(meta: &RuleMeta) -> String {
    let names: Vec<&str> = meta.languages.iter().map(|l| language_name(*l)).collect();
    names.join(",")
}

/// Writes the catalog of `rules` to `out`.
pub fn write_catalog(
    rules: &[&'static RuleMeta],
    format: CatalogFormat,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    match format {
        CatalogFormat::Text => {
            let id_width = rules.iter().map(|m| m.id.len()).max().unwrap_or(0);
            let lang_width = rules.iter().map(|m| languages(m).len()).max().unwrap_or(0);
            for m in rules {
                writeln!(
                    out,
                    "{:id_width$}  {:7}  {:lang_width$}  {}",
                    m.id,
                    m.level.as_str(),
                    languages(m),
                    m.summary
                )?;
            }
        }
        CatalogFormat::Json => {
            let rules: Vec<_> = rules
                .iter()
                .map(|m| {
                    json!({
                        "id": m.id,
                        "name": m.name,
                        "family": m.family.as_str(),
                        "level": m.level.as_str(),
                        "languages": m.languages.iter().map(|l| language_name(*l)).collect::<Vec<_>>(),
                        "summary": m.summary,
                        "tags": m.all_tags(),
                        "precision": m.precision.as_str(),
                        "preview": matches!(m.status, faultline_rules::Status::Preview),
                        "since": m.since,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &json!({ "version": 1, "rules": rules }))?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// Runs `faultline rules`.
pub fn run(args: &RulesArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let metas: Vec<&'static RuleMeta> = faultline_rules::all_rules()
        .iter()
        .map(|r| r.meta())
        .collect();
    write_catalog(&metas, args.format, out)?;
    Ok(ExitStatus::Success)
}
