//! Shared logic of the trust family: the trust models
//! (`rules/models/<lang>/trust.toml`), what a network-location constant
//! looks like, whether a condition grants or denies access, and what a
//! configuration read evaluates to when nothing is configured.

use std::sync::OnceLock;

use faultline_ir::{BinOp, FuncId, FuncKind, Kind, Language, Module, NodeId, UnOp};
use serde::Deserialize;

use crate::prefilter;
use crate::utils::{args, callee, function_nodes, segs};

/// TLS verification knowledge.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsModel {
    /// Keywords, options and attributes that must stay true.
    #[serde(default)]
    pub flags: Vec<String>,
    /// `[package root, flag]`: flags meaningful only on that package's calls.
    #[serde(default)]
    pub package_flags: Vec<Vec<String>>,
    /// Values that turn verification off.
    #[serde(default)]
    pub none_values: Vec<String>,
    /// Calls building an unverified context.
    #[serde(default)]
    pub unverified_calls: Vec<String>,
    /// Environment variables that turn verification off when `0`.
    #[serde(default)]
    pub env_vars: Vec<String>,
    /// Custom certificate checks.
    #[serde(default)]
    pub verifiers: Vec<String>,
    /// Options and builder methods that turn a check off when true.
    #[serde(default)]
    pub insecure_flags: Vec<String>,
}

/// Token decoding knowledge.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtModel {
    /// Decodes that verify unless told otherwise.
    #[serde(default)]
    pub decode: Vec<String>,
    /// Calls that read claims without any check.
    #[serde(default)]
    pub unverified: Vec<String>,
    /// Options/keywords that turn the signature check off when false.
    #[serde(default)]
    pub disable_options: Vec<String>,
    /// Algorithm names that mean "no signature".
    #[serde(default)]
    pub none_algorithms: Vec<String>,
    /// Builder methods that turn the signature check off.
    #[serde(default)]
    pub disable_methods: Vec<String>,
    /// Calls that verify a signature.
    #[serde(default)]
    pub verify: Vec<String>,
    /// Report an unverified decode only when its result drives a decision.
    #[serde(default)]
    pub require_decision: bool,
}

/// Network-location predicates.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationModel {
    /// Members testing an address (`is_private`, `is_loopback()`).
    #[serde(default)]
    pub members: Vec<String>,
    /// Functions taking an address (and a range).
    #[serde(default)]
    pub predicates: Vec<String>,
}

/// One language's trust model.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustModel {
    /// `python`, `typescript` or `rust`.
    pub language: String,
    /// TLS.
    #[serde(default)]
    pub tls: TlsModel,
    /// Tokens.
    #[serde(default)]
    pub jwt: JwtModel,
    /// Network location.
    #[serde(default)]
    pub location: LocationModel,
}

/// The embedded trust models.
pub const FILES: &[(&str, &str)] = &[
    (
        "python/trust.toml",
        include_str!("../../models/python/trust.toml"),
    ),
    (
        "typescript/trust.toml",
        include_str!("../../models/typescript/trust.toml"),
    ),
    (
        "rust/trust.toml",
        include_str!("../../models/rust/trust.toml"),
    ),
];

/// The trust model of a language.
pub fn model(lang: Language) -> &'static TrustModel {
    static MODELS: OnceLock<Vec<TrustModel>> = OnceLock::new();
    static EMPTY: OnceLock<TrustModel> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            FILES
                .iter()
                .filter_map(|(_, t)| toml::from_str::<TrustModel>(t).ok())
                .collect()
        })
        .iter()
        .find(|m| m.language == lang.model_name())
        .unwrap_or_else(|| EMPTY.get_or_init(TrustModel::default))
}

/// A node's resolved path as text (`jwt.decode()`), `::` as `.`.
pub fn path_text(m: &Module, id: NodeId) -> String {
    m.path(id).map(|p| p.to_string()).unwrap_or_default()
}

/// Whether a call's path is one of `patterns` (texts like `jwt.decode()`).
pub fn call_is(m: &Module, id: NodeId, patterns: &[String]) -> bool {
    if !matches!(m.kind(id), Kind::Call { .. } | Kind::New { .. }) {
        return false;
    }
    let p = path_text(m, id);
    !p.is_empty() && patterns.iter().any(|x| dotted_eq(p.as_bytes(), x))
}

/// Whether `text` is `pattern` written with `.` for every `::`
/// (`pattern.replace("::", ".") == text`, without allocating).
pub fn dotted_eq(text: &[u8], pattern: &str) -> bool {
    let p = pattern.as_bytes();
    let (mut i, mut j) = (0, 0);
    while j < p.len() {
        let (want, step) = if p.get(j..j + 2) == Some(b"::") {
            (b'.', 2)
        } else {
            (p[j], 1)
        };
        if text.get(i) != Some(&want) {
            return false;
        }
        i += 1;
        j += step;
    }
    i == text.len()
}

