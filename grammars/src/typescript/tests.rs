//! Lowering and resolution tests for the TypeScript/TSX/JavaScript front-end.

use faultline_ir::{FuncKind, Function, Kind, Module};

use crate::Lang;

const ALL: [Lang; 3] = [Lang::TypeScript, Lang::Tsx, Lang::JavaScript];
const TYPED: [Lang; 2] = [Lang::TypeScript, Lang::Tsx];
const JSX: [Lang; 2] = [Lang::Tsx, Lang::JavaScript];

fn lower(lang: Lang, src: &str) -> Module {
    let r = crate::lower(lang, src);
    assert!(r.is_ok(), "lowering failed: {:?}", r.err());
    r.unwrap_or_else(|_| Module::new(lang.ir()))
}

/// The module body as an s-expression.
fn body(lang: Lang, src: &str) -> String {
    let m = lower(lang, src);
    let b = m.functions.first().map(|f| f.body);
    b.map(|b| m.sexp(b)).unwrap_or_default()
}

fn function<'m>(m: &'m Module, name: &str) -> Option<&'m Function> {
    m.functions.iter().find(|f| f.name == name)
}

/// The body of the function called `name` as an s-expression.
fn func_body(lang: Lang, src: &str, name: &str) -> String {
    let m = lower(lang, src);
    function(&m, name)
        .map(|f| m.sexp(f.body))
        .unwrap_or_default()
}

/// The resolved path of the first call, `new`, attribute or name whose
/// source text is exactly `text`.
fn path_in(m: &Module, src: &str, text: &str) -> Option<String> {
    m.nodes
        .iter()
        .find_map(|n| {
            let is_ref = matches!(
                n.kind,
                Kind::Call { .. } | Kind::New { .. } | Kind::Attr { .. } | Kind::Name(_)
            );
            let t = src.get(n.span.start as usize..n.span.end as usize);
            (is_ref && t == Some(text)).then(|| n.path.as_ref().map(|p| p.to_string()))
        })
        .flatten()
}

/// Asserts the resolved paths of several expressions in one source, in
/// every grammar of `langs`.
fn assert_paths(langs: &[Lang], src: &str, expected: &[(&str, Option<&str>)]) {
    for &lang in langs {
        let m = lower(lang, src);
        assert!(
            m.syntax_errors.is_empty(),
            "{lang:?}: syntax errors in {src}"
        );
        for (text, want) in expected {
            assert_eq!(
                path_in(&m, src, text).as_deref(),
                *want,
                "{lang:?}: path of `{text}` in:\n{src}"
            );
        }
    }
}

fn assert_bodies(langs: &[Lang], cases: &[(&str, &str)]) {
    for &lang in langs {
        for (src, want) in cases {
            assert_eq!(body(lang, src), *want, "{lang:?}: {src}");
        }
    }
}

// ------------------------------------------------------------------ lowering

