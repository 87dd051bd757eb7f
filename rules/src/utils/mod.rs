//! Helpers shared by every family: looking through value-preserving
//! wrappers, test-code detection, source snippets.

pub mod dataflow;
pub mod sql;

use faultline_ir::{FuncId, Kind, Module, NodeId, Segment, Span};
use foldhash::{HashMap, HashMapExt};

use crate::Context;

/// Looks through `await`, Rust `?`, `.unwrap()`/`.expect(..)` and JS
/// non-null/`as` wrappers (already gone in the IR).
pub fn strip(m: &Module, mut id: NodeId) -> NodeId {
    loop {
        match m.kind(id) {
            Kind::Await(e) | Kind::Question(e) => id = *e,
            Kind::Call { callee, args, .. } if args.len() <= 1 => match m.kind(*callee) {
                Kind::Attr { object, name } if name == "unwrap" || name == "expect" => id = *object,
                _ => return id,
            },
            _ => return id,
        }
    }
}

/// Looks through `await` and Rust `?` only.
pub fn strip_await(m: &Module, mut id: NodeId) -> NodeId {
    while let Kind::Await(e) | Kind::Question(e) = m.kind(id) {
        id = *e;
    }
    id
}

/// Whether `name` is one of a model's `list` of names.
pub fn listed(list: &[String], name: &str) -> bool {
    list.iter().any(|x| x == name)
}

/// The segments of a node's resolved path (empty if none).
pub fn segs(m: &Module, id: NodeId) -> &[Segment] {
    m.path(id).map_or(&[], |p| p.segments.as_slice())
}

/// Whether this call node is the one its path's last segment was made by
/// (not a same-file wrapper whose path is borrowed from inside it).
pub fn is_own_call(m: &Module, id: NodeId) -> bool {
    segs(m, id).last().and_then(|s| s.call) == Some(id)
}

/// Whether a function or any function around it is test code.
pub fn is_test_function(m: &Module, mut f: FuncId) -> bool {
    loop {
        let func = m.function(f);
        if func.is_test {
            return true;
        }
        match func.parent {
            Some(p) => f = p,
            None => return false,
        }
    }
}

/// Whether a node is in test code (a test file or a test function).
pub fn in_test_code(cx: &Context<'_>, id: NodeId) -> bool {
    cx.is_test_file || is_test_function(cx.module, cx.module.owner(id))
}

/// The source text of a span.
pub fn text<'a>(cx: &Context<'a>, span: Span) -> &'a str {
    cx.source
        .get(span.start as usize..span.end as usize)
        .unwrap_or("")
}

/// A short one-line rendering of a node's source for messages: the first
/// line, at most 60 characters.
pub fn snippet(cx: &Context<'_>, id: NodeId) -> String {
    let t = text(cx, cx.module.node(id).span);
    let line = t.lines().next().unwrap_or("").trim();
    if line.chars().count() > 60 {
        let cut: String = line.chars().take(57).collect();
        format!("{cut}...")
    } else {
        line.to_string()
    }
}

/// How messages name a call: its callee as written when that is short and on
/// one line (`requests.get`, `self.session.post`), otherwise the first and
/// last segments of its path (`sqlx…fetch_one`).
pub fn call_label(cx: &Context<'_>, call: NodeId) -> String {
    let m = cx.module;
    let call = strip_await(m, call);
    let Some(c) = callee(m, call) else {
        return snippet(cx, call);
    };
    let t = text(cx, m.node(c).span).trim();
    if !t.contains('\n') && t.chars().count() <= 48 {
        return t.to_string();
    }
    let s = segs(m, call);
    match (s.first(), s.last()) {
        (Some(a), Some(b)) if s.len() > 1 => format!("{}…{}", a.name, b.name),
        _ => call_name(m, call).map_or_else(|| snippet(cx, c), str::to_string),
    }
}

/// The text of a string literal, f-string or template literal, with
/// interpolations as `?` (the placeholder [`sql::analyze`] understands).
pub fn literal_text(m: &Module, id: NodeId) -> Option<String> {
    match m.kind(id) {
        Kind::Str(s) => Some(s.clone()),
        Kind::Template(parts) => Some(
            parts
                .iter()
                .map(|p| match m.kind(*p) {
                    Kind::Str(s) => s.as_str(),
                    _ => "?",
                })
                .collect(),
        ),
        _ => None,
    }
}

/// The callee of a call or `new`.
pub fn callee(m: &Module, id: NodeId) -> Option<NodeId> {
    match m.kind(id) {
        Kind::Call { callee, .. } | Kind::New { callee, .. } => Some(*callee),
        _ => None,
    }
}

