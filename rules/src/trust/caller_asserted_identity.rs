use faultline_ir::{FuncId, Kind, Module, NodeId};

use crate::context::{RequestFacts, SourceKind};
use crate::models::Models;
use crate::trust::helpers::{called_name, gate_of, is_env_read, runs_by_default};
use crate::utils::{function_nodes, in_test_code, text};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds identity or privilege taken from a request header the caller
    /// sets (`X-User-Id`, `X-Internal`, `X-Service-Name`, `X-Forwarded-User`,
    /// `X-Role`, `X-Admin`, `X-Tenant-Id`…) and used in an authorization
    /// condition or as the acting user (a user lookup, `request.user`,
    /// `g.user_id`), in a function that verifies no signature or token.
    ///
    /// ## Why is this bad?
    /// Any client can send any header. "The gateway sets it" holds until a
    /// request reaches the service another way: a second ingress, a
    /// port-forward, an SSRF, a neighbour in the cluster. Then `X-User-Id: 1`
    /// is the admin. Reading such headers from an SSO proxy behind an opt-in
    /// setting (`REMOTE_USER`-style) is reported as a warning: it is safe only
    /// while the proxy strips the header from every incoming request.
    ///
    /// ## Example
    /// ```python
    /// def get_current_user(request):
    ///     user_id = request.headers.get("X-User-Id")
    ///     return User.objects.get(pk=user_id)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// def get_current_user(request):
    ///     claims = jwt.decode(request.headers["Authorization"][7:], KEY, algorithms=["RS256"])
    ///     return User.objects.get(pk=claims["sub"])
    /// ```
    ///
    /// ```typescript
    /// if (req.headers["x-role"] === "admin") return next();
    /// ```
    ///
    /// Use instead:
    /// ```typescript
    /// const claims = jwt.verify(bearer(req), publicKey, { algorithms: ["RS256"] });
    /// if (claims.role === "admin") return next();
    /// ```
    ///
    /// ```rust
    /// let user_id = headers.get("x-user-id").and_then(|v| v.to_str().ok());
    /// let user = load_user(&db, user_id).await?;
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let claims = decode::<Claims>(bearer(&headers)?, &key, &Validation::new(Algorithm::RS256))?;
    /// let user = load_user(&db, &claims.claims.sub).await?;
    /// ```
    pub struct CallerAssertedIdentity => {
        id: "trust/caller-asserted-identity",
        family: Trust,
        summary: "identity or privilege taken from a header the caller sets",
        level: Error,
        languages: [Python, TypeScript, Rust],
        cwe: [290],
        precision: Medium,
        security_severity: "8.1",
    }
}

const HELP: &str = "take identity from a verified credential (session, signed token, mTLS) or verify a signature over the header before trusting it";

const ACTING_KEYS: &[&str] = &[
    "id",
    "pk",
    "user_id",
    "userid",
    "uid",
    "user",
    "email",
    "username",
    "tenant_id",
    "tenantid",
    "tenant",
    "account_id",
    "accountid",
    "org_id",
    "orgid",
    "owner_id",
    "ownerid",
    "owner",
    "role",
    "actor",
    "sub",
];
const LOOKUP_CALLS: &[&str] = &[
    "get_object_or_404",
    "findbyid",
    "findbypk",
    "findone",
    "findunique",
    "findfirst",
    "login",
    "login_user",
    "impersonate",
    "bind",
    "authenticate",
    "force_login",
];
const QUERY_CALLS: &[&str] = &[
    "get",
    "filter",
    "filter_by",
    "exclude",
    "where",
    "find",
    "findfirst",
    "findunique",
    "findone",
    "findmany",
    "findall",
    "select",
    "update",
    "delete",
    "count",
    "get_or_create",
    "first",
    "one",
    "scalar",
];
const ACTING_TARGETS: &[&str] = &[
    "user",
    "user_id",
    "userid",
    "current_user",
    "currentuser",
    "tenant",
    "tenant_id",
    "tenantid",
    "actor",
    "identity",
    "principal",
    "role",
    "roles",
    "is_admin",
    "isadmin",
    "account",
    "auth",
    "account_id",
    "org_id",
];

impl Rule for CallerAssertedIdentity {
    fn needles(&self, lang: Language, models: &Models) -> Option<crate::prefilter::Needles> {
        Some(crate::prefilter::Needles::any(
            crate::trust::helpers::identity_needles(lang, models),
        ))
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
    fn reports_in_test_files(&self) -> bool {
        false
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        let facts = RequestFacts::new(cx);
        let names = facts.headers();
        // (where to report, header, the read or parameter uses, function)
        let mut candidates: Vec<(NodeId, faultline_ir::Span, String, Vec<NodeId>)> = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            if matches!(m.kind(id), Kind::Name(_)) {
                continue;
            }
            let Some(src) = facts.source(id) else {
                continue;
            };
            let SourceKind::Header(header) = &src.kind else {
                continue;
            };
            let f = m.owner(id);
            // The read itself and every use of a local bound to it.
            let mut uses = vec![id];
            for n in function_nodes(m, f, true) {
                if n != id
                    && matches!(m.kind(n), Kind::Name(_))
                    && facts.carried(n).is_some_and(|s| s.read == id)
                {
                    uses.push(n);
                }
            }
            candidates.push((id, m.node(id).span, header.clone(), uses));
        }
        for (f, pi, kind) in facts.value_params() {
            let SourceKind::Header(header) = kind else {
                continue;
            };
            let Some(p) = m.function(f).params.get(pi) else {
                continue;
            };
            let uses: Vec<NodeId> = function_nodes(m, f, true)
                .into_iter()
                .filter(|n| matches!(m.kind(*n), Kind::Name(x) if *x == p.name))
                .collect();
            let Some(first) = uses.first().copied() else {
                continue;
            };
            candidates.push((first, p.span, header, uses));
        }
        let mut out = Vec::new();
        for (id, span, header, uses) in candidates {
            if !names.is_identity(&header) || in_test_code(cx, id) || verifies(m, m.owner(id)) {
                continue;
            }
            let decisive = uses
                .iter()
                .find(|u| gate_of(m, **u).is_some() || acting_user(m, **u));
            let Some(used) = decisive else { continue };
            let sso = names.sso.contains(&header) && config_gated(m, id);
            out.push((id, span, header, *used, sso));
        }
        for (_, span, header, used, sso) in out {
            let mut f = Finding::new(
                &Self::META,
                span,
                if sso {
                    format!(
                        "`{}` trusts the `{header}` header an SSO proxy is expected to set; it is only safe while every path to the service strips it",
                        text(cx, span).lines().next().unwrap_or("").trim()
                    )
                } else {
                    format!(
                        "`{}` takes identity from the `{header}` header, which any caller can set; nothing verifies it",
                        text(cx, span).lines().next().unwrap_or("").trim()
                    )
                },
            )
            .with_help(HELP);
            if sso {
                f = f.with_level(Level::Warning);
            }
            if m.node(used).span != span {
                f = f.with_related(m.node(used).span, "used to decide access here");
            }
            cx.report(f);
        }
    }
}