#[test]
fn statements() {
    assert_bodies(
        &ALL,
        &[
            ("", "(block)"),
            ("x = 1;", "(block (expr (assign (name x) (num 1))))"),
            (
                "const a = 1, b;",
                "(block (assign (name a) (num 1)) (assign (name b) _))",
            ),
            (
                "let {a, b: c, ...d} = o;",
                "(block (assign (object a=(name a) b=(name c) ..(name d)) (name o)))",
            ),
            (
                "const [a, , ...b] = xs;",
                "(block (assign (array (name a) (spread (name b))) (name xs)))",
            ),
            (
                "if (a) b(); else if (c) d(); else { e() }",
                "(block (if (name a) (block (expr (call (name b)))) (block (if (name c) \
                 (block (expr (call (name d)))) (block (expr (call (name e))))))))",
            ),
            (
                "for (let i = 0; i < n; i++) f(i);",
                "(block (assign (name i) (num 0)) (loop[ForClassic] _ (Lt (name i) (name n)) \
                 (block (expr (call (name f) (name i))) (expr (Other (name i))))))",
            ),
            (
                "for (const x of xs) f(x);",
                "(block (loop[ForEach] (name x) (name xs) (block (expr (call (name f) (name x))))))",
            ),
            (
                "for (k in o) {}",
                "(block (loop[ForEach] (name k) (name o) (block)))",
            ),
            (
                "while (a) { break; }",
                "(block (loop[While] _ (name a) (block (break))))",
            ),
            (
                "do { continue; } while (a);",
                "(block (loop[DoWhile] _ (name a) (block (continue))))",
            ),
            (
                "outer: for (;;) { break outer; }",
                "(block (loop[ForClassic] _ _ (block (break))))",
            ),
            (
                "switch (x) { case 1: a(); break; default: b(); }",
                "(block (match (name x) (arm (num 1) (block (expr (call (name a))) (break))) \
                 (arm _ (block (expr (call (name b)))))))",
            ),
            (
                "try { a() } catch (e) { b(e) } finally { c() }",
                "(block (try (block (expr (call (name a)))) (catch as e (block (expr (call \
                 (name b) (name e))))) (finally (block (expr (call (name c)))))))",
            ),
            (
                "try { a() } catch { }",
                "(block (try (block (expr (call (name a)))) (catch (block))))",
            ),
            (
                "throw new Error('x');",
                "(block (throw (new (name Error) (str \"x\"))))",
            ),
            (";", "(block (pass))"),
            (
                "a(), b();",
                "(block (expr (call (name a))) (expr (call (name b))))",
            ),
            (
                "x += 1; y ??= z;",
                "(block (expr (assign[Add] (name x) (num 1))) (expr (assign[Nullish] (name y) (name z))))",
            ),
            (
                "f(...args, 1);",
                "(block (expr (call (name f) *(name args) (num 1))))",
            ),
            (
                "a?.b(); a?.[0];",
                "(block (expr (call (attr (name a) b))) (expr (index (name a) (num 0))))",
            ),
            (
                "tag`a${b}c`;",
                "(block (expr (call (name tag) (template (str \"a\") (name b) (str \"c\")))))",
            ),
            (
                "x = `a\\n${b}`;",
                "(block (expr (assign (name x) (template (str \"a\\n\") (name b)))))",
            ),
            (
                "x = 'a\\tb' + \"c\";",
                "(block (expr (assign (name x) (Add (str \"a\\tb\") (str \"c\")))))",
            ),
            (
                "x = [1, ...ys];",
                "(block (expr (assign (name x) (array (num 1) (spread (name ys))))))",
            ),
            (
                "x = {a, b: 1, [c]: 2, ...d, m() {}, 'q-r': 3};",
                "(block (expr (assign (name x) (object a=(name a) b=(num 1) (num 2) ..(name d) \
                 m=(lambda m) q-r=(num 3)))))",
            ),
            (
                "x = a ? b : c;",
                "(block (expr (assign (name x) (cond (name a) (name b) (name c)))))",
            ),
            (
                "x = !a && typeof b === 'x' || void c;",
                "(block (expr (assign (name x) (Or (And (Not (name a)) (Eq (TypeOf (name b)) \
                 (str \"x\"))) (Void (name c))))))",
            ),
            (
                "x = a ?? b instanceof C; y = k in o;",
                "(block (expr (assign (name x) (Nullish (name a) (InstanceOf (name b) (name C))))) \
                 (expr (assign (name y) (In (name k) (name o)))))",
            ),
            (
                "x = null; y = undefined; z = true;",
                "(block (expr (assign (name x) (null))) (expr (assign (name y) (null))) \
                 (expr (assign (name z) (bool true))))",
            ),
            (
                "x = (a, b);",
                "(block (expr (assign (name x) (other (name a) (name b)))))",
            ),
            ("await f();", "(block (expr (await (call (name f)))))"),
            (
                "x = new Foo;",
                "(block (expr (assign (name x) (new (name Foo)))))",
            ),
            (
                "x = a[0].b;",
                "(block (expr (assign (name x) (attr (index (name a) (num 0)) b))))",
            ),
            (
                "class A extends B { x = 1; static { f(); } m() {} }",
                "(block (class A (block (assign (name x) (num 1)) (block (expr (call (name f)))) (def m))))",
            ),
            (
                "export const a = 1; export default foo;",
                "(block (assign (name a) (num 1)) (other (name foo)))",
            ),
            ("import x from 'y'; export { x };", "(block)"),
            (
                "x = function () {}; y = () => 1;",
                "(block (expr (assign (name x) (lambda x))) (expr (assign (name y) (lambda y))))",
            ),
            ("x = /re/g;", "(block (expr (assign (name x) (other))))"),
            (
                "i++; delete a.b; x = -1;",
                "(block (expr (Other (name i))) (expr (Other (attr (name a) b))) \
                 (expr (assign (name x) (Neg (num 1)))))",
            ),
            (
                "function f() {} async function* g() {}",
                "(block (def f) (def g))",
            ),
        ],
    );
}

#[test]
fn typescript_only_syntax() {
    assert_bodies(
        &TYPED,
        &[
            (
                "const a = b as T; const c = d!; const e = (f satisfies G);",
                "(block (assign (name a) (name b)) (assign (name c) (name d)) (assign (name e) (name f)))",
            ),
            (
                "let r: Response = x;",
                "(block (assign:Response (name r) (name x)))",
            ),
            (
                "interface I { a: string } type T = string; declare const z: number;",
                "(block)",
            ),
            ("enum E { A = f(), B }", "(block (other (call (name f))))"),
            (
                "x = get<Foo, Bar[]>(u);",
                "(block (expr (assign (name x) (call (name get) <Foo> <Bar[]> (name u)))))",
            ),
            (
                "namespace N { f(); }",
                "(block (other (block (expr (call (name f))))))",
            ),
            (
                "abstract class A { abstract m(): void; n() {} }",
                "(block (class A (block (def n))))",
            ),
            (
                "using r = open(); r.read();",
                "(block (with (call (name open)) as (name r) (block (expr (call (attr (name r) read))))))",
            ),
        ],
    );
    assert_bodies(
        &[Lang::TypeScript],
        &[("x = <T>y;", "(block (expr (assign (name x) (name y))))")],
    );
}

