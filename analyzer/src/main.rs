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
    keep_freed_memory();
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

/// A scan frees each file's tree and IR before the next file needs as
/// much again: handing the pages back to the OS only to fault them in
/// (and zero them, a huge page at a time) a moment later costs a scan
/// about 5% of its time. The process is short-lived and its peak is what it
/// holds anyway, so freed memory stays with mimalloc for reuse.
#[allow(unsafe_code, reason = "setting a mimalloc option is an FFI call")]
fn keep_freed_memory() {
    /// `mi_option_purge_delay` in mimalloc v3's `mi_option_t` (the version
    /// `libmimalloc-sys` builds by default): milliseconds before freed
    /// memory is returned to the OS, `-1` for never.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: called first thing in `main`, before any other thread exists;
    // setting an option has no memory-safety requirement.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
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
