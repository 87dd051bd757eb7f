//! The `race` family: read-modify-write and check-then-act on shared state.

pub mod check_then_act;
pub mod helpers;
pub mod read_modify_write;

pub use check_then_act::CheckThenAct;
pub use read_modify_write::ReadModifyWrite;

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