#[test]
fn using_declarations() {
    for lang in [Lang::TypeScript, Lang::JavaScript] {
        let src = "async function f() { a(); await using c = await connect(); c.q(); }";
        assert_eq!(
            func_body(lang, src, "f"),
            "(block (expr (call (name a))) (with (await (call (name connect))) as (name c) \
             (block (expr (call (attr (name c) q))))))",
            "{lang:?}"
        );
        let m = lower(lang, src);
        let with_async = m.nodes.iter().find_map(|n| match n.kind {
            Kind::With { is_async, .. } => Some(is_async),
            _ => None,
        });
        assert_eq!(with_async, Some(true), "{lang:?}");
    }
}

#[test]
fn for_await_wraps_the_iterable() {
    for lang in ALL {
        let src = "async function g() { for await (const c of s) { h(c) } }";
        assert_eq!(
            func_body(lang, src, "g"),
            "(block (loop[ForEach] (name c) (await (name s)) (block (expr (call (name h) (name c))))))"
        );
    }
}

#[test]
fn jsx_keeps_attribute_expressions_and_children() {
    assert_bodies(
        &JSX,
        &[
            (
                "x = <div onClick={() => f(u)} id=\"a\" {...p}>{y}<B /> text {/* c */}</div>;",
                "(block (expr (assign (name x) (other (lambda <lambda>) (str \"a\") (spread (name p)) \
                 (name y) (other)))))",
            ),
            (
                "x = <><Item key={k} /></>;",
                "(block (expr (assign (name x) (other (other (name k))))))",
            ),
        ],
    );
    for lang in JSX {
        let src = "const C = () => <button onClick={() => fetch(u)}>go</button>;";
        assert_paths(&[lang], src, &[("fetch(u)", Some("fetch()"))]);
    }
}

#[test]
fn functions_record_their_shape() {
    let src = "async function f(a: string, b = 1, {c}: O, ...d: number[]): Promise<void> {}";
    for lang in TYPED {
        let m = lower(lang, src);
        let Some(f) = function(&m, "f") else {
            unreachable!("no function f")
        };
        assert_eq!(f.kind, FuncKind::Function);
        assert!(f.is_async);
        let names: Vec<&str> = f.params.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "{c}", "...d"]);
        let anns: Vec<Option<&str>> = f.params.iter().map(|p| p.annotation.as_deref()).collect();
        assert_eq!(anns, [Some("string"), None, Some("O"), Some("number[]")]);
        assert!(f.params.get(1).is_some_and(|p| p.default.is_some()));
        assert_eq!(f.return_type.as_deref(), Some("Promise<void>"));
    }
    let src = "const g = async (u) => fetch(u);\n\
               const h = x => x;\n\
               class C { constructor(api) {} async get() {} handle = async () => {}; static s() {} }\n\
               function* gen() {}\n\
               obj = { m() {}, n: function () {}, o: () => 1 };\n\
               export default async function (req, res) {}";
    for lang in ALL {
        let m = lower(lang, src);
        let g = function(&m, "g");
        assert!(g.is_some_and(|g| g.is_async && g.kind == FuncKind::Lambda));
        assert!(g.is_some_and(|g| matches!(m.kind(g.body), Kind::Call { .. })));
        assert!(function(&m, "h").is_some_and(|h| !h.is_async && h.params.len() == 1));
        for name in ["constructor", "get", "handle", "s"] {
            let f = function(&m, name);
            assert!(
                f.is_some_and(|f| f.kind == FuncKind::Method && f.class.as_deref() == Some("C")),
                "{lang:?} {name}"
            );
        }
        for name in ["gen", "m", "n", "o", "default"] {
            assert!(function(&m, name).is_some(), "{lang:?} {name}");
        }
        for f in m.functions.iter().skip(1) {
            assert_eq!(
                f.parent,
                Some(faultline_ir::FuncId(0)),
                "{lang:?} {}",
                f.name
            );
        }
    }
}

#[test]
fn test_callbacks_are_marked() {
    let src = "describe('svc', () => {\n\
                 beforeEach(async () => { await reset() });\n\
                 it('works', async () => { const f = () => 1; });\n\
                 test.each([1])('each %i', (n) => {});\n\
                 it.only('only', function () {});\n\
               });\n\
               function helper() { return () => 2 }\n\
               run(() => 3);";
    for lang in ALL {
        let m = lower(lang, src);
        let tests: Vec<bool> = m.functions.iter().skip(1).map(|f| f.is_test).collect();
        // describe cb, beforeEach cb, it cb, f (inside a test), each cb, only cb,
        // helper, its lambda, run's callback.
        assert_eq!(
            tests,
            [true, true, true, true, true, true, false, false, false],
            "{lang:?}"
        );
    }
}

#[test]
fn class_and_field_decorators_are_kept() {
    let src = "@Module({ imports: [HttpModule.register({ timeout: 5000 })] })\n\
               export class AppModule { @Inject(TOKEN) private readonly x = 1; }";
    assert_eq!(
        body(Lang::TypeScript, src),
        "(block (class AppModule (block (other (call (name Module) (object imports=(array (call \
         (attr (name HttpModule) register) (object timeout=(num 5000))))))) (other (call (name \
         Inject) (name TOKEN))) (assign (name x) (num 1)))))"
    );
}

