//! What the client claims about itself: expressions holding the client
//! address, a forwarding header, the Host or any other request header, found
//! through the request objects, extractor parameters and header helpers of
//! the framework models, and followed through local variables and same-file
//! helpers that return them.

use crate::utils::listed;
use foldhash::{HashMap, HashMapExt};
use std::cell::RefCell;

use faultline_ir::{FuncId, FuncKind, Kind, Module, NodeId, UnOp};

use super::handlers::type_head;
use super::model::{self, ContextModel};
use crate::Context;
use crate::utils::dataflow::lambda_nodes;
use crate::utils::{args, callee, function_nodes, text};

/// What an expression holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The peer address of the connection.
    Address,
    /// An address taken from a forwarding header (the caller can set it).
    Forwarded,
    /// The Host the request names.
    Host,
    /// Another request header, by its lowercase, dash-separated name.
    Header(String),
}

impl SourceKind {
    /// Whether this is where the request seems to come from (address,
    /// forwarding header, Host).
    pub fn is_location(&self) -> bool {
        matches!(
            self,
            SourceKind::Address | SourceKind::Forwarded | SourceKind::Host
        )
    }
}

/// A request-derived value and the expression that read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// What it holds.
    pub kind: SourceKind,
    /// The read (`request.remote_addr`, `req.headers['x-user-id']`).
    pub read: NodeId,
}

/// One step of an access chain below a root.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    Member(String),
    Index(Option<String>),
    Method(String, Option<String>),
}

/// What a root expression is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Root {
    Request,
    HeaderMap,
    Value(SourceKind),
}

/// The request facts of one file.
pub struct RequestFacts<'a> {
    m: &'a Module,
    model: &'a ContextModel,
    /// Per function: local names bound to a request-derived value.
    locals: HashMap<FuncId, HashMap<String, Source>>,
    /// Same-file functions returning a request-derived value.
    helpers: HashMap<String, SourceKind>,
    /// Parameters bound from decorators (`@Ip()`, `@Headers('x')`), by
    /// function and name.
    decorated: HashMap<(FuncId, String), Root>,
    /// The file configures which proxies are trusted (`ProxyFix`,
    /// `app.set('trust proxy', ..)`).
    pub trusted_proxies: bool,
    /// Per function, filled on first use: each name assigned with `=` and
    /// its value when that is its only assignment (`None` when there are
    /// several).
    assigned: RefCell<HashMap<FuncId, HashMap<String, Option<NodeId>>>>,
    /// The node of each closure.
    lambdas: HashMap<FuncId, NodeId>,
    /// Per closure, filled on first use: what its parameter holds.
    mapped: RefCell<HashMap<FuncId, Option<Source>>>,
}

/// What a file must contain for any expression of it to be a request
/// source: the name or type of a request parameter, an extractor or
/// header-map type, a parameter decorator or header default, or the
/// package of a request global, an address call or a header source. Every
/// source is read from one of these roots ([`RequestFacts::source`]), in
/// the same function or through locals and same-file helpers that start at
/// one.
pub fn root_needles(model: &ContextModel) -> Vec<String> {
    use crate::prefilter::{path_needle, pieces};
    let req = &model.request;
    let mut out: Vec<String> = Vec::new();
    for t in req
        .param_types
        .iter()
        .chain(&req.address_param_types)
        .chain(&req.header_map_types)
    {
        out.extend(pieces(t).last().map(str::to_string));
    }
    out.extend(req.params.iter().cloned());
    out.extend(
        req.address_param_decorators
            .iter()
            .chain(&req.header_param_decorators)
            .cloned(),
    );
    for p in req
        .globals
        .iter()
        .chain(&req.address_calls)
        .chain(&req.header_sources)
        .chain(&req.header_params)
    {
        out.extend(path_needle(p).map(str::to_string));
    }
    crate::prefilter::normalize(out)
}

