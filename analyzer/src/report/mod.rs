//! Reporters: one [`Report`] rendered by interchangeable formats, one file
//! per format behind the [`Reporter`] trait. Reporters write to any
//! [`Write`]; they are the only part of the library that produces output.

pub mod concise;
pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use std::io::{self, Write};

use crate::engine::Report;

pub use concise::Concise;
pub use github::Github;
pub use human::Human;
pub use json::Json;
pub use sarif::Sarif;

/// The tool's name in reports.
pub const TOOL_NAME: &str = "faultline";
/// The tool's version in reports.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where users learn about the tool.
pub const INFORMATION_URI: &str = "https://github.com/faultline-dev/faultline";

/// Renders a report in one format.
pub trait Reporter {
    /// Writes the whole report to `out`.
    fn write(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// The output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// Rustc-style diagnostics with source snippets, then skipped files,
    /// notices and a summary line.
    Human,
    /// One `path:line:col: level[rule]: message` line per finding, for
    /// editors (vim `:cfile`, emacs compilation mode) and problem matchers.
    Concise,
    /// A versioned JSON document: findings, skipped files, notices and counts.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning and SARIF viewers.
    Sarif,
    /// GitHub Actions workflow commands: an annotation per finding (at most
    /// 50, errors first), then a summary line.
    Github,
}

impl Format {
    /// Whether the format shows source snippets (and so needs
    /// [`ScanOptions::keep_sources`](crate::engine::ScanOptions::keep_sources)).
    pub fn needs_sources(self) -> bool {
        matches!(self, Format::Human)
    }
}

/// Options that only some formats read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Use ANSI colours (human).
    pub color: bool,
    /// Leave out skipped files, notices and the summary (human).
    pub quiet: bool,
    /// SARIF `runAutomationDetails.id` (GitHub's analysis category); no
    /// `automationDetails` when `None`.
    pub sarif_category: Option<String>,
}

/// The reporter of a format.
pub fn reporter(format: Format, options: Options) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(Human {
            color: options.color,
            quiet: options.quiet,
        }),
        Format::Concise => Box::new(Concise),
        Format::Json => Box::new(Json),
        Format::Sarif => Box::new(Sarif {
            category: options.sarif_category,
        }),
        Format::Github => Box::new(Github),
    }
}

/// ` [zone: payments]`, or nothing outside risk zones.
pub(crate) fn zone_suffix(zones: &[String]) -> String {
    if zones.is_empty() {
        String::new()
    } else {
        format!(" [zone: {}]", zones.join(", "))
    }
}

/// `1 finding`, `2 findings`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