#[test]
fn decorators_are_lowered_on_methods() {
    let src = "class C { @Get(':id') @Auth() find(@Param('id') id: string) { return 1 } }";
    for lang in TYPED {
        let m = lower(lang, src);
        let decs = function(&m, "find").map(|f| f.decorators.len());
        assert_eq!(decs, Some(2), "{lang:?}");
    }
}

#[test]
fn comments_are_collected_without_markers() {
    let src = "// a\n/* b */\n/**\n * c\n */\nx = <div>{/* d */}</div>; // e\n\
               const u = 'https://h/*p*/', r = /\\/\\//g, t = `//${v /* f */}`; // g";
    for lang in JSX {
        let m = lower(lang, src);
        let texts: Vec<&str> = m.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c", "d", "e", "f", "g"], "{lang:?}");
    }
}

#[test]
fn broken_syntax_is_recorded_and_the_rest_lowered() {
    let cases = [
        "function (\n const x = await fetch(u);\n}\nfetch(v);",
        "const = ;\nfetch(v);",
        "if (a {\nfetch(v);",
        "class { m( { } }\nfetch(v);",
        "x = <div><span></div>;",
        "import { from 'x';",
        "}}}}}\nfetch(v);",
        "`${",
        "\u{0}\u{1}\u{ffff}",
        "a?.b?.(...)",
    ];
    for lang in ALL {
        for src in cases {
            let m = lower(lang, src);
            assert!(!m.syntax_errors.is_empty(), "{lang:?}: {src}");
            if src.contains("fetch(v)") {
                assert_eq!(
                    path_in(&m, src, "fetch(v)").as_deref(),
                    Some("fetch()"),
                    "{lang:?}: {src}"
                );
            }
        }
    }
}

#[test]
fn every_prefix_of_a_fixture_lowers() {
    let src = include_str!("../../../tests/fixtures/external-call/unchecked-status/tsx.tsx");
    for lang in ALL {
        for end in (0..src.len())
            .step_by(53)
            .filter(|&i| src.is_char_boundary(i))
        {
            let prefix = src.get(..end).unwrap_or_default();
            let m = lower(lang, prefix);
            assert!(!m.functions.is_empty());
        }
    }
}

#[test]
fn empty_file_lowers_to_an_empty_module() {
    for lang in ALL {
        let m = lower(lang, "");
        assert_eq!(m.functions.len(), 1);
        assert!(m.syntax_errors.is_empty());
        assert!(m.comments.is_empty());
        assert!(m.imports.is_empty());
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let n = 5000;
    let cases = [
        format!("x = {}1{};", "(".repeat(n), ")".repeat(n)),
        format!("x = {}1{};", "[".repeat(n), "]".repeat(n)),
        format!("x = {}1{};", "f(".repeat(n), ")".repeat(n)),
        format!("x = {}1{};", "{a:".repeat(n), "}".repeat(n)),
        format!("x = {}1;", "() => ".repeat(n)),
        format!("{}x(){}", "{".repeat(n), "}".repeat(n)),
        format!("{}x()", "if (a) ".repeat(n)),
        format!("x(){}", " else if (a) x()".repeat(300)),
        format!("x = 1{};", " + a.b()".repeat(n)),
        format!("x = {}1;", "-".repeat(n)),
        format!("x = {};", "a ? b : ".repeat(n) + "c"),
        format!("x = {}c;", "await ".repeat(n)),
        format!("x = [{}];", "1,".repeat(20_000)),
    ];
    for src in &cases {
        for lang in ALL {
            let m = lower(lang, src);
            assert!(m.nodes.len() > 1);
        }
    }
    let jsx = format!("x = <a>{}{}</a>;", "<b>{f()}".repeat(n), "</b>".repeat(n));
    for lang in JSX {
        assert!(lower(lang, &jsx).nodes.len() > 1);
    }
    // The flat array is lowered completely.
    let m = lower(Lang::TypeScript, &format!("x = [{}];", "1,".repeat(20_000)));
    let longest = m
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            Kind::Array(v) => Some(v.len()),
            _ => None,
        })
        .max();
    assert_eq!(longest, Some(20_000));
}

// ------------------------------------------------------------------ resolution

#[test]
fn es_imports() {
    let src = "import axios from 'axios';\n\
               import * as ax from 'axios';\n\
               import { get as g, post } from 'axios';\n\
               import fetch from 'node-fetch';\n\
               import { PrismaClient } from '@prisma/client';\n\
               import http from 'node:http';\n\
               import { request } from 'undici';\n\
               import got from 'got';\n\
               import ky from 'ky';\n\
               import def, { default as d2 } from 'lib';\n\
               axios.get(u);\n\
               ax.post(u, b);\n\
               g(u); post(u);\n\
               fetch(u);\n\
               new PrismaClient();\n\
               http.request(o);\n\
               request(u);\n\
               got.post(u);\n\
               ky.get(u).json();\n\
               d2.x();\n";
    assert_paths(
        &ALL,
        src,
        &[
            ("axios.get(u)", Some("axios.get()")),
            ("ax.post(u, b)", Some("axios.post()")),
            ("g(u)", Some("axios.get()")),
            ("post(u)", Some("axios.post()")),
            ("fetch(u)", Some("node-fetch()")),
            ("new PrismaClient()", Some("@prisma/client.PrismaClient()")),
            ("http.request(o)", Some("http.request()")),
            ("request(u)", Some("undici.request()")),
            ("got.post(u)", Some("got.post()")),
            ("ky.get(u).json()", Some("ky.get().json()")),
            ("d2.x()", Some("lib.x()")),
        ],
    );
    let m = lower(Lang::TypeScript, src);
    let imports: Vec<String> = m
        .imports
        .iter()
        .map(|i| format!("{}={}", i.local, i.target))
        .collect();
    assert_eq!(
        imports,
        [
            "axios=axios",
            "ax=axios",
            "g=axios.get",
            "post=axios.post",
            "fetch=node-fetch",
            "PrismaClient=@prisma/client.PrismaClient",
            "http=http",
            "request=undici.request",
            "got=got",
            "ky=ky",
            "def=lib",
            "d2=lib",
        ]
    );
}

