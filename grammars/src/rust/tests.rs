//! Lowering tests (STYLE 13): `(source, expected s-expression)` lists, path
//! assertions, test marking, macros, broken and pathological input, and the
//! Rust fixtures of the rule suite.

use std::path::{Path as FsPath, PathBuf};

use faultline_ir::{FuncKind, Kind, Module, NodeId};

use super::kinds;
use crate::{Lang, lower};

fn module(src: &str) -> Module {
    lower(Lang::Rust, src).unwrap()
}

fn text<'a>(src: &'a str, m: &Module, id: NodeId) -> &'a str {
    let s = m.node(id).span;
    src.get(s.start as usize..s.end as usize).unwrap_or("")
}

/// The body of `fn f() { <body> }` as an s-expression.
fn body(body: &str) -> String {
    let m = module(&format!("fn f() {{ {body} }}"));
    let f = m.functions.iter().find(|f| f.name == "f").unwrap();
    m.sexp(f.body)
}

/// The resolved path of the first call (or macro) whose source text is
/// `call`, or `-` when it has none.
fn path_of(src: &str, call: &str) -> String {
    let m = module(src);
    let id = (0..m.nodes.len())
        .map(|i| NodeId(i as u32))
        .find(|id| {
            matches!(m.kind(*id), Kind::Call { .. } | Kind::Macro { .. })
                && text(src, &m, *id) == call
        })
        .unwrap_or_else(|| panic!("no call `{call}` in\n{src}"));
    m.path(id).map_or("-".to_string(), |p| p.to_string())
}

#[test]
fn every_kind_and_field_exists_in_the_grammar() {
    assert_eq!(kinds().missing(), Vec::<&str>::new());
}

