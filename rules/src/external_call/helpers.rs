//! Shared logic of the external-call family.

use crate::utils::listed;
use faultline_ir::{Kind, Module, NodeId, Spread};

use crate::Context;
use crate::models::{CallMatch, Models, Table, TimeoutSpec};
use crate::utils::{args, segs};

/// Whether a timeout is given at a call or constructor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// A finite timeout is given.
    Set,
    /// A timeout is given as "none" (`timeout=None`, axios' `0`).
    Unbounded(NodeId),
    /// Options come from somewhere the analysis cannot see.
    Unknown,
    /// No timeout is given.
    Absent,
}

/// What a call gives for a timeout, looking at its arguments and at builder
/// steps in `path_from..` of its path and after it.
pub fn timeout_at(cx: &Context<'_>, call: NodeId, path_from: usize, spec: &TimeoutSpec) -> Timeout {
    let m = cx.module;
    let a = args(m, call);
    if let Some(kw) = &spec.kwarg {
        if let Some(arg) = a.iter().find(|x| x.name.as_deref() == Some(kw)) {
            return value_timeout(m, arg.value, spec);
        }
    }
    if spec.kwarg.is_some() && a.iter().any(|x| x.spread == Spread::Keyword) {
        return Timeout::Unknown;
    }
    let positional: Vec<_> = a.iter().filter(|x| x.name.is_none()).collect();
    if positional.iter().any(|x| x.spread != Spread::None) {
        return Timeout::Unknown;
    }
    if let Some(p) = spec.position
        && let Some(arg) = positional.get(p)
    {
        return value_timeout(m, arg.value, spec);
    }
    if !spec.option.is_empty() {
        for &i in &spec.options_at {
            let Some(arg) = positional.get(i) else {
                continue;
            };
            match m.kind(arg.value) {
                Kind::Object { entries, .. } => {
                    if let Some(e) = entries.iter().find(|e| {
                        e.key
                            .as_deref()
                            .is_some_and(|k| spec.option.iter().any(|o| o == k))
                    }) {
                        return value_timeout(m, e.value, spec);
                    }
                    if entries.iter().any(|e| e.spread || e.key.is_none()) {
                        return Timeout::Unknown;
                    }
                }
                Kind::Str(_) | Kind::Template(_) | Kind::Num(_) | Kind::Lambda(_) => {}
                Kind::Attr { .. } | Kind::Name(_) if i == 0 && spec.options_at.len() > 1 => {
                    // `axios(url)`: a bare URL variable in the first slot.
                    if i + 1 < positional.len() {
                        continue;
                    }
                    return Timeout::Unknown;
                }
                _ => return Timeout::Unknown,
            }
        }
    }
    if !spec.builder.is_empty() {
        let s = segs(m, call);
        if s.iter()
            .skip(path_from)
            .any(|seg| listed(&spec.builder, &seg.name))
        {
            return Timeout::Set;
        }
        // `let req = http.request(..); req.setTimeout(..)` / a chained step.
        if used_with_step(cx, call, &spec.builder) {
            return Timeout::Set;
        }
    }
    Timeout::Absent
}

fn value_timeout(m: &Module, v: NodeId, spec: &TimeoutSpec) -> Timeout {
    match m.kind(v) {
        Kind::Null => Timeout::Unbounded(v),
        Kind::Name(n) if n == "undefined" => Timeout::Unbounded(v),
        Kind::Num(n) if spec.unbounded_values.iter().any(|u| u == n) => Timeout::Unbounded(v),
        _ => Timeout::Set,
    }
}

/// Whether some node's path goes through `call` and then a step named in
/// `steps` (`req.setTimeout(..)` after `http.request(..)`).
pub fn used_with_step(cx: &Context<'_>, call: NodeId, steps: &[String]) -> bool {
    let m = cx.module;
    cx.uses().of(call).iter().any(|&(n, k)| {
        segs(m, n)
            .get(k + 1..)
            .is_some_and(|rest| rest.iter().any(|s| listed(steps, &s.name)))
    })
}