/// Whether `text` ends with `.` and then `pattern` written with `.` for
/// every `::`.
pub fn dotted_suffix(text: &str, pattern: &str) -> bool {
    let len = pattern.len() - pattern.matches("::").count();
    let t = text.as_bytes();
    t.len() > len
        && t.get(t.len() - len - 1) == Some(&b'.')
        && dotted_eq(&t[t.len() - len..], pattern)
}

/// The member or function name a call invokes.
pub fn called_name(m: &Module, id: NodeId) -> Option<&str> {
    match m.kind(callee(m, id)?) {
        Kind::Attr { name, .. } | Kind::Name(name) => Some(name),
        _ => None,
    }
}

/// The last name of a name, attribute or path (`settings.ALLOWED_IPS` →
/// `ALLOWED_IPS`).
pub fn last_name(m: &Module, id: NodeId) -> Option<&str> {
    match m.kind(id) {
        Kind::Name(n) | Kind::Attr { name: n, .. } => Some(n),
        _ => None,
    }
}

/// Names that are a loopback address by themselves.
const LOOPBACK_LITERALS: &[&str] = &["localhost", "::1", "0:0:0:0:0:0:0:1"];

/// Endings of internal host names.
const INTERNAL_SUFFIXES: &[&str] = &[
    ".internal",
    ".local",
    ".localhost",
    ".svc",
    ".cluster.local",
    ".lan",
    ".corp",
    ".intranet",
];

/// Words of which an allowlist's name has one about addresses
/// ([`ADDRESS_WORDS`]) and one about being a list of trusted ones.
const ALLOWLIST_WORDS: &[&str] = &[
    "allow",
    "whitelist",
    "white_list",
    "trusted",
    "internal",
    "private",
    "admin",
    "safe",
    "permitted",
    "local",
    "_ips",
    "ips",
    "ranges",
    "networks",
    "subnets",
    "cidrs",
];

/// Words of which an allowlist's name has one about addresses.
const ADDRESS_WORDS: &[&str] = &[
    "ip", "addr", "cidr", "network", "subnet", "range", "host", "internal", "local", "private",
];

/// First numbers of the byte arrays [`is_location_constant`] takes for a
/// private or loopback address (`[127, 0, 0, 1]`).
const ADDRESS_BYTES: &[&str] = &["127", "10", "192", "172"];

/// Whether a string is a loopback, private, link-local or internal address
/// or name, a CIDR, or any IP literal.
pub fn is_location_literal(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    if s.is_empty() {
        return false;
    }
    if LOOPBACK_LITERALS.contains(&s.as_str()) {
        return true;
    }
    if INTERNAL_SUFFIXES.iter().any(|x| s.ends_with(x)) {
        return true;
    }
    let ipish = s
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '/' || c == ':');
    ipish && s.contains(['.', ':']) && s.chars().next().is_some_and(|c| c.is_ascii_digit())
        || s.starts_with("fc") && s.contains(':')
        || s.starts_with("fd") && s.contains(':')
}

/// Words naming an address allowlist (`ALLOWED_IPS`, `trustedNetworks`,
/// `INTERNAL_CIDRS`); Host validation lists and CORS origins are not.
pub fn is_allowlist_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    if n.contains("allowed_hosts")
        || n.contains("allowedhosts")
        || n.contains("cors")
        || n.contains("origin")
    {
        return false;
    }
    ADDRESS_WORDS.iter().any(|w| n.contains(w)) && ALLOWLIST_WORDS.iter().any(|w| n.contains(w))
}

/// Whether an expression is a network-location constant: a literal address
/// or internal name, a collection of them, an allowlist by name, or a
/// network built from a literal (`ip_network("10.0.0.0/8")`).
pub fn is_location_constant(m: &Module, id: NodeId) -> bool {
    location_constant(m, id, 0)
}