#[test]
fn statements_and_expressions() {
    let cases: &[(&str, &str)] = &[
        ("", "(block)"),
        ("let x = 1;", "(block (assign (name x) (num 1)))"),
        ("let x: u32 = 1;", "(block (assign:u32 (name x) (num 1)))"),
        ("let x;", "(block (assign (name x) _))"),
        ("let _ = f();", "(block (assign (name _) (call (name f))))"),
        (
            "let (a, mut b) = t;",
            "(block (assign (array (name a) (name b)) (name t)))",
        ),
        (
            "let S { a, b: c, .. } = s;",
            "(block (assign (object S a=(name a) b=(name c) ..(other)) (name s)))",
        ),
        (
            "let Some(x) = o else { return; };",
            "(block (assign (call (name Some) (name x)) (name o)) (other (block (return _))))",
        ),
        (
            "f(); g()",
            "(block (expr (call (name f))) (tail (call (name g))))",
        ),
        ("x = 2;", "(block (assign (name x) (num 2)))"),
        ("x += 2;", "(block (assign[Add] (name x) (num 2)))"),
        (
            "a.b.c(1, \"s\")",
            "(block (tail (call (attr (attr (name a) b) c) (num 1) (str \"s\"))))",
        ),
        ("f()?.await;", "(block (expr (await (? (call (name f))))))"),
        (
            "resp.json::<User>()",
            "(block (tail (call (attr (name resp) json) <User>)))",
        ),
        (
            "parse::<u32>(s)",
            "(block (tail (call (name parse) <u32> (name s))))",
        ),
        ("a[0]", "(block (tail (index (name a) (num 0))))"),
        ("t.0", "(block (tail (attr (name t) 0)))"),
        ("(a, b)", "(block (tail (array (name a) (name b))))"),
        ("[1, 2]", "(block (tail (array (num 1) (num 2))))"),
        ("[0; 4]", "(block (tail (other (num 0) (num 4))))"),
        ("()", "(block (tail (array)))"),
        ("&mut x", "(block (tail (Ref (name x))))"),
        ("*x", "(block (tail (Deref (name x))))"),
        (
            "!x && -y < 3",
            "(block (tail (And (Not (name x)) (Lt (Neg (name y)) (num 3)))))",
        ),
        ("x as u64", "(block (tail (name x)))"),
        ("((x))", "(block (tail (name x)))"),
        ("a..b", "(block (tail (Other (name a) (name b))))"),
        ("..", "(block (tail (other)))"),
        ("1.5", "(block (tail (num 1.5)))"),
        ("true", "(block (tail (bool true)))"),
        ("\"a\\n\\u{41}\"", "(block (tail (str \"a\\nA\")))"),
        ("r#\"raw \"q\"\"#", "(block (tail (str \"raw \\\"q\\\"\")))"),
        ("b\"by\"", "(block (tail (str \"by\")))"),
        ("'c'", "(block (tail (str \"c\")))"),
        (
            "Config { timeout: 5, retries, ..Default::default() }",
            "(block (tail (object Config timeout=(num 5) retries=(name retries) ..(call (attr (name Default) default)))))",
        ),
        (
            "unsafe { f() }",
            "(block (tail (block (tail (call (name f))))))",
        ),
        (
            "if a { b } else if c { d } else { e }",
            "(block (tail (if (name a) (block (tail (name b))) (if (name c) (block (tail (name d))) (block (tail (name e)))))))",
        ),
        (
            "if a { b(); }\nx",
            "(block (if (name a) (block (expr (call (name b))))) (tail (name x)))",
        ),
        (
            "if let Ok(v) = f() { v } else { 0 };",
            "(block (if (let (call (name Ok) (name v)) (call (name f))) (block (tail (name v))) (block (tail (num 0)))))",
        ),
        (
            "if let Some(x) = a && x > 1 { }",
            "(block (tail (if (And (let (call (name Some) (name x)) (name a)) (Gt (name x) (num 1))) (block))))",
        ),
        (
            "let x = match r { Ok(v) if v > 0 => v, Err(_) | Ok(_) => { 0 } };",
            "(block (assign (name x) (match (name r) (arm (call (name Ok) (name v)) (name v)) (arm (Or (call (name Err) (name _)) (call (name Ok) (name _))) (block (tail (num 0)))))))",
        ),
        (
            "loop { break; }",
            "(block (tail (loop[Infinite] _ _ (block (break)))))",
        ),
        (
            "loop { break 5; };",
            "(block (loop[Infinite] _ _ (block (block (expr (num 5)) (break)))))",
        ),
        (
            "while x { continue; }",
            "(block (tail (loop[While] _ (name x) (block (continue)))))",
        ),
        (
            "while let Some(m) = rx.recv() { }",
            "(block (tail (loop[While] _ (let (call (name Some) (name m)) (call (attr (name rx) recv))) (block))))",
        ),
        (
            "for (i, x) in xs { }",
            "(block (tail (loop[ForEach] (array (name i) (name x)) (name xs) (block))))",
        ),
        (
            "return Ok(());",
            "(block (return (call (name Ok) (array))))",
        ),
        ("return", "(block (return _))"),
        ("let f = |x| x + 1;", "(block (assign (name f) (lambda f)))"),
        (
            "spawn(async move { g().await })",
            "(block (tail (call (name spawn) (lambda <lambda>))))",
        ),
        ("fn inner() {}", "(block (def inner))"),
        (
            "use a::b; struct S; enum E {} f()",
            "(block (tail (call (name f))))",
        ),
        (
            "println!(\"{}\", f(x));",
            "(block (expr (macro println (str \"{}\") (call (name f) (name x)))))",
        ),
        (
            "format!(\"{a} and {b:?}\")",
            "(block (tail (macro format (template (name a) (str \" and \") (name b)))))",
        ),
        (
            "vec![g(); n]",
            "(block (tail (macro vec (call (name g)) (name n))))",
        ),
        ("vec![]", "(block (tail (macro vec)))"),
        (
            "tokio::join!(a(), b())",
            "(block (tail (macro tokio::join (call (name a)) (call (name b)))))",
        ),
        (
            "tracing::info!(user = %id, err = ?e, \"done\")",
            "(block (tail (macro tracing::info (name id) (name e) (str \"done\"))))",
        ),
        (
            "info!(target: \"api\", \"x {}\", n)",
            "(block (tail (macro info (str \"api\") (str \"x {}\") (name n))))",
        ),
        (
            "assert_eq!(f(a), 2, \"msg\")",
            "(block (tail (macro assert_eq (call (name f) (name a)) (num 2) (str \"msg\"))))",
        ),
        (
            "println!(\"{}\", format!(\"{}\", g(x)))",
            "(block (tail (macro println (str \"{}\") (macro format (str \"{}\") (call (name g) (name x))))))",
        ),
        (
            "tokio::select! { r = rx.recv() => { h(r) }, _ = sleep(d) => {} }",
            "(block (tail (macro tokio::select (call (attr (name rx) recv)) (block (tail (call (name h) (name r)))) (call (name sleep) (name d)) (block))))",
        ),
        (
            "matches!(x, Some(_))",
            "(block (tail (macro matches (name x) (call (name Some) (name _)))))",
        ),
        // Plain literals and names are lowered without a second parse;
        // keywords still are not expressions.
        (
            "println!(\"{} {x}\", y, 1, r\"raw\", 'c', 2.5,)",
            "(block (tail (macro println (template (str \"{} \") (name x)) (name y) (num 1) (str \"raw\") (str \"c\") (num 2.5))))",
        ),
        ("Token![try]", "(block (tail (macro Token (other))))"),
        (
            "m!(true, x)",
            "(block (tail (macro m (bool true) (name x))))",
        ),
    ];
    let mut failures = Vec::new();
    for (src, want) in cases {
        let got = body(src);
        if got != *want {
            failures.push(format!("{src}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn items_functions_and_impls() {
    let src = r#"
use std::fmt;
#[derive(Debug)]
struct Api { http: reqwest::Client }
impl Api {
    pub fn new() -> Self { Self { http: reqwest::Client::new() } }
    async fn get(&self, id: u64, (a, b): (u8, u8)) -> Result<String> { Ok(String::new()) }
}
impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { Ok(()) }
}
trait Fetch { fn fetch(&self) -> u8 { 1 } fn other(&self); }
mod inner { pub fn helper() {} }
const LIMIT: usize = 10;
static NAME: &str = "x";
"#;
    let m = module(src);
    assert_eq!(
        m.sexp(m.functions[0].body),
        "(block (class Api (block (def new) (def get))) (class Api (block (def fmt))) \
         (class Fetch (block (def fetch))) (block (def helper)) \
         (assign:usize (name LIMIT) (num 10)) (assign:&str (name NAME) (str \"x\")))"
    );
    let get = m.functions.iter().find(|f| f.name == "get").unwrap();
    assert_eq!(get.kind, FuncKind::Method);
    assert!(get.is_async);
    assert_eq!(get.class.as_deref(), Some("Api"));
    assert_eq!(get.return_type.as_deref(), Some("Result<String>"));
    let params: Vec<_> = get
        .params
        .iter()
        .map(|p| (p.name.as_str(), p.annotation.as_deref()))
        .collect();
    assert_eq!(
        params,
        vec![
            ("self", Some("&self")),
            ("id", Some("u64")),
            ("(a, b)", Some("(u8, u8)"))
        ]
    );
    let helper = m.functions.iter().find(|f| f.name == "helper").unwrap();
    assert_eq!(helper.kind, FuncKind::Function);
    assert_eq!(helper.class, None);
    let class = m
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            Kind::Class { name, bases, .. } if !bases.is_empty() => Some((name, bases[0])),
            _ => None,
        })
        .unwrap();
    assert_eq!(class.0, "Api");
    assert_eq!(m.path(class.1).unwrap().to_string(), "std.fmt.Display");
    let imports: Vec<_> = m
        .imports
        .iter()
        .map(|i| format!("{} {}", i.local, i.target))
        .collect();
    assert_eq!(imports, vec!["fmt std.fmt"]);
}

#[test]
fn closures_and_async_blocks_are_lambdas() {
    let m = module("fn f() { let g = async move |x: u32| x; spawn(async { 1 }); h(move || 2); }");
    let lambdas: Vec<_> = m
        .functions
        .iter()
        .filter(|f| f.kind == FuncKind::Lambda)
        .map(|f| (f.name.as_str(), f.is_async, f.params.len()))
        .collect();
    assert_eq!(
        lambdas,
        vec![
            ("g", true, 1),
            ("<lambda>", true, 0),
            ("<lambda>", false, 0)
        ]
    );
    let g = m.functions.iter().find(|f| f.name == "g").unwrap();
    assert_eq!(g.params[0].annotation.as_deref(), Some("u32"));
    assert_eq!(m.sexp(g.body), "(name x)");
}

#[test]
fn attributes_and_test_marking() {
    let src = r#"
#[tokio::main(flavor = "multi_thread")]
async fn main() { let c = || 1; }
#[test]
fn plain() {}
#[tokio::test]
async fn tokio_one() {}
#[sqlx::test]
async fn sqlx_one() {}
fn helper() {}
#[cfg(test)]
mod tests {
    fn setup() { let f = || 2; }
    #[test] fn inside() {}
}
#[cfg(not(test))]
fn prod() {}
#[cfg(all(test, feature = "x"))]
impl Api { fn t(&self) {} }
"#;
    let m = module(src);
    let marks: Vec<_> = m
        .functions
        .iter()
        .skip(1)
        .map(|f| format!("{}={}", f.name, f.is_test))
        .collect();
    assert_eq!(
        marks,
        vec![
            "main=false",
            "c=false",
            "plain=true",
            "tokio_one=true",
            "sqlx_one=true",
            "helper=false",
            "setup=true",
            "f=true",
            "inside=true",
            "prod=false",
            "t=true",
        ]
    );
    let main = &m.functions[1];
    assert_eq!(
        main.attributes,
        vec!["tokio::main(flavor = \"multi_thread\")"]
    );
    let tokio_one = m.functions.iter().find(|f| f.name == "tokio_one").unwrap();
    assert_eq!(tokio_one.attributes, vec!["tokio::test"]);
    let whole = module("#![cfg(test)]\nfn a() {}");
    assert!(whole.functions.iter().all(|f| f.is_test));
}

#[test]
fn test_code_can_be_left_out() {
    let src = r#"
use reqwest::Client;
fn fetch(c: &Client) { c.get("https://a").send(); }
#[test]
fn unit() { let c = Client::new(); c.get("https://b").send(); }
#[cfg(test)]
mod tests {
    use super::*;
    fn setup() { assert_eq!(Client::new().get("https://c").send().is_ok(), true); }
}
"#;
    let calls = |m: &Module| {
        m.nodes
            .iter()
            .filter(|n| matches!(n.kind, Kind::Call { .. }))
            .filter_map(|n| src.get(n.span.start as usize..n.span.end as usize))
            .filter(|t| t.ends_with(".send()"))
            .count()
    };
    let whole = module(src);
    let without =
        crate::lower_with(Lang::Rust, src, crate::LowerOptions { test_code: false }).unwrap();
    assert_eq!(calls(&whole), 3);
    assert_eq!(calls(&without), 1);
    // The test function is still there, marked, with an empty body.
    let unit = without.functions.iter().find(|f| f.name == "unit").unwrap();
    assert!(unit.is_test);
    assert_eq!(without.sexp(unit.body), "(block)");
    assert!(!without.functions.iter().any(|f| f.name == "setup"));
    // Outside test code, nothing changes.
    let fetch = |m: &Module| {
        let f = m.functions.iter().find(|f| f.name == "fetch").unwrap();
        m.sexp(f.body)
    };
    assert_eq!(fetch(&whole), fetch(&without));
    let only_tests = "#![cfg(test)]\nfn a() { b().c(); }";
    let m = crate::lower_with(
        Lang::Rust,
        only_tests,
        crate::LowerOptions { test_code: false },
    )
    .unwrap();
    assert!(m.functions.iter().all(|f| f.is_test));
    assert_eq!(m.functions.len(), 1);
}

#[test]
fn comments_are_collected_without_markers() {
    let m = module(
        "// line\n/// doc\n//! inner\n/* block */\n/** doc block */\nfn f() { g(/* arg */ 1); }\n\
         const U: &str = \"https://x/*y*/\"; // url\nconst R: &str = r\"//\"; // raw",
    );
    let texts: Vec<_> = m.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "line",
            "doc",
            "inner",
            "block",
            "doc block",
            "arg",
            "url",
            "raw"
        ]
    );
    assert_eq!(m.comments[0].span.start, 0);
}

