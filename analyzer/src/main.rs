//! The `faultline` binary: parse the arguments, run, report errors.

use std::io;
use std::process::ExitCode;

use clap::Parser;
use faultline::{Cli, ExitStatus};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match faultline::run(cli) {
        Ok(status) => status.into(),
        // The reader went away (`faultline scan | head`): not an error.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            print_error(&err);
            ExitStatus::Error.into()
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[expect(
    clippy::print_stderr,
    reason = "the binary reports the errors that stop it"
)]
fn print_error(err: &anyhow::Error) {
    eprintln!("error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