/// [`is_location_constant`], `depth` loop variables deep (`for a in b`
/// where `b` is itself a loop variable): bounded, as names can refer to
/// each other in a cycle.
fn location_constant(m: &Module, id: NodeId, depth: usize) -> bool {
    if depth > 8 {
        return false;
    }
    let constant = |x: NodeId| location_constant(m, x, depth);
    match m.kind(id) {
        Kind::Str(s) => is_location_literal(s),
        Kind::Array(items) => {
            items.iter().any(|i| constant(*i))
                // `[127, 0, 0, 1]`, `[10, 0, 0, 5]`
                || items.len() == 4
                    && items.iter().all(|i| matches!(m.kind(*i), Kind::Num(_)))
                    && items.first().is_some_and(|i| matches!(m.kind(*i), Kind::Num(n) if ADDRESS_BYTES.contains(&n.as_str())))
        }
        Kind::Object { entries, .. } => entries.iter().any(|e| constant(e.value)),
        Kind::Name(n) => is_allowlist_name(n) || iterates_allowlist(m, id, n, depth + 1),
        Kind::Attr { name: n, .. } => is_allowlist_name(n),
        Kind::Call { .. } | Kind::New { .. } => {
            // `new Set([...])`, `ip_network("10.0.0.0/8")`, `frozenset({...})`,
            // `settings.get("TRUSTED_IPS")`.
            args(m, id).iter().any(|a| constant(a.value))
                || segs(m, id).iter().any(|s| is_allowlist_name(&s.name))
        }
        Kind::Unary { operand, .. } => constant(*operand),
        _ => false,
    }
}

/// Whether `name` is the variable of a loop or comprehension over an
/// allowlist (`any(ip in net for net in TRUSTED_NETWORKS)`).
fn iterates_allowlist(m: &Module, id: NodeId, name: &str, depth: usize) -> bool {
    let is_target = |t: NodeId| matches!(m.kind(t), Kind::Name(s) if s == name);
    let mut cur = id;
    for _ in 0..8 {
        let Some(p) = m.parent(cur) else { return false };
        match m.kind(p) {
            Kind::Other(children)
                if children.windows(2).any(|w| {
                    matches!(w, [t, it] if *t != id && is_target(*t) && location_constant(m, *it, depth))
                }) =>
            {
                return true;
            }
            Kind::Loop {
                target: Some(t),
                iter: Some(i),
                ..
            } if is_target(*t) => {
                return location_constant(m, *i, depth);
            }
            _ => {}
        }
        cur = p;
    }
    false
}

/// What a condition's outcome does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Lets the request through (returns early past auth, calls `next()`,
    /// sets a privilege).
    Grant,
    /// Refuses the request (raises, aborts, answers 401/403).
    Deny,
}

const GRANT_CALLS: &[&str] = &[
    "next",
    "call_next",
    "get_response",
    "view_func",
    "view",
    "func",
    "f",
    "fn",
    "handler",
    "wrapped",
    "run",
    "login_user",
    "login",
];
const PRIVILEGE_WORDS: &[&str] = &[
    "admin",
    "internal",
    "trusted",
    "authorized",
    "authenticated",
    "allowed",
    "staff",
    "superuser",
    "skip_auth",
    "skipauth",
    "bypass",
    "privileged",
    "is_service",
    "permitted",
    "role",
    "user",
];
const DENY_WORDS: &[&str] = &[
    "forbidden",
    "unauthorized",
    "unauthorised",
    "denied",
    "notauthenticated",
    "not_authenticated",
    "abort",
];
const NEUTRAL_FUNCTIONS: &[&str] = &[
    "rate", "limit", "throttle", "log", "metric", "cache", "key", "trace",
];
const AUTH_FUNCTIONS: &[&str] = &[
    "auth",
    "permission",
    "allow",
    "admin",
    "internal",
    "trusted",
    "access",
    "check",
    "require",
    "verify",
    "guard",
    "middleware",
    "wrapper",
    "decorated",
    "inner",
    "can_activate",
    "canactivate",
    "is_",
    "from_request",
    "dispatch",
    "process_request",
    "__call__",
    "handle",
];

fn lower_has(s: &str, words: &[&str]) -> bool {
    let l = s.to_ascii_lowercase();
    words.iter().any(|w| l.contains(w))
}

/// Whether the function looks like it decides access (a handler,
/// middleware, permission check, decorator wrapper) rather than logging or
/// rate limiting.
pub fn decides_access(m: &Module, f: FuncId) -> bool {
    let func = m.function(f);
    if lower_has(&func.name, NEUTRAL_FUNCTIONS) {
        return false;
    }
    func.is_handler
        || lower_has(&func.name, AUTH_FUNCTIONS)
        || func
            .params
            .iter()
            .any(|p| matches!(p.name.as_str(), "req" | "request" | "ctx" | "next"))
        || func
            .parent
            .is_some_and(|p| p != FuncId(0) && lower_has(&m.function(p).name, AUTH_FUNCTIONS))
}