// ---------------------------------------------------------------------------
// resolution

const PRELUDE: &str = "use reqwest::Client;\nuse std::time::Duration;\n";

/// `path_of` for a function body with the common imports in scope.
fn in_fn(body: &str, call: &str) -> String {
    path_of(&format!("{PRELUDE}async fn f() {{ {body} }}"), call)
}

#[test]
fn use_declarations() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "use reqwest::Client as Http;",
            "Http::new()",
            "reqwest.Client.new()",
        ),
        (
            "use reqwest::{Client, header::HeaderMap};",
            "HeaderMap::new()",
            "reqwest.header.HeaderMap.new()",
        ),
        (
            "use reqwest::{self, Client};",
            "reqwest::get(u)",
            "reqwest.get()",
        ),
        ("use a::{b::{c::{D as E}}};", "E::f()", "a.b.c.D.f()"),
        ("use a::b::{self as bee};", "bee::f()", "a.b.f()"),
        ("use reqwest::*;", "get(u)", "get()"),
        ("use crate::net::client;", "client()", "crate.net.client()"),
        ("use super::db;", "db::pool()", "super.db.pool()"),
        (
            "use ::reqwest::blocking;",
            "blocking::get(u)",
            "reqwest.blocking.get()",
        ),
        (
            "extern crate serde_json as sj;",
            "sj::to_string(x)",
            "serde_json.to_string()",
        ),
    ];
    for (uses, call, want) in cases {
        let src = format!("{uses}\nfn f() {{ {call}; }}");
        assert_eq!(path_of(&src, call), *want, "{uses} {call}");
    }
    // `use` inside a function, and after its first use in a block
    assert_eq!(
        path_of("fn f() { use ureq::Agent; Agent::new(); }", "Agent::new()"),
        "ureq.Agent.new()"
    );
    assert_eq!(
        path_of("fn f() { Agent::new(); use ureq::Agent; }", "Agent::new()"),
        "ureq.Agent.new()"
    );
    assert_eq!(
        path_of(
            "fn g() { use ureq::Agent; }\nfn f() { Agent::new(); }",
            "Agent::new()"
        ),
        "Agent.new()"
    );
}

