//! Marks request handlers (`Function::is_handler`) from the framework
//! models: decorated routes, function and class-based views, callbacks
//! registered with a router, conventional names (Next.js), extractor
//! parameters (axum, actix), route attributes (actix, rocket) and warp
//! filter closures.

use crate::utils::listed;
use faultline_ir::{FuncId, FuncKind, Kind, Language, Module, NodeId};
use foldhash::{HashMap, HashMapExt};

use super::model::HandlerModel;
use crate::models::Models;
use crate::utils::{args, segs};

/// Sets `Function::is_handler` on every handler of the module, from the
/// request-context model of `models` (the built-in one plus a project's
/// additions).
pub fn mark_handlers(m: &mut Module, models: &Models) {
    let model = &models.request_context(m.language).handlers;
    let mut marks = vec![false; m.functions.len()];
    let uses_framework = m.imports.iter().any(|i| {
        i.target
            .root()
            .is_some_and(|r| model.frameworks.iter().any(|f| f == r))
    });
    for (i, f) in m.functions.iter().enumerate() {
        let id = FuncId(i as u32);
        marks[i] = by_declaration(m, id, model, uses_framework);
        let _ = f;
    }
    for id in registered(m, model) {
        if let Some(slot) = marks.get_mut(id.0 as usize) {
            *slot = true;
        }
    }
    for (f, h) in m.functions.iter_mut().zip(marks) {
        f.is_handler = h;
    }
}

/// The type name an annotation stands for: `&web::Json<T>` → `Json`,
/// `Option<SocketAddr>` → `SocketAddr`, `ConnectInfo<SocketAddr>` →
/// `ConnectInfo`.
pub fn type_head(annotation: &str) -> &str {
    let mut t = annotation.trim();
    loop {
        t = t.trim_start_matches('&').trim_start();
        t = t.strip_prefix("mut ").unwrap_or(t).trim_start();
        if let Some(lt) = t.strip_prefix('\'') {
            t = lt.split_once(' ').map_or("", |(_, r)| r);
            continue;
        }
        let head = t.split('<').next().unwrap_or(t).trim();
        let last = head.rsplit("::").next().unwrap_or(head);
        let last = last.rsplit('.').next().unwrap_or(last);
        if matches!(last, "Option" | "Arc" | "Box" | "Rc")
            && let Some(inner) = t
                .find('<')
                .and_then(|s| t.get(s + 1..t.len().saturating_sub(1)))
        {
            t = inner;
            continue;
        }
        return last;
    }
}

fn by_declaration(m: &Module, id: FuncId, model: &HandlerModel, uses_framework: bool) -> bool {
    let f = m.function(id);
    if f.kind == FuncKind::Module {
        return false;
    }
    let decorated = f.decorators.iter().any(|d| {
        let Kind::Call { callee, .. } = m.kind(*d) else {
            return false;
        };
        let name = match m.kind(*callee) {
            Kind::Attr { name, .. } | Kind::Name(name) => name.as_str(),
            _ => return false,
        };
        model.decorators.iter().any(|x| x == name)
    });
    let attributed = f.attributes.iter().any(|a| {
        let head = a.split('(').next().unwrap_or("").trim();
        let last = head.rsplit("::").next().unwrap_or(head);
        a.contains('(') && model.decorators.iter().any(|x| x == last)
    });
    let typed = f.params.iter().any(|p| {
        p.annotation.as_deref().is_some_and(|t| {
            let head = type_head(t);
            model.param_types.iter().any(|x| x == head)
        })
    });
    let top_level = f.parent == Some(FuncId(0));
    let view = uses_framework
        && top_level
        && f.kind == FuncKind::Function
        && f.params
            .first()
            .is_some_and(|p| model.view_params.contains(&p.name));
    let method_view = uses_framework
        && f.kind == FuncKind::Method
        && model.view_methods.contains(&f.name)
        && f.params
            .iter()
            .skip(1)
            .take(1)
            .any(|p| model.view_params.contains(&p.name));
    let named = top_level && f.kind == FuncKind::Function && model.names.contains(&f.name);
    let signature = model.signatures.iter().any(|sig| {
        !sig.is_empty()
            && sig.len() <= f.params.len()
            && sig.iter().zip(&f.params).all(|(s, p)| *s == p.name)
    });
    decorated || attributed || typed || view || method_view || named || signature
}

/// Functions passed to router registrations and warp filter combinators.
fn registered(m: &Module, model: &HandlerModel) -> Vec<FuncId> {
    let mut by_name: HashMap<&str, FuncId> = HashMap::new();
    for (i, f) in m.functions.iter().enumerate() {
        if matches!(f.kind, FuncKind::Function | FuncKind::Method) {
            by_name.entry(f.name.as_str()).or_insert(FuncId(i as u32));
        }
    }
    let mut out = Vec::new();
    let take = |v: NodeId, out: &mut Vec<FuncId>| match m.kind(v) {
        Kind::Lambda(f) => out.push(*f),
        Kind::Name(n) => out.extend(by_name.get(n.as_str()).copied()),
        Kind::Attr { name, object } if matches!(m.kind(*object), Kind::Name(s) if s == "self" || s == "this") => {
            out.extend(by_name.get(name.as_str()).copied())
        }
        _ => {}
    };
    for i in 0..m.nodes.len() {
        let id = NodeId(i as u32);
        let Kind::Call {
            callee, args: a, ..
        } = m.kind(id)
        else {
            continue;
        };
        let (name, object) = match m.kind(*callee) {
            Kind::Attr { name, object } => (name.as_str(), Some(*object)),
            Kind::Name(n) => (n.as_str(), None),
            _ => continue,
        };
        if model.filter_combinators.iter().any(|c| c == name)
            && let Some(o) = object
            && segs(m, o)
                .first()
                .is_some_and(|s| listed(&model.filter_roots, &s.name))
        {
            for x in a {
                take(x.value, &mut out);
            }
            continue;
        }
        if !model.registrations.iter().any(|r| r == name) {
            continue;
        }
        let routed = match m.language {
            // `app.get('/x', h)`: a path first, or `app.use(mw)`, or an options object.
            Language::TypeScript | Language::Tsx | Language::JavaScript => {
                object.is_some()
                    && (matches!(name, "use" | "route" | "addHook")
                        || a.first().is_some_and(|x| {
                            matches!(m.kind(x.value), Kind::Str(_) | Kind::Template(_))
                        }))
            }
            _ => true,
        };
        if !routed {
            continue;
        }
        for x in args(m, id) {
            match m.kind(x.value) {
                Kind::Object { entries, .. } => {
                    for e in entries {
                        if e.key
                            .as_deref()
                            .is_some_and(|k| model.handler_keys.iter().any(|h| h == k))
                        {
                            take(e.value, &mut out);
                        }
                    }
                }
                Kind::Array(items) => {
                    for v in items {
                        take(*v, &mut out);
                    }
                }
                _ => take(x.value, &mut out),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::type_head;

    #[test]
    fn type_heads() {
        assert_eq!(type_head("&web::Json<T>"), "Json");
        assert_eq!(type_head("Option<SocketAddr>"), "SocketAddr");
        assert_eq!(type_head("ConnectInfo<SocketAddr>"), "ConnectInfo");
        assert_eq!(type_head("&'r Request<'_>"), "Request");
        assert_eq!(type_head("web.Request"), "Request");
    }
}