/// What a branch (block or expression) does to the request.
pub fn branch_gate(m: &Module, branch: NodeId, f: FuncId) -> Option<Gate> {
    let mut deny = false;
    let mut grant = false;
    let mut returns = false;
    m.walk(branch, &mut |n| match m.kind(n) {
        Kind::Throw(_) => deny = true,
        Kind::Num(v) if v == "401" || v == "403" => deny = true,
        Kind::Name(s) | Kind::Attr { name: s, .. } if lower_has(s, DENY_WORDS) => deny = true,
        Kind::Str(s) if lower_has(s, &["forbidden", "unauthorized", "access denied", "not allowed"]) => deny = true,
        Kind::Call { .. } => {
            if let Some(name) = called_name(m, n)
                && GRANT_CALLS.contains(&name)
            {
                grant = true;
            }
        }
        Kind::Return(v) => {
            returns = true;
            if let Some(v) = v
                && matches!(m.kind(*v), Kind::Bool(true))
            {
                grant = true;
            }
        }
        Kind::Assign { targets, value: Some(v), .. } => {
            let privileged = targets.iter().any(|t| {
                matches!(m.kind(*t), Kind::Name(s) | Kind::Attr { name: s, .. } if lower_has(s, PRIVILEGE_WORDS))
                    || matches!(m.kind(*t), Kind::Index { index, .. } if matches!(m.kind(*index), Kind::Str(s) if lower_has(s, PRIVILEGE_WORDS)))
            });
            if privileged && !matches!(m.kind(*v), Kind::Bool(false) | Kind::Null) {
                grant = true;
            }
        }
        _ => {}
    });
    if deny {
        Some(Gate::Deny)
    } else if grant || (returns && decides_access(m, f)) {
        Some(Gate::Grant)
    } else {
        None
    }
}

/// Whether the outcome of `expr` (a comparison or a read) decides access:
/// it is the condition of an `if`/ternary whose branch grants or denies, is
/// returned by a function that decides access, or is stored in a privilege
/// flag or a local that such a condition tests.
pub fn gate_of(m: &Module, expr: NodeId) -> Option<Gate> {
    let mut f = m.owner(expr);
    let mut cur = expr;
    for _ in 0..12 {
        let Some(p) = m.parent(cur) else {
            // The test is a closure's result (`peer.map(|a| a.ip().is_loopback())`):
            // follow the value out through the call the closure is given to.
            let (lambda, outer) = closure_of(m, f, cur)?;
            let call = m.parent(lambda)?;
            if !matches!(
                called_name(m, call),
                Some(
                    "map"
                        | "map_or"
                        | "is_some_and"
                        | "is_ok_and"
                        | "any"
                        | "all"
                        | "some"
                        | "every"
                )
            ) {
                return None;
            }
            f = outer;
            cur = call;
            continue;
        };
        match m.kind(p) {
            Kind::Binary {
                op: BinOp::And | BinOp::Or,
                ..
            }
            | Kind::Unary { op: UnOp::Not, .. }
            | Kind::Await(_) => cur = p,
            Kind::Binary { op, .. } if op.is_comparison() => cur = p,
            // `x.startsWith("admin")`, `ROLES.includes(x)`: a test of the value.
            Kind::Attr { .. }
                if m.parent(p).is_some_and(
                    |c| matches!(m.kind(c), Kind::Call { callee, .. } if *callee == p),
                ) =>
            {
                cur = p;
                if let Some(c) = m.parent(p) {
                    cur = c;
                }
            }
            Kind::Other(_) => cur = p,
            Kind::Call { callee: c, .. } if *c != cur => {
                let name = called_name(m, p).unwrap_or("");
                if matches!(
                    name,
                    "any"
                        | "all"
                        | "bool"
                        | "some"
                        | "every"
                        | "includes"
                        | "has"
                        | "contains"
                        | "startswith"
                        | "startsWith"
                        | "endswith"
                        | "endsWith"
                        | "__contains__"
                        | "eq"
                        | "equals"
                ) {
                    cur = p;
                } else {
                    return None;
                }
            }
            Kind::If { cond, then, els } if *cond == cur => {
                return branch_gate(m, *then, f).or_else(|| els.and_then(|e| branch_gate(m, e, f)));
            }
            Kind::Match { subject, arms }
                if *subject == cur || arms.iter().any(|a| a.guard == Some(cur)) =>
            {
                return arms.iter().find_map(|a| branch_gate(m, a.body, f));
            }
            Kind::Cond { cond, then, els } if *cond == cur => {
                return branch_gate(m, *then, f).or_else(|| branch_gate(m, *els, f));
            }
            Kind::Return(_) => {
                return decides_access(m, f).then_some(Gate::Grant);
            }
            Kind::ExprStmt { value: true, .. } => {
                return decides_access(m, f).then_some(Gate::Grant);
            }
            Kind::Assign {
                targets,
                value: Some(v),
                ..
            } if *v == cur => {
                for t in targets {
                    match m.kind(*t) {
                        Kind::Attr { name, .. } if lower_has(name, PRIVILEGE_WORDS) => {
                            return Some(Gate::Grant);
                        }
                        Kind::Name(n) => {
                            if lower_has(n, PRIVILEGE_WORDS) && decides_access(m, f) {
                                return Some(Gate::Grant);
                            }
                            return tested_local(m, f, n);
                        }
                        _ => {}
                    }
                }
                return None;
            }
            _ => return None,
        }
    }
    None
}

