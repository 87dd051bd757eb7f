use crate::utils::listed;
use faultline_ir::{Kind, Module, NodeId};
use foldhash::{HashSet, HashSetExt};

use crate::external_call::helpers::{Timeout, external_call, timeout_at, used_with_step};
use crate::models::Models;
use crate::models::{DefaultTimeout, TimeoutSpec, TypeModel};
use crate::utils::{call_label, in_test_code, is_own_call, segs};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds network calls that can wait forever: HTTP requests, socket, SMTP
    /// and connection set-up with no timeout, and clients built without one.
    ///
    /// ## Why is this bad?
    /// A remote side that accepts the connection and never answers holds the
    /// caller's worker, thread or connection slot until the process is
    /// restarted. One slow dependency then takes the whole service down: every
    /// worker ends up waiting on it. `requests`, axios, `got`, Node's
    /// `http.request`, the async `reqwest::Client` and `urllib` have no
    /// timeout unless you give one.
    ///
    /// Clients and sessions are followed: a call through a client built with
    /// a timeout is fine; a client built without one is reported where it is
    /// built. httpx and aiohttp have finite defaults, so only an explicit
    /// `timeout=None` is reported. Node's global `fetch` gives up after
    /// undici's 300 s limits, so a missing `signal` there is a note.
    ///
    /// ## Example
    /// ```python
    /// import requests
    /// resp = requests.get(url)
    /// ```
    /// ```typescript
    /// const api = axios.create({ baseURL });
    /// ```
    /// ```rust
    /// let client = reqwest::Client::new();
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// resp = requests.get(url, timeout=10)
    /// ```
    /// ```typescript
    /// const api = axios.create({ baseURL, timeout: 10_000 });
    /// ```
    /// ```rust
    /// let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    /// ```
    ///
    /// ## Known problems
    /// A timeout set where the analysis cannot see it (a `requests` adapter
    /// mounted in another module, axios defaults set at start-up in another
    /// file) is not seen.
    pub struct MissingTimeout => {
        id: "external-call/missing-timeout",
        family: ExternalCall,
        summary: "network call that can wait forever",
        level: Warning,
        languages: [Python, TypeScript, Rust],
        cwe: [1088],
        precision: High,
    }
}

impl Rule for MissingTimeout {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        // Only calls whose model places a timeout, and client constructions.
        let mut out = models.call_anchors(lang, |c| c.timeout.is_some())?;
        out.extend(models.anchors(lang, crate::models::Table::Types)?);
        Some(out.normalized())
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        let models = cx.models();
        let mut flagged_ctors = HashSet::new();
        let mut out = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            if !matches!(m.kind(id), Kind::Call { .. } | Kind::New { .. }) || !is_own_call(m, id) {
                continue;
            }
            if in_test_code(cx, id) {
                continue;
            }
            let path = segs(m, id);
            if let Some(ty) = models.constructed_type(m.language, path) {
                if let Some(f) = check_construction(cx, id, ty)
                    && flagged_ctors.insert(id)
                {
                    out.push(f);
                }
                continue;
            }
            let Some(hit) = external_call(cx, id) else {
                continue;
            };
            let Some(spec) = &hit.model.timeout else {
                continue;
            };
            if bounded_by_wrapper(m, id) {
                continue;
            }
            let level = hit
                .model
                .missing_timeout_level
                .as_deref()
                .map_or(Self::META.level, parse_level);
            match timeout_at(cx, id, hit.client_len, spec) {
                Timeout::Set | Timeout::Unknown => continue,
                Timeout::Unbounded(v) => out.push(
                    Finding::new(
                        &Self::META,
                        m.node(id).span,
                        format!("`{}` has its timeout turned off", call_label(cx, id)),
                    )
                    .with_level(level)
                    .with_related(m.node(v).span, "no timeout here")
                    .with_help(help(m.language)),
                ),
                Timeout::Absent => {
                    if let Some(ty) = hit.client {
                        let ctor = hit
                            .client_len
                            .checked_sub(1)
                            .and_then(|k| path.get(k))
                            .and_then(|s| s.call);
                        match ctor {
                            // A client from elsewhere: only a type that can never
                            // carry a timeout makes every call the problem.
                            None if ty.timeout.is_none()
                                && ty.default_timeout == DefaultTimeout::None => {}
                            None => continue,
                            Some(c) => match client_timeout(cx, c, hit.client_len, ty) {
                                Timeout::Set | Timeout::Unknown | Timeout::Unbounded(_) => continue,
                                Timeout::Absent
                                    if ty.default_timeout == DefaultTimeout::Bounded =>
                                {
                                    continue;
                                }
                                Timeout::Absent if ty.report_construction => continue,
                                // A mounted adapter can inject a default timeout.
                                Timeout::Absent
                                    if used_with_step(cx, c, &["mount".to_string()]) =>
                                {
                                    continue;
                                }
                                Timeout::Absent => {}
                            },
                        }
                    } else if hit.model.default_timeout == DefaultTimeout::Bounded
                        || defaults_timeout_set(m, None, path.first().map(|s| s.name.as_str()))
                    {
                        continue;
                    }
                    let what = call_label(cx, id);
                    let message = if level == Level::Note {
                        format!(
                            "`{what}` has no `signal`; it waits up to the runtime's 300 s limit"
                        )
                    } else {
                        format!("`{what}` has no timeout and can wait forever")
                    };
                    out.push(
                        Finding::new(&Self::META, m.node(id).span, message)
                            .with_level(level)
                            .with_help(help(m.language)),
                    );
                }
            }
        }
        for f in out {
            cx.report(f);
        }
    }
}

