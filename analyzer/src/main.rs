//! The `faultline` binary: parse the arguments, run, report errors.

use std::io;
use std::process::ExitCode;

use clap::Parser;
use faultline::{Cli, ExitStatus};

/// Lowering allocates many small nodes per file and frees them together;
/// mimalloc's thread-local free lists serve that pattern faster than the
/// system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    use_mimalloc_for_parsing();
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

/// Tree-sitter's C core allocates through `malloc`; give it mimalloc too.
#[allow(
    unsafe_code,
    reason = "installing tree-sitter's allocator is an FFI call"
)]
fn use_mimalloc_for_parsing() {
    use libmimalloc_sys::{mi_calloc, mi_free, mi_malloc, mi_realloc};
    // SAFETY: called once, first thing in `main`, before any tree-sitter
    // object exists; the four functions are one allocator family and return
    // pointers aligned like `malloc`'s.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: mi_malloc,
            calloc: mi_calloc,
            realloc: mi_realloc,
            free: mi_free,
        }));
    }
}