/// The lambda node whose expression body is `body`, and the function it is
/// written in.
fn closure_of(m: &Module, f: FuncId, body: NodeId) -> Option<(NodeId, FuncId)> {
    let func = m.function(f);
    if func.kind != FuncKind::Lambda || func.body != body {
        return None;
    }
    let outer = func.parent?;
    let lambda = *crate::utils::dataflow::lambda_nodes(m).get(&f)?;
    Some((lambda, outer))
}

/// The gate of an `if` in `f` whose condition tests local `name`.
fn tested_local(m: &Module, f: FuncId, name: &str) -> Option<Gate> {
    for n in function_nodes(m, f, false) {
        let Kind::If { cond, then, els } = m.kind(n) else {
            continue;
        };
        let mut uses = false;
        m.walk(*cond, &mut |x| {
            if matches!(m.kind(x), Kind::Name(s) if s == name) {
                uses = true;
            }
        });
        if uses
            && let Some(g) =
                branch_gate(m, *then, f).or_else(|| els.and_then(|e| branch_gate(m, e, f)))
        {
            return Some(g);
        }
    }
    None
}

/// A value known from source alone.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A boolean.
    Bool(bool),
    /// `None`, `null`, `undefined` (an unset setting too).
    Null,
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
}

impl Value {
    /// Truthiness as Python and JS see it.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Null => false,
            Value::Str(s) => !s.is_empty(),
            Value::Num(n) => *n != 0.0,
        }
    }
    /// Whether a verification flag with this value is off.
    pub fn disables(&self) -> bool {
        match self {
            Value::Bool(b) => !*b,
            Value::Num(n) => *n == 0.0,
            Value::Str(s) => matches!(
                s.to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            ),
            Value::Null => false,
        }
    }
}

const CONFIG_GETTERS: &[&str] = &[
    "get",
    "getenv",
    "getattr",
    "get_bool",
    "getboolean",
    "get_value",
    "unwrap_or",
    "env",
    "config",
];