/// Whether a read only runs when a setting turns the integration on: it
/// sits in a branch on configuration, or an earlier `if` on configuration
/// leaves the function (`if not settings.REMOTE_USER_LOGIN_ENABLED: return`).
fn config_gated(m: &Module, read: NodeId) -> bool {
    if runs_by_default(m, read) != Some(true) {
        return true;
    }
    let f = m.owner(read);
    let start = m.node(read).span.start;
    function_nodes(m, f, false).into_iter().any(|n| {
        let Kind::If { cond, then, .. } = m.kind(n) else {
            return false;
        };
        if m.node(n).span.end > start {
            return false;
        }
        let mut config = false;
        m.walk(*cond, &mut |x| {
            let setting = matches!(m.kind(x), Kind::Attr { object, .. }
                if matches!(m.kind(*object), Kind::Name(o) if ["settings", "config", "conf", "CONFIG", "SETTINGS"].contains(&o.as_str())));
            if setting || is_env_read(m, x) {
                config = true;
            }
        });
        let mut leaves = false;
        m.walk(*then, &mut |x| {
            if matches!(m.kind(x), Kind::Return(_) | Kind::Throw(_)) {
                leaves = true;
            }
        });
        config && leaves
    })
}

/// Whether the function (or one around it) checks a signature or token.
fn verifies(m: &Module, f: FuncId) -> bool {
    let mut cur = Some(f);
    while let Some(fid) = cur {
        let found = function_nodes(m, fid, true).into_iter().any(|n| {
            called_name(m, n).is_some_and(|c| {
                let c = c.to_ascii_lowercase();
                [
                    "verify",
                    "compare_digest",
                    "timingsafeequal",
                    "constant_time",
                    "check_signature",
                    "validate_token",
                    "hmac",
                    "jwtverify",
                ]
                .iter()
                .any(|w| c.contains(w))
            })
        });
        if found {
            return true;
        }
        cur = m.function(fid).parent.filter(|p| *p != FuncId(0));
    }
    false
}

/// Whether a use of the header value makes it the acting user: a user
/// lookup keyed by it, or a store into `request.user` / `g.user_id` /
/// `req.user = { id }`.
fn acting_user(m: &Module, use_: NodeId) -> bool {
    let mut cur = use_;
    let mut keyed = false;
    let acting_key = |k: &str| ACTING_KEYS.contains(&k.to_ascii_lowercase().as_str());
    for _ in 0..10 {
        let Some(p) = m.parent(cur) else { return false };
        match m.kind(p) {
            Kind::Call { args, callee, .. } if *callee != cur => {
                let name = called_name(m, p).unwrap_or("").to_ascii_lowercase();
                let kw = args
                    .iter()
                    .any(|a| a.value == cur && a.name.as_deref().is_some_and(acting_key));
                if (kw || keyed) && QUERY_CALLS.contains(&name.as_str()) {
                    return true;
                }
                if LOOKUP_CALLS.contains(&name.as_str())
                    || ["login", "authenticate", "impersonate"]
                        .iter()
                        .any(|w| name.contains(w))
                    || (name.contains("user")
                        || name.contains("tenant")
                        || name.contains("account"))
                        && ["get", "load", "find", "fetch", "set"]
                            .iter()
                            .any(|w| name.starts_with(w))
                {
                    return true;
                }
                // `g.user = User.query.get(uid)`: the lookup's result is stored.
                cur = p;
            }
            Kind::Object { entries, .. } => {
                if entries
                    .iter()
                    .any(|e| e.value == cur && e.key.as_deref().is_some_and(acting_key))
                {
                    keyed = true;
                }
                cur = p;
            }
            Kind::Await(_) | Kind::Question(_) | Kind::Unary { .. } => cur = p,
            Kind::Assign {
                targets,
                value: Some(v),
                ..
            } if *v == cur => {
                return targets.iter().any(|t| match m.kind(*t) {
                    Kind::Attr { name, .. } => ACTING_TARGETS.contains(&name.to_ascii_lowercase().as_str()),
                    Kind::Index { index, .. } => matches!(m.kind(*index), Kind::Str(s) if ACTING_TARGETS.contains(&s.to_ascii_lowercase().as_str())),
                    _ => false,
                });
            }
            _ => return false,
        }
    }
    false
}
