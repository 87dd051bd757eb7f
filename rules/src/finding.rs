//! What a rule reports.

use faultline_ir::Span;

use crate::Level;

/// A secondary location of a finding (the read of a read-modify-write, the
/// retry construct around a call…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What it is, in a few words.
    pub message: String,
}

/// One finding of one rule in one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule id.
    pub rule: &'static str,
    /// The level (the rule's default unless the rule lowers or raises it).
    pub level: Level,
    /// The primary location.
    pub span: Span,
    /// One line: what is wrong here. Starts lowercase, no trailing period,
    /// code in backticks.
    pub message: String,
    /// What to do instead, when there is something specific to say.
    pub help: Option<String>,
    /// Secondary locations.
    pub related: Vec<Related>,
}

impl Finding {
    /// A finding at the rule's default level.
    pub fn new(meta: &'static crate::RuleMeta, span: Span, message: impl Into<String>) -> Self {
        Finding {
            rule: meta.id,
            level: meta.level,
            span,
            message: message.into(),
            help: None,
            related: Vec::new(),
        }
    }
    /// With a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// At another level.
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }
    /// With a secondary location.
    pub fn with_related(mut self, span: Span, message: impl Into<String>) -> Self {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }
}
