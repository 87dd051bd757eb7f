use faultline_ir::{FuncId, Kind, Module, NodeId};

use crate::models::Models;
use crate::trust::helpers::{call_is, called_name, default_value, model};
use crate::utils::{args, function_nodes, in_test_code, segs, snippet, text};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds token claims used without verifying the token's signature:
    /// PyJWT `jwt.decode(.., options={"verify_signature": False})`,
    /// `verify=False` or `algorithms=["none"]`; `jose`
    /// `get_unverified_claims`; `jsonwebtoken.decode(..)` whose result
    /// drives a decision in a function that never calls `verify`; Rust
    /// `jsonwebtoken` `insecure_disable_signature_validation()` and
    /// `dangerous_insecure_decode`.
    ///
    /// ## Why is this bad?
    /// A JWT is three base64 strings anyone can write. Without the signature
    /// check, `{"sub": "admin", "role": "owner"}` is whatever the caller says
    /// it is. Decoding without verification only to read `kid` or `iss` and
    /// pick the key, followed by a verified decode of the same token, is the
    /// normal idiom and is not reported.
    ///
    /// ## Example
    /// ```python
    /// claims = jwt.decode(token, options={"verify_signature": False})
    /// user = User.objects.get(pk=claims["sub"])
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// claims = jwt.decode(token, PUBLIC_KEY, algorithms=["RS256"], audience="api")
    /// user = User.objects.get(pk=claims["sub"])
    /// ```
    ///
    /// ```typescript
    /// const claims = jwt.decode(token) as JwtPayload;
    /// if (claims.role === "admin") return next();
    /// ```
    ///
    /// Use instead:
    /// ```typescript
    /// const claims = jwt.verify(token, publicKey, { algorithms: ["RS256"] }) as JwtPayload;
    /// if (claims.role === "admin") return next();
    /// ```
    ///
    /// ```rust
    /// let mut validation = Validation::new(Algorithm::RS256);
    /// validation.insecure_disable_signature_validation();
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let validation = Validation::new(Algorithm::RS256);
    /// let data = decode::<Claims>(token, &key, &validation)?;
    /// ```
    pub struct UnverifiedToken => {
        id: "trust/unverified-token",
        family: Trust,
        summary: "token claims used without verifying the signature",
        level: Error,
        languages: [Python, TypeScript, Rust],
        cwe: [347],
        precision: High,
        security_severity: "8.8",
    }
}

const HELP: &str = "verify the signature with the issuer's key and a fixed algorithm list before reading claims (`jwt.decode(token, key, algorithms=[..])`, `jwt.verify`, `decode::<C>(..)`)";

impl Rule for UnverifiedToken {
    fn needles(&self, lang: Language, _models: &Models) -> Option<crate::prefilter::Needles> {
        Some(crate::prefilter::Needles::any(
            crate::trust::helpers::jwt_needles(lang),
        ))
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        let jwt = &model(m.language).jwt;
        let mut out: Vec<(NodeId, String)> = Vec::new();
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            if !matches!(m.kind(id), Kind::Call { .. }) {
                continue;
            }
            let reason = if call_is(m, id, &jwt.unverified) {
                Some("reads the claims without checking the signature".to_string())
            } else if call_is(m, id, &jwt.decode) {
                disabled_by_options(m, id, jwt)
            } else if called_name(m, id).is_some_and(|n| jwt.disable_methods.iter().any(|d| d == n))
            {
                Some("turns the signature check off for every token validated with it".to_string())
            } else {
                None
            };
            let Some(reason) = reason else { continue };
            let f = m.owner(id);
            if later_verified(cx, id, f) || only_routing_claims(cx, id) {
                continue;
            }
            if jwt.require_decision && (calls_verify(cx, f) || !drives_decision(cx, id)) {
                continue;
            }
            out.push((id, reason));
        }
        for (id, reason) in out {
            let mut f = Finding::new(
                &Self::META,
                m.node(id).span,
                format!("`{}` {reason}", snippet(cx, id)),
            )
            .with_help(HELP);
            if in_test_code(cx, id) {
                f = f.with_level(Level::Note);
            }
            cx.report(f);
        }
    }
}

/// `options={"verify_signature": False}`, `verify=False`, `algorithms=["none"]`.
fn disabled_by_options(
    m: &Module,
    call: NodeId,
    jwt: &crate::trust::helpers::JwtModel,
) -> Option<String> {
    let off = |v: NodeId| default_value(m, v, 0).is_some_and(|x| x.disables());
    for a in args(m, call) {
        let Some(k) = a.name.as_deref() else { continue };
        if jwt.disable_options.iter().any(|o| o == k) && off(a.value) {
            return Some(format!(
                "decodes with `{k}` off, so the signature is never checked"
            ));
        }
        if k == "options"
            && let Kind::Object { entries, .. } = m.kind(a.value)
            && let Some(e) = entries.iter().find(|e| {
                e.key
                    .as_deref()
                    .is_some_and(|k| jwt.disable_options.iter().any(|o| o == k))
                    && off(e.value)
            })
        {
            return Some(format!(
                "decodes with `{}` off, so the signature is never checked",
                e.key.as_deref().unwrap_or("verify_signature")
            ));
        }
        if k == "algorithms" {
            let none = |x: NodeId| matches!(m.kind(x), Kind::Str(s) if jwt.none_algorithms.iter().any(|n| n.eq_ignore_ascii_case(s)));
            let hit = match m.kind(a.value) {
                Kind::Array(items) => items.iter().any(|x| none(*x)),
                _ => none(a.value),
            };
            if hit {
                return Some(
                    "accepts the `none` algorithm, so an unsigned token passes".to_string(),
                );
            }
        }
    }
    None
}

