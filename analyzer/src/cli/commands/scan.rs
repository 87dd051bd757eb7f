//! `faultline scan`.

use std::fs::{self, File};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use faultline_rules::Level;

use crate::ExitStatus;
use crate::engine::{DEFAULT_MAX_FILE_SIZE, ScanOptions, scan, select_rules};
use crate::report::{self, Format};

const AFTER_HELP: &str = "\
Rule selection:
  IDS is a comma-separated list; each item is a rule id
  (external-call/missing-timeout) or a family (external-call or external-call/).
  The families are external-call, race, retry, trust and query; `faultline rules`
  lists every id. --select picks the rules (default: all), then --ignore removes
  some. An unknown id or family is an error (exit 2).

What is scanned:
  .py .pyi .ts .mts .cts .tsx .js .jsx .mjs .cjs .rs files. Directories are walked
  honouring .gitignore and .ignore (also outside a git repository); hidden files
  are skipped. A file named on the command line is always scanned. Files over
  --max-file-size, unreadable, binary (a NUL byte in the first 8 KiB), not UTF-8,
  minified (a `.min.` name, or a line over 1000 bytes with lines of over 300 bytes
  on average) or generated (`@generated` or `DO NOT EDIT` in the first 5 lines)
  are skipped, and every report says which and why. A file with syntax errors is
  still analyzed and a notice says where the first error is. Neither changes the
  exit code.

Paths in reports are relative to the scan root: the directory given, the parent
of the file given, or the closest common ancestor of several paths.

Exit codes:
  0  no finding at or above the --fail-on level
  1  at least one finding at or above the --fail-on level
  2  usage or I/O error: unknown rule, missing path, unwritable --output…

Examples:
  faultline scan
  faultline scan services/api tools/cli.py
  faultline scan -f sarif -o reports/faultline.sarif
  faultline scan -f concise --select external-call --ignore external-call/missing-timeout
  faultline scan --fail-on never -f json | jq '.stats'";

/// Arguments of `faultline scan`.
#[derive(Debug, Args)]
#[command(after_help = AFTER_HELP)]
pub struct ScanArgs {
    /// Files and directories to scan.
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,

    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to FILE instead of stdout (parent directories are created).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Run only these rules or families (comma-separated; default: all rules).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Do not run these rules or families (comma-separated).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Exit with 1 when a finding is at or above this level.
    #[arg(long, value_enum, value_name = "LEVEL", default_value_t = FailOn::Warning)]
    pub fail_on: FailOn,

    /// Worker threads for walking and analysis [default: one per core].
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// Skip files larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: u64,

    /// Colour the human output: `auto` colours only a terminal, and not when
    /// NO_COLOR is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Human output: show only the findings (no skipped files, notices or summary).
    #[arg(short, long)]
    pub quiet: bool,
}

/// The `--fail-on` threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Only errors fail.
    Error,
    /// Warnings and errors fail.
    Warning,
    /// Any finding fails.
    Note,
    /// Never fail because of findings.
    Never,
}

impl FailOn {
    fn level(self) -> Option<Level> {
        match self {
            FailOn::Error => Some(Level::Error),
            FailOn::Warning => Some(Level::Warning),
            FailOn::Note => Some(Level::Note),
            FailOn::Never => None,
        }
    }
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Runs `faultline scan`, writing the report to `--output` or `stdout`.
pub fn run(args: &ScanArgs, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let rules = select_rules(faultline_rules::all_rules(), &args.select, &args.ignore)?;
    let options = ScanOptions {
        paths: args.paths.clone(),
        rules,
        jobs: args.jobs,
        max_file_size: args.max_file_size,
        keep_sources: args.format.needs_sources(),
    };
    let report = scan(&options)?;
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let reporter = report::reporter(
        args.format,
        report::Options {
            color,
            quiet: args.quiet,
        },
    );
    match &args.output {
        Some(path) => {
            let write = || -> io::Result<()> {
                if let Some(parent) = path.parent()
                    && !parent.as_os_str().is_empty()
                {
                    fs::create_dir_all(parent)?;
                }
                let mut file = BufWriter::new(File::create(path)?);
                reporter.write(&report, &mut file)?;
                file.flush()
            };
            write().with_context(|| format!("cannot write the report to `{}`", path.display()))?;
        }
        None => reporter.write(&report, stdout)?,
    }
    let failed = args
        .fail_on
        .level()
        .is_some_and(|level| report.has_findings_at_or_above(level));
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
