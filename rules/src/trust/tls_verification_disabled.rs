use faultline_ir::{FuncKind, Kind, NodeId};
use foldhash::HashSet;

use crate::models::Models;
use crate::trust::helpers::{
    call_is, called_name, default_value, dotted_eq, dotted_suffix, model, path_text,
    runs_by_default,
};
use crate::utils::{args, in_test_code, segs, snippet};
use crate::{Context, Finding, Level, Rule, RuleMeta, declare_rule};
use faultline_ir::Language;

declare_rule! {
    /// ## What it does
    /// Finds TLS certificate or hostname verification turned off:
    /// `verify=False`, `ssl.CERT_NONE`, `check_hostname = False`,
    /// `ssl._create_unverified_context()`, `rejectUnauthorized: false`,
    /// `NODE_TLS_REJECT_UNAUTHORIZED = '0'`, `danger_accept_invalid_certs(true)`,
    /// custom verifiers that accept every certificate, and configuration
    /// reads whose default turns verification off
    /// (`verify=settings.get("verify_ssl", False)`).
    ///
    /// ## Why is this bad?
    /// Without verification anyone on the path (a compromised pod, a shared
    /// Wi-Fi, a misrouted service mesh) can present any certificate, read
    /// the traffic and change it, credentials included. "It is only
    /// internal traffic" is how it ships. A setting that lets operators opt
    /// out while verifying by default is fine; test code is reported as a
    /// note.
    ///
    /// ## Example
    /// ```python
    /// resp = requests.get(BILLING_URL, verify=False, timeout=5)
    /// ```
    ///
    /// Use instead:
    /// ```python
    /// resp = requests.get(BILLING_URL, verify="/etc/ssl/internal-ca.pem", timeout=5)
    /// ```
    ///
    /// ```typescript
    /// const agent = new https.Agent({ rejectUnauthorized: false });
    /// ```
    ///
    /// Use instead:
    /// ```typescript
    /// const agent = new https.Agent({ ca: fs.readFileSync("/etc/ssl/internal-ca.pem") });
    /// ```
    ///
    /// ```rust
    /// let client = reqwest::Client::builder().danger_accept_invalid_certs(true).build()?;
    /// ```
    ///
    /// Use instead:
    /// ```rust
    /// let ca = reqwest::Certificate::from_pem(&std::fs::read("/etc/ssl/internal-ca.pem")?)?;
    /// let client = reqwest::Client::builder().add_root_certificate(ca).build()?;
    /// ```
    pub struct TlsVerificationDisabled => {
        id: "trust/tls-verification-disabled",
        family: Trust,
        summary: "certificate or hostname verification turned off for TLS",
        level: Error,
        languages: [Python, TypeScript, Rust],
        cwe: [295],
        precision: High,
        security_severity: "7.5",
    }
}

const HELP: &str = "keep verification on; for a private CA pass its bundle (`verify=\"ca.pem\"`, `ca:`, `add_root_certificate`), and gate any opt-out behind a setting whose default verifies";