/// What an expression evaluates to when nothing is configured: literals,
/// the defaults of `config.get(k, default)` / `os.getenv(k, default)` /
/// `getattr(o, k, default)` / `.unwrap_or(default)`, `x || default`,
/// `x ?? default`, comparisons of unset environment variables, parameter
/// defaults and single assignments. `None` when it depends on configuration
/// the analysis cannot see.
pub fn default_value(m: &Module, id: NodeId, depth: u32) -> Option<Value> {
    if depth > 8 {
        return None;
    }
    let d = depth + 1;
    match m.kind(id) {
        Kind::Bool(b) => Some(Value::Bool(*b)),
        Kind::Null => Some(Value::Null),
        Kind::Str(s) => Some(Value::Str(s.clone())),
        Kind::Num(n) => n.parse::<f64>().ok().map(Value::Num),
        Kind::Unary {
            op: UnOp::Not,
            operand,
        } => default_value(m, *operand, d).map(|v| Value::Bool(!v.truthy())),
        // `x || default`, `x ?? default`: with nothing configured, the default.
        Kind::Binary {
            op: BinOp::Or | BinOp::Nullish,
            lhs,
            rhs,
        } => match default_value(m, *lhs, d) {
            Some(v) if v.truthy() => Some(v),
            _ => default_value(m, *rhs, d),
        },
        Kind::Binary {
            op: op @ (BinOp::Eq | BinOp::NotEq),
            lhs,
            rhs,
        } => {
            let l = default_value(m, *lhs, d)?;
            let r = default_value(m, *rhs, d)?;
            let eq = match (&l, &r) {
                (Value::Str(a), Value::Str(b)) => a.eq_ignore_ascii_case(b),
                _ => l == r,
            };
            Some(Value::Bool(if *op == BinOp::Eq { eq } else { !eq }))
        }
        Kind::Call { .. } => {
            let name = called_name(m, id)?;
            if matches!(name, "lower" | "toLowerCase" | "strip" | "trim") {
                let recv = match m.kind(callee(m, id)?) {
                    Kind::Attr { object, .. } => *object,
                    _ => return None,
                };
                return default_value(m, recv, d);
            }
            if name == "bool" || name == "Boolean" {
                return args(m, id)
                    .first()
                    .and_then(|a| default_value(m, a.value, d))
                    .map(|v| Value::Bool(v.truthy()));
            }
            if !CONFIG_GETTERS.contains(&name) {
                return None;
            }
            let a = args(m, id);
            let default = match name {
                "getattr" => a.get(2),
                "unwrap_or" => a.first(),
                _ => a
                    .iter()
                    .find(|x| x.name.as_deref() == Some("default"))
                    .or_else(|| a.get(1)),
            };
            match default {
                Some(x) => default_value(m, x.value, d),
                // `os.getenv("X")`, `os.environ.get("X")`: unset is None.
                None if is_env_read(m, id) => Some(Value::Null),
                None => None,
            }
        }
        Kind::Attr { .. } if is_env_read(m, id) => Some(Value::Null),
        Kind::Name(n) => {
            let f = m.owner(id);
            let mut cur = Some(f);
            while let Some(fid) = cur {
                let func = m.function(fid);
                if let Some(p) = func.params.iter().find(|p| p.name == *n) {
                    return p.default.and_then(|x| default_value(m, x, d));
                }
                let assigned: Vec<NodeId> = function_nodes(m, fid, false)
                    .into_iter()
                    .filter_map(|x| match m.kind(x) {
                        Kind::Assign {
                            targets,
                            value: Some(v),
                            op: None,
                            ..
                        } if targets
                            .iter()
                            .any(|t| matches!(m.kind(*t), Kind::Name(s) if s == n)) =>
                        {
                            Some(*v)
                        }
                        _ => None,
                    })
                    .collect();
                if assigned.len() == 1 {
                    return assigned.first().and_then(|v| default_value(m, *v, d));
                }
                if !assigned.is_empty() {
                    return None;
                }
                cur = func.parent;
            }
            None
        }
        Kind::Cond { cond, then, els } => {
            let c = default_value(m, *cond, d)?;
            default_value(m, if c.truthy() { *then } else { *els }, d)
        }
        _ => None,
    }
}

/// `process.env.X`, `os.environ.get(..)`, `os.getenv(..)`, `std::env::var(..)`.
pub fn is_env_read(m: &Module, id: NodeId) -> bool {
    let s = segs(m, id);
    let names: Vec<&str> = s.iter().map(|x| x.name.as_str()).collect();
    matches!(
        names.as_slice(),
        ["process", "env", ..]
            | ["os", "environ", ..]
            | ["os", "getenv"]
            | ["std", "env", ..]
            | ["env", "var"]
    )
}

/// Whether `node` sits in a branch that only runs under configuration, and
/// if so whether that branch runs when nothing is configured: `Some(true)`
/// runs by default, `Some(false)` does not, `None` depends on settings the
/// analysis cannot see. Not in any conditional: `Some(true)`.
pub fn runs_by_default(m: &Module, node: NodeId) -> Option<bool> {
    let mut cur = node;
    for _ in 0..24 {
        let Some(p) = m.parent(cur) else {
            return Some(true);
        };
        match m.kind(p) {
            Kind::If { cond, then, els } if *cond != cur => {
                let c = default_value(m, *cond, 0).map(|v| v.truthy());
                let taken = if *then == cur {
                    c
                } else if *els == Some(cur) {
                    c.map(|b| !b)
                } else {
                    Some(true)
                };
                return match taken {
                    Some(true) => runs_by_default(m, p),
                    other => other,
                };
            }
            Kind::Cond { cond, then, els } if *cond != cur => {
                let c = default_value(m, *cond, 0).map(|v| v.truthy());
                let taken = if *then == cur {
                    c
                } else if *els == cur {
                    c.map(|b| !b)
                } else {
                    Some(true)
                };
                return match taken {
                    Some(true) => runs_by_default(m, p),
                    other => other,
                };
            }
            _ => cur = p,
        }
    }
    Some(true)
}

/// Needles of `tls-verification-disabled`: the flags, values, calls,
/// environment variables and verifier hooks that turn verification off.
/// A package's own flag (`ssl=False` of `aiohttp`) needs the package too:
/// see [`tls_package_flags`].
pub fn tls_needles(lang: Language) -> Vec<String> {
    let tls = &model(lang).tls;
    let mut out: Vec<String> = Vec::new();
    for s in tls
        .flags
        .iter()
        .chain(&tls.env_vars)
        .chain(&tls.verifiers)
        .chain(&tls.insecure_flags)
    {
        out.extend(prefilter::pieces(s).map(str::to_string));
    }
    // Every segment of a resolved path is written in the file: the longest
    // (`CERT_NONE`, `_create_unverified_context`, `SslVerifyMode`) is
    // rarer than the package (`ssl`, `openssl`) that most files import for
    // other reasons.
    for s in tls.none_values.iter().chain(&tls.unverified_calls) {
        out.extend(prefilter::longest_piece(s).map(str::to_string));
    }
    prefilter::normalize(out)
}

