//! Lowering and resolution tests for the Python front-end: `(source,
//! expected s-expression)` lists for the IR shape, `(source, call, path)`
//! lists for name resolution, and robustness checks.

use foldhash::HashSet;
use std::path::{Path as FsPath, PathBuf};

use faultline_ir::{FuncKind, Kind, Language, LineIndex, Module, NodeId};

use crate::{Lang, lower};

fn module(src: &str) -> Module {
    lower(Lang::Python, src).unwrap_or_else(|_| Module::new(Language::Python))
}

/// The module's top-level block as an s-expression.
fn sexp(src: &str) -> String {
    let m = module(src);
    let body = m.functions.first().map_or(NodeId(0), |f| f.body);
    m.sexp(body)
}

/// The body of the function named `name` as an s-expression.
fn body_sexp(src: &str, name: &str) -> String {
    let m = module(src);
    m.functions
        .iter()
        .find(|f| f.name == name)
        .map_or_else(|| format!("<no function {name}>"), |f| m.sexp(f.body))
}

fn source_of<'a>(m: &Module, src: &'a str, id: NodeId) -> &'a str {
    let s = m.node(id).span;
    src.get(s.start as usize..s.end as usize).unwrap_or("")
}

/// The call whose source text is `call` (the last one if several).
fn find_call(m: &Module, src: &str, call: &str) -> Option<NodeId> {
    (0..m.nodes.len())
        .map(|i| NodeId(u32::try_from(i).unwrap_or(u32::MAX)))
        .filter(|id| matches!(m.kind(*id), Kind::Call { .. }))
        .rfind(|id| source_of(m, src, *id) == call)
}

/// The resolved path of the call whose source text is `call`, `<none>` when
/// unresolved and `<missing>` when there is no such call.
fn path_of(src: &str, call: &str) -> String {
    let m = module(src);
    match find_call(&m, src, call) {
        Some(id) => m
            .path(id)
            .map_or_else(|| "<none>".to_string(), |p| p.to_string()),
        None => "<missing>".to_string(),
    }
}

fn check_sexps(cases: &[(&str, &str)]) {
    for (src, expected) in cases {
        assert_eq!(sexp(src), *expected, "source: {src:?}");
    }
}

fn check_paths(cases: &[(&str, &str, &str)]) {
    for (src, call, expected) in cases {
        assert_eq!(path_of(src, call), *expected, "call {call:?} in:\n{src}");
    }
}

// ------------------------------------------------------------------ shape

#[test]
fn lowers_assignments() {
    check_sexps(&[
        ("x = 1", "(block (assign (name x) (num 1)))"),
        ("a = b = c", "(block (assign (name a) (name b) (name c)))"),
        ("x: int = 5", "(block (assign:int (name x) (num 5)))"),
        ("x: Foo", "(block (assign:Foo (name x) _))"),
        ("x += 1", "(block (assign[Add] (name x) (num 1)))"),
        (
            "x.y[1] //= 2",
            "(block (assign[Div] (index (attr (name x) y) (num 1)) (num 2)))",
        ),
        (
            "a, b = c",
            "(block (assign (array (name a) (name b)) (name c)))",
        ),
        (
            "a, *b = c",
            "(block (assign (array (name a) (spread (name b))) (name c)))",
        ),
        (
            "[a, b] = c",
            "(block (assign (array (name a) (name b)) (name c)))",
        ),
        (
            "(y := f())",
            "(block (expr (let (name y) (call (name f)))))",
        ),
    ]);
}

#[test]
fn lowers_calls_and_access() {
    check_sexps(&[
        (
            "f(a, b=1, *c, **d)",
            "(block (expr (call (name f) (name a) b=(num 1) *(name c) **(name d))))",
        ),
        (
            "f(x for x in y)",
            "(block (expr (call (name f) (other (name x) (name x) (name y)))))",
        ),
        ("a.b.c", "(block (expr (attr (attr (name a) b) c)))"),
        ("a[1]", "(block (expr (index (name a) (num 1))))"),
        (
            "a[1:2, 3]",
            "(block (expr (index (name a) (array (other (num 1) (num 2)) (num 3)))))",
        ),
        ("await f()", "(block (expr (await (call (name f)))))"),
        ("((f))()", "(block (expr (call (name f))))"),
    ]);
}