/// The token argument's source text.
fn token_text<'a>(cx: &Context<'a>, call: NodeId) -> Option<&'a str> {
    args(cx.module, call)
        .iter()
        .find(|a| {
            a.name.is_none()
                || a.name.as_deref() == Some("token")
                || a.name.as_deref() == Some("jwt")
        })
        .map(|a| text(cx, cx.module.node(a.value).span).trim())
}

/// A verified decode of the same token later in the function (the `kid`
/// idiom).
fn later_verified(cx: &Context<'_>, call: NodeId, f: FuncId) -> bool {
    let m = cx.module;
    let jwt = &model(m.language).jwt;
    let Some(token) = token_text(cx, call) else {
        return false;
    };
    let start = m.node(call).span.end;
    function_nodes(m, f, true).into_iter().any(|n| {
        n != call
            && m.node(n).span.start >= start
            && (call_is(m, n, &jwt.verify)
                || call_is(m, n, &jwt.decode) && disabled_by_options(m, n, jwt).is_none())
            && token_text(cx, n) == Some(token)
    })
}

/// Claims that say which issuer or key a token belongs to, read to route
/// it to the right verified decode.
const ROUTING_CLAIMS: &[&str] = &[
    "iss", "kid", "alg", "typ", "owner", "jku", "x5u", "aud", "azp", "exp", "iat", "nbf",
];

/// Whether the decoded claims are only read for routing claims
/// (`payload.get("iss")`, `claims["kid"]`, `claims.owner`), so the token is
/// classified here and verified where it is routed to.
fn only_routing_claims(cx: &Context<'_>, call: NodeId) -> bool {
    let m = cx.module;
    // Locals bound to the decoded claims themselves, not to values read
    // from them.
    let mut uses: Vec<NodeId> = cx
        .uses()
        .of(call)
        .iter()
        .filter(|(n, k)| segs(m, *n).len() == k + 1)
        .map(|(n, _)| *n)
        .collect();
    uses.push(call);
    let key_of = |x: NodeId| -> Option<String> {
        default_value(m, x, 0).and_then(|v| match v {
            crate::trust::helpers::Value::Str(s) => Some(s),
            _ => None,
        })
    };
    let mut reads = 0;
    for u in uses {
        // Members of the claims reached through the path of a use are
        // themselves uses; judge only the roots.
        if !matches!(m.kind(u), Kind::Name(_)) && u != call {
            continue;
        }
        let Some(p) = m.parent(u) else { return false };
        let key = match m.kind(p) {
            Kind::Assign {
                targets,
                value: Some(v),
                ..
            } if *v == u && targets.iter().all(|t| matches!(m.kind(*t), Kind::Name(_))) => {
                continue;
            }
            Kind::Assign { targets, .. } if targets.contains(&u) => continue,
            Kind::Index { object, index } if *object == u => key_of(*index),
            Kind::Attr { object, name } if *object == u => {
                let called = m.parent(p).is_some_and(
                    |c| matches!(m.kind(c), Kind::Call { callee, .. } if *callee == p),
                );
                if called && name == "get" {
                    m.parent(p)
                        .and_then(|c| args(m, c).first().and_then(|a| key_of(a.value)))
                } else if called {
                    None
                } else {
                    Some(name.to_string())
                }
            }
            _ => None,
        };
        match key {
            Some(k) if ROUTING_CLAIMS.contains(&k.as_str()) => reads += 1,
            _ => return false,
        }
    }
    reads > 0
}

/// Whether the function calls any signature check.
fn calls_verify(cx: &Context<'_>, f: FuncId) -> bool {
    let m = cx.module;
    let jwt = &model(m.language).jwt;
    function_nodes(m, f, true).into_iter().any(|n| {
        call_is(m, n, &jwt.verify)
            || called_name(m, n).is_some_and(|c| c.to_ascii_lowercase().contains("verify"))
    })
}

/// Whether the decoded claims decide something: a condition, a return, a
/// store into a request/user field, directly or through a local.
fn drives_decision(cx: &Context<'_>, call: NodeId) -> bool {
    let m = cx.module;
    let mut uses: Vec<NodeId> = cx.uses().of(call).iter().map(|(n, _)| *n).collect();
    uses.push(call);
    uses.into_iter().any(|u| {
        let mut cur = u;
        for _ in 0..10 {
            let Some(p) = m.parent(cur) else { return false };
            match m.kind(p) {
                Kind::If { cond, .. } | Kind::Cond { cond, .. } if *cond == cur => return true,
                Kind::Return(_) => return true,
                Kind::Assign {
                    targets,
                    value: Some(v),
                    ..
                } if *v == cur => {
                    return targets
                        .iter()
                        .any(|t| matches!(m.kind(*t), Kind::Attr { .. } | Kind::Index { .. }));
                }
                Kind::Binary { .. }
                | Kind::Unary { .. }
                | Kind::Attr { .. }
                | Kind::Index { .. }
                | Kind::Await(_)
                | Kind::Object { .. } => cur = p,
                _ => return false,
            }
        }
        false
    })
}
