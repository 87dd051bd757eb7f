//! The `race` family: read-modify-write and check-then-act on shared state.

pub mod check_then_act;
pub mod helpers;
pub mod read_modify_write;

pub use check_then_act::CheckThenAct;
pub use read_modify_write::ReadModifyWrite;

use faultline_ir::Language;

use crate::models::{Models, StateKind, StateRole};
use crate::prefilter::{Clause, Needles};
use crate::utils::dataflow::{Flow, Scopes};
use crate::{Context, Finding};
use helpers::{LockedCallers, StateModels, functions};

/// The findings of both race rules in a file.
#[derive(Debug, Default)]
pub struct Walked {
    pub(crate) read_modify_write: Vec<Finding>,
    pub(crate) check_then_act: Vec<Finding>,
}

/// Walks the dataflow of every function once for both race rules: the walk
/// is most of their cost and the same for both. A rule the engine does not
/// run on this file takes no part.
pub(crate) fn walk(cx: &Context<'_>) -> Walked {
    let m = cx.module;
    let sm = StateModels::new(cx);
    let scopes = Scopes::new(m, cx.source);
    let locked = LockedCallers::new(m);
    let mut rmw = cx
        .runs(ReadModifyWrite::META.id)
        .then(read_modify_write::Walk::default);
    let mut cta = cx
        .runs(CheckThenAct::META.id)
        .then(check_then_act::Walk::default);
    if rmw.is_none() && cta.is_none() {
        return Walked::default();
    }
    for (f, lambda) in functions(cx) {
        if locked.hold_lock(f) {
            continue;
        }
        if let Some(r) = &mut rmw {
            r.enter(f);
        }
        if let Some(c) = &mut cta {
            c.enter();
        }
        let mut flow = Flow::new(&scopes, f, &sm, lambda);
        flow.run(&mut |flow, n| {
            if let Some(r) = &mut rmw {
                r.node(flow, &sm, n);
            }
            if let Some(c) = &mut cta {
                c.node(flow, &sm, n);
            }
        });
        if let Some(r) = &mut rmw {
            r.leave(cx);
        }
    }
    Walked {
        read_modify_write: rmw.map(read_modify_write::Walk::finish).unwrap_or_default(),
        check_then_act: cta.map(|c| c.finish(cx)).unwrap_or_default(),
    }
}

/// The `[[state]]` patterns of a language, for the race rules' needles.
struct StatePatterns(Vec<(StateRole, StateKind, Option<Clause>)>);

impl StatePatterns {
    fn new(lang: Language, models: &Models) -> Self {
        StatePatterns(models.state_anchors(lang))
    }

    /// The clause of each pattern `pick` accepts; `None` when one of them
    /// could match in any file.
    fn clauses(&self, pick: impl Fn(StateRole, StateKind) -> bool) -> Option<Vec<Clause>> {
        self.0
            .iter()
            .filter(|(r, k, _)| pick(*r, *k))
            .map(|(_, _, groups)| groups.clone())
            .collect()
    }
}

/// One group that holds wherever one of `clauses` holds: from each clause,
/// its group of the longest names (the rarest, as a guess).
fn any_of(clauses: &[Clause]) -> Vec<String> {
    clauses
        .iter()
        .filter_map(|groups| {
            groups
                .iter()
                .max_by_key(|g| g.iter().map(String::len).min().unwrap_or(0))
        })
        .flatten()
        .cloned()
        .collect()
}

/// Past this many pairs of an action and a read, the read side is one
/// looser group rather than one clause per pair.
const MAX_PAIRS: usize = 512;

/// Adds what a finding made of an action (`acts`) on state read by
/// `reads` needs: a clause per action and read, or per action with a
/// group of the reads' names when there are too many pairs. `None` when
/// both could be anywhere.
fn read_then_act(
    out: &mut Needles,
    acts: Option<Vec<Clause>>,
    reads: Option<Vec<Clause>>,
) -> Option<()> {
    match (acts, reads) {
        // Nothing of this kind is ever read: no finding needs it.
        (_, Some(reads)) if reads.is_empty() => {}
        (Some(acts), Some(reads)) if acts.len() * reads.len() <= MAX_PAIRS => {
            for act in &acts {
                for read in &reads {
                    out.push_all(act.iter().chain(read).cloned().collect());
                }
            }
        }
        (Some(acts), reads) => {
            let read = reads.as_deref().map(any_of);
            for mut clause in acts {
                clause.extend(read.clone());
                out.push_all(clause);
            }
        }
        // An action could be anywhere: the read is still needed.
        (None, Some(reads)) => out.push_all(vec![any_of(&reads)]),
        (None, None) => return None,
    }
    Some(())
}

/// Adds a clause per pattern of `reads`: what a finding that needs only
/// the read needs. `None` when a read could be anywhere.
fn read_alone(out: &mut Needles, reads: Option<Vec<Clause>>) -> Option<()> {
    for clause in reads? {
        out.push_all(clause);
    }
    Some(())
}

/// Both race rules need a read of shared state and an action on the same
/// kind of state; a file that only reads, only writes, or only opens
/// transactions cannot produce a finding.
pub(crate) fn needles(rule: &'static str, lang: Language, models: &Models) -> Option<Needles> {
    use StateKind::{Atomic, File, Guard, Key, Row};
    use StateRole::{Check, Commit, Create, Read, Save, Write};
    let sp = StatePatterns::new(lang, models);
    let reads = |kind: StateKind| sp.clauses(|r, k| k == kind && matches!(r, Read | Check));
    let mut out = Needles::default();
    if rule == ReadModifyWrite::META.id {
        // Module and instance state count only when an `await` separates
        // the read from the write; Rust has neither (see `Flow`).
        if lang != Language::Rust {
            out.push_all(vec![vec!["await".to_string()]]);
        }
        // Embedded SQL: an `UPDATE` of a value a `SELECT` read.
        out.push_all(vec![vec!["select".to_string()], vec!["update".to_string()]]);
        for kind in [Row, Key, Atomic, Guard] {
            // A row read is written back by `save()` or the session's
            // `commit()`, whatever their kind.
            let writes = sp.clauses(|r, k| {
                k == kind && r == Write || kind == Row && matches!(r, Save | Commit)
            });
            read_then_act(&mut out, writes, reads(kind))?;
        }
        // `*guard = f(..)` writes through the guard itself.
        read_alone(&mut out, reads(Guard))?;
    } else {
        // Embedded SQL: an `INSERT` after a `SELECT` found nothing.
        out.push_all(vec![vec!["select".to_string()], vec!["insert".to_string()]]);
        for kind in [Row, Key, File, Guard] {
            let creates = sp.clauses(|r, k| k == kind && r == Create);
            read_then_act(&mut out, creates, reads(kind))?;
        }
        // An external resource created because a row's stored id was empty.
        read_alone(&mut out, sp.clauses(|r, k| k == Row && r == Read))?;
    }
    Some(out.normalized())
}