#[test]
fn full_paths_and_unbound_roots() {
    assert_eq!(
        in_fn("reqwest::Client::new();", "reqwest::Client::new()"),
        "reqwest.Client.new()"
    );
    assert_eq!(
        in_fn(
            "std::process::Command::new(\"ls\").output();",
            "std::process::Command::new(\"ls\").output()"
        ),
        "std.process.Command.new().output()"
    );
    assert_eq!(in_fn("fetch(u);", "fetch(u)"), "fetch()");
    assert_eq!(
        in_fn("self::util::go();", "self::util::go()"),
        "self.util.go()"
    );
    assert_eq!(in_fn("crate::a::b();", "crate::a::b()"), "crate.a.b()");
    assert_eq!(in_fn("Vec::<u8>::new();", "Vec::<u8>::new()"), "Vec.new()");
    assert_eq!(
        in_fn(
            "<Client as Default>::default();",
            "<Client as Default>::default()"
        ),
        "reqwest.Client.default()"
    );
    // a local named like a crate does not capture `::` paths
    assert_eq!(
        in_fn(
            "let http = 1; http::Request::builder();",
            "http::Request::builder()"
        ),
        "http.Request.builder()"
    );
}

#[test]
fn let_bindings_follow_wrappers_in_source_order() {
    let body = "let client = Client::builder().timeout(Duration::from_secs(5)).build()?;\n\
                let resp = client.get(u).send().await?;\n\
                let body = resp.json::<serde_json::Value>().await.unwrap();\n\
                let c2 = (&client).clone();\n\
                let other = resp.bytes().await.expect(\"b\");";
    assert_eq!(
        in_fn(body, "client.get(u)"),
        "reqwest.Client.builder().timeout().build().get()"
    );
    assert_eq!(
        in_fn(body, "client.get(u).send()"),
        "reqwest.Client.builder().timeout().build().get().send()"
    );
    assert_eq!(
        in_fn(body, "resp.json::<serde_json::Value>()"),
        "reqwest.Client.builder().timeout().build().get().send().json()"
    );
    assert_eq!(
        in_fn(body, "resp.json::<serde_json::Value>().await.unwrap()"),
        "reqwest.Client.builder().timeout().build().get().send().json()"
    );
    assert_eq!(
        in_fn(body, "resp.bytes()"),
        "reqwest.Client.builder().timeout().build().get().send().bytes()"
    );
    // rebinding replaces, a value without a path unbinds, shadowing wins
    assert_eq!(
        in_fn(
            "let mut c = Client::new(); c = make(); c.get(u);",
            "c.get(u)"
        ),
        "make().get()"
    );
    assert_eq!(
        in_fn("let mut c = Client::new(); c = 5; c.get(u);", "c.get(u)"),
        "-"
    );
    assert_eq!(
        in_fn("let c = Client::new(); let c = 5; c.get(u);", "c.get(u)"),
        "-"
    );
    assert_eq!(
        in_fn(
            "let c = Client::new(); { let c = 5; } c.get(u);",
            "c.get(u)"
        ),
        "reqwest.Client.new().get()"
    );
    // a binding is not visible before it is made
    assert_eq!(
        in_fn("c.get(u); let c = Client::new();", "c.get(u)"),
        "c.get()"
    );
    // Arc::new / Box::new / Some keep the meaning
    assert_eq!(
        in_fn("let c = Arc::new(Client::new()); c.get(u);", "c.get(u)"),
        "reqwest.Client.new().get()"
    );
    assert_eq!(
        in_fn("let c = Some(Client::new()); c.get(u);", "c.get(u)"),
        "reqwest.Client.new().get()"
    );
    // a type annotation without a value
    assert_eq!(
        in_fn("let c: Client; c.get(u);", "c.get(u)"),
        "reqwest.Client().get()"
    );
    // blocks in expression position
    assert_eq!(
        in_fn(
            "let c = { let b = Client::builder(); b.build() }; c.get(u);",
            "c.get(u)"
        ),
        "reqwest.Client.builder().build().get()"
    );
}

