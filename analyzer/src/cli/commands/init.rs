//! `faultline init`: write a commented starter `faultline.toml`.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::ExitStatus;
use crate::config::STARTER;

/// Arguments of `faultline init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write `faultline.toml` in.
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// Writes `DIR/faultline.toml`; an existing file is never overwritten.
pub fn run(args: &InitArgs, stdout: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let path = args.dir.join("faultline.toml");
    let file = OpenOptions::new().write(true).create_new(true).open(&path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            anyhow::bail!(
                "`{}` already exists; not overwriting it (edit it, or remove it first)",
                path.display()
            )
        }
        Err(e) => {
            return Err(e).with_context(|| format!("cannot create `{}`", path.display()));
        }
    };
    file.write_all(STARTER.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    writeln!(
        stdout,
        "wrote {}; every setting is commented out, so the defaults apply until you edit it",
        path.display()
    )?;
    Ok(ExitStatus::Success)
}