impl<'a> RequestFacts<'a> {
    /// Computes the facts of a file.
    pub fn new(cx: &Context<'a>) -> RequestFacts<'a> {
        let m = cx.module;
        let model = cx.models().request_context(m.language);
        let mut facts = RequestFacts {
            m,
            model,
            locals: HashMap::new(),
            helpers: HashMap::new(),
            decorated: HashMap::new(),
            trusted_proxies: false,
            assigned: RefCell::new(HashMap::new()),
            lambdas: lambda_nodes(m),
            mapped: RefCell::new(HashMap::new()),
        };
        facts.decorated = decorated_params(cx, model);
        facts.trusted_proxies = trusted_proxies(cx, model);
        for _round in 0..2 {
            for fi in 0..m.functions.len() {
                let f = FuncId(fi as u32);
                let locals = facts.bind_locals(f);
                facts.locals.insert(f, locals);
            }
            for fi in 1..m.functions.len() {
                let f = FuncId(fi as u32);
                let func = m.function(f);
                for n in function_nodes(m, f, false) {
                    if let Kind::Return(Some(v)) = m.kind(n)
                        && let Some(s) = facts.carried(*v)
                    {
                        facts.helpers.insert(func.name.clone(), s.kind);
                        break;
                    }
                }
            }
            // With no local and no helper carrying a source, the second
            // round would read exactly what the first did.
            if facts.helpers.is_empty() && facts.locals.values().all(HashMap::is_empty) {
                break;
            }
        }
        facts
    }

    /// The value of the only plain assignment to `name` in `f`, or in the
    /// nearest enclosing function that assigns it; `None` if the name is a
    /// parameter on the way or is assigned more than once.
    fn single_assignment(&self, f: FuncId, name: &str) -> Option<NodeId> {
        let m = self.m;
        let mut assigned = self.assigned.borrow_mut();
        let mut cur = Some(f);
        while let Some(fid) = cur {
            if m.function(fid).params.iter().any(|p| p.name == name) {
                return None;
            }
            let values = assigned
                .entry(fid)
                .or_insert_with(|| plain_assignments(m, fid));
            match values.get(name) {
                Some(v) => return *v,
                None => cur = m.function(fid).parent,
            }
        }
        None
    }

    /// Binds the name of a `Some(name)`/`Ok(name)` pattern matched against
    /// `value` when that carries a request value.
    fn bind_wrapped(&self, pattern: NodeId, value: NodeId, out: &mut HashMap<String, Source>) {
        if let Some(name) = wrapped_name(self.m, pattern)
            && !out.contains_key(name)
            && let Some(s) = self.carried_with(value, Some(out))
        {
            out.insert(name.to_string(), s);
        }
    }

    fn bind_locals(&self, f: FuncId) -> HashMap<String, Source> {
        let m = self.m;
        let mut out: HashMap<String, Source> = HashMap::new();
        for n in function_nodes(m, f, false) {
            // `if let Some(addr) = req.peer_addr()`, `match req.peer_addr()
            // { Some(addr) => … }`: the name the pattern binds holds the value.
            match m.kind(n) {
                Kind::Let { pattern, value } => self.bind_wrapped(*pattern, *value, &mut out),
                Kind::Match { subject, arms } => {
                    for p in arms.iter().filter_map(|a| a.pattern) {
                        self.bind_wrapped(p, *subject, &mut out);
                    }
                }
                _ => {}
            }
            let Kind::Assign {
                targets,
                value: Some(v),
                op: None,
                ..
            } = m.kind(n)
            else {
                continue;
            };
            for t in targets {
                match m.kind(*t) {
                    Kind::Name(name) => {
                        if let Some(s) = self.carried_with(*v, Some(&out)) {
                            out.entry(name.to_string()).or_insert(s);
                        }
                    }
                    // `const { ip } = req`, `const { host } = req.headers`.
                    Kind::Object { entries, .. } => {
                        for e in entries {
                            let (Some(key), Kind::Name(local)) = (&e.key, m.kind(e.value)) else {
                                continue;
                            };
                            if let Some((root, mut steps)) = self.chain(*v) {
                                steps.push(Step::Member(key.clone()));
                                if let Some(kind) = self.classify(f, root, &steps) {
                                    out.entry(local.to_string())
                                        .or_insert(Source { kind, read: *v });
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }

    /// The source an expression reads directly, if any.
    pub fn source(&self, id: NodeId) -> Option<Source> {
        let m = self.m;
        let f = m.owner(id);
        // Calls returning an address (`get_client_ip(request)`).
        if matches!(m.kind(id), Kind::Call { .. }) {
            let p = path_text(m, id);
            if !p.is_empty()
                && self
                    .model
                    .request
                    .address_calls
                    .iter()
                    .any(|c| same_path(c, &p))
            {
                return Some(Source {
                    kind: SourceKind::Address,
                    read: id,
                });
            }
            if let Some(h) = self.header_source(id) {
                return Some(Source {
                    kind: self.header_kind(&h),
                    read: id,
                });
            }
        }
        let (mut root, mut steps) = self.chain(id)?;
        // `info = req.connection_info(); info.realip_remote_addr()`: a local
        // bound to part of a chain stands for that part.
        for _ in 0..3 {
            if steps.is_empty() || self.root(f, root).is_some() {
                break;
            }
            let Kind::Name(name) = m.kind(root) else {
                break;
            };
            let Some(v) = self.single_assignment(f, name) else {
                break;
            };
            let Some((r2, mut s2)) = self.chain(v) else {
                break;
            };
            s2.extend(steps);
            root = r2;
            steps = s2;
        }
        let kind = self.classify(f, root, &steps)?;
        // A closure parameter stands for its receiver's value: point at the
        // receiver's read (`req.peer_addr()`), not at the parameter.
        let read = match m.kind(root) {
            Kind::Name(name) if steps.is_empty() => self
                .param_owner(f, name)
                .and_then(|fid| self.mapped_param(fid))
                .map_or(id, |s| s.read),
            _ => id,
        };
        Some(Source { kind, read })
    }

    /// The function, `f` or one around it, of which `name` is a parameter.
    fn param_owner(&self, f: FuncId, name: &str) -> Option<FuncId> {
        let m = self.m;
        let mut cur = Some(f);
        while let Some(fid) = cur {
            let func = m.function(fid);
            if func.params.iter().any(|p| p.name == name) {
                return Some(fid);
            }
            cur = func.parent;
        }
        None
    }

    /// `next/headers.headers().get('x')`.
    fn header_source(&self, id: NodeId) -> Option<String> {
        let m = self.m;
        let Kind::Attr { object, name } = m.kind(callee(m, id)?) else {
            return None;
        };
        let recv = path_text(m, *object);
        self.model.request.header_sources.iter().find_map(|pat| {
            let (prefix, last) = norm(pat)
                .rsplit_once('.')
                .map(|(a, b)| (a.to_string(), b.to_string()))?;
            let method = last.strip_suffix("($)")?;
            (prefix == recv && method == name)
                .then(|| first_str(m, id))
                .flatten()
                .map(|h| normalize_header(&h))
        })
    }

    fn classify(&self, f: FuncId, root: NodeId, steps: &[Step]) -> Option<SourceKind> {
        let r = self.root(f, root)?;
        let req = &self.model.request;
        match r {
            Root::Value(k) => steps.is_empty().then_some(k),
            Root::HeaderMap => {
                for p in &req.header_map_reads {
                    if let Some(Some(h)) = match_chain(p, steps) {
                        return Some(self.header_kind(&h));
                    }
                }
                None
            }
            Root::Request => {
                let find = |pats: &[String]| pats.iter().any(|p| match_chain(p, steps).is_some());
                if find(&req.client_address) {
                    return Some(SourceKind::Address);
                }
                if find(&req.forwarded) {
                    return Some(SourceKind::Forwarded);
                }
                if find(&req.host) {
                    return Some(SourceKind::Host);
                }
                for p in &req.headers {
                    if let Some(Some(h)) = match_chain(p, steps) {
                        return Some(self.header_kind(&h));
                    }
                }
                None
            }
        }
    }

    fn header_kind(&self, name: &str) -> SourceKind {
        let h = &self.model.headers;
        if h.forwarded.iter().any(|x| x == name) {
            SourceKind::Forwarded
        } else if h.host.iter().any(|x| x == name) {
            SourceKind::Host
        } else {
            SourceKind::Header(name.to_string())
        }
    }

    /// What a root name or path is.
    fn root(&self, f: FuncId, root: NodeId) -> Option<Root> {
        let m = self.m;
        let req = &self.model.request;
        let p = path_text(m, root);
        if !p.is_empty() && req.globals.iter().any(|g| same_path(g, &p)) {
            return Some(Root::Request);
        }
        let Kind::Name(name) = m.kind(root) else {
            return None;
        };
        // Parameters of the function or an enclosing one.
        let mut cur = Some(f);
        while let Some(fid) = cur {
            let func = m.function(fid);
            if let Some(r) = self.decorated.get(&(fid, name.to_string())) {
                return Some(r.clone());
            }
            for p in &func.params {
                let inner = destructured(&p.name);
                if p.name != *name && !inner.iter().any(|i| i == name) {
                    continue;
                }
                let head = p.annotation.as_deref().map(type_head).unwrap_or("");
                if req.address_param_types.iter().any(|t| t == head) {
                    return Some(Root::Value(SourceKind::Address));
                }
                if req.header_map_types.iter().any(|t| t == head) {
                    return Some(Root::HeaderMap);
                }
                if p.name == *name
                    && let Some(d) = p.default
                    && matches!(m.kind(d), Kind::Call { .. })
                {
                    let dp = path_text(m, d);
                    if req.header_params.iter().any(|h| same_path(h, &dp)) {
                        let alias = args(m, d).iter().find_map(|a| {
                            (a.name.as_deref() == Some("alias"))
                                .then(|| match m.kind(a.value) {
                                    Kind::Str(s) => Some(s.clone()),
                                    _ => None,
                                })
                                .flatten()
                        });
                        let h = normalize_header(alias.as_deref().unwrap_or(&p.name));
                        return Some(Root::Value(self.header_kind(&h)));
                    }
                }
                if p.name == *name
                    && (req.param_types.iter().any(|t| t == head) || req.params.contains(&p.name))
                {
                    return Some(Root::Request);
                }
                if p.name == *name
                    && let Some(s) = self.mapped_param(fid)
                {
                    return Some(Root::Value(s.kind));
                }
                return None;
            }
            cur = func.parent;
        }
        None
    }

    /// What the parameter of closure `f` holds when the closure maps an
    /// optional request value: `req.peer_addr().map(|a| …)`.
    fn mapped_param(&self, f: FuncId) -> Option<Source> {
        if let Some(s) = self.mapped.borrow().get(&f) {
            return s.clone();
        }
        // Not borrowed while computing: the receiver may map a closure too.
        let s = self.compute_mapped_param(f);
        self.mapped.borrow_mut().insert(f, s.clone());
        s
    }

    fn compute_mapped_param(&self, f: FuncId) -> Option<Source> {
        let m = self.m;
        let func = m.function(f);
        if func.kind != FuncKind::Lambda || func.params.len() != 1 {
            return None;
        }
        let lambda = *self.lambdas.get(&f)?;
        let call = m.parent(lambda)?;
        let Kind::Call { callee, .. } = m.kind(call) else {
            return None;
        };
        let Kind::Attr { object, name } = m.kind(*callee) else {
            return None;
        };
        if !matches!(
            name.as_str(),
            "map" | "map_or" | "and_then" | "is_some_and" | "is_ok_and" | "filter"
        ) || args(m, call).first().map(|a| a.value) != Some(lambda)
        {
            return None;
        }
        // Read from the receiver as a whole (`req.peer_addr()`).
        self.carried(*object).map(|s| Source {
            kind: s.kind,
            read: *object,
        })
    }

    /// The access chain of an expression: its root and the member, index
    /// and method steps below it.
    fn chain(&self, id: NodeId) -> Option<(NodeId, Vec<Step>)> {
        let m = self.m;
        let mut steps = Vec::new();
        let mut cur = id;
        for _ in 0..16 {
            match m.kind(cur) {
                Kind::Attr { object, name } => {
                    steps.push(Step::Member(name.to_string()));
                    cur = *object;
                }
                Kind::Index { object, index } => {
                    let key = match m.kind(*index) {
                        Kind::Str(s) => Some(s.clone()),
                        _ => None,
                    };
                    steps.push(Step::Index(key));
                    cur = *object;
                }
                Kind::Call { callee, .. } => match m.kind(*callee) {
                    Kind::Attr { object, name } => {
                        if matches!(name.as_str(), "unwrap" | "expect") {
                            cur = *object;
                            continue;
                        }
                        let arg = first_str(m, cur).or_else(|| self.sso_setting_arg(cur));
                        steps.push(Step::Method(name.to_string(), arg));
                        cur = *object;
                    }
                    _ => return None,
                },
                Kind::Await(e) | Kind::Question(e) => cur = *e,
                Kind::Name(_) => {
                    steps.reverse();
                    return Some((cur, steps));
                }
                _ => return None,
            }
        }
        None
    }

    /// The request-derived value an expression carries: a direct read, a
    /// local bound to one, a conversion of one (`ip_address(x)`,
    /// `x.split(',')[0].strip()`), or a same-file helper returning one. A
    /// proxy-appended forwarding entry (`xff.split(',')[-1]`, `.pop()`) is
    /// not the caller's claim and carries nothing.
    pub fn carried(&self, id: NodeId) -> Option<Source> {
        self.carried_with(id, None)
    }

    fn carried_with(
        &self,
        id: NodeId,
        partial: Option<&HashMap<String, Source>>,
    ) -> Option<Source> {
        self.carried_depth(id, partial, 0)
    }

    fn carried_depth(
        &self,
        id: NodeId,
        partial: Option<&HashMap<String, Source>>,
        depth: u32,
    ) -> Option<Source> {
        if depth > 12 {
            return None;
        }
        let m = self.m;
        if let Some(s) = self.source(id) {
            return Some(s);
        }
        let rec = |x: NodeId| self.carried_depth(x, partial, depth + 1);
        match m.kind(id) {
            Kind::Name(n) => {
                if let Some(s) = partial.and_then(|p| p.get(n.as_str())) {
                    return Some(s.clone());
                }
                let mut cur = Some(m.owner(id));
                while let Some(f) = cur {
                    if let Some(s) = self.locals.get(&f).and_then(|l| l.get(n.as_str())) {
                        return Some(s.clone());
                    }
                    cur = m.function(f).parent;
                }
                None
            }
            Kind::Attr { object, name } => {
                if matches!(name.as_str(), "length" | "len") {
                    return None;
                }
                rec(*object)
            }
            Kind::Index { object, index } => {
                let s = rec(*object)?;
                if s.kind == SourceKind::Forwarded && is_negative(m, *index) {
                    return None;
                }
                Some(s)
            }
            Kind::Call {
                callee: c, args: a, ..
            } => {
                let name = match m.kind(*c) {
                    Kind::Attr { name, .. } | Kind::Name(name) => name.as_str(),
                    _ => return None,
                };
                if let Kind::Attr { object, .. } = m.kind(*c)
                    && !matches!(m.kind(*object), Kind::Name(n) if n == "self" || n == "this")
                {
                    if let Some(s) = rec(*object) {
                        let last = matches!(name, "pop" | "last" | "next_back")
                            || (name == "at" && a.first().is_some_and(|x| is_negative(m, x.value)));
                        if s.kind == SourceKind::Forwarded && last {
                            return None;
                        }
                        return Some(s);
                    }
                }
                if let Some(k) = self.helpers.get(name) {
                    return Some(Source {
                        kind: k.clone(),
                        read: id,
                    });
                }
                if self.model.request.carriers.iter().any(|x| x == name) {
                    return a.iter().find_map(|x| rec(x.value));
                }
                None
            }
            Kind::Await(e) | Kind::Question(e) => rec(*e),
            Kind::Binary { op, lhs, rhs } if !op.is_comparison() => rec(*lhs).or_else(|| rec(*rhs)),
            Kind::Cond { then, els, .. } => rec(*then).or_else(|| rec(*els)),
            Kind::Unary {
                op: UnOp::Ref | UnOp::Deref,
                operand,
            } => rec(*operand),
            _ => None,
        }
    }

    /// Parameters that hold a request value themselves (FastAPI `Header()`
    /// parameters, NestJS `@Headers('x')`/`@Ip()`, axum `ConnectInfo`):
    /// function, parameter index and what it holds.
    pub fn value_params(&self) -> Vec<(FuncId, usize, SourceKind)> {
        let m = self.m;
        let mut out = Vec::new();
        for (fi, func) in m.functions.iter().enumerate() {
            let f = FuncId(fi as u32);
            for (pi, p) in func.params.iter().enumerate() {
                let root = self
                    .decorated
                    .get(&(f, p.name.clone()))
                    .cloned()
                    .or_else(|| {
                        // Classify through a use of the parameter's name.
                        function_nodes(m, f, true)
                            .into_iter()
                            .find(|n| matches!(m.kind(*n), Kind::Name(x) if *x == p.name))
                            .and_then(|n| self.root(m.owner(n), n))
                    });
                if let Some(Root::Value(k)) = root {
                    out.push((f, pi, k));
                }
            }
        }
        out
    }

    /// `headers.get(settings.REMOTE_USER_HEADER)`: the SSO header a
    /// setting names.
    fn sso_setting_arg(&self, call: NodeId) -> Option<String> {
        let m = self.m;
        let a = args(m, call).first()?;
        let name = match m.kind(a.value) {
            Kind::Attr { name, .. } | Kind::Name(name) => name,
            _ => return None,
        };
        listed(&self.model.headers.sso_settings, name).then(|| "remote-user".to_string())
    }

    /// The model's header tables.
    pub fn headers(&self) -> &'a model::HeaderNames {
        &self.model.headers
    }
}

/// Parameters bound by decorators in their source text (`@Ip() ip`,
/// `@Headers('x-user-id') uid`, `@Headers() headers`, `@Req() req`).
fn decorated_params(cx: &Context<'_>, model: &ContextModel) -> HashMap<(FuncId, String), Root> {
    let m = cx.module;
    let req = &model.request;
    let mut out = HashMap::new();
    if req.address_param_decorators.is_empty() && req.header_param_decorators.is_empty() {
        return out;
    }
    for (i, f) in m.functions.iter().enumerate() {
        for p in &f.params {
            let t = text(cx, p.span).trim_start();
            let Some(rest) = t.strip_prefix('@') else {
                continue;
            };
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let arg = rest
                .get(name.len()..)
                .and_then(|r| r.strip_prefix('('))
                .and_then(|r| r.split(')').next())
                .map(|a| a.trim().trim_matches(['\'', '"', '`']).to_string())
                .unwrap_or_default();
            let root = if req.address_param_decorators.contains(&name) {
                Root::Value(SourceKind::Address)
            } else if req.header_param_decorators.contains(&name) {
                if arg.is_empty() {
                    Root::HeaderMap
                } else {
                    let h = normalize_header(&arg);
                    let hs = &model.headers;
                    Root::Value(if hs.forwarded.contains(&h) {
                        SourceKind::Forwarded
                    } else if hs.host.contains(&h) {
                        SourceKind::Host
                    } else {
                        SourceKind::Header(h)
                    })
                }
            } else {
                continue;
            };
            out.insert((FuncId(i as u32), p.name.clone()), root);
        }
    }
    out
}

/// Whether the file tells its framework which proxies to trust:
/// `ProxyFix(app.wsgi_app, x_for=1)`, `app.set('trust proxy', 'loopback')`
/// (but not `true`, which trusts every hop).
fn trusted_proxies(cx: &Context<'_>, model: &ContextModel) -> bool {
    let m = cx.module;
    let settings = &model.request.proxy_settings;
    (0..m.nodes.len()).any(|i| {
        let id = NodeId(i as u32);
        let Kind::Call { .. } = m.kind(id) else {
            return false;
        };
        let p = path_text(m, id);
        if !p.is_empty() && settings.iter().any(|s| same_path(s, &p)) {
            return true;
        }
        let a = args(m, id);
        matches!(a.first().map(|x| m.kind(x.value)), Some(Kind::Str(s)) if settings.contains(s))
            && a.get(1)
                .is_some_and(|x| !matches!(m.kind(x.value), Kind::Bool(true)))
    })
}

/// The name a `Some(name)` or `Ok(name)` pattern binds.
fn wrapped_name(m: &Module, pattern: NodeId) -> Option<&str> {
    let Kind::Call { callee, args, .. } = m.kind(pattern) else {
        return None;
    };
    let (Kind::Name(wrapper), [arg]) = (m.kind(*callee), args.as_slice()) else {
        return None;
    };
    if !matches!(wrapper.as_str(), "Some" | "Ok") || arg.name.is_some() {
        return None;
    }
    match m.kind(arg.value) {
        Kind::Name(n) => Some(n),
        _ => None,
    }
}

/// Each name `f` assigns with a plain `name = value`, with the value when it
/// is the only such assignment and `None` when there are several.
fn plain_assignments(m: &Module, f: FuncId) -> HashMap<String, Option<NodeId>> {
    let mut out: HashMap<String, Option<NodeId>> = HashMap::new();
    for x in function_nodes(m, f, false) {
        if let Kind::Assign {
            targets,
            value: Some(v),
            op: None,
            ..
        } = m.kind(x)
            && let [t] = targets.as_slice()
            && let Kind::Name(name) = m.kind(*t)
        {
            out.entry(name.to_string())
                .and_modify(|e| *e = None)
                .or_insert(Some(*v));
        }
    }
    out
}

/// Names bound by a destructuring parameter (`ConnectInfo(addr)` → `addr`).
fn destructured(param: &str) -> Vec<String> {
    if !param.contains(['(', '{', '[']) {
        return Vec::new();
    }
    let inner = param.split_once(['(', '{', '[']).map_or("", |(_, r)| r);
    inner
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty() && w.chars().next().is_some_and(char::is_lowercase))
        .filter(|w| *w != "mut" && *w != "ref")
        .map(str::to_string)
        .collect()
}

/// Matches a model chain (`META.get(HTTP_$)`, `headers[$]`,
/// `client.host`) against steps. `Some(Some(h))` when it captured a header.
fn match_chain(pattern: &str, steps: &[Step]) -> Option<Option<String>> {
    let toks = pattern_steps(pattern);
    if toks.len() != steps.len() {
        return None;
    }
    let mut captured = None;
    for (t, s) in toks.iter().zip(steps) {
        match (t, s) {
            (Step::Member(a), Step::Member(b)) => {
                if a == "$" {
                    captured = Some(normalize_header(b));
                } else if a != b {
                    return None;
                }
            }
            (Step::Index(Some(a)), Step::Index(Some(b))) => {
                captured = capture(a, b, captured)?;
            }
            (Step::Method(a, pa), Step::Method(b, pb)) if a == b => match (pa, pb) {
                (None, _) => {}
                (Some(pa), Some(pb)) => captured = capture(pa, pb, captured)?,
                (Some(_), None) => return None,
            },
            _ => return None,
        }
    }
    Some(captured)
}

fn capture(pat: &str, value: &str, prev: Option<String>) -> Option<Option<String>> {
    if let Some(prefix) = pat.strip_suffix('$') {
        if prefix.is_empty() {
            return Some(Some(normalize_header(value)));
        }
        let rest = value.strip_prefix(prefix)?;
        return Some(Some(normalize_header(rest)));
    }
    (pat == value).then_some(prev)
}

fn pattern_steps(pattern: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in pattern.split('.') {
        let (head, index) = match part.split_once('[') {
            Some((h, i)) => (h, Some(i.trim_end_matches(']').to_string())),
            None => (part, None),
        };
        if let Some((name, arg)) = head.split_once('(') {
            let arg = arg.trim_end_matches(')');
            out.push(Step::Method(
                name.to_string(),
                (!arg.is_empty()).then(|| arg.to_string()),
            ));
        } else if !head.is_empty() {
            out.push(Step::Member(head.to_string()));
        }
        if let Some(i) = index {
            out.push(Step::Index(Some(i)));
        }
    }
    out
}

/// `HTTP_X_USER_ID`, `X-User-Id`, `x_user_id` → `x-user-id`.
fn normalize_header(h: &str) -> String {
    h.trim().to_ascii_lowercase().replace('_', "-")
}

fn norm(p: &str) -> String {
    p.replace("::", ".")
}

/// Whether the model path `pat` is the path text `p` (`::` read as `.`),
/// without building a string for the common case.
fn same_path(pat: &str, p: &str) -> bool {
    if pat.contains("::") {
        norm(pat) == p
    } else {
        pat == p
    }
}

fn path_text(m: &Module, id: NodeId) -> String {
    m.path(id).map(|p| p.to_string()).unwrap_or_default()
}

fn first_str(m: &Module, call: NodeId) -> Option<String> {
    args(m, call).first().and_then(|a| match m.kind(a.value) {
        Kind::Str(s) => Some(s.clone()),
        _ => None,
    })
}

fn is_negative(m: &Module, id: NodeId) -> bool {
    match m.kind(id) {
        Kind::Num(n) => n.starts_with('-'),
        Kind::Unary { op: UnOp::Neg, .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_needles_name_every_kind_of_request_root() {
        let m = crate::models::builtin();
        let roots = |l| root_needles(m.request_context(l));
        let py = roots(faultline_ir::Language::Python);
        // A parameter name, a parameter type, a request global's package
        // and a header default.
        for n in ["request", "HttpRequest", "flask", "fastapi"] {
            assert!(py.iter().any(|x| x == n), "{n}: {py:?}");
        }
        let ts = roots(faultline_ir::Language::TypeScript);
        for n in ["req", "ctx", "NextRequest", "Ip"] {
            assert!(ts.iter().any(|x| x == n), "{n}: {ts:?}");
        }
        let rs = roots(faultline_ir::Language::Rust);
        for n in ["ConnectInfo", "SocketAddr", "HeaderMap", "warp"] {
            assert!(rs.iter().any(|x| x == n), "{n}: {rs:?}");
        }
    }

    #[test]
    fn chains_match_with_header_capture() {
        let steps = vec![
            Step::Member("META".into()),
            Step::Method("get".into(), Some("HTTP_X_USER_ID".into())),
        ];
        assert_eq!(
            match_chain("META.get(HTTP_$)", &steps),
            Some(Some("x-user-id".to_string()))
        );
        assert_eq!(match_chain("META.get(REMOTE_ADDR)", &steps), None);
        let idx = vec![
            Step::Member("environ".into()),
            Step::Index(Some("REMOTE_ADDR".into())),
        ];
        assert_eq!(match_chain("environ[REMOTE_ADDR]", &idx), Some(None));
        assert_eq!(destructured("ConnectInfo(addr)"), vec!["addr".to_string()]);
    }
}
