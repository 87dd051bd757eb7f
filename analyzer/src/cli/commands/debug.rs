//! `faultline debug …`: hidden developer tools — dump a file's IR with its
//! resolved paths; parse every file and run no rule (the benchmark's
//! parse-only baseline).

use std::io::Write;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use faultline_grammars::Lang;
use faultline_ir::{LineIndex, NodeId};

use crate::ExitStatus;
use crate::engine::baseline::parse_all;
use crate::engine::prefilter::Prefilter;
use crate::engine::{ScanOptions, is_test_path, relative_path};

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
    /// Discover, read and parse every file a scan would, and run no rule: the
    /// parse-only baseline of the benchmark. Prints files, bytes and time.
    Parse {
        /// Files and directories to parse.
        #[arg(value_name = "PATH", default_value = ".")]
        paths: Vec<PathBuf>,
        /// Worker threads (default: one per core).
        #[arg(short, long, value_name = "N")]
        jobs: Option<NonZeroUsize>,
    },
    /// Show what the content prefilter admits: files and bytes parsed per
    /// language; per rule, how many files its needles let through; the
    /// clauses that let the most through; and the rules and clauses that
    /// alone let files through (what leaving them out or tightening them
    /// would save).
    Prefilter {
        /// Files and directories to look at.
        #[arg(value_name = "PATH", default_value = ".")]
        paths: Vec<PathBuf>,
        /// Print only the files that would be parsed, one a line: the path, a
        /// tab, and the rules that would run on it (comma-separated).
        #[arg(long)]
        list: bool,
    },
}

/// Runs `faultline debug`.
pub fn run(args: &DebugArgs, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match &args.what {
        DebugCommand::Parse { paths, jobs } => {
            let options = ScanOptions {
                paths: paths.clone(),
                jobs: *jobs,
                ..ScanOptions::default()
            };
            let stats = parse_all(&options)?;
            let secs = stats.elapsed.as_secs_f64();
            writeln!(
                out,
                "parsed {} files ({} bytes, {} with syntax errors, {} skipped) in {:.3} s: {:.1} MB/s",
                stats.files,
                stats.bytes,
                stats.with_errors,
                stats.skipped,
                secs,
                stats.bytes as f64 / 1e6 / secs.max(1e-9)
            )?;
            Ok(ExitStatus::Success)
        }
        DebugCommand::Prefilter { paths, list } => prefilter_report(paths, *list, out),
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

fn prefilter_report(
    paths: &[PathBuf],
    list: bool,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    use std::collections::BTreeMap;
    let rules = faultline_rules::all_rules();
    let prefilter = Prefilter::new(rules, faultline_rules::models::builtin());
    let mut files = 0usize;
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    let mut per_clause: BTreeMap<(&str, &str, String), usize> = BTreeMap::new();
    // Files and bytes that one clause alone admits: what tightening that
    // rule's needles could save.
    let mut alone: BTreeMap<(&str, &str, String), (usize, usize)> = BTreeMap::new();
    let mut parsed = 0usize;
    let (mut bytes_all, mut bytes_parsed) = (0usize, 0usize);
    // Per language: (files, bytes) seen, and (files, bytes) parsed.
    let mut per_lang: BTreeMap<&str, [(usize, usize); 2]> = BTreeMap::new();
    // Files and bytes that only one rule lets through: what leaving the
    // rule out would save.
    let mut only_rule: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for path in paths {
        for entry in ignore::WalkBuilder::new(path).build().flatten() {
            let Some(lang) = Lang::from_path(entry.path()) else {
                continue;
            };
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            files += 1;
            let is_test = is_test_path(&relative_path(path, entry.path()));
            let sel = prefilter.select(lang.ir(), &bytes, is_test);
            parsed += usize::from(sel.parse);
            if list {
                if sel.parse {
                    let ids: Vec<&str> = sel
                        .rules
                        .iter()
                        .filter_map(|i| rules.get(*i).map(|r| r.meta().id))
                        .collect();
                    writeln!(out, "{}\t{}", entry.path().display(), ids.join(","))?;
                }
                continue;
            }
            bytes_all += bytes.len();
            let [seen, parsed_here] = per_lang.entry(lang.ir().model_name()).or_default();
            *seen = (seen.0 + 1, seen.1 + bytes.len());
            if sel.parse {
                bytes_parsed += bytes.len();
                *parsed_here = (parsed_here.0 + 1, parsed_here.1 + bytes.len());
            }
            if let [i] = sel.rules.as_slice()
                && let Some(r) = rules.get(*i)
            {
                let e = only_rule.entry(r.meta().id).or_default();
                e.0 += 1;
                e.1 += bytes.len();
            }
            for i in &sel.rules {
                if let Some(r) = rules.get(*i) {
                    *per_rule.entry(r.meta().id).or_default() += 1;
                }
            }
            let reasons: Vec<_> = prefilter
                .reasons(lang.ir(), &bytes)
                .into_iter()
                .filter(|(i, _)| sel.rules.contains(i))
                .collect();
            let only = reasons.len() == 1;
            for (i, clause) in reasons {
                if let Some(r) = rules.get(i) {
                    let key = (r.meta().id, lang.ir().model_name(), clause);
                    if only {
                        let e = alone.entry(key.clone()).or_default();
                        e.0 += 1;
                        e.1 += bytes.len();
                    }
                    *per_clause.entry(key).or_default() += 1;
                }
            }
        }
    }
    if list {
        return Ok(ExitStatus::Success);
    }
    writeln!(
        out,
        "{files} files ({bytes_all} bytes), {parsed} would be parsed ({bytes_parsed} bytes)"
    )?;
    for (lang, [(f, b), (pf, pb)]) in &per_lang {
        writeln!(
            out,
            "  {lang:<10} {pf} of {f} files parsed ({} of {} KB)",
            pb / 1024,
            b / 1024
        )?;
    }
    writeln!(out, "files each rule lets through:")?;
    for (rule, n) in &per_rule {
        writeln!(out, "  {n:>7}  {rule}")?;
    }
    let mut only_rule: Vec<_> = only_rule.into_iter().collect();
    only_rule.sort_by_key(|r| std::cmp::Reverse(r.1.1));
    writeln!(out, "rules that alone let files through (files, KB):")?;
    for (rule, (n, b)) in &only_rule {
        let kb = b / 1024;
        writeln!(out, "  {n:>7} {kb:>7}  {rule}")?;
    }
    let mut clauses: Vec<_> = per_clause.into_iter().collect();
    clauses.sort_by_key(|c| std::cmp::Reverse(c.1));
    writeln!(out, "needles that let the most files through, per rule:")?;
    for ((rule, lang, clause), n) in clauses.iter().take(60) {
        writeln!(out, "  {n:>7}  {rule:<32} {lang:<10} {clause}")?;
    }
    let mut alone: Vec<_> = alone.into_iter().collect();
    alone.sort_by_key(|c| std::cmp::Reverse(c.1.1));
    writeln!(out, "needles that alone let files through (files, KB):")?;
    for ((rule, lang, clause), (n, b)) in alone.iter().take(30) {
        let kb = b / 1024;
        writeln!(out, "  {n:>7} {kb:>7}  {rule:<32} {lang:<10} {clause}")?;
    }
    Ok(ExitStatus::Success)
}
