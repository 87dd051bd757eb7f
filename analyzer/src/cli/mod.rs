//! The command line: clap definitions, and one module per subcommand under
//! [`commands`]. Errors become `anyhow` errors here, at the edge.

pub mod commands;
pub mod progress;

use std::io::{self, Write};

use clap::{Parser, Subcommand};

use crate::ExitStatus;
use commands::{
    debug::DebugArgs, explain::ExplainArgs, init::InitArgs, merge::MergeArgs, rules::RulesArgs,
    scan::ScanArgs,
};

const ABOUT: &str = "Finds the failure-path defects that reviewed, tested code still ships: \
external calls whose failures are not handled, races, unsafe retries, implicit trust and \
unbounded queries, in Python, TypeScript/JavaScript and Rust.";

const AFTER_HELP: &str = "\
Exit codes:
  0  no finding at or above the --fail-on level
  1  at least one finding at or above the --fail-on level
  2  usage, configuration or I/O error (including a missing subcommand)

Examples:
  faultline scan                         scan the current directory
  faultline scan src/ -f sarif -o faultline.sarif
  faultline scan --select external-call --fail-on error
  faultline scan --shard 1/3 -f sarif -o shard-1.sarif
  faultline merge shard-*.sarif -o faultline.sarif
  faultline rules                        list every rule
  faultline explain external-call/missing-timeout
  faultline init                         write a starter faultline.toml";

/// The `faultline` command line.
#[derive(Debug, Parser)]
#[command(
    name = "faultline",
    version,
    about = ABOUT,
    after_help = AFTER_HELP,
    arg_required_else_help = true,
    max_term_width = 100
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories and report the findings.
    Scan(Box<ScanArgs>),
    /// List the rules: id, default level, languages and summary.
    Rules(RulesArgs),
    /// Show a rule's documentation, with examples.
    Explain(ExplainArgs),
    /// Write a commented starter faultline.toml (never overwrites one).
    Init(InitArgs),
    /// Join the SARIF logs of a sharded scan (`scan --shard K/N`) into one.
    Merge(MergeArgs),
    /// Developer tools (IR dumps).
    #[command(hide = true)]
    Debug(DebugArgs),
}

/// Runs a parsed command line; what the binary does.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let status = match cli.command {
        Some(Command::Scan(args)) => commands::scan::run(&args, &mut out)?,
        Some(Command::Rules(args)) => commands::rules::run(&args, &mut out)?,
        Some(Command::Explain(args)) => commands::explain::run(&args, &mut out)?,
        Some(Command::Init(args)) => commands::init::run(&args, &mut out)?,
        Some(Command::Merge(args)) => commands::merge::run(&args, &mut out)?,
        Some(Command::Debug(args)) => commands::debug::run(&args, &mut out)?,
        None => anyhow::bail!("no subcommand given; run `faultline --help`"),
    };
    out.flush()?;
    Ok(status)
}