/// The arguments of a call or `new`.
pub fn args(m: &Module, id: NodeId) -> &[faultline_ir::Arg] {
    match m.kind(id) {
        Kind::Call { args, .. } | Kind::New { args, .. } => args,
        _ => &[],
    }
}

/// The member name a call invokes (`x.json()` → `json`) or the called name.
pub fn call_name(m: &Module, id: NodeId) -> Option<&str> {
    match m.kind(callee(m, id)?) {
        Kind::Attr { name, .. } => Some(name),
        Kind::Name(n) => Some(n),
        _ => None,
    }
}

/// The receiver of a method call (`a.b()` → `a`).
pub fn receiver(m: &Module, id: NodeId) -> Option<NodeId> {
    match m.kind(callee(m, id)?) {
        Kind::Attr { object, .. } => Some(*object),
        _ => None,
    }
}

/// Every node of a function body, entering nested lambdas/closures too
/// when `deep` is set.
pub fn function_nodes(m: &Module, f: FuncId, deep: bool) -> Vec<NodeId> {
    let mut out = Vec::new();
    collect(m, m.function(f).body, deep, &mut out);
    out
}

/// Nodes below `root`, optionally entering lambdas.
pub fn collect(m: &Module, root: NodeId, deep: bool, out: &mut Vec<NodeId>) {
    m.walk(root, &mut |n| {
        out.push(n);
        if deep && let Kind::Lambda(f) = m.kind(n) {
            let body = m.function(*f).body;
            let mut inner = Vec::new();
            collect(m, body, true, &mut inner);
            out.extend(inner);
        }
    });
}

/// Whether the node is a literal "nothing" or default value: `None`, `null`,
/// `undefined`, `false`, `0`, `""`, `[]`, `{}`.
pub fn is_default_value(m: &Module, id: NodeId) -> bool {
    match m.kind(id) {
        Kind::Null | Kind::Bool(_) | Kind::Num(_) | Kind::Str(_) => true,
        Kind::Array(v) => v.is_empty(),
        Kind::Object { entries, .. } => entries.is_empty(),
        Kind::Name(n) => n == "undefined" || n == "None",
        Kind::Unary { operand, .. } => is_default_value(m, *operand),
        _ => false,
    }
}

/// Whether a function looks like a request handler of a known web
/// framework (decorated route, axum/actix extractor parameters, an
/// Express-style `(req, res)` signature).
pub fn is_request_handler(m: &Module, f: FuncId) -> bool {
    let func = m.function(f);
    let route_words = [
        "get", "post", "put", "patch", "delete", "route", "api_view", "head", "options",
    ];
    let decorated = func.decorators.iter().any(|d| {
        let mut id = *d;
        if let Kind::Call { callee, .. } = m.kind(id) {
            id = *callee;
        }
        match m.kind(id) {
            Kind::Attr { name, .. } => route_words.contains(&name.as_str()),
            Kind::Name(n) => route_words.contains(&n.as_str()),
            _ => false,
        }
    });
    let attributed = func.attributes.iter().any(|a| {
        let head = a.split('(').next().unwrap_or("");
        let last = head.rsplit("::").next().unwrap_or(head);
        route_words.contains(&last) && a.contains('(')
    });
    let extractor = func.params.iter().any(|p| {
        p.annotation.as_deref().is_some_and(|t| {
            [
                "Json<",
                "Path<",
                "Query<",
                "State<",
                "Extension<",
                "Form<",
                "HttpRequest",
                "web::",
                "HeaderMap",
                "ConnectInfo<",
            ]
            .iter()
            .any(|k| t.contains(k))
        })
    });
    let express = func.params.len() >= 2
        && matches!(func.params[0].name.as_str(), "req" | "request")
        && matches!(func.params[1].name.as_str(), "res" | "response" | "reply");
    decorated || attributed || extractor || express
}

/// Which nodes' paths go through which call: `resp.json()` goes through the
/// `requests.get(..)` call that made `resp`.
#[derive(Debug, Default)]
pub struct Uses {
    by_call: HashMap<NodeId, Vec<(NodeId, usize)>>,
}

impl Uses {
    /// Indexes a module.
    pub fn new(m: &Module) -> Uses {
        let mut by_call: HashMap<NodeId, Vec<(NodeId, usize)>> = HashMap::new();
        for (i, n) in m.nodes.iter().enumerate() {
            let Some(p) = &n.path else { continue };
            for (k, s) in p.segments.iter().enumerate() {
                if let Some(c) = s.call {
                    by_call.entry(c).or_default().push((NodeId(i as u32), k));
                }
            }
        }
        Uses { by_call }
    }

    /// The nodes whose path goes through `call`, with the index of the
    /// segment `call` made, in node order.
    pub fn of(&self, call: NodeId) -> &[(NodeId, usize)] {
        self.by_call.get(&call).map_or(&[], Vec::as_slice)
    }
}