#[test]
fn type_only_imports_resolve_annotations() {
    let src = "import type { AxiosInstance } from 'axios';\n\
               import { type Got } from 'got';\n\
               import type * as Ax from 'axios';\n\
               async function f(a: AxiosInstance, b: Got, c: Ax.AxiosInstance, d?: AxiosInstance | undefined, e: Local, h: Response) {\n\
                 await a.get(u); await b.post(u); await c.get(u); await d.get(u); await e.get(u); await h.json();\n\
               }";
    assert_paths(
        &TYPED,
        src,
        &[
            ("a.get(u)", Some("axios.AxiosInstance().get()")),
            ("b.post(u)", Some("got.Got().post()")),
            ("c.get(u)", Some("axios.AxiosInstance().get()")),
            ("d.get(u)", Some("axios.AxiosInstance().get()")),
            ("e.get(u)", None),
            ("h.json()", None),
        ],
    );
}

#[test]
fn commonjs_require() {
    let src = "const axios = require('axios');\n\
               const { get, post: p } = require('axios');\n\
               const fetch = require('node-fetch').default;\n\
               const https = require('node:https');\n\
               let got;\n\
               got = require('got');\n\
               axios.get(u); get(u); p(u); fetch(u); https.get(u); got(u);";
    assert_paths(
        &ALL,
        src,
        &[
            ("axios.get(u)", Some("axios.get()")),
            ("get(u)", Some("axios.get()")),
            ("p(u)", Some("axios.post()")),
            ("fetch(u)", Some("node-fetch()")),
            ("https.get(u)", Some("https.get()")),
            ("got(u)", Some("got()")),
        ],
    );
    let m = lower(Lang::JavaScript, src);
    let imports: Vec<String> = m
        .imports
        .iter()
        .map(|i| format!("{}={}", i.local, i.target))
        .collect();
    assert_eq!(
        imports,
        [
            "axios=axios",
            "get=axios.get",
            "p=axios.post",
            "fetch=node-fetch",
            "https=https"
        ]
    );
    assert_paths(
        &ALL,
        "async function f() {\n\
           const { default: axios } = await import('axios');\n\
           const got = (await import('got')).default;\n\
           await axios.get(u); await got(u);\n\
         }",
        &[
            ("axios.get(u)", Some("axios.get()")),
            ("got(u)", Some("got()")),
        ],
    );
    assert_paths(
        &TYPED,
        "import fs = require('node:fs');\nfs.readFile(p);",
        &[("fs.readFile(p)", Some("fs.readFile()"))],
    );
}

#[test]
fn unbound_names_are_globals() {
    let src = "async function f(u) {\n\
                 await fetch(u);\n\
                 await globalThis.fetch(u);\n\
                 await window.fetch(u);\n\
                 await Promise.all([]);\n\
                 console.error(u);\n\
                 process.exit(1);\n\
                 const s = AbortSignal.timeout(5000);\n\
               }";
    assert_paths(
        &ALL,
        src,
        &[
            ("fetch(u)", Some("fetch()")),
            ("globalThis.fetch(u)", Some("fetch()")),
            ("window.fetch(u)", Some("fetch()")),
            ("Promise.all([])", Some("Promise.all()")),
            ("console.error(u)", Some("console.error()")),
            ("process.exit(1)", Some("process.exit()")),
            ("AbortSignal.timeout(5000)", Some("AbortSignal.timeout()")),
        ],
    );
    // A local named like a global shadows it.
    assert_paths(
        &ALL,
        "function f(fetch, window) { fetch(u); window.fetch(u); }",
        &[("fetch(u)", None), ("window.fetch(u)", None)],
    );
}