#[test]
fn call_ids_point_at_the_calls() {
    let src = format!(
        "{PRELUDE}async fn f() {{ let c = Client::builder().timeout(d).build()?; c.get(u).send().await; }}"
    );
    let m = module(&src);
    let send = (0..m.nodes.len())
        .map(|i| NodeId(i as u32))
        .find(|id| {
            matches!(m.kind(*id), Kind::Call { .. }) && text(&src, &m, *id) == "c.get(u).send()"
        })
        .unwrap();
    let p = m.path(send).unwrap();
    let texts: Vec<_> = p
        .segments
        .iter()
        .map(|s| s.call.map_or("-", |c| text(&src, &m, c)))
        .collect();
    assert_eq!(
        texts,
        vec![
            "-",
            "-",
            "Client::builder()",
            "Client::builder().timeout(d)",
            "Client::builder().timeout(d).build()",
            "c.get(u)",
            "c.get(u).send()"
        ]
    );
}

#[test]
fn if_let_match_and_callbacks_bind_to_the_call() {
    assert_eq!(
        in_fn(
            "if let Ok(r) = reqwest::get(u).await { r.text().await; }",
            "r.text()"
        ),
        "reqwest.get().text()"
    );
    assert_eq!(
        in_fn(
            "if let Ok(r) = reqwest::get(u).await { } r.text();",
            "r.text()"
        ),
        "r.text()"
    );
    assert_eq!(
        in_fn(
            "match Client::new().get(u).send().await { Ok(r) => r.json::<T>().await, Err(e) => e.status() };",
            "r.json::<T>()"
        ),
        "reqwest.Client.new().get().send().json()"
    );
    assert_eq!(
        in_fn(
            "match reqwest::get(u).await { Err(e) => e.status(), _ => 0 };",
            "e.status()"
        ),
        "-"
    );
    assert_eq!(
        in_fn("reqwest::get(u).await.map(|r| r.status());", "r.status()"),
        "reqwest.get().status()"
    );
    assert_eq!(
        in_fn(
            "let f = reqwest::get(u); f.and_then(|resp| resp.json::<V>());",
            "resp.json::<V>()"
        ),
        "reqwest.get().json()"
    );
    assert_eq!(
        in_fn("xs.iter().map(|r| r.go());", "r.go()"),
        "xs.iter().go()"
    );
    assert_eq!(
        in_fn(
            "let Some(c) = Some(Client::new()) else { return; }; c.get(u);",
            "c.get(u)"
        ),
        "reqwest.Client.new().get()"
    );
    assert_eq!(
        in_fn(
            "while let Some(m) = rx.recv().await { m.ack(); }",
            "m.ack()"
        ),
        "rx.recv().ack()"
    );
}

