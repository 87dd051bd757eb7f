//! The rule trait and the one list of rules, sorted by id.

use crate::external_call::{
    FloatingPromise, MissingTimeout, PanicOnFailure, SwallowedError, UncheckedStatus,
};
use crate::models::Models;
use crate::prefilter::Needles;
use crate::query::{InLoop, Unbounded};
use crate::race::{CheckThenAct, ReadModifyWrite};
use crate::retry::NonIdempotent;
use crate::trust::{
    CallerAssertedIdentity, NetworkLocationAuth, TlsVerificationDisabled, UnverifiedToken,
};
use crate::{Context, RuleMeta};
use faultline_ir::Language;

/// A rule: metadata plus a check over one file's IR.
pub trait Rule: Sync + Send {
    /// The rule's metadata.
    fn meta(&self) -> &'static RuleMeta;
    /// Checks one file and reports into `cx`.
    fn check(&self, cx: &mut Context<'_>);
    /// What a file of `lang` must contain for this rule to report in it
    /// (see [`crate::prefilter`]); `None`, the default, runs it on every file.
    fn needles(&self, _lang: Language, _models: &Models) -> Option<Needles> {
        None
    }
    /// Whether this rule can report in a file that is test code as a whole
    /// ([`Context::is_test_file`]). A rule that says `false`, because every
    /// report of its check is skipped in test code, is not run on such
    /// files, and a test file no remaining rule can report in is not
    /// parsed. `true`, the default, runs it everywhere.
    fn reports_in_test_files(&self) -> bool {
        true
    }
}

static RULES: &[&dyn Rule] = &[
    &FloatingPromise,
    &MissingTimeout,
    &PanicOnFailure,
    &SwallowedError,
    &UncheckedStatus,
    &InLoop,
    &Unbounded,
    &CheckThenAct,
    &ReadModifyWrite,
    &NonIdempotent,
    &CallerAssertedIdentity,
    &NetworkLocationAuth,
    &TlsVerificationDisabled,
    &UnverifiedToken,
];

/// Every rule, sorted by id.
pub fn all_rules() -> &'static [&'static dyn Rule] {
    RULES
}

/// The rule with this id.
pub fn find_rule(id: &str) -> Option<&'static dyn Rule> {
    RULES.iter().copied().find(|r| r.meta().id == id)
}
