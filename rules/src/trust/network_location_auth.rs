use crate::utils::listed;
use faultline_ir::{BinOp, Kind, NodeId};

use crate::context::{RequestFacts, Source, SourceKind};
use crate::models::Models;
use crate::trust::helpers::{Gate, called_name, gate_of, is_location_constant, model};
use crate::utils::{args, in_test_code, snippet};
use crate::{Context, Finding, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds authorization decided by where a request seems to come from:
    /// the client address (`request.remote_addr`, `REMOTE_ADDR`,
    /// `request.client.host`, `req.ip`, `req.socket.remoteAddress`, axum
    /// `ConnectInfo`, actix `peer_addr`), a forwarding header
    /// (`X-Forwarded-For`, `X-Real-IP`, `Forwarded`) or the Host, compared
    /// with localhost, a private range, an `.internal` name or an
    /// allowlist, where the outcome lets the request through or refuses it.
    ///
    /// ## Why is this bad?
    /// Forwarding headers and the Host are whatever the caller sends. Behind
    /// a proxy or load balancer every request comes from a private address,
    /// and inside the network an SSRF, a compromised pod or a sidecar makes
    /// requests from "localhost". A network location is not an identity:
    /// the check turns any foothold into admin access. Logging the address,
    /// keying a rate limit on it, and reading the proxy-appended entry of
    /// `X-Forwarded-For` behind a configured set of trusted proxies
    /// (`ProxyFix`, `trust proxy`) are fine.
    ///
    /// ## Example
    /// ```python
    /// @app.route("/internal/flush")
    /// def flush():
    ///     if request.remote_addr in ("127.0.0.1", "10.0.0.5"):
    ///         cache.clear()
    ///         return "ok"
    ///     abort(403)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// @app.route("/internal/flush")
    /// @require_service_token("cache:flush")
    /// def flush():
    ///     cache.clear()
    ///     return "ok"
    /// ```
    ///
    /// ```typescript
    /// app.use("/admin", (req, res, next) => {
    ///   if (req.ip === "127.0.0.1") return next();
    ///   res.sendStatus(403);
    /// });
    /// ```
    ///
    /// Use instead:
    /// ```typescript
    /// app.use("/admin", requireAuth({ role: "admin" }));
    /// ```
    ///
    /// ```rust
    /// async fn admin(ConnectInfo(addr): ConnectInfo<SocketAddr>) -> StatusCode {
    ///     if !addr.ip().is_loopback() { return StatusCode::FORBIDDEN; }
    ///     StatusCode::OK
    /// }
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// async fn admin(AdminUser(user): AdminUser) -> StatusCode {
    ///     StatusCode::OK
    /// }
    /// ```
    pub struct NetworkLocationAuth => {
        id: "trust/network-location-auth",
        family: Trust,
        summary: "access decided by the client address, a forwarding header or the Host",
        level: Error,
        languages: [Python, TypeScript, Rust],
        cwe: [291],
        precision: Medium,
        security_severity: "8.1",
    }
}

const HELP: &str = "authenticate the caller (a session, a signed service token, mTLS) instead of trusting where the request seems to come from";

impl Rule for NetworkLocationAuth {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        // A report needs a location read, from a request root, and a
        // location constant or predicate to compare it with.
        Some(
            crate::prefilter::Needles::any(crate::trust::helpers::location_needles(lang, models))
                .and_any(crate::context::root_needles(models.request_context(lang)))
                .and_any(crate::trust::helpers::location_constant_needles(lang)),
        )
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        // Most files compare nothing with a location constant: build the
        // request facts only once a comparison or check needs them.
        let cell = std::cell::OnceCell::new();
        let facts = || cell.get_or_init(|| RequestFacts::new(cx));
        let loc = &model(m.language).location;
        let location = |x: NodeId| facts().carried(x).filter(|s| s.kind.is_location());
        let mut out: Vec<(NodeId, Source)> = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            let found = match m.kind(id) {
                Kind::Binary {
                    op: BinOp::Eq | BinOp::NotEq | BinOp::In | BinOp::NotIn,
                    lhs,
                    rhs,
                } => is_location_constant(m, *rhs)
                    .then(|| location(*lhs))
                    .flatten()
                    .or_else(|| {
                        is_location_constant(m, *lhs)
                            .then(|| location(*rhs))
                            .flatten()
                    }),
                Kind::Call { callee, .. } => {
                    let name = called_name(m, id).unwrap_or("");
                    let recv = match m.kind(*callee) {
                        Kind::Attr { object, .. } => Some(*object),
                        _ => None,
                    };
                    let a = args(m, id);
                    if matches!(
                        name,
                        "startswith"
                            | "startsWith"
                            | "endswith"
                            | "endsWith"
                            | "starts_with"
                            | "ends_with"
                    ) {
                        recv.and_then(location)
                            .filter(|_| a.first().is_some_and(|x| is_location_constant(m, x.value)))
                    } else if matches!(
                        name,
                        "includes"
                            | "has"
                            | "contains"
                            | "__contains__"
                            | "indexOf"
                            | "contains_key"
                    ) {
                        recv.filter(|r| is_location_constant(m, *r))
                            .and_then(|_| a.first().and_then(|x| location(x.value)))
                    } else if listed(&loc.members, name) {
                        recv.and_then(location)
                    } else if listed(&loc.predicates, name) {
                        a.iter().find_map(|x| location(x.value))
                    } else {
                        None
                    }
                }
                Kind::Attr { object, name } if listed(&loc.members, name) => {
                    let is_callee = m.parent(id).is_some_and(
                        |p| matches!(m.kind(p), Kind::Call { callee, .. } if *callee == id),
                    );
                    if is_callee { None } else { location(*object) }
                }
                _ => None,
            };
            let Some(src) = found else { continue };
            if facts().trusted_proxies
                && matches!(src.kind, SourceKind::Address | SourceKind::Forwarded)
            {
                continue;
            }
            if in_test_code(cx, id) || gate_of(m, id).is_none() {
                continue;
            }
            out.push((id, src));
        }
        for (id, src) in out {
            let what = match src.kind {
                SourceKind::Address => "the client address",
                SourceKind::Forwarded => "a forwarding header the caller sets",
                SourceKind::Host => "the Host the caller names",
                SourceKind::Header(_) => "a request header",
            };
            let gate = match gate_of(m, id) {
                Some(Gate::Deny) => "refuses or admits the request",
                _ => "lets the request through",
            };
            let read = snippet(cx, src.read);
            let mut f = Finding::new(
                &Self::META,
                m.node(id).span,
                format!(
                    "`{}` {gate} based on {what} (`{read}`), which proxies, SSRF and spoofed headers control",
                    snippet(cx, id)
                ),
            )
            .with_help(HELP);
            if m.node(src.read).span != m.node(id).span {
                f = f.with_related(m.node(src.read).span, format!("{what} read here"));
            }
            cx.report(f);
        }
    }
}