#[test]
fn annotated_params_and_fields() {
    let src = "use reqwest::Client;\n\
        struct AppState { http: Client, db: sqlx::PgPool, cache: Option<Arc<redis::Client>>, tuple: (u8, u8) }\n\
        struct Wrapper(reqwest::Client);\n\
        async fn h(State(state): State<Arc<AppState>>, c: &reqwest::Client, m: &mut Client, a: Arc<Client>, o: Option<Box<Client>>, n: u32, w: Wrapper, t: impl Trait) {\n\
            state.http.get(u); state.db.acquire(); state.cache.get_connection(); c.get(u); m.get(u); a.get(u); o.get(u); n.pow(2); w.0.get(u); t.go();\n\
        }\n\
        impl AppState { fn go(&self) { self.http.post(u); self.db.begin(); } }\n\
        impl Wrapper { fn go(&self) { self.0.put(u); } }\n\
        fn gen<T: Trait>(g: T) { g.go(); }";
    assert_eq!(path_of(src, "state.http.get(u)"), "reqwest.Client().get()");
    assert_eq!(
        path_of(src, "state.db.acquire()"),
        "sqlx.PgPool().acquire()"
    );
    assert_eq!(
        path_of(src, "state.cache.get_connection()"),
        "redis.Client().get_connection()"
    );
    assert_eq!(path_of(src, "c.get(u)"), "reqwest.Client().get()");
    assert_eq!(path_of(src, "m.get(u)"), "reqwest.Client().get()");
    assert_eq!(path_of(src, "a.get(u)"), "reqwest.Client().get()");
    assert_eq!(path_of(src, "o.get(u)"), "reqwest.Client().get()");
    assert_eq!(path_of(src, "n.pow(2)"), "-");
    assert_eq!(path_of(src, "w.0.get(u)"), "reqwest.Client().get()");
    assert_eq!(path_of(src, "t.go()"), "-");
    assert_eq!(path_of(src, "self.http.post(u)"), "reqwest.Client().post()");
    assert_eq!(path_of(src, "self.db.begin()"), "sqlx.PgPool().begin()");
    assert_eq!(path_of(src, "self.0.put(u)"), "reqwest.Client().put()");
    assert_eq!(path_of(src, "g.go()"), "-");
}

#[test]
fn statics_consts_and_lazy_clients() {
    let src = "use reqwest::Client;\nuse once_cell::sync::Lazy;\n\
        fn early() { HTTP.get(u); CELL.get(u); PLAIN.get(u); LL.get(u); }\n\
        static HTTP: Lazy<Client> = Lazy::new(|| Client::builder().timeout(d).build().unwrap());\n\
        static CELL: std::sync::OnceLock<Client> = std::sync::OnceLock::new();\n\
        static PLAIN: Lazy<Client> = Lazy::new(make_client);\n\
        static LL: LazyLock<Client> = LazyLock::new(|| { let b = Client::builder(); b.build().expect(\"c\") });\n\
        fn cell() -> &'static Client { CELL.get_or_init(|| Client::new()) }\n\
        fn late() { HTTP.post(u); cell().get(u); }\n\
        lazy_static! { static ref OLD: Client = Client::new(); }\n\
        fn after() { OLD.get(u); }";
    assert_eq!(
        path_of(src, "HTTP.get(u)"),
        "reqwest.Client.builder().timeout().build().get()"
    );
    assert_eq!(
        path_of(src, "HTTP.post(u)"),
        "reqwest.Client.builder().timeout().build().post()"
    );
    assert_eq!(path_of(src, "CELL.get(u)"), "reqwest.Client().get()");
    assert_eq!(path_of(src, "PLAIN.get(u)"), "reqwest.Client().get()");
    assert_eq!(
        path_of(src, "LL.get(u)"),
        "reqwest.Client.builder().build().get()"
    );
    assert_eq!(path_of(src, "cell().get(u)"), "reqwest.Client.new().get()");
    assert_eq!(path_of(src, "OLD.get(u)"), "reqwest.Client.new().get()");
}