#[test]
fn local_bindings_follow_source_order() {
    let src = "import axios from 'axios';\n\
               async function f(u) {\n\
                 const api = axios.create({ timeout: 5000 });\n\
                 api.get(u);\n\
                 const res = await fetch(u);\n\
                 const body = await res.json();\n\
                 const r2 = (await fetch(u));\n\
                 r2.text();\n\
                 let c = api;\n\
                 c.post(u);\n\
                 c = makeThing;\n\
                 c.put(u);\n\
                 c = 1;\n\
                 c.delete(u);\n\
                 const requests = new Map();\n\
                 requests.get(k);\n\
                 const { data } = await axios.get(u);\n\
                 data.items.map(x);\n\
               }";
    assert_paths(
        &ALL,
        src,
        &[
            ("api.get(u)", Some("axios.create().get()")),
            ("res.json()", Some("fetch().json()")),
            ("r2.text()", Some("fetch().text()")),
            ("c.post(u)", Some("axios.create().post()")),
            ("c.put(u)", Some("makeThing.put()")),
            ("c.delete(u)", None),
            ("requests.get(k)", Some("Map().get()")),
            ("data.items.map(x)", Some("axios.get().data.items.map()")),
        ],
    );
    let ts = "import axios from 'axios';\n\
              const api = (axios.create() as AxiosInstance)!;\n\
              const b = <any>axios;\n\
              api.get(u); b.get(u);";
    assert_paths(
        &[Lang::TypeScript],
        ts,
        &[
            ("api.get(u)", Some("axios.create().get()")),
            ("b.get(u)", Some("axios.get()")),
        ],
    );
}

