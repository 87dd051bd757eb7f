//! faultline finds the failure-path defects that reviewed, tested code still
//! ships: external calls whose failures are not handled, read-modify-write
//! races, unsafe retries, implicit trust and unbounded queries, in Python,
//! TypeScript/JavaScript and Rust.
//!
//! This crate is the engine, the reporters and the CLI; the binary only
//! parses arguments and calls [`run`]. Everything the CLI does is a library
//! call too:
//!
//! ```no_run
//! use faultline::engine::{ScanOptions, scan};
//! use faultline::report::{Format, Options, reporter};
//!
//! let report = scan(&ScanOptions { paths: vec![".".into()], ..ScanOptions::default() })?;
//! reporter(Format::Concise, Options::default()).write(&report, &mut std::io::stdout())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`engine`]: discovery ([`engine::discover`]), per-file analysis
//!   ([`engine::analyze_source`]), rule selection, and [`engine::scan`].
//! - [`report`]: the `human`, `concise`, `json` and `sarif` reporters.
//! - [`cli`]: the clap definitions and one module per subcommand.

pub mod cli;
pub mod config;
pub mod engine;
pub mod report;
pub mod settle;

pub use cli::{Cli, run};

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitStatus {
    /// 0: no finding at or above the `--fail-on` level.
    Success,
    /// 1: at least one finding at or above the `--fail-on` level.
    Failure,
    /// 2: a usage, configuration or I/O error stopped the command.
    Error,
}

impl ExitStatus {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::Error => 2,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}
