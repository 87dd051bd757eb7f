//! One module per subcommand.

pub mod debug;
pub mod explain;
pub mod init;
pub mod merge;
pub mod rules;
pub mod scan;

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Writes a file through `write`, creating its parent directories.
fn write_file(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        fs::create_dir_all(parent)?;
    }
    let mut file = BufWriter::new(File::create(path)?);
    write(&mut file)?;
    file.flush()
}

/// Prints a message for the user on stderr, beside any report on stdout.
#[expect(
    clippy::print_stderr,
    reason = "messages about a command go to stderr, beside its output on stdout"
)]
fn note(message: &str) {
    eprintln!("{message}");
}