/// The flags that turn verification off only on one package's calls, as
/// needle clauses: the package (the root of the call's resolved path, so
/// written in the file) and the flag.
pub fn tls_package_flags(lang: Language) -> Vec<prefilter::Clause> {
    model(lang)
        .tls
        .package_flags
        .iter()
        .filter_map(|pf| match pf.as_slice() {
            [package, flag, ..] => Some(vec![vec![package.clone()], vec![flag.clone()]]),
            _ => None,
        })
        .collect()
}

/// Needles of `unverified-token`: the token libraries' decode calls and the
/// methods that turn the signature check off.
pub fn jwt_needles(lang: Language) -> Vec<String> {
    let jwt = &model(lang).jwt;
    let mut out: Vec<String> = Vec::new();
    for s in jwt.decode.iter().chain(&jwt.unverified) {
        out.extend(prefilter::path_needle(s).map(str::to_string));
    }
    out.extend(jwt.disable_methods.iter().cloned());
    prefilter::normalize(out)
}

/// Needles of `network-location-auth`: everything a request's location
/// (peer address, forwarding header, Host) can be read through.
pub fn location_needles(lang: Language, models: &crate::models::Models) -> Vec<String> {
    let cx = models.request_context(lang);
    let r = &cx.request;
    let mut out: Vec<String> = Vec::new();
    for s in r
        .client_address
        .iter()
        .chain(&r.forwarded)
        .chain(&r.host)
        .chain(&r.address_param_decorators)
        .chain(&r.address_param_types)
    {
        out.extend(prefilter::longest_piece(s).map(str::to_string));
    }
    for s in &r.address_calls {
        out.extend(prefilter::path_needle(s).map(str::to_string));
    }
    for h in cx.headers.forwarded.iter().chain(&cx.headers.host) {
        out.extend(prefilter::header_needles(h));
    }
    prefilter::normalize(out)
}

/// What a file must also contain for `network-location-auth` to report in
/// it: a network-location constant ([`is_location_constant`]) or a location
/// predicate of the trust model. A constant is written as a loopback name,
/// an internal suffix, a string starting with a digit (an IP literal, a
/// CIDR) or with `fc`/`fd` (an IPv6 unique-local address), a byte array
/// starting with a private first byte, or a name with an allowlist word;
/// all are matched anywhere (`ALLOWED_IPS` holds `allow`).
pub fn location_constant_needles(lang: Language) -> Vec<String> {
    let loc = &model(lang).location;
    let mut out: Vec<String> = Vec::new();
    for w in LOOPBACK_LITERALS
        .iter()
        .chain(INTERNAL_SUFFIXES)
        .chain(ALLOWLIST_WORDS)
    {
        out.push(format!("*{w}"));
    }
    // A string literal's first character follows its opening quote (a
    // Rust raw string's too: `r#"10.0.0.1"#`).
    for quote in ['"', '\'', '`'] {
        for first in ('0'..='9')
            .map(String::from)
            .chain(["fc".into(), "fd".into()])
        {
            out.push(format!("*{quote}{first}"));
        }
    }
    for b in ADDRESS_BYTES {
        out.push(format!("*{b},"));
    }
    out.extend(loc.members.iter().chain(&loc.predicates).cloned());
    prefilter::normalize(out)
}

