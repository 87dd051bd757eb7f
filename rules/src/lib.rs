//! faultline's rules: metadata declared once beside each rule's documentation,
//! a registry, the per-file [`Context`] rules report into, and the API models
//! (what is an HTTP call, which argument is the timeout…) loaded from
//! `rules/models/**/*.toml`.

pub mod context;
pub mod external_call;
pub mod finding;
pub mod meta;
pub mod models;
pub mod prefilter;
pub mod query;
pub mod race;
pub mod registry;
pub mod retry;
pub mod trust;
pub mod utils;

pub use finding::{Finding, Related};
pub use meta::{Family, Level, Precision, RuleMeta, Status};
pub use registry::{Rule, all_rules, find_rule};

use faultline_ir::{LineIndex, Module};
use foldhash::HashSet;

/// Facts every rule relies on, added to a freshly lowered module before
/// the rules run: which functions are request handlers of a known web
/// framework (`Function::is_handler`).
pub fn prepare(module: &mut Module, models: &models::Models) {
    context::mark_handlers(module, models);
}

/// What a rule sees of one file.
pub struct Context<'a> {
    /// The lowered file.
    pub module: &'a Module,
    /// Its source text.
    pub source: &'a str,
    /// Its path relative to the scan root, with `/` separators.
    pub path: &'a str,
    /// Line index of `source`.
    pub lines: &'a LineIndex,
    /// Whether the whole file is test code (under `tests/`, `test_*.py`,
    /// `*.test.ts`, …), decided by the engine.
    pub is_test_file: bool,
    models: &'a models::Models,
    findings: Vec<Finding>,
    uses: std::cell::OnceCell<utils::Uses>,
    /// The race rules' shared walk, once one of them has run.
    race: Option<race::Walked>,
    /// The ids of the rules that run on this file; `None`: all of them.
    running: Option<Vec<&'static str>>,
}

impl<'a> Context<'a> {
    /// A context for one file.
    pub fn new(
        module: &'a Module,
        source: &'a str,
        path: &'a str,
        lines: &'a LineIndex,
        is_test_file: bool,
    ) -> Self {
        Context {
            module,
            source,
            path,
            lines,
            is_test_file,
            models: models::builtin(),
            findings: Vec::new(),
            uses: std::cell::OnceCell::new(),
            race: None,
            running: None,
        }
    }

    /// With these API models instead of the built-in ones (the built-ins
    /// plus a project's own, from its configuration).
    pub fn with_models(mut self, models: &'a models::Models) -> Self {
        self.models = models;
        self
    }

    /// Only these rules run on this file (by id), so work shared between
    /// rules is done only for those that need it. Without it, every rule
    /// may run.
    pub fn with_running(mut self, ids: Vec<&'static str>) -> Self {
        self.running = Some(ids);
        self
    }

    /// Whether the rule with this id runs on this file.
    pub fn runs(&self, id: &str) -> bool {
        self.running.as_ref().is_none_or(|ids| ids.contains(&id))
    }

    /// The API models rules consult.
    pub fn models(&self) -> &'a models::Models {
        self.models
    }

    /// For each call node, the nodes whose resolved path goes through it
    /// (computed once per file, shared by the rules).
    pub fn uses(&self) -> &utils::Uses {
        self.uses.get_or_init(|| utils::Uses::new(self.module))
    }

    /// Reports one race rule's findings (`pick` chooses them) from the walk
    /// both race rules share, done by whichever of them runs first.
    pub(crate) fn report_race(&mut self, pick: fn(&mut race::Walked) -> &mut Vec<Finding>) {
        if self.race.is_none() {
            self.race = Some(race::walk(self));
        }
        let found = self.race.as_mut().map(|w| std::mem::take(pick(w)));
        for f in found.unwrap_or_default() {
            self.report(f);
        }
    }

    /// Records a finding. Spans are cut to their first line: a finding
    /// points at where the offending call or statement starts, not at the
    /// whole multi-line expression.
    pub fn report(&mut self, mut finding: Finding) {
        finding.span = self.first_line(finding.span);
        for r in &mut finding.related {
            r.span = self.first_line(r.span);
        }
        self.findings.push(finding);
    }

    fn first_line(&self, span: faultline_ir::Span) -> faultline_ir::Span {
        let text = self
            .source
            .get(span.start as usize..span.end as usize)
            .unwrap_or("");
        match text.find('\n') {
            Some(i) => {
                let trimmed = text[..i].trim_end();
                faultline_ir::Span {
                    start: span.start,
                    end: span.start + trimmed.len().max(1) as u32,
                }
            }
            None => span,
        }
    }

    /// The findings reported so far, consuming the context.
    /// A rule reports a line once: two comparisons in one condition
    /// (`ip == "127.0.0.1" || ip.startsWith("10.")`) are one finding.
    pub fn into_findings(self) -> Vec<Finding> {
        let mut seen = HashSet::default();
        let lines = self.lines;
        self.findings
            .into_iter()
            .filter(|f| seen.insert((f.rule, lines.line(f.span.start))))
            .collect()
    }
}