impl Rule for TlsVerificationDisabled {
    fn needles(&self, lang: Language, _models: &Models) -> Option<crate::prefilter::Needles> {
        let mut out = crate::prefilter::Needles::any(crate::trust::helpers::tls_needles(lang));
        for clause in crate::trust::helpers::tls_package_flags(lang) {
            out.push_all(clause);
        }
        Some(out.normalized())
    }
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check(&self, cx: &mut Context<'_>) {
        let m = cx.module;
        let tls = &model(m.language).tls;
        let jwt = &model(m.language).jwt;
        let mut hits: Vec<(NodeId, String)> = Vec::new();
        let off = |v: NodeId| default_value(m, v, 0).is_some_and(|x| x.disables());
        let on = |v: NodeId| default_value(m, v, 0).is_some_and(|x| x.truthy());
        for i in 0..m.nodes.len() {
            let id = NodeId(i as u32);
            match m.kind(id) {
                Kind::Call { args: a, .. } => {
                    if call_is(m, id, &tls.unverified_calls) {
                        hits.push((
                            id,
                            format!(
                                "`{}` builds a context that verifies no certificate",
                                snippet(cx, id)
                            ),
                        ));
                        continue;
                    }
                    if call_is(m, id, &jwt.decode) {
                        continue;
                    }
                    let root = segs(m, id).first().map(|s| s.name.as_str()).unwrap_or("");
                    for x in a {
                        let Some(k) = x.name.as_deref() else { continue };
                        let flag = tls.flags.iter().any(|f| f == k)
                            || tls.package_flags.iter().any(|pf| {
                                pf.first().is_some_and(|p| p == root)
                                    && pf.get(1).is_some_and(|f| f == k)
                            });
                        if flag && off(x.value) {
                            hits.push((
                                x.value,
                                format!(
                                    "`{k}={}` turns TLS certificate verification off",
                                    snippet(cx, x.value)
                                ),
                            ));
                        }
                    }
                    if let Some(name) = called_name(m, id)
                        && tls.insecure_flags.iter().any(|f| f == name)
                        && let Some(first) = args(m, id).first()
                        && on(first.value)
                    {
                        hits.push((
                            first.value,
                            format!(
                                "`{name}({})` accepts any certificate or hostname",
                                snippet(cx, first.value)
                            ),
                        ));
                    }
                }
                Kind::Object { entries, .. } => {
                    for e in entries {
                        let Some(k) = e.key.as_deref() else { continue };
                        if tls.flags.iter().any(|f| f == k) && off(e.value) {
                            hits.push((
                                e.value,
                                format!(
                                    "`{k}: {}` turns TLS certificate verification off",
                                    snippet(cx, e.value)
                                ),
                            ));
                        } else if tls.insecure_flags.iter().any(|f| f == k) && on(e.value) {
                            hits.push((
                                e.value,
                                format!("`{k}: {}` accepts any certificate", snippet(cx, e.value)),
                            ));
                        } else if tls.verifiers.iter().any(|f| f == k)
                            && accepts_everything_lambda(m, e.value)
                        {
                            hits.push((e.value, format!("`{k}` accepts every certificate")));
                        }
                    }
                }
                Kind::Assign {
                    targets,
                    value: Some(v),
                    ..
                } => {
                    for t in targets {
                        let name = match m.kind(*t) {
                            Kind::Attr { name, .. } => Some(name.as_str()),
                            Kind::Index { index, .. } => match m.kind(*index) {
                                Kind::Str(s) => Some(s.as_str()),
                                _ => None,
                            },
                            _ => None,
                        };
                        let Some(name) = name else { continue };
                        if tls.flags.iter().any(|f| f == name)
                            && matches!(m.kind(*t), Kind::Attr { .. })
                            && off(*v)
                        {
                            hits.push((
                                *t,
                                format!("`{}` turns TLS verification off", snippet(cx, id)),
                            ));
                        } else if tls.env_vars.iter().any(|f| f == name) && off(*v) {
                            hits.push((*t, format!("`{}` turns TLS certificate verification off for the whole process", snippet(cx, id))));
                        }
                    }
                }
                Kind::Attr { .. } | Kind::Name(_) => {
                    let p = path_text(m, id);
                    if p.is_empty()
                        || !tls
                            .none_values
                            .iter()
                            .any(|v| dotted_eq(p.as_bytes(), v) || dotted_suffix(&p, v))
                    {
                        continue;
                    }
                    // A comparison reads the mode; it does not set it.
                    if let Some(parent) = m.parent(id)
                        && let Kind::Binary { op, .. } = m.kind(parent)
                        && op.is_comparison()
                    {
                        continue;
                    }
                    hits.push((
                        id,
                        format!(
                            "`{}` turns TLS certificate verification off",
                            snippet(cx, id)
                        ),
                    ));
                }
                Kind::Str(s) if s == "CERT_NONE" => {
                    if let Some(parent) = m.parent(id)
                        && args(m, parent)
                            .iter()
                            .any(|a| a.value == id && a.name.as_deref() == Some("cert_reqs"))
                    {
                        hits.push((
                            id,
                            "`cert_reqs=\"CERT_NONE\"` turns TLS certificate verification off"
                                .to_string(),
                        ));
                    }
                }
                _ => {}
            }
        }
        // Custom verifiers (rustls `ServerCertVerifier`) that accept everything.
        for (fi, f) in m.functions.iter().enumerate() {
            if f.kind == FuncKind::Method
                && tls.verifiers.contains(&f.name)
                && accepts_everything_fn(m, faultline_ir::FuncId(fi as u32))
            {
                hits.push((
                    f.body,
                    format!("`{}` accepts every certificate without checking it", f.name),
                ));
            }
        }
        let mut seen = HashSet::default();
        for (node, message) in hits {
            if !seen.insert(node) || runs_by_default(m, node) != Some(true) {
                continue;
            }
            let test = in_test_code(cx, node);
            let span = if let Some(fi) = m.functions.iter().position(|f| f.body == node) {
                m.functions[fi].span
            } else {
                m.node(node).span
            };
            let mut f = Finding::new(&Self::META, span, message).with_help(HELP);
            if test {
                f = f.with_level(Level::Note);
            }
            cx.report(f);
        }
    }
}

/// `checkServerIdentity: () => undefined`, `() => {}`, `() => null`.
fn accepts_everything_lambda(m: &faultline_ir::Module, v: NodeId) -> bool {
    let Kind::Lambda(f) = m.kind(v) else {
        return false;
    };
    let body = m.function(*f).body;
    match m.kind(body) {
        Kind::Block(stmts) => stmts.iter().all(|s| match m.kind(*s) {
            Kind::Return(None) => true,
            Kind::Return(Some(x)) => {
                matches!(m.kind(*x), Kind::Null)
                    || matches!(m.kind(*x), Kind::Name(n) if n == "undefined")
            }
            Kind::Pass => true,
            _ => false,
        }),
        Kind::Null => true,
        Kind::Name(n) => n == "undefined",
        _ => false,
    }
}

/// A verifier method whose body checks nothing and returns success
/// (`Ok(ServerCertVerified::assertion())`).
fn accepts_everything_fn(m: &faultline_ir::Module, f: faultline_ir::FuncId) -> bool {
    let nodes = crate::utils::function_nodes(m, f, false);
    let checks = nodes.iter().any(|n| {
        matches!(
            m.kind(*n),
            Kind::If { .. } | Kind::Match { .. } | Kind::Question(_) | Kind::Throw(_)
        ) || called_name(m, *n).is_some_and(|c| c.contains("verify") || c == "Err")
    });
    let asserts = nodes
        .iter()
        .any(|n| called_name(m, *n) == Some("assertion"));
    !checks && asserts
}