#[test]
fn same_file_factories_and_wrappers() {
    let src = "use reqwest::Client;\n\
        async fn handler() { http().get(u).send().await; let c = http(); c.post(u); try_http()?.get(u); api().fetch(); Api::new().http.get(u); Api::new().client().get(u); }\n\
        fn http() -> Client { Client::builder().timeout(d).build().unwrap() }\n\
        fn try_http() -> Result<Client, E> { let c = Client::builder().build()?; Ok(c) }\n\
        fn early_return() -> Client { if x { return Client::new(); } panic!() }\n\
        fn api() -> Api { Api::new() }\n\
        fn recursive() -> u8 { recursive() }\n\
        struct Api { http: Client }\n\
        impl Api {\n\
            fn new() -> Self { Self { http: http() } }\n\
            fn client(&self) -> &Client { &self.http }\n\
            fn build() -> Self { Self::new() }\n\
            async fn go(&self) { self.client().get(u); Self::build().http.put(u); early_return().get(u); recursive(); }\n\
        }";
    assert_eq!(
        path_of(src, "http().get(u).send()"),
        "reqwest.Client.builder().timeout().build().get().send()"
    );
    assert_eq!(
        path_of(src, "c.post(u)"),
        "reqwest.Client.builder().timeout().build().post()"
    );
    assert_eq!(
        path_of(src, "try_http()?.get(u)"),
        "reqwest.Client.builder().build().get()"
    );
    assert_eq!(path_of(src, "api().fetch()"), "Api().fetch()");
    assert_eq!(
        path_of(src, "Api::new().http.get(u)"),
        "reqwest.Client().get()"
    );
    assert_eq!(
        path_of(src, "Api::new().client().get(u)"),
        "reqwest.Client().get()"
    );
    assert_eq!(
        path_of(src, "self.client().get(u)"),
        "reqwest.Client().get()"
    );
    assert_eq!(
        path_of(src, "Self::build().http.put(u)"),
        "reqwest.Client().put()"
    );
    assert_eq!(
        path_of(src, "early_return().get(u)"),
        "reqwest.Client.new().get()"
    );
    assert_eq!(path_of(src, "recursive()"), "recursive()");
    // the factory's call ids point into the factory body
    let m = module(src);
    let call = (0..m.nodes.len())
        .map(|i| NodeId(i as u32))
        .find(|id| {
            matches!(m.kind(*id), Kind::Call { .. }) && text(src, &m, *id) == "http().get(u)"
        })
        .unwrap();
    let build = m.path(call).unwrap().segments[4].call.unwrap();
    assert_eq!(text(src, &m, build), "Client::builder().timeout(d).build()");
}

#[test]
fn nested_functions_do_not_see_outer_locals() {
    let src = "use reqwest::Client;\nfn f() { let c = Client::new(); fn g() { c.get(u); } let h = || c.post(u); }";
    assert_eq!(path_of(src, "c.get(u)"), "c.get()");
    assert_eq!(path_of(src, "c.post(u)"), "reqwest.Client.new().post()");
}

#[test]
fn macros_are_reparsed_with_file_spans() {
    let src = "use tracing::info;\nfn f() {\n    let s = format!(\"{}: {}\", fetch(x), y);\n    info!(user = %id, \"ok {n}\");\n}";
    let m = module(src);
    let fetch = (0..m.nodes.len())
        .map(|i| NodeId(i as u32))
        .find(|id| matches!(m.kind(*id), Kind::Call { .. }))
        .unwrap();
    assert_eq!(text(src, &m, fetch), "fetch(x)");
    assert_eq!(m.path(fetch).unwrap().to_string(), "fetch()");
    let names: Vec<_> = m
        .nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.kind, Kind::Name(_)))
        .map(|(i, _)| text(src, &m, NodeId(i as u32)))
        .collect();
    assert_eq!(names, vec!["fetch", "x", "y", "s", "id", "n"]);
    let mac = m
        .nodes
        .iter()
        .find(|n| matches!(&n.kind, Kind::Macro { name, .. } if name == "info"))
        .unwrap();
    assert_eq!(mac.path.as_ref().unwrap().to_string(), "tracing.info()");
    // nested macros and macros in statement position
    assert_eq!(
        path_of(
            "fn f() { println!(\"{}\", format!(\"{}\", reqwest::get(u))); }",
            "reqwest::get(u)"
        ),
        "reqwest.get()"
    );
    let src = "fn f() { let v = vec![\n  reqwest::get(u),\n]; }";
    let m = module(src);
    let call = m
        .nodes
        .iter()
        .position(|n| matches!(n.kind, Kind::Call { .. }))
        .unwrap();
    assert_eq!(text(src, &m, NodeId(call as u32)), "reqwest::get(u)");
    // a macro that does not parse keeps what does
    assert_eq!(
        body("m!(a b c, f(x))"),
        "(block (tail (macro m (name a) (other (name b) (name c)) (call (name f) (name x)))))"
    );
    assert!(body("json!({\"a\": f(x), \"b\": [g()]})").contains("(call (name g))"));
}

#[test]
fn item_macros_hold_functions_and_templates_hold_nothing() {
    // `cfg_net! { .. }`-style wrappers hold items: their functions are
    // functions, their calls calls.
    let src = "cfg_net! {\n    /// Fetches.\n    #[cfg(feature = \"net\")]\n    pub async fn fetch(u: &str) {\n        reqwest::get(u).await;\n    }\n}";
    let m = module(src);
    assert!(
        m.functions.iter().any(|f| f.name == "fetch"),
        "{:?}",
        m.functions
    );
    assert_eq!(path_of(src, "reqwest::get(u)"), "reqwest.get()");
    // `quote!` writes code for another crate: nothing in it runs here.
    let m = module("fn f() { let t = quote! { reqwest::get(#u).await }; }");
    assert!(
        !m.nodes.iter().any(|n| matches!(n.kind, Kind::Call { .. })),
        "{}",
        m.sexp(m.functions[1].body)
    );
    // Arms are read piece by piece, as before.
    assert!(body("m!(a => f(x), b => g(y))").contains("(call (name g) (name y))"));
    // An expression that starts like an item is not one.
    assert!(body("assert!(unsafe { f(x) })").contains("(call (name f) (name x))"));
}

