//! `faultline debug …`: hidden developer tools — dump a file's IR with its
//! resolved paths.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use faultline_grammars::Lang;
use faultline_ir::{LineIndex, NodeId};

use crate::ExitStatus;

/// Arguments of `faultline debug`.
#[derive(Debug, Args)]
pub struct DebugArgs {
    /// What to show.
    #[command(subcommand)]
    pub what: DebugCommand,
}

/// The debug subcommands.
#[derive(Debug, Subcommand)]
pub enum DebugCommand {
    /// Print a file's IR: every function and its body, then every resolved path.
    Ir {
        /// The source file.
        file: PathBuf,
    },
}

/// Runs `faultline debug`.
pub fn run(args: &DebugArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match &args.what {
        DebugCommand::Ir { file } => {
            let lang = Lang::from_path(file)
                .with_context(|| format!("{}: not a file faultline parses", file.display()))?;
            let src = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let m = faultline_grammars::lower(lang, &src)?;
            let lines = LineIndex::new(&src);
            for (i, f) in m.functions.iter().enumerate() {
                writeln!(
                    out,
                    "fn#{i} {} kind={:?} class={:?} async={} test={} parent={:?} attrs={:?}",
                    f.name, f.kind, f.class, f.is_async, f.is_test, f.parent, f.attributes
                )?;
                writeln!(out, "  {}", m.sexp(f.body))?;
            }
            for (i, n) in m.nodes.iter().enumerate() {
                if let Some(p) = &n.path {
                    let calls: Vec<String> = p
                        .segments
                        .iter()
                        .map(|s| s.call.map_or("-".to_string(), |c| c.0.to_string()))
                        .collect();
                    writeln!(
                        out,
                        "L{} #{i} owner=fn#{} {}  [{}]  {}",
                        lines.line(n.span.start),
                        m.owner(NodeId(i as u32)).0,
                        p,
                        calls.join(","),
                        src.get(n.span.start as usize..n.span.end as usize)
                            .unwrap_or("")
                            .lines()
                            .next()
                            .unwrap_or("")
                    )?;
                }
            }
            if !m.syntax_errors.is_empty() {
                writeln!(out, "syntax errors: {:?}", m.syntax_errors)?;
            }
            Ok(ExitStatus::Success)
        }
    }
}