/// A client construction that is itself the problem: an explicit "no
/// timeout", or (for clients whose calls cannot add one cheaply) none at all
/// while some request through it in this file has none either.
fn check_construction(cx: &Context<'_>, id: NodeId, ty: &TypeModel) -> Option<Finding> {
    let m = cx.module;
    let len = segs(m, id).len();
    match client_timeout(cx, id, len, ty) {
        Timeout::Set | Timeout::Unknown => None,
        Timeout::Unbounded(v) => Some(
            Finding::new(
                &MissingTimeout::META,
                m.node(id).span,
                format!(
                    "`{}` builds a client with its timeout turned off",
                    call_label(cx, id)
                ),
            )
            .with_related(m.node(v).span, "no timeout here")
            .with_help(help(m.language)),
        ),
        Timeout::Absent => {
            if ty.default_timeout == DefaultTimeout::Bounded || !ty.report_construction {
                return None;
            }
            if defaults_timeout_set(m, Some(id), None) {
                return None;
            }
            // Requests through this client that set their own timeout.
            let mut uses = 0;
            let mut covered = 0;
            for &(nid, k) in cx.uses().of(id) {
                if k + 1 != len || !is_own_call(m, nid) {
                    continue;
                }
                let Some(hit) = external_call(cx, nid) else {
                    continue;
                };
                let Some(spec) = &hit.model.timeout else {
                    continue;
                };
                uses += 1;
                if matches!(
                    timeout_at(cx, nid, len, spec),
                    Timeout::Set | Timeout::Unknown
                ) {
                    covered += 1;
                }
            }
            if uses > 0 && uses == covered {
                return None;
            }
            Some(
                Finding::new(
                    &MissingTimeout::META,
                    m.node(id).span,
                    format!(
                        "`{}` builds a client with no timeout; its requests can wait forever",
                        call_label(cx, id)
                    ),
                )
                .with_help(help(m.language)),
            )
        }
    }
}

/// The timeout of a client built by the path prefix ending at `ctor`.
fn client_timeout(cx: &Context<'_>, ctor: NodeId, len: usize, ty: &TypeModel) -> Timeout {
    let m = cx.module;
    let Some(spec) = &ty.timeout else {
        return Timeout::Absent;
    };
    // Builder steps live in the constructor chain itself: look at the
    // chain's segments up to the constructor.
    if !spec.builder.is_empty()
        && segs(m, ctor)
            .iter()
            .take(len)
            .any(|s| listed(&spec.builder, &s.name))
    {
        return Timeout::Set;
    }
    // Options/keywords sit on the constructing call; for builder chains the
    // first called segment is the one that takes options.
    let first_called = segs(m, ctor)
        .iter()
        .take(len)
        .find(|s| s.called)
        .and_then(|s| s.call);
    let at = first_called.unwrap_or(ctor);
    let plain = TimeoutSpec {
        builder: Vec::new(),
        ..spec.clone()
    };
    match timeout_at(cx, at, len, &plain) {
        Timeout::Absent if at != ctor => timeout_at(cx, ctor, len, &plain),
        t => t,
    }
}

/// `api.defaults.timeout = 5000` / `axios.defaults.timeout = …` in this file.
fn defaults_timeout_set(m: &Module, ctor: Option<NodeId>, root: Option<&str>) -> bool {
    m.nodes.iter().any(|n| {
        let Kind::Assign { targets, .. } = &n.kind else {
            return false;
        };
        targets.iter().any(|t| {
            let Kind::Attr { object, name } = m.kind(*t) else {
                return false;
            };
            let Kind::Attr {
                object: base,
                name: defaults,
            } = m.kind(*object)
            else {
                return false;
            };
            if name != "timeout" || defaults != "defaults" {
                return false;
            }
            let s = segs(m, *base);
            match ctor {
                Some(c) => s.last().and_then(|x| x.call) == Some(c),
                None => s.len() == 1 && root.is_some_and(|r| s[0].name == r),
            }
        })
    })
}

/// `tokio::time::timeout(d, call)`, `asyncio.wait_for(call, 5)`: the call is
/// bounded by what wraps it.
fn bounded_by_wrapper(m: &Module, id: NodeId) -> bool {
    m.ancestors(id).take(4).any(|a| {
        matches!(m.kind(a), Kind::Call { .. })
            && matches!(
                crate::utils::call_name(m, a),
                Some("timeout" | "wait_for" | "with_timeout" | "timeout_at")
            )
            && crate::utils::args(m, a)
                .iter()
                .any(|arg| m.ancestors(id).any(|x| x == arg.value) || arg.value == id)
    })
}

fn parse_level(s: &str) -> Level {
    match s {
        "note" => Level::Note,
        "error" => Level::Error,
        _ => Level::Warning,
    }
}

fn help(lang: faultline_ir::Language) -> &'static str {
    match lang {
        faultline_ir::Language::Python => {
            "pass a timeout in seconds, e.g. `timeout=10` (or a `(connect, read)` tuple)"
        }
        faultline_ir::Language::Rust => {
            "set `.timeout(Duration::from_secs(..))` on the client builder or on the request"
        }
        _ => {
            "pass `timeout` (ms) in the request config, or `signal: AbortSignal.timeout(ms)` for fetch"
        }
    }
}