/// The family's prefilter needles: every external call goes through a call
/// model, a client type or a spawn; `extra` adds a rule's own keywords.
pub fn needles(
    lang: faultline_ir::Language,
    models: &Models,
    extra: &[&str],
) -> Option<crate::prefilter::Needles> {
    crate::prefilter::from_tables(
        models,
        lang,
        &[Table::Calls, Table::Types, Table::Spawns],
        extra,
    )
}

/// The model of an external call node (its own call, not a wrapper's).
pub fn external_call<'a>(cx: &Context<'a>, id: NodeId) -> Option<CallMatch<'a>> {
    let m = cx.module;
    if !matches!(m.kind(id), Kind::Call { .. } | Kind::New { .. }) {
        return None;
    }
    let s = segs(m, id);
    if s.last().and_then(|x| x.call) != Some(id) {
        return None;
    }
    cx.models().call(m.language, s)
}

/// The model of an external call node, or of a same-file wrapper call whose
/// path leads to one (`send_email(..)` that returns `requests.post(..)`).
pub fn external_or_wrapper_call<'a>(cx: &Context<'a>, id: NodeId) -> Option<CallMatch<'a>> {
    let m = cx.module;
    if !matches!(m.kind(id), Kind::Call { .. } | Kind::New { .. }) {
        return None;
    }
    let s = segs(m, id);
    // Only the call's own path: not a callee member whose path merely
    // passes through an external call (`resp.json`).
    s.last()?.call?;
    if let Some(hit) = cx.models().call(m.language, s) {
        return Some(hit);
    }
    // `fetch_contact(id)` whose path is `crm.get().json()`: the external
    // call is an earlier segment, made inside the wrapper.
    s.iter()
        .rev()
        .skip(1)
        .filter_map(|seg| seg.call)
        .find_map(|c| external_call(cx, c))
        .filter(|_| !is_own_call_of(m, id))
}

fn is_own_call_of(m: &Module, id: NodeId) -> bool {
    segs(m, id).last().and_then(|x| x.call) == Some(id)
}

/// Whether `root` (not entering nested functions unless `deep`) contains an
/// external call, directly or through a same-file wrapper.
pub fn contains_external_call(cx: &Context<'_>, root: NodeId, deep: bool) -> bool {
    let mut nodes = Vec::new();
    crate::utils::collect(cx.module, root, deep, &mut nodes);
    nodes
        .into_iter()
        .any(|n| external_or_wrapper_call(cx, n).is_some())
}

/// The HTTP method a request uses: from its path (`requests.post`,
/// `client.put(..)`), a `method` option (`fetch(u, { method: "POST" })`,
/// `method="POST"`) or a leading method argument (`request("POST", u)`).
pub fn http_method(m: &Module, id: NodeId) -> Option<String> {
    const METHODS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];
    let is_method = |t: &str| METHODS.contains(&t.to_ascii_lowercase().as_str());
    let from_path = segs(m, id)
        .iter()
        .rev()
        .find(|s| is_method(&s.name))
        .map(|s| s.name.as_str().to_ascii_lowercase());
    if from_path.is_some() {
        return from_path;
    }
    for (i, a) in args(m, id).iter().enumerate() {
        match (m.kind(a.value), a.name.as_deref()) {
            (Kind::Str(v), Some("method")) if is_method(v) => return Some(v.to_ascii_lowercase()),
            (Kind::Str(v), None) if i == 0 && is_method(v) => return Some(v.to_ascii_lowercase()),
            (Kind::Object { entries, .. }, None) => {
                let method =
                    entries
                        .iter()
                        .find_map(|e| match (e.key.as_deref(), m.kind(e.value)) {
                            (Some("method"), Kind::Str(v)) if is_method(v) => {
                                Some(v.to_ascii_lowercase())
                            }
                            _ => None,
                        });
                if method.is_some() {
                    return method;
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether the external call changes remote state.
pub fn is_write(m: &Module, id: NodeId, hit: &CallMatch<'_>) -> bool {
    hit.model.write
        || http_method(m, id)
            .is_some_and(|x| matches!(x.as_str(), "post" | "put" | "patch" | "delete"))
}
