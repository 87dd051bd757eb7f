//! Lowering tests: `(source, expected s-expression)` lists and path checks.
#![expect(clippy::unwrap_used, clippy::panic)]

use faultline_ir::{FuncId, Kind, Module, NodeId};

use crate::{Lang, lower};

fn module(src: &str) -> Module {
    lower(Lang::Rust, src).unwrap()
}

/// The s-expression of every function body, `name: sexp` per line.
fn dump(m: &Module) -> String {
    let mut s = String::new();
    for (i, f) in m.functions.iter().enumerate() {
        s.push_str(&format!(
            "{i} {} [{:?} test={} async={} class={:?}] {}\n",
            f.name,
            f.kind,
            f.is_test,
            f.is_async,
            f.class,
            m.sexp(f.body)
        ));
    }
    s
}

/// Paths of every call, `text => path`.
fn calls(src: &str, m: &Module) -> String {
    let mut s = String::new();
    for n in &m.nodes {
        if let Kind::Call { .. } | Kind::Macro { .. } = n.kind {
            let t = src
                .get(n.span.start as usize..n.span.end as usize)
                .unwrap_or("?");
            s.push_str(&format!(
                "{t:?} => {}\n",
                n.path.as_ref().map(|p| p.to_string()).unwrap_or("-".into())
            ));
        }
    }
    s
}

#[test]
fn scratch() {
    let src = std::fs::read_to_string("/tmp/rsdump/in.rs").unwrap_or_default();
    let m = module(&src);
    println!("{}", dump(&m));
    println!("{}", calls(&src, &m));
    println!("{:?}", m.comments);
    println!("{:?}", m.syntax_errors);
    let _ = (FuncId(0), NodeId(0));
}