#[test]
fn macro_reparsing_is_bounded() {
    let deep = format!(
        "fn f() {{ {}g(){} }}",
        "println!(\"{}\", ".repeat(200),
        ")".repeat(200)
    );
    let m = module(&deep);
    assert!(m.syntax_errors.is_empty());
    assert!(m.nodes.len() < 100);
}

#[test]
fn empty_and_broken_input_never_panics() {
    let m = module("");
    assert_eq!(m.sexp(m.functions[0].body), "(block)");
    assert!(m.syntax_errors.is_empty());
    for src in [
        "fn f( { let x = ; g(1) }",
        "fn",
        "impl { fn }",
        "let x = 1;",
        "fn f() { match x { Ok(v) => , } }",
        "fn f() { a.b(.c(); }",
        "}}}}",
        "fn f() { \"unterminated }",
        "fn f() { r#\"",
        "macro_rules! m { ($x:expr) => { $x }; }",
        "fn f() { m!(\"{\", ';', '}', r#\"}\"#); }",
        "\u{feff}fn f() { let é = \"ü\"; }",
        "fn f() { x.0.1; a?; |&(a, b)| a; let [x, ..] = s; }",
    ] {
        let m = module(src);
        let _ = m.sexp(m.functions[0].body);
    }
    let m = module("fn f( { let x = ; g(1) }\nfn ok() { h(); }");
    assert!(!m.syntax_errors.is_empty());
    assert!(m.functions.iter().any(|f| f.name == "ok"));
    assert!(
        m.nodes
            .iter()
            .any(|n| matches!(&n.kind, Kind::Name(s) if s == "h"))
    );
}

#[test]
fn deep_nesting_is_cut_off_without_overflow() {
    let parens = format!(
        "fn f() {{ let x = {}1{}; }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let m = module(&parens);
    assert!(
        m.nodes
            .iter()
            .any(|n| matches!(n.kind, Kind::Other(ref v) if v.is_empty()))
    );
    let wide = format!("fn f() {{ let x = [{}]; }}", "g(1),".repeat(20_000));
    let m = module(&wide);
    assert_eq!(
        m.nodes
            .iter()
            .filter(|n| matches!(n.kind, Kind::Call { .. }))
            .count(),
        20_000
    );
    let chain = format!("fn f() {{ a{}; }}", ".b()".repeat(5000));
    let m = module(&chain);
    assert_eq!(
        m.nodes
            .iter()
            .filter(|n| matches!(n.kind, Kind::Call { .. }))
            .count(),
        5000
    );
    let sum = format!("fn f() {{ 1{} }}", " + 1".repeat(20_000));
    module(&sum);
    let blocks = format!(
        "fn f() {{ {}{} }}",
        "if a { ".repeat(3000),
        "} ".repeat(3000)
    );
    module(&blocks);
    let closures = format!("fn f() {{ {}1 }}", "|| ".repeat(3000));
    module(&closures);
    let types = format!(
        "fn f(x: {}u8{}) {{}}",
        "Vec<".repeat(3000),
        ">".repeat(3000)
    );
    module(&types);
    let patterns = format!(
        "fn f() {{ let {}x{} = y; }}",
        "Some(".repeat(3000),
        ")".repeat(3000)
    );
    module(&patterns);
}

// ---------------------------------------------------------------------------
// fixtures

fn fixtures(dir: &FsPath, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            fixtures(&p, out);
        } else if p.file_name().is_some_and(|n| n == "rust.rs") {
            out.push(p);
        }
    }
}

/// Every Rust fixture parses cleanly, and each `expect:` line is followed by
/// a line with a call whose path is resolved.
#[test]
fn rust_fixtures_parse_and_resolve() {
    // The external-call fixtures: the annotations counted below are theirs.
    let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/external-call");
    let mut files = Vec::new();
    fixtures(&root, &mut files);
    assert!(
        files.len() >= 4,
        "fixtures missing under {}",
        root.display()
    );
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        let m = module(&src);
        assert!(
            m.syntax_errors.is_empty(),
            "{}: syntax errors {:?}",
            file.display(),
            m.syntax_errors
        );
        let li = faultline_ir::LineIndex::new(&src);
        let (mut expects, mut oks) = (0, 0);
        for (i, line) in src.lines().enumerate() {
            if line.trim_start().starts_with("// ok: external-call/") {
                oks += 1;
            }
            if !line.trim_start().starts_with("// expect: external-call/") {
                continue;
            }
            expects += 1;
            let target = i + 2;
            let resolved = m.nodes.iter().any(|n| {
                matches!(n.kind, Kind::Call { .. })
                    && li.line(n.span.start) == target
                    && n.path.is_some()
            });
            assert!(
                resolved,
                "{}:{target}: no call with a resolved path",
                file.display()
            );
        }
        assert!(
            expects >= 7 && oks >= 6 || !file.to_string_lossy().contains("external-call"),
            "{}: {expects} expect, {oks} ok",
            file.display()
        );
    }
}
