//! `faultline scan`.

use std::io::{self, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use faultline_rules::Level;

use super::{note, write_file};
use crate::ExitStatus;
use crate::cli::progress::Progress;
use crate::config;
use crate::engine::{Cache, ScanOptions, Shard, scan};
use crate::report::{self, Format, sarif};
use crate::settle::baseline::Baseline;
use crate::settle::diff;

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

Prefilter:
  Before parsing a file, one pass over its bytes looks for the names the enabled
  rules need (`requests`, `fetch`, `reqwest`, `objects`, `verify`…, taken from the
  API models, including your own). A file that mentions none of them cannot have a
  finding and is not parsed; JSON stats count these as files_prefiltered. The
  findings are the same either way. --no-prefilter parses every file, which also
  reports syntax errors in files no rule looks at.

Paths in reports are relative to the scan root: the directory given, the parent
of the file given, or the closest common ancestor of several paths.

Configuration:
  faultline.toml, or [tool.faultline] in pyproject.toml, found upward from the
  first PATH (--config FILE names one). `faultline init` writes a starter file.
  --select replaces the file's `select`; --ignore adds to its `ignore`.

Suppressions, baseline, diff:
  `# faultline: ignore[RULE-ID] reason` on the reported line or the line above
  silences that finding. --write-baseline FILE records the current findings and
  --baseline FILE hides them later; --diff REF keeps findings on changed lines.

Sharding and progress:
  --shard K/N scans one of N disjoint parts of the files (a stable hash of each
  path relative to the scan root), so a CI matrix can split a monorepo; every
  file, analyzed or skipped, is in exactly one shard. `faultline merge` joins the
  shards' SARIF logs into one run. A progress bar is drawn on stderr only on a
  terminal, not when CI is set, and only after a second; --no-progress turns it off.

Cache:
  Results are cached per file in .faultline_cache/, beside the configuration file
  (or in the scan root without one), keyed by the file's contents, the faultline
  build, the rules and the configuration: re-scanning unchanged files parses
  nothing. The directory holds a .gitignore and a CACHEDIR.TAG; deleting it is
  always safe. --no-cache neither reads nor writes it; --cache-dir DIR puts it
  elsewhere. A cache that cannot be written only costs speed (one warning).

Exit codes:
  0  no finding at or above the --fail-on level
  1  at least one finding at or above the --fail-on level
  2  usage, configuration or I/O error: unknown rule or config key, missing path,
     unwritable --output, unknown --diff ref, invalid --shard…

Examples:
  faultline scan
  faultline scan services/api tools/cli.py
  faultline scan -f sarif -o reports/faultline.sarif
  faultline scan -f concise --select external-call --ignore external-call/missing-timeout
  faultline scan --fail-on never -f json | jq '.stats'
  faultline scan -f github --sarif-output .sarif/faultline.sarif
  faultline scan --diff origin/main -f concise
  faultline scan --shard 2/3 -f sarif -o shards/2.sarif
  faultline merge shards/*.sarif -o faultline.sarif";

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

    /// Skip files larger than this many bytes [default: 2097152]
    /// (or `max-file-size` from the configuration).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// Read the configuration from FILE (a faultline.toml, or a pyproject.toml
    /// with [tool.faultline]) instead of searching upward from the first PATH.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Also write a SARIF report of the same scan to FILE (for upload-sarif).
    #[arg(long, value_name = "FILE")]
    pub sarif_output: Option<PathBuf>,

    /// Also write a JSON report of the same scan to FILE.
    #[arg(long, value_name = "FILE")]
    pub json_output: Option<PathBuf>,

    /// SARIF: set runAutomationDetails.id to NAME/ (GitHub's category, to
    /// upload several analyses of one commit). No automationDetails without it.
    #[arg(long, value_name = "NAME")]
    pub sarif_category: Option<String>,

    /// Hide the findings whose fingerprint is in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,

    /// Write every current finding to this baseline file, then report as if
    /// it were given to --baseline (so the scan passes).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,

    /// Report only findings on lines changed since the git REF (added or
    /// modified lines of `git diff REF`, and untracked files).
    #[arg(long, value_name = "REF")]
    pub diff: Option<String>,

    /// Colour the human output: `auto` colours only a terminal, and not when
    /// NO_COLOR is set.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Human output: show only the findings (no skipped files, notices or summary).
    #[arg(short, long)]
    pub quiet: bool,

    /// Parse every file, even those that mention nothing any enabled rule
    /// looks for (the findings are the same; this is slower, and reports
    /// syntax errors in every file).
    #[arg(long)]
    pub no_prefilter: bool,

    /// Scan only shard K of N (1 <= K <= N): files are split by a stable hash
    /// of their path, for a CI matrix; join the SARIF with `faultline merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,

    /// Do not draw a progress bar (it is drawn only on a terminal, never when
    /// CI is set, and only for scans longer than a second).
    #[arg(long)]
    pub no_progress: bool,
    /// Neither read nor write the result cache.
    #[arg(long)]
    pub no_cache: bool,

    /// Keep the result cache in DIR [default: .faultline_cache beside the
    /// configuration file, or in the scan root].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
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
    let loaded = match &args.config {
        Some(path) => Some(config::load(path)?),
        None => match args.paths.first() {
            Some(first) if first.exists() => config::discover(first)?,
            _ => None,
        },
    };
    let mut options = ScanOptions {
        paths: args.paths.clone(),
        jobs: args.jobs,
        keep_sources: args.format.needs_sources(),
        prefilter: !args.no_prefilter,
        ..ScanOptions::default()
    };
    config::configure(
        &mut options,
        loaded.as_ref(),
        &args.select,
        &args.ignore,
        args.max_file_size,
    )?;
    if !args.no_cache {
        let dir = args.cache_dir.clone().or_else(|| {
            loaded
                .as_ref()
                .map(|l| l.dir.join(crate::engine::cache::CACHE_DIR_NAME))
        });
        // User models come from the configuration: it is part of the key.
        let context = loaded
            .as_ref()
            .map(|l| format!("{:?} {:?}", l.dir, l.config))
            .unwrap_or_default();
        options.cache = Some(Arc::new(Cache::new(dir).with_context(context)));
    }
    let baseline = match &args.baseline {
        Some(path) => Some(Baseline::read(path)?),
        None => None,
    };

    options.shard = args.shard;
    let progress = Arc::new(Progress::new(args.no_progress));
    options.progress = progress.hook();
    let scanned = scan(&options);
    progress.clear();
    let mut report = scanned?;
    if let Some(warning) = options.cache.as_ref().and_then(|c| c.warning()) {
        note(&format!("warning: {warning}"));
    }

    if let Some(path) = &args.write_baseline {
        let written = Baseline::of(&report);
        write_file(path, |out| out.write_all(written.to_json().as_bytes()))
            .with_context(|| format!("cannot write the baseline to `{}`", path.display()))?;
        note(&format!(
            "wrote {} to the baseline `{}`; later scans with --baseline hide them",
            report::plural(written.findings.len(), "finding", "findings"),
            path.display()
        ));
        written.apply(&mut report);
    }
    if let Some(baseline) = &baseline {
        baseline.apply(&mut report);
    }
    if let Some(reference) = &args.diff {
        diff::changed_lines(&report.root, reference)?.apply(&mut report);
    }

    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let report_options = report::Options {
        color,
        quiet: args.quiet,
        sarif_category: args.sarif_category.clone(),
    };
    let uses_sarif = args.format == Format::Sarif || args.sarif_output.is_some();
    let dropped = sarif::dropped(&report);
    if uses_sarif && dropped > 0 {
        note(&format!(
            "warning: {} findings exceed GitHub's limit of {} results per SARIF run; \
             the SARIF keeps the {} most severe and leaves out {dropped}",
            report.findings.len(),
            sarif::MAX_RESULTS,
            sarif::MAX_RESULTS
        ));
    }
    let reporter = report::reporter(args.format, report_options.clone());
    match &args.output {
        Some(path) => write_file(path, |out| reporter.write(&report, out))
            .with_context(|| format!("cannot write the report to `{}`", path.display()))?,
        None => reporter.write(&report, stdout)?,
    }
    for (path, format) in [
        (&args.sarif_output, Format::Sarif),
        (&args.json_output, Format::Json),
    ] {
        if let Some(path) = path {
            let extra = report::reporter(format, report_options.clone());
            write_file(path, |out| extra.write(&report, out))
                .with_context(|| format!("cannot write the report to `{}`", path.display()))?;
        }
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