#[test]
fn call_ids_point_at_the_calls_that_made_each_segment() {
    let src = "import axios from 'axios';\n\
               const api = axios.create({ timeout: 5000 });\n\
               api.get(u);";
    let m = lower(Lang::TypeScript, src);
    let create = m.nodes.iter().position(|n| {
        matches!(n.kind, Kind::Call { .. })
            && src.get(n.span.start as usize..n.span.end as usize)
                == Some("axios.create({ timeout: 5000 })")
    });
    let get = m.nodes.iter().position(|n| {
        matches!(n.kind, Kind::Call { .. })
            && src.get(n.span.start as usize..n.span.end as usize) == Some("api.get(u)")
    });
    let get_path = get
        .and_then(|g| m.nodes.get(g))
        .and_then(|n| n.path.clone());
    let calls: Vec<Option<usize>> = get_path
        .map(|p| {
            p.segments
                .iter()
                .map(|s| s.call.map(|c| c.0 as usize))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(calls, [None, create, get]);
}

#[test]
fn annotated_parameters_and_fields() {
    let src = "import axios, { AxiosInstance } from 'axios';\n\
               import { HttpService } from '@nestjs/axios';\n\
               class Svc {\n\
                 private readonly client: AxiosInstance;\n\
                 constructor(private readonly http: HttpService, public api: AxiosInstance, plain: AxiosInstance) {}\n\
                 async a(u: string) { await this.http.get(u); await this.api.get(u); await this.client.get(u); await this.plain.get(u); }\n\
               }\n\
               function g(c: AxiosInstance, d: Unknown) { c.get(u); d.get(u); }";
    assert_paths(
        &TYPED,
        src,
        &[
            (
                "this.http.get(u)",
                Some("@nestjs/axios.HttpService().get()"),
            ),
            ("this.api.get(u)", Some("axios.AxiosInstance().get()")),
            ("this.client.get(u)", Some("axios.AxiosInstance().get()")),
            ("this.plain.get(u)", None),
            ("c.get(u)", Some("axios.AxiosInstance().get()")),
            ("d.get(u)", None),
        ],
    );
}

#[test]
fn this_members_are_collected_before_bodies() {
    // Methods come before the constructor that assigns the field.
    let src = "const axios = require('axios');\n\
               class Client {\n\
                 timeout = 5000;\n\
                 http = axios.create({ timeout: this.timeout });\n\
                 async user(id) { return this.api.get(`/u/${id}`); }\n\
                 async ping() { await this.http.head('/'); }\n\
                 async load(id) { const r = await this.fetchIt(id); return r.json(); }\n\
                 fetchIt(id) { return fetch(`/x/${id}`); }\n\
                 run = async () => { await this.api.post('/run'); };\n\
                 constructor(base) { this.api = axios.create({ baseURL: base }); this.cache = new Map(); }\n\
                 get(k) { return this.cache.get(k); }\n\
                 get client() { return this.api; }\n\
                 async viaGetter() { await this.client.delete('/x'); }\n\
               }";
    assert_paths(
        &ALL,
        src,
        &[
            ("this.api.get(`/u/${id}`)", Some("axios.create().get()")),
            ("this.http.head('/')", Some("axios.create().head()")),
            ("this.fetchIt(id)", Some("fetch()")),
            ("r.json()", Some("fetch().json()")),
            ("this.api.post('/run')", Some("axios.create().post()")),
            ("this.cache.get(k)", Some("Map().get()")),
            ("this.client.delete('/x')", Some("axios.create().delete()")),
        ],
    );
}

#[test]
fn module_bindings_are_visible_in_every_function() {
    let src = "import axios from 'axios';\n\
               export async function handler(req, res) {\n\
                 const { data } = await api.get('/items');\n\
                 await client.post('/x');\n\
                 res.json(data);\n\
               }\n\
               const api = axios.create({ baseURL: 'https://x' });\n\
               const client = makeClient();\n\
               function makeClient() { return axios.create({ timeout: 1000 }); }";
    assert_paths(
        &ALL,
        src,
        &[
            ("api.get('/items')", Some("axios.create().get()")),
            ("client.post('/x')", Some("axios.create().post()")),
            ("res.json(data)", None),
        ],
    );
}

#[test]
fn same_file_factories_and_wrappers() {
    let src = "import axios from 'axios';\n\
               import got from 'got';\n\
               function makeClient() { return axios.create({ timeout: 5000 }); }\n\
               async function getJson(u) { return fetch(u); }\n\
               const makeGot = () => got.extend({ timeout: { request: 1000 } });\n\
               const wrap = async function (u) { const r = await fetch(u); return r; };\n\
               async function main(u) {\n\
                 await makeClient().get(u);\n\
                 const r = await getJson(u);\n\
                 await r.json();\n\
                 await makeGot().post(u);\n\
                 (await wrap(u)).text();\n\
                 await later(u);\n\
                 await none(u);\n\
               }\n\
               function later(u) { return axios.get(u); }\n\
               function none(u) { return 1; }";
    assert_paths(
        &ALL,
        src,
        &[
            ("makeClient()", Some("axios.create()")),
            ("makeClient().get(u)", Some("axios.create().get()")),
            ("getJson(u)", Some("fetch()")),
            ("r.json()", Some("fetch().json()")),
            ("makeGot().post(u)", Some("got.extend().post()")),
            ("(await wrap(u)).text()", Some("fetch().text()")),
            ("later(u)", Some("axios.get()")),
            ("none(u)", None),
        ],
    );
    // The wrapper's path carries the inner call's id.
    let m = lower(Lang::JavaScript, src);
    let inner = m.nodes.iter().position(|n| {
        matches!(n.kind, Kind::Call { .. })
            && src.get(n.span.start as usize..n.span.end as usize) == Some("fetch(u)")
    });
    let outer = m
        .nodes
        .iter()
        .find(|n| src.get(n.span.start as usize..n.span.end as usize) == Some("getJson(u)"));
    let call = outer
        .and_then(|n| n.path.as_ref())
        .and_then(|p| p.segments.first())
        .and_then(|s| s.call)
        .map(|c| c.0 as usize);
    assert_eq!(call, inner);
}

#[test]
fn then_callbacks_bind_their_parameter() {
    let src = "import axios from 'axios';\n\
               fetch(u).then(r => r.json()).then(data => data.x);\n\
               axios.get(u).then(({ data }) => data.items.length);\n\
               fetch(u).then(function (resp) { return resp.text(); }, (err) => err.code);\n\
               p.catch(e => e.message);";
    assert_paths(
        &ALL,
        src,
        &[
            ("r.json()", Some("fetch().json()")),
            ("fetch(u).then(r => r.json())", Some("fetch().then()")),
            ("data.items.length", Some("axios.get().data.items.length")),
            ("resp.text()", Some("fetch().text()")),
            ("err.code", None),
            ("e.message", None),
        ],
    );
}

#[test]
fn shadowing_hides_imports() {
    let src = "import axios from 'axios';\n\
               function f(axios) { axios.get(u); }\n\
               function g() { const axios = other(); axios.get(u); }\n\
               function h() { { let axios = 1; } axios.get(v); }";
    assert_paths(
        &ALL,
        src,
        &[
            ("axios.get(u)", None),
            ("axios.get(v)", Some("axios.get()")),
        ],
    );
}

#[test]
fn tsx_components_resolve() {
    let src = "import { useEffect, useState } from 'react';\n\
               import axios from 'axios';\n\
               export default function Page({ id }: { id: string }) {\n\
                 const [data, setData] = useState<Item | null>(null);\n\
                 useEffect(() => {\n\
                   fetch(`/api/items/${id}`).then((r) => r.json()).then(setData);\n\
                 }, [id]);\n\
                 const save = async () => { await axios.post('/api/items', data); };\n\
                 return <button onClick={save}>{data?.name}</button>;\n\
               }";
    assert_paths(
        &[Lang::Tsx],
        src,
        &[
            ("r.json()", Some("fetch().json()")),
            ("axios.post('/api/items', data)", Some("axios.post()")),
            ("useState<Item | null>(null)", Some("react.useState()")),
        ],
    );
}

// ------------------------------------------------------------------ fixtures

/// Whether the statement on `line` is reported through something the IR
/// resolves: a call with a path, a call of a same-file `async` function, or
/// (for a `catch` clause) a `try` body that makes such a call.
fn line_is_resolved(m: &Module, li: &faultline_ir::LineIndex, line: usize) -> bool {
    let resolved_call = |n: &faultline_ir::Node| match &n.kind {
        Kind::Call { callee, .. } => {
            n.path.is_some()
                || match m.kind(*callee) {
                    Kind::Name(name) | Kind::Attr { name, .. } => {
                        m.functions.iter().any(|f| f.is_async && f.name == *name)
                    }
                    _ => false,
                }
        }
        Kind::New { .. } => n.path.is_some(),
        _ => false,
    };
    m.nodes.iter().any(|n| {
        if li.line(n.span.start) == line && resolved_call(n) {
            return true;
        }
        let Kind::Try { body, handlers, .. } = &n.kind else {
            return false;
        };
        handlers.iter().any(|h| li.line(h.span.start) == line)
            && m.descendants(*body)
                .iter()
                .any(|d| resolved_call(m.node(*d)))
    })
}

/// Every TS/TSX/JS fixture parses cleanly, and what each `expect:`
/// annotation points at is visible to the rules (see [`line_is_resolved`]).
#[test]
fn fixtures_parse_and_expected_lines_resolve() {
    let root =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/external-call");
    let mut files = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let lang = match p.file_name().and_then(|n| n.to_str()) {
                    Some("typescript.ts") => Lang::TypeScript,
                    Some("tsx.tsx") => Lang::Tsx,
                    Some("javascript.js") => Lang::JavaScript,
                    _ => continue,
                };
                files.push((p, lang));
            }
        }
    }
    assert!(files.len() >= 10, "fixtures not found: {files:?}");
    for (path, lang) in files {
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(!src.is_empty(), "{}: unreadable or empty", path.display());
        let m = lower(lang, &src);
        let li = faultline_ir::LineIndex::new(&src);
        assert!(
            m.syntax_errors.is_empty(),
            "{}: syntax errors at lines {:?}",
            path.display(),
            m.syntax_errors
                .iter()
                .map(|s| li.line(s.start))
                .collect::<Vec<_>>()
        );
        let mut expects = 0;
        for c in &m.comments {
            if !c.text.starts_with("expect: external-call/") {
                continue;
            }
            expects += 1;
            let line = li.line(c.span.start) + 1;
            assert!(
                line_is_resolved(&m, &li, line),
                "{}:{line}: nothing resolved under `{}`",
                path.display(),
                c.text
            );
        }
        assert!(
            expects > 0 || !path.to_string_lossy().contains("external-call"),
            "{}: no expect annotations",
            path.display()
        );
    }
}