#[test]
fn lowers_literals() {
    check_sexps(&[
        (
            r#""a\n\x41\u00e9\\" 'b'"#,
            r#"(block (expr (str "a\nAé\\b")))"#,
        ),
        (r#"r"a\n""#, r#"(block (expr (str "a\\n")))"#),
        (r#"b"a\x00""#, r#"(block (expr (str "a\0")))"#),
        ("'''doc\nstring'''", r#"(block (expr (str "doc\nstring")))"#),
        (
            r#"f"a{b}c""#,
            r#"(block (expr (template (str "a") (name b) (str "c"))))"#,
        ),
        (
            r#""x" f"{y!r:>{w}}" "z{{""#,
            r#"(block (expr (template (str "x") (name y) (name w) (str "z{{"))))"#,
        ),
        (r#"f"{{a}}""#, r#"(block (expr (template (str "{a}"))))"#),
        (
            r#"f"{a.b()}""#,
            "(block (expr (template (call (attr (name a) b)))))",
        ),
        (
            "1; 2.5; 0x1F; 1j",
            "(block (expr (num 1)) (expr (num 2.5)) (expr (num 0x1F)) (expr (num 1j)))",
        ),
        (
            "True; False; None",
            "(block (expr (bool true)) (expr (bool false)) (expr (null)))",
        ),
        (
            r#"{"a": 1, b: 2, **c}"#,
            "(block (expr (object a=(num 1) (num 2) ..(name c))))",
        ),
        (
            "[1, *a]; (1,); {1, 2}; ()",
            "(block (expr (array (num 1) (spread (name a)))) (expr (array (num 1))) \
             (expr (array (num 1) (num 2))) (expr (array)))",
        ),
        ("...", "(block (expr (other)))"),
    ]);
}

#[test]
fn lowers_comprehensions_with_their_calls() {
    check_sexps(&[
        (
            "[x.y() for x in xs if x]",
            "(block (expr (other (call (attr (name x) y)) (name x) (name xs) (name x))))",
        ),
        (
            "{k: v() for k, v in d.items()}",
            "(block (expr (other (name k) (call (name v)) (array (name k) (name v)) \
             (call (attr (name d) items)))))",
        ),
        (
            "{f(x) for x in g()}",
            "(block (expr (other (call (name f) (name x)) (name x) (call (name g)))))",
        ),
    ]);
}

#[test]
fn lowers_operators() {
    check_sexps(&[
        (
            "a + b * c - d / e // f % g ** h",
            "(block (expr (Sub (Add (name a) (Mul (name b) (name c))) \
             (Mod (Div (Div (name d) (name e)) (name f)) (Other (name g) (name h))))))",
        ),
        (
            "a and b or not c",
            "(block (expr (Or (And (name a) (name b)) (Not (name c)))))",
        ),
        (
            "a < b; a != b; a in b; a not in b; a is b; a is not b; a < b < c",
            "(block (expr (Lt (name a) (name b))) (expr (NotEq (name a) (name b))) \
             (expr (In (name a) (name b))) (expr (NotIn (name a) (name b))) \
             (expr (Is (name a) (name b))) (expr (IsNot (name a) (name b))) \
             (expr (other (name a) (name b) (name c))))",
        ),
        (
            "-a; +a; ~a",
            "(block (expr (Neg (name a))) (expr (Other (name a))) (expr (Other (name a))))",
        ),
        (
            "a if b else c",
            "(block (expr (cond (name b) (name a) (name c))))",
        ),
        (
            "r.status_code != 200",
            "(block (expr (NotEq (attr (name r) status_code) (num 200))))",
        ),
    ]);
}

#[test]
fn lowers_control_flow() {
    check_sexps(&[
        (
            "if a:\n    pass\nelif b:\n    x = 1\nelif c:\n    y = 2\nelse:\n    z = 3",
            "(block (if (name a) (block (pass)) (if (name b) (block (assign (name x) (num 1))) \
             (if (name c) (block (assign (name y) (num 2))) (block (assign (name z) (num 3)))))))",
        ),
        (
            "for x in y:\n    break\nelse:\n    continue",
            "(block (loop[ForEach] (name x) (name y) (block (break))))",
        ),
        (
            "while a:\n    pass",
            "(block (loop[While] _ (name a) (block (pass))))",
        ),
        (
            "try:\n    f()\nexcept (A, B) as e:\n    raise\nexcept C:\n    pass\nexcept:\n    \
             return\nelse:\n    g()\nfinally:\n    h()",
            "(block (try (block (expr (call (name f)))) (catch (name A) (name B) as e \
             (block (throw _))) (catch (name C) (block (pass))) (catch (block (return _))) \
             (finally (block (expr (call (name h)))))))",
        ),
        (
            "try:\n    f()\nexcept* ValueError as eg:\n    pass",
            "(block (try (block (expr (call (name f)))) (catch (name ValueError) as eg \
             (block (pass)))))",
        ),
        (
            "with open(p) as f, lock:\n    pass",
            "(block (with (call (name open) (name p)) as (name f) (name lock) (block (pass))))",
        ),
        (
            "with (open(a) as x, open(b) as y):\n    pass",
            "(block (with (call (name open) (name a)) as (name x) (call (name open) (name b)) \
             as (name y) (block (pass))))",
        ),
        (
            "match cmd:\n    case Point(x=0, y=yy) if yy > 0:\n        pass\n    \
             case [1, *rest]:\n        pass\n    case {\"k\": v, **kw}:\n        pass\n    \
             case A.B | C:\n        pass\n    case _:\n        pass",
            "(block (match (name cmd) (arm (call (name Point) x=(num 0) y=(name yy)) \
             (block (pass))) (arm (array (num 1) (spread (name rest))) (block (pass))) \
             (arm (object k=(name v) ..(spread (name kw))) (block (pass))) \
             (arm (other (attr (name A) B) (name C)) (block (pass))) (arm (name _) (block (pass)))))",
        ),
        ("return", "(block (return _))"),
        ("raise X from e", "(block (throw (name X)))"),
        ("global a, b", "(block (other (name a) (name b)))"),
        ("del a, b", "(block (other (array (name a) (name b))))"),
        (
            "assert x, \"msg\"",
            "(block (other (name x) (str \"msg\")))",
        ),
        (
            "import a.b as c, d\nfrom . import x\nfrom m import *\nfrom __future__ import annotations",
            "(block (other) (other) (other) (other))",
        ),
        ("print >> f, x", "(block (other (other (name f)) (name x)))"),
        (
            "@dataclass\nclass Foo(Base, metaclass=M):\n    x: int = 0\n    def m(self):\n        pass",
            "(block (other (name dataclass) (class Foo (block (assign:int (name x) (num 0)) (def m)))))",
        ),
    ]);
}

#[test]
fn lowers_function_bodies() {
    let src = "def f():\n    return a, b\n\ndef g():\n    x = yield\n    yield from h()\n\n\
               async def k():\n    async for x in y:\n        await z(x)\n    \
               async with s.get(u) as r:\n        pass\n";
    assert_eq!(
        body_sexp(src, "f"),
        "(block (return (array (name a) (name b))))"
    );
    assert_eq!(
        body_sexp(src, "g"),
        "(block (assign (name x) (other)) (expr (other (call (name h)))))"
    );
    assert_eq!(
        body_sexp(src, "k"),
        "(block (loop[ForEach] (name x) (name y) (block (expr (await (call (name z) (name x)))))) \
         (with (call (attr (name s) get) (name u)) as (name r) (block (pass))))"
    );
    let m = module("f = lambda x, y=1: x + y\n");
    let lambda = m.functions.iter().find(|f| f.kind == FuncKind::Lambda);
    assert!(lambda.is_some_and(|l| l.name == "f" && l.params.len() == 2));
    assert!(lambda.is_some_and(|l| m.sexp(l.body) == "(Add (name x) (name y))"));
}

#[test]
fn records_function_signatures() {
    let src = "@app.route(\"/x\")\n@dec\nasync def f(a, b: int = 3, *args, c, d: str, **kw) -> None:\n    \
               pass\n\nclass TestApi:\n    def helper(self):\n        def inner():\n            pass\n\n\
               class Api:\n    @staticmethod\n    def test_like(x):\n        pass\n\ndef test_it():\n    pass\n";
    let m = module(src);
    let f = m.functions.iter().find(|f| f.name == "f");
    let Some(f) = f else {
        unreachable!("no function f")
    };
    assert!(f.is_async);
    assert_eq!(f.kind, FuncKind::Function);
    assert_eq!(f.return_type.as_deref(), Some("None"));
    assert_eq!(f.decorators.len(), 2);
    assert_eq!(
        f.decorators.first().map(|d| m.sexp(*d)).as_deref(),
        Some("(call (attr (name app) route) (str \"/x\"))")
    );
    let params: Vec<(&str, Option<&str>, bool)> = f
        .params
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.annotation.as_deref(),
                p.default.is_some(),
            )
        })
        .collect();
    assert_eq!(
        params,
        vec![
            ("a", None, false),
            ("b", Some("int"), true),
            ("*args", None, false),
            ("c", None, false),
            ("d", Some("str"), false),
            ("**kw", None, false),
        ]
    );
    assert!(
        src.get(f.span.start as usize..)
            .is_some_and(|s| s.starts_with("@app"))
    );
    assert!(!f.is_test);

    let by_name = |n: &str| m.functions.iter().find(|f| f.name == n);
    assert!(by_name("helper").is_some_and(|h| h.is_test
        && h.kind == FuncKind::Method
        && h.class.as_deref() == Some("TestApi")));
    assert!(by_name("inner").is_some_and(|h| h.is_test && h.kind == FuncKind::Function));
    assert!(by_name("test_like").is_some_and(|h| !h.is_test && h.class.as_deref() == Some("Api")));
    assert!(by_name("test_it").is_some_and(|h| h.is_test && h.class.is_none()));
    // Every function's parent is the one it is nested in.
    let inner_parent = by_name("inner").and_then(|f| f.parent);
    assert_eq!(
        inner_parent.map(|p| m.function(p).name.clone()).as_deref(),
        Some("helper")
    );
}

#[test]
fn records_imports_comments_and_owners() {
    let src = "import a.b as c, d  # first\nfrom ..m import (y as z, w)\nfrom . import x\n\
               # second\ndef f():\n    import requests\n    return g()\n";
    let m = module(src);
    let imports: Vec<String> = m
        .imports
        .iter()
        .map(|i| format!("{}={}", i.local, i.target))
        .collect();
    assert_eq!(
        imports,
        ["c=a.b", "d=d", "z=m.y", "w=m.w", "x=x", "requests=requests"]
    );
    let comments: Vec<&str> = m.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(comments, ["first", "second"]);
    assert!(m.syntax_errors.is_empty());

    // A `#` inside a string is no comment; one inside brackets is.
    let strings =
        module("c = '#fff'  # colour\nx = f(\n    1,  # one # still one\n    f\"{y}#\",\n)\n");
    let comments: Vec<&str> = strings.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(comments, ["colour", "one # still one"]);
    let g = find_call(&m, src, "g()");
    let owner = g.map(|g| m.function(m.owner(g)).name.clone());
    assert_eq!(owner.as_deref(), Some("f"));
}

// ------------------------------------------------------------- resolution

#[test]
fn resolves_imports_and_aliases() {
    check_paths(&[
        (
            "import requests\nrequests.get(u)",
            "requests.get(u)",
            "requests.get()",
        ),
        (
            "import requests as rq\nrq.get(u)",
            "rq.get(u)",
            "requests.get()",
        ),
        (
            "from requests import get\nget(u)",
            "get(u)",
            "requests.get()",
        ),
        (
            "from httpx import AsyncClient as C\nC().get(u)",
            "C().get(u)",
            "httpx.AsyncClient().get()",
        ),
        (
            "import urllib.request\nurllib.request.urlopen(u)",
            "urllib.request.urlopen(u)",
            "urllib.request.urlopen()",
        ),
        (
            "from urllib.request import urlopen as uo\nuo(u)",
            "uo(u)",
            "urllib.request.urlopen()",
        ),
        (
            "import urllib.request as ur\nur.urlopen(u)",
            "ur.urlopen(u)",
            "urllib.request.urlopen()",
        ),
        (
            "from .client import api\napi.get(u)",
            "api.get(u)",
            "client.api.get()",
        ),
        (
            "from .. import client\nclient.get(u)",
            "client.get(u)",
            "client.get()",
        ),
        ("open(p)", "open(p)", "open()"),
        (
            "def f():\n    import smtplib\n    smtplib.SMTP(h)",
            "smtplib.SMTP(h)",
            "smtplib.SMTP()",
        ),
        (
            "try:\n    import ujson as json\nexcept ImportError:\n    import json\njson.loads(s)",
            "json.loads(s)",
            "json.loads()",
        ),
    ]);
}

#[test]
fn resolves_local_bindings_in_order() {
    check_paths(&[
        (
            "import requests\ns = requests.Session()\ns.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\ns = requests.Session()\ns = None\ns.get(u)",
            "s.get(u)",
            "<none>",
        ),
        (
            "import requests\ns = None\ns.get(u)\ns = requests.Session()",
            "s.get(u)",
            "<none>",
        ),
        (
            "import requests\nexisting_requests = {}\nexisting_requests.get(k)",
            "existing_requests.get(k)",
            "<none>",
        ),
        (
            "import httpx\nasync def f(u):\n    async with httpx.AsyncClient() as c:\n        \
             r = await c.get(u)\n        r.json()",
            "r.json()",
            "httpx.AsyncClient().get().json()",
        ),
        (
            "import httpx\nc = (httpx.Client(timeout=None))\n(c).get(u)",
            "(c).get(u)",
            "httpx.Client().get()",
        ),
        (
            "import requests\na = b = requests.Session()\nb.get(u)",
            "b.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\na, b = requests.Session(), 5\na.get(u)",
            "a.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\na, b = f()\na.get(u)",
            "a.get(u)",
            "<none>",
        ),
        (
            "import requests\nif (s := requests.Session()):\n    s.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\ns = requests.Session()\nfor s in xs:\n    s.get(u)",
            "s.get(u)",
            "<none>",
        ),
        (
            "import aiohttp\nasync def f():\n    async with aiohttp.ClientSession() as s:\n        \
             async with s.get(u) as resp:\n            await resp.json()",
            "resp.json()",
            "aiohttp.ClientSession().get().json()",
        ),
        (
            "import requests\ndef f(requests):\n    requests.get(u)",
            "requests.get(u)",
            "<none>",
        ),
        (
            "import requests\nrs = [r.json() for r in xs]",
            "r.json()",
            "<none>",
        ),
        (
            "import requests\nr = requests.get(u)\nrs = [r.json() for r in xs]",
            "r.json()",
            "<none>",
        ),
        (
            "import requests\nmake = lambda: requests.Session()\nmake().get(u)",
            "make().get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\ntry:\n    pass\nexcept Exception as requests:\n    requests.get(u)",
            "requests.get(u)",
            "<none>",
        ),
        (
            "import requests\nx = 1\nx += requests.get(u)\nx.json()",
            "x.json()",
            "<none>",
        ),
        (
            "import requests\ndef f(s=None):\n    s = s or requests.Session()\n    s.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\ns = requests.Session() if pooled else requests\ns.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
    ]);
}

#[test]
fn resolves_annotated_parameters() {
    check_paths(&[
        (
            "import requests\ndef f(session: requests.Session, u):\n    session.get(u)",
            "session.get(u)",
            "requests.Session().get()",
        ),
        (
            "from typing import Optional\nimport requests\ndef f(s: Optional[requests.Session] = None):\n    \
             s.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
        (
            "import httpx\ndef f(c: httpx.AsyncClient | None = None):\n    c.get(u)",
            "c.get(u)",
            "httpx.AsyncClient().get()",
        ),
        (
            "from httpx import Client\ndef f(c: \"Client\"):\n    c.get(u)",
            "c.get(u)",
            "httpx.Client().get()",
        ),
        (
            "import requests\ndef f(c: dict[str, requests.Session]):\n    c.get(u)",
            "c.get(u)",
            "<none>",
        ),
        (
            "import requests\ndef f(c):\n    c.get(u)",
            "c.get(u)",
            "<none>",
        ),
        (
            "import requests\nclass A:\n    def f(self, s: requests.Session):\n        s.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
    ]);
    // The instance segment was not called in this file.
    let src = "import requests\ndef f(session: requests.Session):\n    session.get(u)";
    let m = module(src);
    let call = find_call(&m, src, "session.get(u)");
    let path = call.and_then(|c| m.path(c).cloned());
    let segs = path.map(|p| p.segments).unwrap_or_default();
    assert_eq!(segs.len(), 3);
    assert!(segs.get(1).is_some_and(|s| s.called && s.call.is_none()));
    assert!(segs.get(2).is_some_and(|s| s.called && s.call == call));
}

#[test]
fn resolves_self_attributes_in_any_order() {
    let src = "import requests\nimport httpx\n\nclass Base:\n    def __init__(self):\n        \
               self.http = httpx.Client(timeout=None)\n\nclass Api(Base):\n    shared = requests.Session()\n    \
               client: httpx.AsyncClient\n\n    def fetch(self, u):\n        self.session.get(u)\n        \
               self.shared.post(u)\n        self.http.get(u)\n        self.client.get(u)\n        \
               self.cache.get(u)\n        helper = lambda: self.session.put(u)\n\n    def connect(self):\n        \
               self.session = requests.Session()\n        self.cache = {}\n\n    @classmethod\n    \
               def make(cls):\n        cls.shared.delete(u)\n";
    check_paths(&[
        (src, "self.session.get(u)", "requests.Session().get()"),
        (src, "self.shared.post(u)", "requests.Session().post()"),
        (src, "self.http.get(u)", "httpx.Client().get()"),
        (src, "self.client.get(u)", "httpx.AsyncClient().get()"),
        (src, "self.cache.get(u)", "<none>"),
        (src, "self.session.put(u)", "requests.Session().put()"),
        (src, "cls.shared.delete(u)", "requests.Session().delete()"),
    ]);
    let lazy = "import requests\nfrom typing import Optional\nclass A:\n    def __init__(self):\n        \
                self.s: Optional[requests.Session] = None\n    def go(self):\n        self.s.get(u)\n";
    check_paths(&[(lazy, "self.s.get(u)", "requests.Session().get()")]);
    let param = "import requests\nclass A:\n    def __init__(self, session: requests.Session):\n        \
                 self.session = session\n    def go(self):\n        self.session.get(u)\n";
    check_paths(&[(param, "self.session.get(u)", "requests.Session().get()")]);
}

#[test]
fn resolves_module_bindings_in_functions() {
    let src = "import requests\n\ndef fetch(u):\n    return session.get(u)\n\n\
               def other(u):\n    session = None\n    session.get(u)\n\n\
               session = requests.Session()\n";
    check_paths(&[
        (src, "session.get(u)", "<none>"),
        (
            "import requests\ndef fetch(u):\n    session.get(u)\nsession = requests.Session()\n",
            "session.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\n_s = None\ndef get_session():\n    global _s\n    if _s is None:\n        \
             _s = requests.Session()\n    return _s\ndef go(u):\n    _s.get(u)\n    get_session().get(u)\n",
            "_s.get(u)",
            "requests.Session().get()",
        ),
        (
            "import requests\n_s = None\ndef get_session():\n    global _s\n    if _s is None:\n        \
             _s = requests.Session()\n    return _s\ndef go(u):\n    get_session().get(u)\n",
            "get_session().get(u)",
            "requests.Session().get()",
        ),
    ]);
}

#[test]
fn resolves_same_file_factories_and_wrappers() {
    let src = "import requests\nimport httpx\n\ndef use(u):\n    make().get(u)\n    r = fetch_json(u)\n    \
               r.json()\n    make_async()\n\ndef make():\n    return requests.Session()\n\n\
               def fetch_json(url, **kwargs):\n    return requests.get(url, **kwargs)\n\n\
               async def make_async():\n    return httpx.AsyncClient()\n\n\
               async def go(u):\n    c = await make_async()\n    await c.get(u)\n\n\
               class Svc:\n    def _client(self):\n        return httpx.Client()\n    \
               def run(self, u):\n        self._client().get(u)\n        self.missing().get(u)\n";
    check_paths(&[
        (src, "make().get(u)", "requests.Session().get()"),
        (src, "fetch_json(u)", "requests.get()"),
        (src, "r.json()", "requests.get().json()"),
        (src, "c.get(u)", "httpx.AsyncClient().get()"),
        (src, "self._client().get(u)", "httpx.Client().get()"),
        (src, "self.missing().get(u)", "<none>"),
        (
            "class Svc:\n    async def _flush(self):\n        pass\n    def run(self):\n        self._flush()\n",
            "self._flush()",
            "Svc._flush()",
        ),
        (
            "class Base:\n    async def _flush(self):\n        pass\nclass Svc(Base):\n    def run(self):\n        self._flush()\n",
            "self._flush()",
            "Base._flush()",
        ),
    ]);
    // The wrapper's path carries the inner call's id, so a rule can read its
    // arguments; the callee name still names the same-file function.
    let m = module(src);
    let outer = find_call(&m, src, "fetch_json(u)");
    let inner = find_call(&m, src, "requests.get(url, **kwargs)");
    let last = outer
        .and_then(|o| m.path(o))
        .and_then(|p| p.segments.last().cloned());
    assert!(inner.is_some());
    assert_eq!(last.and_then(|s| s.call), inner);
    let callee = outer.and_then(|o| match m.kind(o) {
        Kind::Call { callee, .. } => m.path(*callee).map(|p| p.to_string()),
        _ => None,
    });
    assert_eq!(callee.as_deref(), Some("fetch_json"));
    // A same-file function without a resolvable return is its own name.
    check_paths(&[
        (
            "async def notify(x):\n    pass\nnotify(1)",
            "notify(1)",
            "notify()",
        ),
        (
            "import contextlib, requests\n@contextlib.contextmanager\ndef session():\n    \
             s = requests.Session()\n    yield s\nwith session() as s:\n    s.get(u)",
            "s.get(u)",
            "requests.Session().get()",
        ),
    ]);
}

#[test]
fn call_ids_point_at_the_calls_that_made_each_segment() {
    let src = "import requests as rq\ns = rq.Session()\ns.post(u)\n";
    let m = module(src);
    let post = find_call(&m, src, "s.post(u)");
    let session = find_call(&m, src, "rq.Session()");
    let Some(path) = post.and_then(|p| m.path(p)) else {
        unreachable!("s.post(u) is unresolved")
    };
    assert_eq!(path.to_string(), "requests.Session().post()");
    let calls: Vec<Option<NodeId>> = path.segments.iter().map(|s| s.call).collect();
    assert_eq!(calls, vec![None, session, post]);
}

// ------------------------------------------------------------- robustness

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(sexp(""), "(block)");
    let m = module("# only a comment\n\n");
    assert_eq!(m.sexp(m.functions[0].body), "(block)");
    assert_eq!(m.comments.len(), 1);
    assert!(m.syntax_errors.is_empty());
}

#[test]
fn broken_syntax_lowers_the_rest_and_records_errors() {
    let cases = [
        "x = f(",
        "def (:",
        "import requests\ndef f(:\n    requests.get(u)\nx = 1\n",
        "class :\n  pass\nrequests.get(u)\n",
        "if x\n    requests.get(u)\n",
        "try:\n    pass\n",
        "f\"{",
        "))))((((",
        "\u{feff}x = 1\n\0\0",
        "lambda: (yield)",
        "@\n",
        "match x:\n    case :\n",
        "print 'hello'",
        "a = [1, 2,\nb = 3",
        "x = 'unterminated",
        "\t\t  \n\t x = 1",
        "async with x:",
        "def f(*, **): pass",
    ];
    for src in cases {
        let m = module(src);
        assert!(!m.functions.is_empty(), "{src:?}");
        assert_eq!(m.parents.len(), m.nodes.len());
    }
    let m = module("import requests\ndef f(:\n    requests.get(u)\nx = 1\n");
    assert!(!m.syntax_errors.is_empty());
    assert_eq!(
        path_of(
            "import requests\ndef f(:\n    requests.get(u)\nx = 1\n",
            "requests.get(u)"
        ),
        "requests.get()"
    );
    let m = module("x = f(");
    assert!(!m.syntax_errors.is_empty());
}

#[test]
fn deep_nesting_does_not_overflow() {
    let n = 5000;
    let cases = [
        format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
        format!("x = {}1{}\n", "[".repeat(n), "]".repeat(n)),
        format!("x = {}1{}\n", "f(".repeat(n), ")".repeat(n)),
        format!("x = {}\n", vec!["a"; 20_000].join(" + ")),
        format!("x = a{}\n", ".b".repeat(n)),
        format!("x = [{}]\n", vec!["requests.get(u)"; 20_000].join(", ")),
        format!("x = {}\n", vec!["not"; n].join(" ") + " a"),
        format!("x = {}\n", vec!["-"; n].join("") + "a"),
        format!("x = {}1{}\n", "{'k': ".repeat(n), "}".repeat(n)),
        format!(
            "match x:\n    case {}:\n        pass\n",
            vec!["a"; n].join(".")
        ),
        (0..1000)
            .map(|i| format!("{}if a:\n", " ".repeat(i)))
            .collect::<String>()
            + &" ".repeat(1000)
            + "requests.get(u)\n",
    ];
    for src in &cases {
        let m = module(src);
        assert!(m.nodes.len() > 1);
    }
    // A wide list keeps every element.
    let m = module(&cases[5]);
    let calls = m
        .nodes
        .iter()
        .filter(|x| matches!(x.kind, Kind::Call { .. }) && x.path.is_some())
        .count();
    assert_eq!(calls, 20_000);
}

/// Every node hangs off a function body, decorator or default: nothing is
/// lowered into the arena and then lost.
fn assert_all_reachable(m: &Module, what: &str) {
    let mut roots = HashSet::default();
    for f in &m.functions {
        roots.insert(f.body);
        roots.extend(f.decorators.iter().copied());
        roots.extend(f.params.iter().filter_map(|p| p.default));
    }
    for i in 0..m.nodes.len() {
        let id = NodeId(u32::try_from(i).unwrap_or(u32::MAX));
        assert!(
            m.parent(id).is_some() || roots.contains(&id),
            "{what}: orphan node {} {:?}",
            i,
            m.kind(id)
        );
    }
}

#[test]
fn every_node_is_reachable() {
    let kitchen_sink = "import a.b as c\n@d(e)\nasync def f(x: int = g(), *a, **k) -> T:\n    \
                        y = [h(z) for z in x if z]\n    async with i() as j, k2:\n        \
                        await j.l(m=1, *n, **o)\n    try:\n        pass\n    except (P, Q) as r:\n        \
                        raise S() from r\n    else:\n        t = u if v else w\n    finally:\n        \
                        del x[1:2]\n    match y:\n        case Z(a=1) | [b, *c] if d:\n            \
                        return f\"{e!r:>{g}}\" 'h'\n    while (q := nxt()):\n        yield {**q, 'k': -q}\n    \
                        lam = lambda a=sq(): a\n@dc\nclass K(B, metaclass=M):\n    x: int = field()\n";
    assert_all_reachable(&module(kitchen_sink), "kitchen sink");
    for src in [
        "x = f(",
        "def (:",
        "class :\n  pass\nr.get(u)\n",
        "a = [1, 2,\nb = 3",
    ] {
        assert_all_reachable(&module(src), src);
    }
}

// --------------------------------------------------------------- fixtures

fn python_fixtures(dir: &FsPath, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            python_fixtures(&p, out);
        } else if p.file_name().is_some_and(|n| n == "python.py") {
            out.push(p);
        }
    }
}

/// Every Python fixture parses cleanly, and what each `expect:` line points
/// at is resolved: a call on that line has a path or, for a handler line,
/// some call in the protected body does.
#[test]
fn fixtures_parse_and_expected_lines_resolve() {
    // The external-call fixtures: other families point at loops and
    // comprehensions, not only at calls.
    let root = FsPath::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/external-call");
    let mut files = Vec::new();
    python_fixtures(&root, &mut files);
    files.sort();
    assert!(
        files.len() >= 4,
        "python fixtures not found under {}",
        root.display()
    );
    for file in &files {
        let src = std::fs::read_to_string(file).unwrap_or_default();
        let m = module(&src);
        assert!(
            m.syntax_errors.is_empty(),
            "{}: syntax errors {:?}",
            file.display(),
            m.syntax_errors
        );
        assert_all_reachable(&m, &file.display().to_string());
        let lines = LineIndex::new(&src);
        for (i, line) in src.lines().enumerate() {
            if !line.trim_start().starts_with("# expect: external-call/") {
                continue;
            }
            let target = i + 2;
            let resolved = m.nodes.iter().any(|n| match &n.kind {
                Kind::Call { .. } => lines.line(n.span.start) == target && n.path.is_some(),
                Kind::Try { handlers, body, .. } => {
                    handlers.iter().any(|h| lines.line(h.span.start) == target)
                        && m.descendants(*body).iter().any(|d| {
                            matches!(m.kind(*d), Kind::Call { .. }) && m.path(*d).is_some()
                        })
                }
                _ => false,
            });
            assert!(
                resolved,
                "{}:{target}: nothing resolved on the expected line",
                file.display()
            );
        }
    }
}