/// Needles of `caller-asserted-identity`: the identity and SSO header names
/// and the settings that name an SSO header (a project's own included).
pub fn identity_needles(lang: Language, models: &crate::models::Models) -> Vec<String> {
    let h = &models.request_context(lang).headers;
    let mut out: Vec<String> = Vec::new();
    for name in h.identity.iter().chain(&h.sso) {
        out.extend(prefilter::header_needles(name));
    }
    out.extend(h.sso_settings.iter().cloned());
    prefilter::normalize(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether one of `needles` occurs in `code` as the prefilter looks for
    /// it (a `*` needle anywhere; the others are identifiers here, checked
    /// as substrings, which can only say yes more often).
    fn mentions(needles: &[String], code: &str) -> bool {
        let code = code.to_ascii_lowercase();
        needles
            .iter()
            .any(|n| code.contains(&n.trim_start_matches('*').to_ascii_lowercase()))
    }

    #[test]
    fn tls_needles_name_the_rare_piece_and_pair_package_flags() {
        let py = tls_needles(Language::Python);
        // `ssl.CERT_NONE` needs `CERT_NONE`; `ssl` alone (imported by
        // any file that opens a socket) admits nothing.
        assert!(py.iter().any(|n| n == "CERT_NONE"), "{py:?}");
        assert!(!py.iter().any(|n| n == "ssl"), "{py:?}");
        // `ssl=False` counts only on aiohttp's calls.
        assert_eq!(
            tls_package_flags(Language::Python),
            [vec![vec!["aiohttp".to_string()], vec!["ssl".to_string()]]]
        );
        let rs = tls_needles(Language::Rust);
        assert!(rs.iter().any(|n| n == "SslVerifyMode"), "{rs:?}");
    }

    #[test]
    fn every_location_constant_is_written_with_a_needle() {
        for (lang, code) in [
            (Language::Python, r#"ip == "10.0.0.5""#),
            (Language::Python, "host in ('localhost',)"),
            (Language::Python, "ip in settings.TRUSTED_PROXY_IPS"),
            (Language::Python, "ip_address(ip).is_private"),
            (Language::Python, "ip == '::1'"),
            (Language::TypeScript, "req.ip === `203.0.113.7`"),
            (Language::TypeScript, "host.endsWith('.svc.cluster.local')"),
            (Language::TypeScript, "ip.startsWith('FD00:')"),
            (Language::TypeScript, "isInSubnet(req.ip, range)"),
            (Language::Rust, "addr.ip() == IpAddr::from([10, 0, 0, 1])"),
            (Language::Rust, "!addr.ip().is_loopback()"),
            (Language::Rust, r##"host == r#"1.2.3.4"#"##),
        ] {
            assert!(
                mentions(&location_constant_needles(lang), code),
                "{lang:?}: {code}"
            );
        }
        // The literals and names the rule takes for constants.
        for s in ["10.0.0.5", "localhost", "::1", "fd00::1", "api.internal"] {
            assert!(is_location_literal(s), "{s}");
        }
        assert!(is_allowlist_name("TRUSTED_PROXY_IPS"));
        assert!(!mentions(
            &location_constant_needles(Language::Python),
            "if request.host == expected_host: pass"
        ));
    }

    #[test]
    fn dotted_comparisons_match_replacing_colons() {
        for (text, pattern) in [
            ("ssl.CERT_NONE", "ssl::CERT_NONE"),
            ("ssl.CERT_NONE", "ssl.CERT_NONE"),
            ("a.:", "a:::"),
            ("x", "x"),
            ("", ""),
            ("reqwest.Client", "reqwest::Client::builder"),
            ("é.b", "é::b"),
        ] {
            assert_eq!(
                dotted_eq(text.as_bytes(), pattern),
                pattern.replace("::", ".") == text,
                "{text} {pattern}"
            );
            let long = format!("m.{text}");
            assert_eq!(
                dotted_suffix(&long, pattern),
                long.ends_with(&format!(".{}", pattern.replace("::", "."))),
                "{long} {pattern}"
            );
        }
        assert!(!dotted_suffix("CERT_NONE", "CERT_NONE"));
        assert!(!dotted_suffix("xCERT_NONE", "CERT_NONE"));
    }
    use faultline_grammars::{Lang, lower};

    fn first_compare(lang: Lang, src: &str) -> (Module, NodeId, NodeId) {
        let m = lower(lang, src).unwrap_or_else(|e| panic!("lowering failed: {e:?}"));
        let (lhs, rhs) = m
            .nodes
            .iter()
            .find_map(|n| match n.kind {
                Kind::Binary { lhs, rhs, .. } => Some((lhs, rhs)),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no comparison in {src}"));
        (m, lhs, rhs)
    }

    #[test]
    fn a_comprehension_variable_is_not_a_location_constant() {
        // The element and the target are the same name: asking whether the
        // variable iterates an allowlist must not ask itself forever.
        let src = "ENC = [key for key in DECODERS.keys() if key != \"identity\"]\n";
        let (m, lhs, rhs) = first_compare(Lang::Python, src);
        assert!(!is_location_constant(&m, lhs));
        assert!(!is_location_constant(&m, rhs));
    }

    #[test]
    fn a_variable_over_an_allowlist_is_a_location_constant() {
        let src = "ok = any(ip in net for net in TRUSTED_NETWORKS)\n";
        let (m, _, rhs) = first_compare(Lang::Python, src);
        assert!(is_location_constant(&m, rhs));
    }
}