/// A later pass moves over the statements it would lower the same way and
/// lowers the rest again; the module must be the one lowering everything
/// again gives.
#[test]
fn later_passes_reuse_only_what_they_would_lower_the_same_way() {
    let cases = [
        // A factory below its caller; the statements around it do not call it.
        "import axios from 'axios';\nconst base = '/api';\nexport function main() { return make().post(base); }\nfunction make() { return axios.create({ baseURL: base }); }\nexport const other = () => axios.get('/y');\n",
        // A module-level client read by a function above it.
        "import axios from 'axios';\nfunction load() { return http.get('/a'); }\nconst http = axios.create();\nfunction keep() { return 1; }\n",
        // A client assigned by a later function; the reader must change.
        "import axios from 'axios';\nlet client = null;\nfunction use() { return client.get('/'); }\nfunction init() { client = axios.create(); }\nfunction other() { return use(); }\n",
        // Three passes: a value made by a forward reference, read above it.
        "import axios from 'axios';\nfunction g() { return c.post('/x'); }\nconst c = make();\nfunction make() { return axios.create(); }\nconst d = g();\n",
        // `this` fields set by a later method, and a `require`.
        "const got = require('got');\nclass Svc {\n  run() { return this.client.get('/x'); }\n  constructor() { this.client = got.extend({}); }\n}\nconst s = new Svc();\nmodule.exports = { s };\n",
    ];
    // The module with reuse (the same as without), and how many units
    // it moved over.
    let lower_both = |lang: Lang, src: &str| -> (Module, usize) {
        let tree = crate::parse(lang, src);
        assert!(tree.is_ok(), "{lang:?}: {src}");
        let Ok(tree) = tree else {
            return (Module::new(lang.ir()), 0);
        };
        let (with, n) = super::lower::lower_passes(&tree, src, lang.ir(), true);
        let (without, none) = super::lower::lower_passes(&tree, src, lang.ir(), false);
        assert_eq!(none, 0);
        assert!(
            with == without,
            "{lang:?}: reuse changed the module of\n{src}"
        );
        (with, n)
    };
    let mut reused = 0;
    for src in cases {
        for lang in ALL {
            reused += lower_both(lang, src).1;
        }
    }
    // Something was moved over, so the comparison tested reuse.
    assert!(reused >= 10, "{reused}");
    // A class that must be lowered again because a method reads a field set
    // by a later one: the other methods are moved over.
    let setup = "let client = null;\nclass Setup {\n  run() { return this.x.get('/'); }\n  init() { client = axios.create(); }\n  constructor() { this.x = got.extend({}); }\n}\nfunction use() { return client.get('/'); }\nconst c = client;\n";
    let class = "class Svc {\n  run() { return this.client.get('/x'); }\n  size() { return 1; }\n  constructor() { this.client = got.extend({}); }\n}\n";
    for lang in ALL {
        let (with, n) = lower_both(lang, class);
        assert_eq!(n, 2, "{lang:?}: `size` and the constructor are moved over");
        // A method moved over replays what it bound in the module scope.
        let (_, n) = lower_both(lang, setup);
        assert!(n >= 2, "{lang:?}: {n}");
        assert_eq!(
            path_in(&with, class, "this.client.get('/x')").as_deref(),
            Some("got.extend().get()")
        );
    }
    // And what a forward reference resolves still resolves.
    let m = lower(Lang::TypeScript, cases[0]);
    assert_eq!(
        path_in(&m, cases[0], "make().post(base)").as_deref(),
        Some("axios.create().post()")
    );
}
