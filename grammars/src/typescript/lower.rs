//! Lowering of TypeScript, TSX and JavaScript trees to the IR, with name
//! resolution as ARCHITECTURE.md § "Resolved paths" describes.
//!
//! Lowering runs in source order and resolves as it goes: imports are bound
//! first (they are hoisted), function declarations are bound when their
//! block is entered, everything else binds where it is written. What can only
//! be known later in the file (the `return` of a function declared further
//! down, `this.x` assigned in a later method, a module-level `const` read by a
//! function above it) is recorded as a miss; when a miss turns out to be
//! resolvable, the file is lowered again with the previous pass's summaries
//! (at most [`MAX_PASSES`] times in all). Node and function ids do not
//! depend on resolution, so paths from one pass (with their call ids) stay
//! valid in the next.
//!
//! A later pass lowers again only the top-level statements whose lowering
//! can change. Each pass records, per top-level statement, what its
//! lowering read from outside the statement (module-level bindings, the
//! previous summary, other functions' returns) and what it wrote there. In
//! the next pass a statement whose reads all still give the same answers
//! would be lowered exactly as before, so its IR is moved over from the
//! previous pass and its writes replayed ([`Record`]). The methods of a
//! top-level class are recorded the same way, so a class lowered again
//! because one method calls a later one moves its other methods over.

use faultline_ir::{
    Arg, Arm, BinOp, Comment, CompactString, Entry, FuncId, FuncKind, Function, Handler, Import,
    Kind, Language, LoopKind, Module, NodeId, Param, Path, Segment, Span, Spread, UnOp, WithItem,
};
use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use tree_sitter::{Node, Tree};

use super::kinds::{Kinds, kinds};
use crate::util;

/// How deep statements and expressions may nest before the rest of a subtree
/// is replaced by an empty [`Kind::Other`]; keeps pathological input (5,000
/// nested parentheses) from overflowing the stack.
const MAX_DEPTH: u32 = 160;

/// How many times a file may be lowered: a second pass resolves forward
/// references; a third, forward references to values that were themselves
/// resolved by forward references (`const c = make();` above `function make`).
const MAX_PASSES: usize = 3;

/// Callees whose function arguments are test code.
const TEST_FUNCTIONS: &[&str] = &[
    "describe",
    "it",
    "test",
    "beforeEach",
    "afterEach",
    "beforeAll",
    "afterAll",
    "suite",
    "fit",
    "xit",
    "xtest",
    "fdescribe",
    "xdescribe",
];

/// Unbound names whose members are globals: `globalThis.fetch` is `fetch`.
const GLOBAL_OBJECTS: &[&str] = &["globalThis", "window", "self", "global"];

/// Identifies a function or class across both passes: its byte range.
type Key = (usize, usize);

fn key(n: Node<'_>) -> Key {
    (n.start_byte(), n.end_byte())
}

/// What a name is bound to.
#[derive(Clone, Debug, PartialEq)]
enum Binding {
    /// A value with a resolved path.
    Path(Path),
    /// A same-file function (its return summary resolves calls).
    Func(Key),
    /// A local whose meaning is unknown; shadows globals.
    Opaque,
}

/// What looking a name up found.
#[derive(Clone, Debug, PartialEq)]
enum Found {
    Path(Path),
    Func(Key),
    Nothing,
}

struct Scope {
    vars: HashMap<String, Binding>,
    function: bool,
}

impl Scope {
    fn new(function: bool) -> Scope {
        Scope {
            vars: HashMap::new(),
            function,
        }
    }
}

struct FuncCtx {
    id: FuncId,
    key: Key,
    is_test: bool,
}

struct ClassCtx {
    key: Key,
    /// Methods (and function-valued fields) by name.
    methods: HashMap<String, Key>,
    /// Getters: reading `this.x` runs them, so it has their return's path.
    getters: HashMap<String, Key>,
}

/// What the first pass learned that the second pass can use.
#[derive(Default)]
struct Summary {
    returns: HashMap<Key, Path>,
    fields: HashMap<(Key, String), Path>,
    module: HashMap<String, Binding>,
}

/// A lookup that failed but may succeed with a summary.
enum Miss {
    Return(Key),
    Field(Key, String),
    Module(String),
}

/// What lowering one top-level statement read from outside it and wrote
/// there, in order, and the IR it made.
///
/// Everything else a statement's lowering reads (its own scopes, classes and
/// nodes, the file's imports and module-level names) is made inside it or
/// fixed before the first statement. So when every read of
/// [`Record::events`] gives the same answer in a later pass, lowering the
/// statement again would make the same IR and the same writes.
#[derive(Default)]
struct Record {
    /// The ids of the nodes it made.
    nodes: std::ops::Range<usize>,
    /// The ids of the functions it made.
    functions: std::ops::Range<usize>,
    /// The imports it recorded (`require`).
    imports: std::ops::Range<usize>,
    /// What it added to the module's statement list.
    out: Vec<NodeId>,
    events: Vec<Event>,
}

/// A read or write of state outside the statement being lowered.
#[derive(Clone)]
enum Event {
    /// A name looked up past the statement's own scopes, and what it found.
    Lookup {
        name: CompactString,
        in_function: bool,
        found: Found,
    },
    /// A module-level binding as read directly (a `require`'s target).
    Peek {
        name: CompactString,
        binding: Option<Binding>,
    },
    /// Whether the module scope binds a name (where an assignment goes).
    Bound { name: CompactString, bound: bool },
    /// A binding written into the module scope.
    Bind {
        name: CompactString,
        binding: Binding,
    },
    /// A same-file function's return path, as read.
    Return { key: Key, path: Option<Path> },
    /// A function's return path recorded.
    SetReturn { key: Key, path: Path },
    /// A class field's path, as read.
    Field {
        key: (Key, String),
        path: Option<Path>,
    },
    /// A class field's path recorded.
    SetField { key: (Key, String), path: Path },
    /// A node that stands for a same-file function.
    FuncRef { id: NodeId, key: Key },
}

/// The previous pass: its module, whose IR a statement lowered the same way
/// again is moved from, and its records: one per top-level statement, and
/// one per method of a top-level class by where the method starts.
struct Previous {
    module: Module,
    records: Vec<Option<Record>>,
    methods: BTreeMap<usize, Record>,
}

/// Where a binding goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Decl {
    /// `let`, `const`, parameters, catch bindings: the innermost scope.
    Lexical,
    /// `var`: the innermost function scope.
    Var,
    /// Plain assignment: wherever the name is already bound.
    Assign,
}

struct FnOpts {
    name: String,
    kind: FuncKind,
    class: Option<String>,
    is_test: bool,
    first_param: Option<Path>,
    constructor: bool,
    decorators: Vec<NodeId>,
}

impl FnOpts {
    fn new(name: String, kind: FuncKind) -> FnOpts {
        FnOpts {
            name,
            kind,
            class: None,
            is_test: false,
            first_param: None,
            constructor: false,
            decorators: Vec::new(),
        }
    }
}

/// Lowers a parsed TypeScript, TSX or JavaScript file.
pub(crate) fn lower(tree: &Tree, src: &str, language: Language) -> Module {
    lower_passes(tree, src, language, true).0
}

/// Lowers in as many passes as forward references need; with `reuse`, a
/// later pass moves over the statements it would lower the same way again.
/// Also returns how many statements were moved over.
pub(crate) fn lower_passes(
    tree: &Tree,
    src: &str,
    language: Language,
    reuse: bool,
) -> (Module, usize) {
    let k = kinds(language, &tree.language());
    let root = tree.root_node();
    let mut summary: Option<Summary> = None;
    let mut previous: Option<Previous> = None;
    let mut pass = 1;
    let mut reused = 0;
    loop {
        let l = Lowerer::new(k, src, language, summary.as_ref(), previous.take()).run(root);
        reused += l.reused;
        let (m, misses, next, records, methods) = l.finish();
        if pass >= MAX_PASSES || !misses.iter().any(|x| next.resolves(x)) {
            return (m, reused);
        }
        previous = reuse.then_some(Previous {
            module: m,
            records,
            methods,
        });
        summary = Some(next);
        pass += 1;
    }
}

impl Summary {
    fn resolves(&self, miss: &Miss) -> bool {
        match miss {
            Miss::Return(k) => self.returns.contains_key(k),
            Miss::Field(c, n) => self.fields.contains_key(&(*c, n.clone())),
            Miss::Module(n) => matches!(
                self.module.get(n),
                Some(Binding::Path(_) | Binding::Func(_))
            ),
        }
    }
}

/// What a binding gives a name looked up.
fn found(b: &Binding) -> Found {
    match b {
        Binding::Path(p) => Found::Path(p.clone()),
        Binding::Func(k) => Found::Func(*k),
        Binding::Opaque => Found::Nothing,
    }
}

fn single(name: &str) -> Path {
    Path {
        segments: vec![Segment {
            name: name.into(),
            called: false,
            call: None,
        }],
    }
}

/// `p.name`; `.default` of a bare module is the module itself.
fn member(p: &Path, name: &str) -> Path {
    let mut out = p.clone();
    let module_root = matches!(p.segments.as_slice(), [s] if !s.called);
    if !(name == "default" && module_root) {
        out.push(name, false, None);
    }
    out
}

/// The path of an instance of the type at `p`: `axios.AxiosInstance()`.
fn instance(mut p: Path) -> Path {
    if let Some(last) = p.segments.last_mut() {
        last.called = true;
        last.call = None;
    }
    p
}

/// A module specifier as one segment, minus `node:`.
fn module_path(spec: &str) -> Path {
    single(spec.strip_prefix("node:").unwrap_or(spec))
}

/// Text of a type annotation without its leading `:`.
fn type_text(t: &str) -> String {
    t.trim().trim_start_matches(':').trim().to_string()
}

fn comment_text(raw: &str) -> String {
    let t = raw.trim();
    if let Some(rest) = t.strip_prefix("//") {
        rest.trim().to_string()
    } else if let Some(rest) = t.strip_prefix("/*") {
        let rest = rest.strip_suffix("*/").unwrap_or(rest);
        let lines: Vec<&str> = rest
            .lines()
            .map(|l| l.trim().trim_start_matches('*').trim())
            .filter(|l| !l.is_empty())
            .collect();
        lines.join("\n")
    } else {
        t.to_string()
    }
}

/// Decodes one JS escape sequence (`\n`, `\x41`, `\u{1F600}`…).
fn decode_escape(esc: &str, out: &mut String) {
    let body = esc.strip_prefix('\\').unwrap_or(esc);
    let mut chars = body.chars();
    let Some(first) = chars.next() else {
        return;
    };
    let rest: &str = chars.as_str();
    let hex = |h: &str| u32::from_str_radix(h, 16).ok().and_then(char::from_u32);
    match first {
        'n' => out.push('\n'),
        't' => out.push('\t'),
        'r' => out.push('\r'),
        'b' => out.push('\u{8}'),
        'f' => out.push('\u{c}'),
        'v' => out.push('\u{b}'),
        '0' if rest.is_empty() => out.push('\0'),
        '\n' | '\r' | '\u{2028}' | '\u{2029}' => {}
        'x' => match hex(rest) {
            Some(c) => out.push(c),
            None => out.push_str(esc),
        },
        'u' => {
            let h = rest.trim_start_matches('{').trim_end_matches('}');
            match hex(h) {
                Some(c) => out.push(c),
                None => out.push_str(esc),
            }
        }
        c => {
            out.push(c);
            out.push_str(rest);
        }
    }
}

struct Lowerer<'a> {
    k: &'static Kinds,
    src: &'a str,
    m: Module,
    depth: u32,
    scopes: Vec<Scope>,
    funcs: Vec<FuncCtx>,
    classes: Vec<ClassCtx>,
    /// Type-level bindings: imports only (`import type { AxiosInstance }`).
    imports: HashMap<String, Path>,
    /// Names declared at module level (for functions that read them before
    /// their declaration is reached).
    module_declared: HashSet<String>,
    /// `Name`/`Attr` nodes that stand for a same-file function.
    func_refs: HashMap<NodeId, Key>,
    returns: HashMap<Key, Path>,
    fields: HashMap<(Key, String), Path>,
    prev: Option<&'a Summary>,
    misses: Vec<Miss>,
    /// The previous pass, while its statements are being lowered again.
    previous: Option<Previous>,
    /// The previous pass's records of methods, while they are being
    /// lowered again.
    previous_methods: BTreeMap<usize, Record>,
    /// The record of the top-level statement being lowered.
    record: Option<Record>,
    /// The record of the method of a top-level class being lowered: its
    /// events go to the statement's record when it is done.
    member: Option<Record>,
    /// This pass's records, one per top-level statement.
    records: Vec<Option<Record>>,
    /// This pass's records of methods of top-level classes.
    methods: BTreeMap<usize, Record>,
    /// How many statements were moved over from the previous pass.
    reused: usize,
}

impl<'a> Lowerer<'a> {
    fn new(
        k: &'static Kinds,
        src: &'a str,
        language: Language,
        prev: Option<&'a Summary>,
        previous: Option<Previous>,
    ) -> Lowerer<'a> {
        Lowerer {
            k,
            src,
            m: Module::new(language),
            depth: 0,
            scopes: Vec::new(),
            funcs: Vec::new(),
            classes: Vec::new(),
            imports: HashMap::new(),
            module_declared: HashSet::new(),
            func_refs: HashMap::new(),
            returns: HashMap::new(),
            fields: HashMap::new(),
            prev,
            misses: Vec::new(),
            previous,
            previous_methods: BTreeMap::new(),
            record: None,
            member: None,
            records: Vec::new(),
            methods: BTreeMap::new(),
            reused: 0,
        }
    }

    /// The module, the misses, what this pass learned, and its records.
    #[allow(clippy::type_complexity)]
    fn finish(
        mut self,
    ) -> (
        Module,
        Vec<Miss>,
        Summary,
        Vec<Option<Record>>,
        BTreeMap<usize, Record>,
    ) {
        let summary = Summary {
            returns: self.returns,
            fields: self.fields,
            module: self
                .scopes
                .drain(..)
                .next()
                .map(|s| s.vars)
                .unwrap_or_default(),
        };
        (self.m, self.misses, summary, self.records, self.methods)
    }

    fn run(mut self, root: Node<'_>) -> Self {
        self.m.nodes.reserve(util::node_capacity(root));
        self.scopes.push(Scope::new(true));
        self.funcs.push(FuncCtx {
            id: FuncId(0),
            key: key(root),
            is_test: false,
        });
        self.prescan_module(root);
        let mut stmts = Vec::new();
        self.lower_top(root, &mut stmts);
        let body = self.m.functions.first().map(|f| f.body);
        if let Some(body) = body
            && let Some(node) = self.m.nodes.get_mut(body.0 as usize)
        {
            node.kind = Kind::Block(stmts);
            node.span = util::span(root);
        }
        if let Some(f) = self.m.functions.first_mut() {
            f.span = util::span(root);
        }
        // Neither depends on resolution.
        match self.previous.take() {
            Some(p) => {
                self.m.comments = p.module.comments;
                self.m.syntax_errors = p.module.syntax_errors;
            }
            None => {
                self.collect_comments(root);
                if root.has_error() {
                    self.m.syntax_errors = util::error_spans(root);
                }
            }
        }
        self
    }

    // ---------------------------------------------------------------- helpers

    fn text(&self, n: Node<'_>) -> &'a str {
        util::text(n, self.src)
    }

    fn add(&mut self, kind: Kind, n: Node<'_>) -> NodeId {
        self.m.add(kind, util::span(n))
    }

    fn kind_of(&self, id: NodeId) -> Option<&Kind> {
        self.m.nodes.get(id.0 as usize).map(|n| &n.kind)
    }

    fn set_path(&mut self, id: NodeId, p: Option<Path>) {
        if let Some(p) = p
            && let Some(node) = self.m.nodes.get_mut(id.0 as usize)
        {
            node.path = Some(p);
        }
    }

    /// The path of a value, looking through `await`.
    fn value_path(&self, mut id: NodeId) -> Option<Path> {
        loop {
            let node = self.m.nodes.get(id.0 as usize)?;
            match &node.kind {
                Kind::Await(inner) => id = *inner,
                _ => return node.path.clone(),
            }
        }
    }

    fn is_comment(&self, n: Node<'_>) -> bool {
        let id = n.kind_id();
        id == self.k.comment || id == self.k.html_comment
    }

    /// Named children that are not comments.
    fn named_children<'t>(&self, n: Node<'t>) -> Vec<Node<'t>> {
        let mut c = n.walk();
        n.named_children(&mut c)
            .filter(|x| !self.is_comment(*x))
            .collect()
    }

    /// The first of [`Self::named_children`], without collecting them.
    fn first_named<'t>(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut c = n.walk();
        n.named_children(&mut c).find(|x| !self.is_comment(*x))
    }

    fn field<'t>(&self, n: Node<'t>, f: u16) -> Option<Node<'t>> {
        n.child_by_field_id(f)
    }

    fn has_token(&self, n: Node<'_>, token: u16) -> bool {
        let mut c = n.walk();
        n.children(&mut c).any(|x| x.kind_id() == token)
    }

    fn is_function_like(&self, n: Node<'_>) -> bool {
        let id = n.kind_id();
        id == self.k.arrow_function
            || id == self.k.function_expression
            || id == self.k.generator_function
    }

    fn is_wrapper(&self, n: Node<'_>) -> bool {
        let id = n.kind_id();
        let k = self.k;
        id == k.parenthesized_expression
            || id == k.as_expression
            || id == k.satisfies_expression
            || id == k.non_null_expression
            || id == k.type_assertion
            || id == k.instantiation_expression
    }

    /// The expression inside a wrapper that keeps its meaning.
    fn wrapped<'t>(&self, n: Node<'t>) -> Option<Node<'t>> {
        let id = n.kind_id();
        if id == self.k.type_assertion {
            return self.named_children(n).pop();
        }
        if id == self.k.instantiation_expression {
            return self.field(n, self.k.f_function);
        }
        self.first_named(n)
    }

    /// Looks through parentheses, `as`, `satisfies`, `!` and `<T>e`.
    fn strip<'t>(&self, mut n: Node<'t>) -> Node<'t> {
        while self.is_wrapper(n) {
            match self.wrapped(n) {
                Some(inner) => n = inner,
                None => break,
            }
        }
        n
    }

    fn string_value(&self, n: Node<'_>) -> String {
        let mut out = String::new();
        let mut c = n.walk();
        for part in n.named_children(&mut c) {
            if part.kind_id() == self.k.escape_sequence {
                decode_escape(self.text(part), &mut out);
            } else if !self.is_comment(part) {
                out.push_str(self.text(part));
            }
        }
        out
    }

    /// A property key as a string: `timeout`, `"timeout"`, `0`.
    fn prop_key(&self, n: Node<'_>) -> Option<String> {
        let id = n.kind_id();
        if id == self.k.string {
            Some(self.string_value(n))
        } else if id == self.k.computed_property_name {
            None
        } else {
            Some(self.text(n).to_string())
        }
    }

    // ---------------------------------------------------------------- scopes

    fn lookup(&mut self, name: &str) -> Found {
        for s in self.scopes.iter().skip(1).rev() {
            if let Some(b) = s.vars.get(name) {
                return found(b);
            }
        }
        let in_function = self.funcs.len() > 1;
        let (found, miss) = self.module_lookup(name, in_function, None);
        self.misses.extend(miss);
        self.event(Event::Lookup {
            name: name.into(),
            in_function,
            found: found.clone(),
        });
        found
    }

    /// A name looked up in the module scope, with the bindings `written`
    /// over it, and the miss to record.
    fn module_lookup(
        &self,
        name: &str,
        in_function: bool,
        written: Option<&HashMap<&str, &Binding>>,
    ) -> (Found, Option<Miss>) {
        let module_level = match written.and_then(|w| w.get(name)) {
            Some(b) => Some(*b),
            None => self.scopes.first().and_then(|s| s.vars.get(name)),
        };
        if let Some(b) = module_level
            && !in_function
        {
            return (found(b), None);
        }
        if module_level.is_none() && !self.module_declared.contains(name) {
            return (Found::Path(single(name)), None);
        }
        // A module-level name read inside a function: the whole module's
        // final binding (from the previous pass) is what the function sees.
        let mut miss = None;
        if in_function {
            if let Some(prev) = self.prev
                && let Some(pb @ (Binding::Path(_) | Binding::Func(_))) = prev.module.get(name)
            {
                return (found(pb), None);
            }
            if !matches!(module_level, Some(Binding::Path(_) | Binding::Func(_))) {
                miss = Some(Miss::Module(name.to_string()));
            }
        }
        (module_level.map_or(Found::Nothing, found), miss)
    }

    fn bind(&mut self, name: &str, b: Binding, decl: Decl) {
        let idx = match decl {
            Decl::Lexical => self.scopes.len().checked_sub(1),
            Decl::Var => self.scopes.iter().rposition(|s| s.function),
            Decl::Assign => self.assign_scope(name),
        };
        if idx == Some(0) {
            self.event(Event::Bind {
                name: name.into(),
                binding: b.clone(),
            });
        }
        if let Some(scope) = idx.and_then(|i| self.scopes.get_mut(i)) {
            scope.vars.insert(name.to_string(), b);
        }
    }

    /// Where an assignment to `name` binds it: the innermost scope that has
    /// it, else the innermost function scope.
    fn assign_scope(&mut self, name: &str) -> Option<usize> {
        let inner = self
            .scopes
            .iter()
            .skip(1)
            .rposition(|s| s.vars.contains_key(name))
            .map(|i| i + 1);
        if inner.is_some() {
            return inner;
        }
        let bound = self
            .scopes
            .first()
            .is_some_and(|s| s.vars.contains_key(name));
        self.event(Event::Bound {
            name: name.into(),
            bound,
        });
        if bound {
            return Some(0);
        }
        self.scopes.iter().rposition(|s| s.function)
    }

    /// Binds every name in a pattern; object patterns bind members of `b`.
    fn bind_pattern(&mut self, p: Node<'_>, b: Binding, decl: Decl) {
        if self.depth >= MAX_DEPTH {
            return;
        }
        self.depth += 1;
        self.bind_pattern_inner(p, b, decl);
        self.depth -= 1;
    }

    fn bind_pattern_inner(&mut self, p: Node<'_>, b: Binding, decl: Decl) {
        let k = self.k;
        let id = p.kind_id();
        let sub = |b: &Binding, name: &str| match b {
            Binding::Path(path) => Binding::Path(member(path, name)),
            _ => Binding::Opaque,
        };
        if id == k.identifier || id == k.shorthand_property_identifier_pattern {
            let name = self.text(p);
            self.bind(name, b, decl);
        } else if id == k.object_pattern {
            for c in self.named_children(p) {
                let cid = c.kind_id();
                if cid == k.pair_pattern {
                    let key = self.field(c, k.f_key).and_then(|x| self.prop_key(x));
                    if let Some(v) = self.field(c, k.f_value) {
                        let vb = key.map_or(Binding::Opaque, |key| sub(&b, &key));
                        self.bind_pattern(v, vb, decl);
                    }
                } else if cid == k.shorthand_property_identifier_pattern {
                    let name = self.text(c);
                    self.bind(name, sub(&b, name), decl);
                } else if cid == k.object_assignment_pattern {
                    if let Some(left) = self.field(c, k.f_left) {
                        let vb = if left.kind_id() == k.shorthand_property_identifier_pattern {
                            sub(&b, self.text(left))
                        } else {
                            Binding::Opaque
                        };
                        self.bind_pattern(left, vb, decl);
                    }
                } else {
                    self.bind_pattern(c, Binding::Opaque, decl);
                }
            }
        } else if id == k.array_pattern || id == k.rest_pattern {
            for c in self.named_children(p) {
                self.bind_pattern(c, Binding::Opaque, decl);
            }
        } else if id == k.assignment_pattern || id == k.object_assignment_pattern {
            if let Some(left) = self.field(p, k.f_left) {
                self.bind_pattern(left, b, decl);
            }
        } else if self.is_wrapper(p)
            && let Some(inner) = self.wrapped(p)
        {
            self.bind_pattern(inner, b, decl);
        }
    }

    /// The binding a value gives a name.
    fn binding_of(&self, value_cst: Option<Node<'_>>, value: Option<NodeId>) -> Binding {
        if let Some(v) = value_cst {
            let s = self.strip(v);
            if self.is_function_like(s) {
                return Binding::Func(key(s));
            }
        }
        match value.and_then(|v| self.value_path(v)) {
            Some(p) => Binding::Path(p),
            None => Binding::Opaque,
        }
    }

    fn return_path(&mut self, k: Key) -> Option<Path> {
        let (p, miss) = self.read_return(k, None);
        self.misses.extend(miss);
        self.event(Event::Return {
            key: k,
            path: p.clone(),
        });
        p
    }

    /// A function's return path, with the ones `written` over this pass's.
    fn read_return(
        &self,
        k: Key,
        written: Option<&HashMap<Key, &Path>>,
    ) -> (Option<Path>, Option<Miss>) {
        if let Some(p) = written
            .and_then(|w| w.get(&k).copied())
            .or_else(|| self.returns.get(&k))
        {
            return (Some(p.clone()), None);
        }
        let p = self.prev.and_then(|prev| prev.returns.get(&k).cloned());
        let miss = p.is_none().then_some(Miss::Return(k));
        (p, miss)
    }

    fn record_return(&mut self, p: Path) {
        if self.funcs.len() > 1
            && let Some(key) = self.funcs.last().map(|f| f.key)
            && !self.returns.contains_key(&key)
        {
            self.event(Event::SetReturn {
                key,
                path: p.clone(),
            });
            self.returns.insert(key, p);
        }
    }

    fn record_field(&mut self, name: &str, b: &Binding) {
        if let Binding::Path(p) = b
            && let Some(c) = self.classes.last()
        {
            let fk = (c.key, name.to_string());
            if self.fields.contains_key(&fk) {
                return;
            }
            self.event(Event::SetField {
                key: fk.clone(),
                path: p.clone(),
            });
            self.fields.insert(fk, p.clone());
        }
    }

    /// A class field's path, with the ones `written` over this pass's.
    fn read_field(
        &self,
        fk: &(Key, String),
        written: Option<&HashMap<&(Key, String), &Path>>,
    ) -> (Option<Path>, Option<Miss>) {
        if let Some(p) = written
            .and_then(|w| w.get(fk).copied())
            .or_else(|| self.fields.get(fk))
        {
            return (Some(p.clone()), None);
        }
        let p = self.prev.and_then(|prev| prev.fields.get(fk).cloned());
        let miss = p.is_none().then(|| Miss::Field(fk.0, fk.1.clone()));
        (p, miss)
    }

    /// Records `e` in the innermost unit being lowered, if any.
    fn event(&mut self, e: Event) {
        if let Some(r) = self.member.as_mut().or(self.record.as_mut()) {
            r.events.push(e);
        }
    }

    /// Records that node `id` stands for the same-file function `k`.
    fn func_ref(&mut self, id: NodeId, k: Key) {
        self.event(Event::FuncRef { id, key: k });
        self.func_refs.insert(id, k);
    }

    /// `this.<name>` in the innermost class.
    fn this_member(&mut self, name: &str, id: NodeId) -> Option<Path> {
        let c = self.classes.last()?;
        let ck = c.key;
        if let Some(g) = c.getters.get(name).copied() {
            return self.return_path(g);
        }
        if let Some(m) = c.methods.get(name).copied() {
            self.func_ref(id, m);
            return None;
        }
        let fk = (ck, name.to_string());
        let (p, miss) = self.read_field(&fk, None);
        self.misses.extend(miss);
        self.event(Event::Field {
            key: fk,
            path: p.clone(),
        });
        p
    }

    /// The path of a type annotation that names an imported type.
    fn annotation_path(&self, ann: Node<'_>) -> Option<Path> {
        let t = if ann.kind_id() == self.k.type_annotation {
            self.first_named(ann)?
        } else {
            ann
        };
        self.resolve_type(t).map(instance)
    }

    fn resolve_type(&self, t: Node<'_>) -> Option<Path> {
        let k = self.k;
        let mut t = t;
        // Unions with `null`/`undefined`, parentheses and `readonly` are stripped.
        for _ in 0..16 {
            let id = t.kind_id();
            if id == k.parenthesized_type || id == k.readonly_type {
                t = self.first_named(t)?;
            } else if id == k.union_type {
                let mut members = Vec::new();
                let mut stack = vec![t];
                while let Some(u) = stack.pop() {
                    for c in self.named_children(u) {
                        if c.kind_id() == k.union_type {
                            stack.push(c);
                        } else if c.kind_id() != k.predefined_type && c.kind_id() != k.literal_type
                        {
                            members.push(c);
                        }
                    }
                }
                match members.as_slice() {
                    [one] => t = *one,
                    _ => return None,
                }
            } else if id == k.generic_type {
                t = self.field(t, k.f_name)?;
            } else {
                break;
            }
        }
        let id = t.kind_id();
        if id == k.type_identifier || id == k.identifier {
            return self.imports.get(self.text(t)).cloned();
        }
        if id == k.nested_type_identifier || id == k.nested_identifier {
            let full = self.text(t);
            let mut parts = full.split('.').map(str::trim);
            let mut p = self.imports.get(parts.next()?)?.clone();
            for part in parts {
                p = member(&p, part);
            }
            return Some(p);
        }
        None
    }

    // ---------------------------------------------------------------- module

    fn prescan_module(&mut self, root: Node<'_>) {
        let k = self.k;
        for c in self.named_children(root) {
            let mut d = c;
            if c.kind_id() == k.export_statement
                && let Some(decl) = self.field(c, k.f_declaration)
            {
                d = decl;
            }
            let id = d.kind_id();
            if id == k.import_statement {
                self.lower_import(d);
            } else if id == k.lexical_declaration
                || id == k.variable_declaration
                || id == k.using_declaration
            {
                for v in self.named_children(d) {
                    if let Some(name) = self.field(v, k.f_name) {
                        self.declare_names(name);
                    }
                }
            } else if id == k.function_declaration
                || id == k.generator_function_declaration
                || id == k.class_declaration
                || id == k.abstract_class_declaration
            {
                if let Some(name) = self.field(d, k.f_name) {
                    self.module_declared.insert(self.text(name).to_string());
                }
            } else if id == k.expression_statement
                && let Some((_, form)) = self.using_form(d)
                && let UsingForm::Assign(a) = form
                && let Some(left) = self.field(a, k.f_left)
            {
                self.declare_names(left);
            }
        }
    }

    /// Adds every identifier of a pattern to the module-level names.
    fn declare_names(&mut self, p: Node<'_>) {
        let k = self.k;
        let mut stack = vec![p];
        while let Some(n) = stack.pop() {
            let id = n.kind_id();
            if id == k.identifier || id == k.shorthand_property_identifier_pattern {
                self.module_declared.insert(self.text(n).to_string());
            } else if id == k.pair_pattern {
                stack.extend(self.field(n, k.f_value));
            } else if id == k.assignment_pattern || id == k.object_assignment_pattern {
                stack.extend(self.field(n, k.f_left));
            } else if id == k.object_pattern || id == k.array_pattern || id == k.rest_pattern {
                stack.extend(self.named_children(n));
            }
        }
    }

    fn import_binding(&mut self, local: &str, target: Path, n: Node<'_>) {
        self.m.imports.push(Import {
            local: local.to_string(),
            target: target.clone(),
            span: util::span(n),
        });
        self.imports.insert(local.to_string(), target.clone());
        if let Some(s) = self.scopes.first_mut() {
            s.vars.insert(local.to_string(), Binding::Path(target));
        }
    }

    fn lower_import(&mut self, n: Node<'_>) {
        let k = self.k;
        let source = self
            .field(n, k.f_source)
            .map(|s| self.string_value(s))
            .unwrap_or_default();
        for c in self.named_children(n) {
            let id = c.kind_id();
            if id == k.import_require_clause {
                let spec = self
                    .field(c, k.f_source)
                    .map(|s| self.string_value(s))
                    .unwrap_or_default();
                if let Some(local) = self
                    .named_children(c)
                    .into_iter()
                    .find(|x| x.kind_id() == k.identifier)
                {
                    let local = self.text(local);
                    self.import_binding(local, module_path(&spec), n);
                }
            } else if id == k.import_clause {
                for part in self.named_children(c) {
                    let pid = part.kind_id();
                    if pid == k.identifier {
                        let local = self.text(part);
                        self.import_binding(local, module_path(&source), n);
                    } else if pid == k.namespace_import {
                        if let Some(local) = self.first_named(part) {
                            let local = self.text(local);
                            self.import_binding(local, module_path(&source), n);
                        }
                    } else if pid == k.named_imports {
                        for spec in self.named_children(part) {
                            let Some(name) = self.field(spec, k.f_name) else {
                                continue;
                            };
                            let name = if name.kind_id() == k.string {
                                self.string_value(name)
                            } else {
                                self.text(name).to_string()
                            };
                            let local = self
                                .field(spec, k.f_alias)
                                .map_or(name.clone(), |a| self.text(a).to_string());
                            let target = member(&module_path(&source), &name);
                            self.import_binding(&local, target, n);
                        }
                    }
                }
            }
        }
    }

    fn collect_comments(&mut self, root: Node<'_>) {
        let starts = util::slash_comment_starts(self.src);
        let comment = self.k.comment;
        for n in util::comments(root, &starts, |n| n.kind_id() == comment) {
            let text = comment_text(self.text(n));
            self.m.comments.push(Comment {
                span: util::span(n),
                text,
            });
        }
    }

    // ---------------------------------------------------------------- statements

    fn is_stmt(&self, n: Node<'_>) -> bool {
        let k = self.k;
        let id = n.kind_id();
        [
            k.expression_statement,
            k.lexical_declaration,
            k.variable_declaration,
            k.using_declaration,
            k.function_declaration,
            k.generator_function_declaration,
            k.class_declaration,
            k.abstract_class_declaration,
            k.if_statement,
            k.for_statement,
            k.for_in_statement,
            k.while_statement,
            k.do_statement,
            k.switch_statement,
            k.try_statement,
            k.return_statement,
            k.throw_statement,
            k.break_statement,
            k.continue_statement,
            k.empty_statement,
            k.debugger_statement,
            k.labeled_statement,
            k.statement_block,
            k.export_statement,
            k.import_statement,
            k.with_statement,
            k.interface_declaration,
            k.type_alias_declaration,
            k.enum_declaration,
            k.ambient_declaration,
            k.internal_module,
            k.module,
            k.function_signature,
        ]
        .contains(&id)
    }

    /// Lowers the statements of a program or block into `out`.
    fn lower_block_items(&mut self, parent: Node<'_>, out: &mut Vec<NodeId>) {
        let items = self.named_children(parent);
        self.lower_stmts(&items, out);
    }

    fn lower_stmts(&mut self, items: &[Node<'_>], out: &mut Vec<NodeId>) {
        for c in items {
            self.hoist(*c);
        }
        for (i, c) in items.iter().enumerate() {
            if self.lower_using_at(items, i, out) {
                return;
            }
            self.lower_stmt_into(*c, out);
        }
    }

    /// Lowers `items[i]` when it is a `using` declaration, whose body is the
    /// rest of `items`; whether it was one.
    fn lower_using_at(&mut self, items: &[Node<'_>], i: usize, out: &mut Vec<NodeId>) -> bool {
        let Some(c) = items.get(i).copied() else {
            return false;
        };
        let Some((is_async, form)) = self.using_form(c) else {
            return false;
        };
        let rest = items.get(i + 1..).unwrap_or(&[]);
        let w = self.lower_using(c, is_async, form, rest);
        out.push(w);
        true
    }

    /// A record of the unit about to be lowered.
    fn open_record(&self) -> Record {
        Record {
            nodes: self.m.nodes.len()..0,
            functions: self.m.functions.len()..0,
            imports: self.m.imports.len()..0,
            out: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Closes the record of the unit just lowered.
    fn close_record(&self, r: &mut Record) {
        r.nodes.end = self.m.nodes.len();
        r.functions.end = self.m.functions.len();
        r.imports.end = self.m.imports.len();
    }

    /// Lowers the module's statements. In a later pass, a statement whose
    /// lowering cannot change is moved over from the previous pass instead.
    fn lower_top(&mut self, root: Node<'_>, out: &mut Vec<NodeId>) {
        let items = self.named_children(root);
        for c in &items {
            self.hoist(*c);
        }
        let mut records = Vec::new();
        if let Some(p) = &mut self.previous {
            records = std::mem::take(&mut p.records);
            self.previous_methods = std::mem::take(&mut p.methods);
        }
        for (i, c) in items.iter().enumerate() {
            // The rest of the module is a `using` declaration's body.
            if self.lower_using_at(&items, i, out) {
                break;
            }
            let before = records.get_mut(i).and_then(Option::take);
            if let Some(r) = before
                && let Some(misses) = self.unchanged(&r)
            {
                self.replay(&r, misses, out);
                self.records.push(Some(r));
                self.reused += 1;
                // Its methods' records stay valid: they read what it read.
                let inside: Vec<usize> = self
                    .previous_methods
                    .range(c.start_byte()..c.end_byte())
                    .map(|(at, _)| *at)
                    .collect();
                for at in inside {
                    if let Some(m) = self.previous_methods.remove(&at) {
                        self.methods.insert(at, m);
                    }
                }
                continue;
            }
            self.record = Some(self.open_record());
            let first = out.len();
            self.lower_stmt_into(*c, out);
            let record = self.record.take().map(|mut r| {
                self.close_record(&mut r);
                r.out = out.get(first..).unwrap_or_default().to_vec();
                r
            });
            self.records.push(record);
        }
    }

    /// Whether lowering the unit of `r` now would read what it read then:
    /// then it would make the same IR and writes. If so, the misses its
    /// reads record now, for [`Self::replay`].
    fn unchanged(&self, r: &Record) -> Option<Vec<Miss>> {
        if r.nodes.start != self.m.nodes.len()
            || r.functions.start != self.m.functions.len()
            || r.imports.start != self.m.imports.len()
        {
            return None;
        }
        let mut misses = Vec::new();
        self.reads(r, &mut misses).then_some(misses)
    }

    /// Answers the reads of `r` in order, with its own writes applied as
    /// they happened; whether every answer is the recorded one. The misses
    /// the reads record go to `misses`.
    fn reads(&self, r: &Record, misses: &mut Vec<Miss>) -> bool {
        let mut scope: HashMap<&str, &Binding> = HashMap::new();
        let mut returns: HashMap<Key, &Path> = HashMap::new();
        let mut fields: HashMap<&(Key, String), &Path> = HashMap::new();
        for e in &r.events {
            let same = match e {
                Event::Lookup {
                    name,
                    in_function,
                    found,
                } => {
                    let (now, miss) = self.module_lookup(name, *in_function, Some(&scope));
                    misses.extend(miss);
                    now == *found
                }
                Event::Peek { name, binding } => {
                    let now = match scope.get(name.as_str()) {
                        Some(b) => Some(*b),
                        None => self.scopes.first().and_then(|s| s.vars.get(name.as_str())),
                    };
                    now == binding.as_ref()
                }
                Event::Bound { name, bound } => {
                    let now = scope.contains_key(name.as_str())
                        || self
                            .scopes
                            .first()
                            .is_some_and(|s| s.vars.contains_key(name.as_str()));
                    now == *bound
                }
                Event::Bind { name, binding } => {
                    scope.insert(name, binding);
                    true
                }
                Event::Return { key, path } => {
                    let (now, miss) = self.read_return(*key, Some(&returns));
                    misses.extend(miss);
                    now == *path
                }
                Event::SetReturn { key, path } => {
                    returns.insert(*key, path);
                    true
                }
                Event::Field { key, path } => {
                    let (now, miss) = self.read_field(key, Some(&fields));
                    misses.extend(miss);
                    now == *path
                }
                Event::SetField { key, path } => {
                    fields.insert(key, path);
                    true
                }
                Event::FuncRef { .. } => true,
            };
            if !same {
                return false;
            }
        }
        true
    }

    /// Moves the IR of an unchanged statement over from the previous pass's
    /// module and applies its writes.
    fn replay(&mut self, r: &Record, misses: Vec<Miss>, out: &mut Vec<NodeId>) {
        self.misses.extend(misses);
        for e in &r.events {
            match e {
                Event::Bind { name, binding } => {
                    if let Some(s) = self.scopes.first_mut() {
                        s.vars.insert(name.to_string(), binding.clone());
                    }
                }
                Event::SetReturn { key, path } => {
                    self.returns.insert(*key, path.clone());
                }
                Event::SetField { key, path } => {
                    self.fields.insert(key.clone(), path.clone());
                }
                Event::FuncRef { id, key } => {
                    self.func_refs.insert(*id, *key);
                }
                _ => {}
            }
        }
        let placeholder = |n: &mut faultline_ir::Node| faultline_ir::Node {
            kind: std::mem::replace(&mut n.kind, Kind::Pass),
            span: n.span,
            path: n.path.take(),
        };
        let Some(from) = self.previous.as_mut().map(|p| &mut p.module) else {
            return;
        };
        if let Some(nodes) = from.nodes.get_mut(r.nodes.clone()) {
            self.m.nodes.extend(nodes.iter_mut().map(placeholder));
        }
        // Few and small: copied.
        if let Some(functions) = from.functions.get(r.functions.clone()) {
            self.m.functions.extend_from_slice(functions);
        }
        if let Some(imports) = from.imports.get(r.imports.clone()) {
            self.m.imports.extend_from_slice(imports);
        }
        out.extend_from_slice(&r.out);
    }

    /// Binds a block's function declarations before its statements run.
    fn hoist(&mut self, n: Node<'_>) {
        let k = self.k;
        let mut d = n;
        if n.kind_id() == k.export_statement
            && let Some(decl) = self.field(n, k.f_declaration)
        {
            d = decl;
        }
        let id = d.kind_id();
        if (id == k.function_declaration || id == k.generator_function_declaration)
            && let Some(name) = self.field(d, k.f_name)
        {
            let name = self.text(name);
            self.bind(name, Binding::Func(key(d)), Decl::Lexical);
        }
    }

    /// A `using` / `await using` declaration. The JavaScript grammar has a
    /// node for it; the TypeScript grammar parses it as an assignment with a
    /// `using` token.
    fn using_form<'t>(&self, n: Node<'t>) -> Option<(bool, UsingForm<'t>)> {
        let k = self.k;
        if n.kind_id() == k.using_declaration {
            return Some((self.has_token(n, k.kw_await), UsingForm::Decl(n)));
        }
        if n.kind_id() != k.expression_statement {
            return None;
        }
        let e = self.first_named(n)?;
        let (is_async, a) = if e.kind_id() == k.await_expression {
            (true, self.first_named(e)?)
        } else {
            (false, e)
        };
        (a.kind_id() == k.assignment_expression && self.has_token(a, k.kw_using))
            .then_some((is_async, UsingForm::Assign(a)))
    }

    fn lower_using(
        &mut self,
        n: Node<'_>,
        is_async: bool,
        form: UsingForm<'_>,
        rest: &[Node<'_>],
    ) -> NodeId {
        if self.depth >= MAX_DEPTH {
            return self.add(Kind::Other(Vec::new()), n);
        }
        self.depth += 1;
        let k = self.k;
        self.scopes.push(Scope::new(false));
        let pairs: Vec<(Option<Node<'_>>, Option<Node<'_>>)> = match form {
            UsingForm::Decl(d) => self
                .named_children(d)
                .into_iter()
                .map(|v| (self.field(v, k.f_name), self.field(v, k.f_value)))
                .collect(),
            UsingForm::Assign(a) => vec![(self.field(a, k.f_left), self.field(a, k.f_right))],
        };
        let mut items = Vec::new();
        for (target, value) in pairs {
            let hint = target.map(|t| self.text(t).to_string());
            let context = match value {
                Some(v) => self.lower_value(v, hint),
                None => self.add(Kind::Null, n),
            };
            let b = self.binding_of(value, Some(context));
            let target = target.map(|t| {
                self.bind_pattern(t, b, Decl::Lexical);
                self.lower_pattern(t)
            });
            items.push(WithItem { context, target });
        }
        let mut body = Vec::new();
        self.lower_stmts(rest, &mut body);
        let end = rest.last().map_or(n.end_byte(), |r| r.end_byte());
        let body_span = Span::new(rest.first().map_or(end, |r| r.start_byte()), end);
        let body = self.m.add(Kind::Block(body), body_span);
        self.scopes.pop();
        self.depth -= 1;
        self.m.add(
            Kind::With {
                items,
                body,
                is_async,
            },
            Span::new(n.start_byte(), end),
        )
    }

    fn lower_stmt_into(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        if self.depth >= MAX_DEPTH {
            out.push(self.add(Kind::Other(Vec::new()), n));
            return;
        }
        self.depth += 1;
        self.lower_stmt_inner(n, out);
        self.depth -= 1;
    }

    /// Dispatches on the statement kind; like [`Self::lower_expr_inner`],
    /// free of locals so nesting stays cheap.
    fn lower_stmt_inner(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        let k = self.k;
        let id = n.kind_id();
        if id == k.expression_statement {
            self.lower_expr_stmt(n, out);
        } else if id == k.lexical_declaration
            || id == k.variable_declaration
            || id == k.using_declaration
        {
            self.lower_declaration(n, out);
        } else if id == k.function_declaration || id == k.generator_function_declaration {
            out.push(self.lower_function_decl(n));
        } else if id == k.class_declaration || id == k.abstract_class_declaration {
            out.push(self.lower_class_decl(n));
        } else if id == k.if_statement {
            out.push(self.lower_if(n));
        } else if id == k.for_statement {
            self.lower_for(n, out);
        } else if id == k.for_in_statement {
            out.push(self.lower_for_in(n));
        } else if id == k.while_statement || id == k.do_statement {
            out.push(self.lower_while(n));
        } else if id == k.switch_statement {
            out.push(self.lower_switch(n));
        } else if id == k.try_statement {
            out.push(self.lower_try(n));
        } else if id == k.return_statement || id == k.throw_statement {
            out.push(self.lower_return(n));
        } else if id == k.labeled_statement {
            if let Some(b) = self.field(n, k.f_body) {
                self.lower_stmt_into(b, out);
            }
        } else if id == k.statement_block {
            out.push(self.lower_block(n));
        } else if id == k.export_statement {
            self.lower_export(n, out);
        } else if let Some(x) = self.lower_simple_stmt(n) {
            out.extend(x);
        } else {
            out.push(self.lower_expr(n));
        }
    }

    fn lower_expr_stmt(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        let Some(e) = self.first_named(n) else {
            return;
        };
        if let Some(x) = self.lower_simple_stmt(e) {
            out.extend(x);
        } else if e.kind_id() == self.k.sequence_expression {
            for part in self.named_children(e) {
                let expr = self.lower_expr(part);
                out.push(self.add(Kind::ExprStmt { expr, value: false }, part));
            }
        } else {
            let expr = self.lower_expr(e);
            out.push(self.add(Kind::ExprStmt { expr, value: false }, n));
        }
    }

    fn lower_declaration(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        let k = self.k;
        let decl = if n.kind_id() == k.variable_declaration || self.has_token(n, k.kw_var) {
            Decl::Var
        } else {
            Decl::Lexical
        };
        for d in self.named_children(n) {
            if d.kind_id() == k.variable_declarator {
                out.push(self.lower_declarator(d, decl));
            }
        }
    }

    fn lower_function_decl(&mut self, n: Node<'_>) -> NodeId {
        let name = self
            .field(n, self.k.f_name)
            .map_or_else(|| "default".to_string(), |x| self.text(x).to_string());
        let f = self.lower_function(n, FnOpts::new(name, FuncKind::Function));
        self.add(Kind::FuncDef(f), n)
    }

    fn lower_class_decl(&mut self, n: Node<'_>) -> NodeId {
        let c = self.lower_class(n, None);
        if let Some(name) = self.field(n, self.k.f_name) {
            let name = self.text(name);
            self.bind(name, Binding::Opaque, Decl::Lexical);
        }
        c
    }

    fn lower_while(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let cond = self.field(n, k.f_condition).map(|c| self.lower_expr(c));
        let body = self.lower_body(self.field(n, k.f_body), n);
        let kind = if n.kind_id() == k.while_statement {
            LoopKind::While
        } else {
            LoopKind::DoWhile
        };
        self.add(
            Kind::Loop {
                kind,
                target: None,
                iter: cond,
                body,
                orelse: None,
            },
            n,
        )
    }

    fn lower_return(&mut self, n: Node<'_>) -> NodeId {
        let v = self
            .named_children(n)
            .into_iter()
            .next()
            .map(|e| self.lower_expr(e));
        let kind = if n.kind_id() == self.k.return_statement {
            if let Some(p) = v.and_then(|v| self.value_path(v)) {
                self.record_return(p);
            }
            Kind::Return(v)
        } else {
            Kind::Throw(v)
        };
        self.add(kind, n)
    }

    /// Jumps, empty statements, TypeScript-only declarations (nothing, or
    /// [`Kind::Other`] around what holds code). `None` when `n` is not one.
    fn lower_simple_stmt(&mut self, n: Node<'_>) -> Option<Option<NodeId>> {
        let k = self.k;
        let id = n.kind_id();
        let kind = if id == k.break_statement {
            Kind::Break
        } else if id == k.continue_statement {
            Kind::Continue
        } else if id == k.empty_statement || id == k.debugger_statement {
            Kind::Pass
        } else if id == k.import_statement
            || id == k.interface_declaration
            || id == k.type_alias_declaration
            || id == k.ambient_declaration
            || id == k.function_signature
            || id == k.hash_bang_line
        {
            // Imports were bound up front; type-level declarations hold no code.
            return Some(None);
        } else if id == k.internal_module || id == k.module {
            let body = self.field(n, k.f_body).map(|b| self.lower_block(b));
            Kind::Other(body.into_iter().collect())
        } else if id == k.enum_declaration {
            let mut values = Vec::new();
            if let Some(body) = self.field(n, k.f_body) {
                for m in self.named_children(body) {
                    if m.kind_id() == k.enum_assignment
                        && let Some(v) = self.field(m, k.f_value)
                    {
                        values.push(self.lower_expr(v));
                    }
                }
            }
            Kind::Other(values)
        } else {
            return None;
        };
        Some(Some(self.add(kind, n)))
    }

    fn lower_declarator(&mut self, d: Node<'_>, decl: Decl) -> NodeId {
        let k = self.k;
        let name = self.field(d, k.f_name);
        let value_cst = self.field(d, k.f_value);
        let ty = self.field(d, k.f_type);
        let hint = name
            .filter(|n| n.kind_id() == k.identifier)
            .map(|n| self.text(n).to_string());
        let value = value_cst.map(|v| self.lower_value(v, hint));
        let mut b = self.binding_of(value_cst, value);
        if matches!(b, Binding::Opaque)
            && let Some(p) = ty.and_then(|t| self.annotation_path(t))
        {
            b = Binding::Path(p);
        }
        let targets = match name {
            Some(p) => {
                self.bind_pattern(p, b, decl);
                if value.is_some_and(|v| self.is_require(v)) {
                    self.record_require(p, d);
                }
                vec![self.lower_pattern(p)]
            }
            None => Vec::new(),
        };
        self.add(
            Kind::Assign {
                targets,
                value,
                op: None,
                declared_type: ty.map(|t| type_text(self.text(t))),
            },
            d,
        )
    }

    /// Whether a lowered value is `require('x')`, possibly `.default` or awaited.
    fn is_require(&self, mut id: NodeId) -> bool {
        loop {
            match self.kind_of(id) {
                Some(Kind::Await(e)) => id = *e,
                Some(Kind::Attr { object, name }) if name == "default" => id = *object,
                Some(Kind::Call { callee, .. }) => {
                    return matches!(self.kind_of(*callee), Some(Kind::Name(n)) if n == "require" || n == "import")
                        && self.value_path(id).is_some();
                }
                _ => return false,
            }
        }
    }

    /// Records the names a `require` declaration binds as imports.
    fn record_require(&mut self, pattern: Node<'_>, d: Node<'_>) {
        let k = self.k;
        let mut stack = vec![pattern];
        let mut names = Vec::new();
        while let Some(n) = stack.pop() {
            let id = n.kind_id();
            if id == k.identifier || id == k.shorthand_property_identifier_pattern {
                names.push(self.text(n));
            } else if id == k.pair_pattern {
                stack.extend(self.field(n, k.f_value));
            } else if id == k.object_assignment_pattern {
                stack.extend(self.field(n, k.f_left));
            } else if id == k.object_pattern {
                stack.extend(self.named_children(n));
            }
        }
        for name in names.into_iter().rev() {
            let inner = self
                .scopes
                .iter()
                .skip(1)
                .rev()
                .find_map(|s| s.vars.get(name));
            let bound = match inner {
                Some(b) => b.clone(),
                None => {
                    let b = self.scopes.first().and_then(|s| s.vars.get(name)).cloned();
                    self.event(Event::Peek {
                        name: name.into(),
                        binding: b.clone(),
                    });
                    match b {
                        Some(b) => b,
                        None => continue,
                    }
                }
            };
            if let Binding::Path(p) = bound {
                self.m.imports.push(Import {
                    local: name.to_string(),
                    target: p,
                    span: util::span(d),
                });
            }
        }
    }

    fn lower_block(&mut self, n: Node<'_>) -> NodeId {
        self.scopes.push(Scope::new(false));
        let mut v = Vec::new();
        self.lower_block_items(n, &mut v);
        self.scopes.pop();
        self.add(Kind::Block(v), n)
    }

    /// A statement used as a body, always as a [`Kind::Block`].
    fn lower_body(&mut self, n: Option<Node<'_>>, parent: Node<'_>) -> NodeId {
        match n {
            Some(b) if b.kind_id() == self.k.statement_block => self.lower_block(b),
            Some(b) => {
                self.scopes.push(Scope::new(false));
                let mut v = Vec::new();
                self.lower_stmt_into(b, &mut v);
                self.scopes.pop();
                self.add(Kind::Block(v), b)
            }
            None => self.add(Kind::Block(Vec::new()), parent),
        }
    }

    fn lower_if(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let cond = match self.field(n, k.f_condition) {
            Some(c) => self.lower_expr(c),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let then = self.lower_body(self.field(n, k.f_consequence), n);
        let els = self.field(n, k.f_alternative).map(|e| {
            let stmt = self.first_named(e);
            self.lower_body(stmt, e)
        });
        self.add(Kind::If { cond, then, els }, n)
    }

    fn lower_for(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        let k = self.k;
        self.scopes.push(Scope::new(false));
        if let Some(init) = self.field(n, k.f_initializer) {
            let iid = init.kind_id();
            if iid == k.lexical_declaration || iid == k.variable_declaration {
                self.lower_stmt_into(init, out);
            } else if iid != k.empty_statement {
                let expr = self.lower_expr(init);
                out.push(self.add(Kind::ExprStmt { expr, value: false }, init));
            }
        }
        let mut c = n.walk();
        let cond = std::num::NonZeroU16::new(k.f_condition).and_then(|f| {
            n.children_by_field_id(f, &mut c)
                .find(|x| x.is_named() && x.kind_id() != k.empty_statement)
        });
        let cond = cond.map(|x| self.lower_expr(x));
        let body = self.lower_body(self.field(n, k.f_body), n);
        if let Some(inc) = self.field(n, k.f_increment) {
            let expr = self.lower_expr(inc);
            let stmt = self.add(Kind::ExprStmt { expr, value: false }, inc);
            if let Some(Kind::Block(v)) = self.m.nodes.get_mut(body.0 as usize).map(|x| &mut x.kind)
            {
                v.push(stmt);
            }
        }
        self.scopes.pop();
        out.push(self.add(
            Kind::Loop {
                kind: LoopKind::ForClassic,
                target: None,
                iter: cond,
                body,
                orelse: None,
            },
            n,
        ));
    }

    fn lower_for_in(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        self.scopes.push(Scope::new(false));
        let iter = self.field(n, k.f_right).map(|r| {
            let e = self.lower_expr(r);
            if self.has_token(n, k.kw_await) {
                self.add(Kind::Await(e), r)
            } else {
                e
            }
        });
        let target = self.field(n, k.f_left).map(|l| {
            let decl = if self.has_token(n, k.kw_var) {
                Decl::Var
            } else {
                Decl::Lexical
            };
            if l.kind_id() != k.member_expression && l.kind_id() != k.subscript_expression {
                self.bind_pattern(l, Binding::Opaque, decl);
            }
            self.lower_pattern(l)
        });
        let body = self.lower_body(self.field(n, k.f_body), n);
        self.scopes.pop();
        self.add(
            Kind::Loop {
                kind: LoopKind::ForEach,
                target,
                iter,
                body,
                orelse: None,
            },
            n,
        )
    }

    fn lower_switch(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let subject = match self.field(n, k.f_value) {
            Some(v) => self.lower_expr(v),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        self.scopes.push(Scope::new(false));
        let mut arms = Vec::new();
        if let Some(body) = self.field(n, k.f_body) {
            for case in self.named_children(body) {
                let value = self.field(case, k.f_value);
                let pattern = value.map(|v| self.lower_expr(v));
                let stmts: Vec<Node<'_>> = self
                    .named_children(case)
                    .into_iter()
                    .filter(|s| Some(*s) != value)
                    .collect();
                let mut v = Vec::new();
                self.lower_stmts(&stmts, &mut v);
                let body = self.add(Kind::Block(v), case);
                arms.push(Arm {
                    pattern,
                    guard: None,
                    body,
                });
            }
        }
        self.scopes.pop();
        self.add(Kind::Match { subject, arms }, n)
    }

    fn lower_try(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let body = self.lower_body(self.field(n, k.f_body), n);
        let mut handlers = Vec::new();
        if let Some(h) = self.field(n, k.f_handler) {
            self.scopes.push(Scope::new(false));
            let param = self.field(h, k.f_parameter);
            if let Some(p) = param {
                self.bind_pattern(p, Binding::Opaque, Decl::Lexical);
            }
            let hbody = self.lower_body(self.field(h, k.f_body), h);
            self.scopes.pop();
            handlers.push(Handler {
                types: Vec::new(),
                binding: param.map(|p| self.text(p).to_string()),
                body: hbody,
                span: util::span(h),
            });
        }
        let finally = self
            .field(n, k.f_finalizer)
            .map(|f| self.lower_body(self.field(f, k.f_body), f));
        self.add(
            Kind::Try {
                body,
                handlers,
                orelse: None,
                finally,
            },
            n,
        )
    }

    fn lower_export(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        let k = self.k;
        if let Some(d) = self.field(n, k.f_declaration) {
            self.lower_stmt_into(d, out);
        } else if let Some(v) = self.field(n, k.f_value) {
            // `export default <expr>`: the value is used, so not an expression statement.
            let e = self.lower_value(v, Some("default".to_string()));
            out.push(self.add(Kind::Other(vec![e]), n));
        }
    }

    // ---------------------------------------------------------------- functions and classes

    fn lower_function(&mut self, n: Node<'_>, opts: FnOpts) -> FuncId {
        let k = self.k;
        let (parent, parent_test) = self
            .funcs
            .last()
            .map_or((FuncId(0), false), |f| (f.id, f.is_test));
        let is_test = opts.is_test || parent_test;
        let fid = self.m.add_function(Function {
            name: opts.name,
            kind: opts.kind,
            span: util::span(n),
            is_async: self.has_token(n, k.kw_async),
            decorators: opts.decorators,
            attributes: Vec::new(),
            params: Vec::new(),
            return_type: self
                .field(n, k.f_return_type)
                .map(|t| type_text(self.text(t))),
            body: NodeId(0),
            class: opts.class,
            parent: Some(parent),
            is_test,
            is_handler: false,
        });
        if self.depth >= MAX_DEPTH {
            let body = self.add(Kind::Block(Vec::new()), n);
            if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
                f.body = body;
            }
            return fid;
        }
        self.depth += 1;
        self.funcs.push(FuncCtx {
            id: fid,
            key: key(n),
            is_test,
        });
        self.scopes.push(Scope::new(true));
        let params = self.lower_params(n, opts.first_param, opts.constructor);
        let body = match self.field(n, k.f_body) {
            Some(b) if b.kind_id() == k.statement_block => {
                let mut v = Vec::new();
                self.lower_block_items(b, &mut v);
                self.add(Kind::Block(v), b)
            }
            Some(b) => {
                let e = self.lower_expr(b);
                if let Some(p) = self.value_path(e) {
                    self.record_return(p);
                }
                e
            }
            None => self.add(Kind::Block(Vec::new()), n),
        };
        self.scopes.pop();
        self.funcs.pop();
        self.depth -= 1;
        if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
            f.params = params;
            f.body = body;
        }
        fid
    }

    fn lower_params(
        &mut self,
        n: Node<'_>,
        first_param: Option<Path>,
        constructor: bool,
    ) -> Vec<Param> {
        let k = self.k;
        let mut items = Vec::new();
        if let Some(p) = self.field(n, k.f_parameter) {
            items.push(p);
        }
        if let Some(ps) = self.field(n, k.f_parameters) {
            items.extend(self.named_children(ps));
        }
        let mut first = first_param;
        let mut params = Vec::new();
        for p in items {
            let id = p.kind_id();
            let (pat, ty, default_cst, is_prop) =
                if id == k.required_parameter || id == k.optional_parameter {
                    let pat = self
                        .field(p, k.f_pattern)
                        .or_else(|| self.field(p, k.f_name));
                    let is_prop = self.has_token(p, k.kw_readonly)
                        || self.named_children(p).iter().any(|c| {
                            c.kind_id() == k.accessibility_modifier
                                || c.kind_id() == k.override_modifier
                        });
                    (
                        pat,
                        self.field(p, k.f_type),
                        self.field(p, k.f_value),
                        is_prop,
                    )
                } else if id == k.assignment_pattern {
                    (
                        self.field(p, k.f_left),
                        None,
                        self.field(p, k.f_right),
                        false,
                    )
                } else {
                    (Some(p), None, None, false)
                };
            let incoming = first.take();
            let Some(pat) = pat else {
                continue;
            };
            if pat.kind_id() == k.this {
                continue;
            }
            let default = default_cst.map(|d| self.lower_expr(d));
            let b = if let Some(a) = ty.and_then(|t| self.annotation_path(t)) {
                Binding::Path(a)
            } else if let Some(p) = incoming {
                Binding::Path(p)
            } else {
                self.binding_of(None, default)
            };
            if is_prop && constructor && pat.kind_id() == k.identifier {
                let name = self.text(pat);
                self.record_field(name, &b);
            }
            self.bind_pattern(pat, b, Decl::Lexical);
            params.push(Param {
                name: self.text(pat).to_string(),
                annotation: ty.map(|t| type_text(self.text(t))),
                default,
                span: util::span(p),
            });
        }
        params
    }

    fn lower_class(&mut self, n: Node<'_>, hint: Option<String>) -> NodeId {
        let k = self.k;
        let name = self
            .field(n, k.f_name)
            .map(|x| self.text(x).to_string())
            .or(hint)
            .unwrap_or_else(|| "<class>".to_string());
        let mut bases = Vec::new();
        for h in self.named_children(n) {
            if h.kind_id() != k.class_heritage {
                continue;
            }
            for c in self.named_children(h) {
                let cid = c.kind_id();
                if cid == k.extends_clause {
                    for v in self.named_children(c) {
                        if v.kind_id() != k.type_arguments {
                            bases.push(self.lower_expr(v));
                        }
                    }
                } else if cid != k.implements_clause {
                    bases.push(self.lower_expr(c));
                }
            }
        }
        let body_cst = self.field(n, k.f_body);
        let members = body_cst.map(|b| self.named_children(b)).unwrap_or_default();
        let mut methods = HashMap::new();
        let mut getters = HashMap::new();
        for m in &members {
            let mid = m.kind_id();
            if mid == k.method_definition {
                if let Some(mn) = self.field(*m, k.f_name) {
                    let table = if self.has_token(*m, k.kw_get) {
                        &mut getters
                    } else {
                        &mut methods
                    };
                    table.insert(self.text(mn).to_string(), key(*m));
                }
            } else if (mid == k.public_field_definition || mid == k.field_definition)
                && let Some(v) = self.field(*m, k.f_value)
                && self.is_function_like(self.strip(v))
                && let Some(mn) = self
                    .field(*m, k.f_name)
                    .or_else(|| self.field(*m, k.f_property))
            {
                methods.insert(self.text(mn).to_string(), key(self.strip(v)));
            }
        }
        self.classes.push(ClassCtx {
            key: key(n),
            methods,
            getters,
        });
        let mut items = Vec::new();
        // Class decorators (`@Module({ imports: [...] })`) hold calls too; they
        // are kept as an `Other` at the top of the body.
        let mut class_decorators = Vec::new();
        let mut holders = vec![n];
        holders.extend(n.parent().filter(|p| p.kind_id() == k.export_statement));
        for h in holders {
            for d in self.named_children(h) {
                if d.kind_id() == k.decorator {
                    class_decorators.extend(self.lower_decorator(d));
                }
            }
        }
        if !class_decorators.is_empty() {
            items.push(self.add(Kind::Other(class_decorators), n));
        }
        let mut decorators = Vec::new();
        for m in members {
            let mid = m.kind_id();
            if mid == k.decorator {
                decorators.extend(self.lower_decorator(m));
            } else if mid == k.method_definition {
                let own: Vec<Node<'_>> = self
                    .named_children(m)
                    .into_iter()
                    .filter(|c| c.kind_id() == k.decorator)
                    .collect();
                for d in own {
                    decorators.extend(self.lower_decorator(d));
                }
                let mname = self
                    .field(m, k.f_name)
                    .map_or_else(String::new, |x| self.text(x).to_string());
                let mut opts = FnOpts::new(mname.clone(), FuncKind::Method);
                opts.class = Some(name.clone());
                opts.constructor = mname == "constructor";
                opts.decorators = std::mem::take(&mut decorators);
                let f = self.lower_method(m, opts);
                items.push(self.add(Kind::FuncDef(f), m));
            } else if mid == k.public_field_definition || mid == k.field_definition {
                decorators.extend(
                    self.named_children(m)
                        .into_iter()
                        .filter(|c| c.kind_id() == k.decorator)
                        .filter_map(|d| self.lower_decorator(d))
                        .collect::<Vec<_>>(),
                );
                if !decorators.is_empty() {
                    let decs = std::mem::take(&mut decorators);
                    items.push(self.add(Kind::Other(decs), m));
                }
                items.push(self.lower_field(m, &name));
            } else if mid == k.class_static_block {
                items.push(self.lower_body(self.field(m, k.f_body), m));
            }
        }
        self.classes.pop();
        let body = match body_cst {
            Some(b) => self.add(Kind::Block(items), b),
            None => self.add(Kind::Block(items), n),
        };
        self.add(Kind::Class { name, bases, body }, n)
    }

    /// A method. One of a top-level class is lowered as a unit of its own
    /// (see [`Record`]): a class whose statement must be lowered again, say
    /// because one method calls a later one, moves over the methods whose
    /// lowering would not change.
    fn lower_method(&mut self, m: Node<'_>, opts: FnOpts) -> FuncId {
        let unit = self.record.is_some()
            && self.member.is_none()
            && self.scopes.len() == 1
            && self.funcs.len() == 1
            && self.classes.len() == 1;
        if !unit {
            return self.lower_function(m, opts);
        }
        let at = m.start_byte();
        if let Some(r) = self.previous_methods.remove(&at)
            && let Some(misses) = self.unchanged(&r)
        {
            self.replay(&r, misses, &mut Vec::new());
            if let Some(s) = &mut self.record {
                s.events.extend(r.events.iter().cloned());
            }
            let fid = FuncId(u32::try_from(r.functions.start).unwrap_or(u32::MAX));
            self.methods.insert(at, r);
            self.reused += 1;
            return fid;
        }
        self.member = Some(self.open_record());
        let fid = self.lower_function(m, opts);
        if let Some(mut r) = self.member.take() {
            self.close_record(&mut r);
            if let Some(s) = &mut self.record {
                s.events.extend(r.events.iter().cloned());
            }
            self.methods.insert(at, r);
        }
        fid
    }

    fn lower_decorator(&mut self, d: Node<'_>) -> Option<NodeId> {
        let inner = self.first_named(d)?;
        Some(self.lower_expr(inner))
    }

    /// A class field: `timeout = 5000`, `http: AxiosInstance`, `get = async () => …`.
    fn lower_field(&mut self, m: Node<'_>, class: &str) -> NodeId {
        let k = self.k;
        let name_cst = self
            .field(m, k.f_name)
            .or_else(|| self.field(m, k.f_property));
        let name = name_cst.map_or_else(String::new, |x| self.text(x).to_string());
        let ty = self.field(m, k.f_type);
        let value_cst = self.field(m, k.f_value);
        let value = value_cst.map(|v| {
            let s = self.strip(v);
            if self.is_function_like(s) {
                let mut opts = FnOpts::new(name.clone(), FuncKind::Method);
                opts.class = Some(class.to_string());
                let f = self.lower_function(s, opts);
                self.add(Kind::Lambda(f), s)
            } else {
                self.lower_expr(v)
            }
        });
        let mut b = self.binding_of(value_cst, value);
        if matches!(b, Binding::Opaque)
            && let Some(p) = ty.and_then(|t| self.annotation_path(t))
        {
            b = Binding::Path(p);
        }
        self.record_field(&name, &b);
        let target = match name_cst {
            Some(nc) => self.add(Kind::Name(name.into()), nc),
            None => self.add(Kind::Name(name.into()), m),
        };
        if let Binding::Path(p) = b {
            self.set_path(target, Some(p));
        }
        self.add(
            Kind::Assign {
                targets: vec![target],
                value,
                op: None,
                declared_type: ty.map(|t| type_text(self.text(t))),
            },
            m,
        )
    }

    // ---------------------------------------------------------------- expressions

    /// Lowers a value that may be a function (named after `hint`) or a class.
    fn lower_value(&mut self, v: Node<'_>, hint: Option<String>) -> NodeId {
        let s = self.strip(v);
        if self.is_function_like(s) {
            let name = self
                .field(s, self.k.f_name)
                .map(|x| self.text(x).to_string())
                .or(hint)
                .unwrap_or_else(|| "<lambda>".to_string());
            let f = self.lower_function(s, FnOpts::new(name, FuncKind::Lambda));
            return self.add(Kind::Lambda(f), s);
        }
        if s.kind_id() == self.k.class {
            return self.lower_class(s, hint);
        }
        self.lower_expr(v)
    }

    fn lower_expr(&mut self, n: Node<'_>) -> NodeId {
        if self.depth >= MAX_DEPTH {
            return self.add(Kind::Other(Vec::new()), n);
        }
        self.depth += 1;
        let id = self.lower_expr_inner(n);
        self.depth -= 1;
        id
    }

    /// Dispatches on the node kind. Kept free of locals so its stack frame
    /// stays small: every nesting level of the source costs one.
    fn lower_expr_inner(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let id = n.kind_id();
        if id == k.identifier || id == k.shorthand_property_identifier {
            self.lower_name(n)
        } else if self.is_wrapper(n) {
            self.lower_wrapped(n)
        } else if id == k.call_expression {
            self.lower_call(n)
        } else if id == k.member_expression {
            self.lower_member(n)
        } else if id == k.new_expression {
            self.lower_new(n)
        } else if id == k.subscript_expression {
            self.lower_subscript(n)
        } else if id == k.template_string {
            self.lower_template(n)
        } else if self.is_function_like(n) || id == k.class {
            self.lower_value(n, None)
        } else if id == k.object {
            self.lower_object(n)
        } else if id == k.binary_expression {
            self.lower_binary(n)
        } else if id == k.ternary_expression {
            self.lower_ternary(n)
        } else if id == k.assignment_expression || id == k.augmented_assignment_expression {
            self.lower_assignment(n)
        } else if id == k.jsx_element || id == k.jsx_self_closing_element {
            self.lower_jsx(n)
        } else if id == k.object_pattern
            || id == k.array_pattern
            || id == k.rest_pattern
            || id == k.assignment_pattern
        {
            self.lower_pattern(n)
        } else if let Some(x) = self.lower_unary_like(n) {
            x
        } else if let Some(x) = self.lower_leaf(n) {
            x
        } else {
            self.lower_generic(n)
        }
    }

    fn lower_wrapped(&mut self, n: Node<'_>) -> NodeId {
        match self.wrapped(n) {
            Some(inner) => self.lower_expr(inner),
            None => self.add(Kind::Other(Vec::new()), n),
        }
    }

    /// Nodes with one operand: `await`, spread, unary, update, `{…}` in JSX,
    /// and arrays.
    fn lower_unary_like(&mut self, n: Node<'_>) -> Option<NodeId> {
        let k = self.k;
        let id = n.kind_id();
        if id == k.array {
            let items = self
                .named_children(n)
                .into_iter()
                .map(|c| self.lower_expr(c))
                .collect();
            return Some(self.add(Kind::Array(items), n));
        }
        if id != k.await_expression
            && id != k.spread_element
            && id != k.unary_expression
            && id != k.update_expression
            && id != k.jsx_expression
        {
            return None;
        }
        let Some(inner) = self.first_named(n) else {
            return Some(self.add(Kind::Other(Vec::new()), n));
        };
        let e = self.lower_expr(inner);
        let kind = if id == k.await_expression {
            Kind::Await(e)
        } else if id == k.spread_element {
            Kind::Spread(e)
        } else if id == k.jsx_expression {
            return Some(e);
        } else {
            let op_id = self
                .field(n, k.f_operator)
                .map_or(u16::MAX, |o| o.kind_id());
            let op = if id == k.unary_expression {
                k.unops
                    .iter()
                    .find(|(t, _)| *t == op_id)
                    .map_or(UnOp::Other, |(_, op)| *op)
            } else {
                UnOp::Other
            };
            Kind::Unary { op, operand: e }
        };
        Some(self.add(kind, n))
    }

    /// Literals and names that never resolve.
    fn lower_leaf(&mut self, n: Node<'_>) -> Option<NodeId> {
        let k = self.k;
        let id = n.kind_id();
        let kind = if id == k.string {
            Kind::Str(self.string_value(n))
        } else if id == k.number {
            Kind::Num(self.text(n).to_string())
        } else if id == k.k_true || id == k.k_false {
            Kind::Bool(id == k.k_true)
        } else if id == k.null || id == k.undefined {
            Kind::Null
        } else if id == k.this
            || id == k.k_super
            || id == k.meta_property
            || id == k.property_identifier
            || id == k.private_property_identifier
            || id == k.import
        {
            Kind::Name(self.text(n).into())
        } else if id == k.regex {
            Kind::Other(Vec::new())
        } else {
            return None;
        };
        Some(self.add(kind, n))
    }

    fn lower_ternary(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut part = |f: u16| match self.field(n, f) {
            Some(x) => self.lower_expr(x),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let cond = part(k.f_condition);
        let then = part(k.f_consequence);
        let els = part(k.f_alternative);
        self.add(Kind::Cond { cond, then, els }, n)
    }

    /// Anything else: its named children, lowered, under [`Kind::Other`].
    fn lower_generic(&mut self, n: Node<'_>) -> NodeId {
        let mut items = Vec::new();
        for c in self.named_children(n) {
            if self.is_stmt(c) {
                self.lower_stmt_into(c, &mut items);
            } else {
                items.push(self.lower_expr(c));
            }
        }
        self.add(Kind::Other(items), n)
    }

    fn lower_name(&mut self, n: Node<'_>) -> NodeId {
        let name = self.text(n);
        let id = self.add(Kind::Name(name.into()), n);
        match self.lookup(name) {
            Found::Path(p) => self.set_path(id, Some(p)),
            Found::Func(k) => self.func_ref(id, k),
            Found::Nothing => {}
        }
        id
    }

    fn lower_member(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let obj_cst = self.field(n, k.f_object);
        let name = self
            .field(n, k.f_property)
            .map_or_else(String::new, |p| self.text(p).to_string());
        let object = match obj_cst {
            Some(o) => self.lower_expr(o),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let id = self.add(
            Kind::Attr {
                object,
                name: name.clone().into(),
            },
            n,
        );
        let path = self.member_path(obj_cst, object, &name, id);
        self.set_path(id, path);
        id
    }

    fn member_path(
        &mut self,
        obj_cst: Option<Node<'_>>,
        object: NodeId,
        name: &str,
        id: NodeId,
    ) -> Option<Path> {
        let obj_cst = self.strip(obj_cst?);
        if obj_cst.kind_id() == self.k.this {
            return self.this_member(name, id);
        }
        let base = self.value_path(object)?;
        if let [root] = base.segments.as_slice()
            && !root.called
            && GLOBAL_OBJECTS.contains(&root.name.as_str())
            && matches!(self.kind_of(object), Some(Kind::Name(n)) if *n == root.name)
        {
            return Some(single(name));
        }
        Some(member(&base, name))
    }

    fn lower_subscript(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let object = match self.field(n, k.f_object) {
            Some(o) => self.lower_expr(o),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let index_cst = self.field(n, k.f_index);
        let index = match index_cst {
            Some(i) => self.lower_expr(i),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let id = self.add(Kind::Index { object, index }, n);
        if let Some(Kind::Str(s)) = self.kind_of(index) {
            let s = s.clone();
            let p = self.value_path(object).map(|b| member(&b, &s));
            self.set_path(id, p);
        }
        id
    }

    fn is_test_callee(&self, f: Node<'_>) -> bool {
        let k = self.k;
        let mut n = f;
        for _ in 0..8 {
            let id = n.kind_id();
            if id == k.identifier {
                return TEST_FUNCTIONS.contains(&self.text(n));
            }
            let next = if id == k.member_expression {
                self.field(n, k.f_object)
            } else if id == k.call_expression {
                self.field(n, k.f_function)
            } else {
                None
            };
            match next {
                Some(x) => n = x,
                None => return false,
            }
        }
        false
    }

    fn lower_call(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let func = self.field(n, k.f_function);
        let callee = match func {
            Some(f) => self.lower_expr(f),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let type_args = self
            .field(n, k.f_type_arguments)
            .map(|t| {
                self.named_children(t)
                    .into_iter()
                    .map(|x| self.text(x).to_string())
                    .collect()
            })
            .unwrap_or_default();
        let is_test = func.is_some_and(|f| self.is_test_callee(f));
        let then_path = match self.kind_of(callee) {
            Some(Kind::Attr { object, name }) if name == "then" => {
                let object = *object;
                self.value_path(object)
            }
            _ => None,
        };
        let args = self.lower_args(self.field(n, k.f_arguments), is_test, then_path);
        let is_import = func.is_some_and(|f| f.kind_id() == k.import);
        let id = self.add(
            Kind::Call {
                callee,
                args,
                type_args,
            },
            n,
        );
        let path = self.call_path(callee, is_import, id);
        self.set_path(id, path);
        id
    }

    fn call_path(&mut self, callee: NodeId, is_import: bool, id: NodeId) -> Option<Path> {
        // `require('x')`, `import('x')`: the module.
        let first_str = match self.kind_of(id) {
            Some(Kind::Call { args, .. }) => {
                args.first().and_then(|a| match self.kind_of(a.value) {
                    Some(Kind::Str(s)) => Some(s.clone()),
                    _ => None,
                })
            }
            _ => None,
        };
        if let Some(spec) = first_str {
            let is_require = matches!(self.m.nodes.get(callee.0 as usize),
                Some(node) if matches!(&node.kind, Kind::Name(n) if n == "require")
                    && node.path.as_ref().is_some_and(|p| p.to_string() == "require"));
            if is_require || is_import {
                return Some(module_path(&spec));
            }
        }
        // A same-file function or `this.method`: what it returns.
        if let Some(fk) = self.func_refs.get(&callee).copied() {
            return self.return_path(fk);
        }
        let mut p = self.value_path(callee)?;
        let last = p.segments.last_mut()?;
        if last.called {
            return None;
        }
        last.called = true;
        last.call = Some(id);
        Some(p)
    }

    fn lower_args(
        &mut self,
        args: Option<Node<'_>>,
        is_test: bool,
        then_path: Option<Path>,
    ) -> Vec<Arg> {
        let k = self.k;
        let Some(args) = args else {
            return Vec::new();
        };
        let plain = |value| Arg {
            name: None,
            value,
            spread: Spread::None,
        };
        if args.kind_id() == k.template_string {
            return vec![plain(self.lower_expr(args))];
        }
        let mut then_path = then_path;
        let mut out = Vec::new();
        for (i, a) in self.named_children(args).into_iter().enumerate() {
            let s = self.strip(a);
            if a.kind_id() == k.spread_element {
                let inner = self.first_named(a);
                let value = match inner {
                    Some(x) => self.lower_expr(x),
                    None => self.add(Kind::Other(Vec::new()), a),
                };
                out.push(Arg {
                    name: None,
                    value,
                    spread: Spread::Positional,
                });
            } else if self.is_function_like(s) && (is_test || (i == 0 && then_path.is_some())) {
                let name = self
                    .field(s, k.f_name)
                    .map_or_else(|| "<lambda>".to_string(), |x| self.text(x).to_string());
                let mut opts = FnOpts::new(name, FuncKind::Lambda);
                opts.is_test = is_test;
                if i == 0 {
                    opts.first_param = then_path.take();
                }
                let f = self.lower_function(s, opts);
                out.push(plain(self.add(Kind::Lambda(f), s)));
            } else {
                out.push(plain(self.lower_expr(a)));
            }
        }
        out
    }

    fn lower_new(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let callee = match self.field(n, k.f_constructor) {
            Some(c) => self.lower_expr(c),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let args = self.lower_args(self.field(n, k.f_arguments), false, None);
        let id = self.add(Kind::New { callee, args }, n);
        let path = self.value_path(callee).and_then(|mut p| {
            let last = p.segments.last_mut()?;
            if last.called {
                return None;
            }
            last.called = true;
            last.call = Some(id);
            Some(p)
        });
        self.set_path(id, path);
        id
    }

    fn lower_template(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut lit_span: Option<(usize, usize)> = None;
        let mut c = n.walk();
        let children: Vec<Node<'_>> = n.named_children(&mut c).collect();
        for part in children {
            let id = part.kind_id();
            if id == k.string_fragment || id == k.escape_sequence {
                if id == k.escape_sequence {
                    decode_escape(self.text(part), &mut lit);
                } else {
                    lit.push_str(self.text(part));
                }
                let start = lit_span.map_or(part.start_byte(), |s| s.0);
                lit_span = Some((start, part.end_byte()));
            } else if id == k.template_substitution {
                if let Some((s, e)) = lit_span.take() {
                    parts.push(
                        self.m
                            .add(Kind::Str(std::mem::take(&mut lit)), Span::new(s, e)),
                    );
                }
                if let Some(e) = self.first_named(part) {
                    parts.push(self.lower_expr(e));
                }
            }
        }
        if let Some((s, e)) = lit_span {
            parts.push(self.m.add(Kind::Str(lit), Span::new(s, e)));
        }
        self.add(Kind::Template(parts), n)
    }

    fn lower_object(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut entries = Vec::new();
        for c in self.named_children(n) {
            let id = c.kind_id();
            if id == k.pair {
                let key = self.field(c, k.f_key).and_then(|x| self.prop_key(x));
                let value = match self.field(c, k.f_value) {
                    Some(v) => self.lower_value(v, key.clone()),
                    None => self.add(Kind::Other(Vec::new()), c),
                };
                entries.push(Entry {
                    key,
                    value,
                    spread: false,
                });
            } else if id == k.shorthand_property_identifier {
                let value = self.lower_name(c);
                entries.push(Entry {
                    key: Some(self.text(c).to_string()),
                    value,
                    spread: false,
                });
            } else if id == k.spread_element {
                let value = match self.first_named(c) {
                    Some(x) => self.lower_expr(x),
                    None => self.add(Kind::Other(Vec::new()), c),
                };
                entries.push(Entry {
                    key: None,
                    value,
                    spread: true,
                });
            } else if id == k.method_definition {
                let key = self.field(c, k.f_name).and_then(|x| self.prop_key(x));
                let name = key.clone().unwrap_or_else(|| "<lambda>".to_string());
                let f = self.lower_function(c, FnOpts::new(name, FuncKind::Lambda));
                let value = self.add(Kind::Lambda(f), c);
                entries.push(Entry {
                    key,
                    value,
                    spread: false,
                });
            } else {
                let value = self.lower_expr(c);
                entries.push(Entry {
                    key: None,
                    value,
                    spread: false,
                });
            }
        }
        self.add(
            Kind::Object {
                type_name: None,
                entries,
            },
            n,
        )
    }

    fn lower_binary(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let op_id = self
            .field(n, k.f_operator)
            .map_or(u16::MAX, |o| o.kind_id());
        let op = k
            .binops
            .iter()
            .find(|(t, _)| *t == op_id)
            .map_or(BinOp::Other, |(_, op)| *op);
        let lhs = match self.field(n, k.f_left) {
            Some(x) => self.lower_expr(x),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        let rhs = match self.field(n, k.f_right) {
            Some(x) => self.lower_expr(x),
            None => self.add(Kind::Other(Vec::new()), n),
        };
        self.add(Kind::Binary { op, lhs, rhs }, n)
    }

    fn lower_assignment(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let left = self.field(n, k.f_left);
        let right = self.field(n, k.f_right);
        let op = if n.kind_id() == k.augmented_assignment_expression {
            let op_id = self
                .field(n, k.f_operator)
                .map_or(u16::MAX, |o| o.kind_id());
            Some(
                k.assignops
                    .iter()
                    .find(|(t, _)| *t == op_id)
                    .map_or(BinOp::Other, |(_, op)| *op),
            )
        } else {
            None
        };
        let hint = left.map(|l| self.strip(l)).and_then(|l| {
            if l.kind_id() == k.identifier {
                Some(self.text(l).to_string())
            } else if l.kind_id() == k.member_expression {
                self.field(l, k.f_property)
                    .map(|p| self.text(p).to_string())
            } else {
                None
            }
        });
        let value = right.map(|r| self.lower_value(r, hint));
        if let Some(l) = left {
            let l = self.strip(l);
            let mut b = self.binding_of(right, value);
            match op {
                None => {}
                Some(BinOp::And | BinOp::Or | BinOp::Nullish) => {}
                Some(_) => b = Binding::Opaque,
            }
            let lid = l.kind_id();
            let keeps = matches!(op, Some(BinOp::And | BinOp::Or | BinOp::Nullish))
                && matches!(b, Binding::Opaque);
            if lid == k.member_expression {
                let on_this = self
                    .field(l, k.f_object)
                    .is_some_and(|o| self.strip(o).kind_id() == k.this);
                if on_this && let Some(p) = self.field(l, k.f_property) {
                    let name = self.text(p);
                    self.record_field(name, &b);
                }
            } else if !keeps && lid != k.subscript_expression {
                self.bind_pattern(l, b, Decl::Assign);
            }
        }
        let targets = match left {
            Some(l) => vec![self.lower_pattern(l)],
            None => Vec::new(),
        };
        self.add(
            Kind::Assign {
                targets,
                value,
                op,
                declared_type: None,
            },
            n,
        )
    }

    /// A binding or assignment target: names, `Object`/`Array` for
    /// destructuring, members and indexes as expressions.
    fn lower_pattern(&mut self, p: Node<'_>) -> NodeId {
        if self.depth >= MAX_DEPTH {
            return self.add(Kind::Other(Vec::new()), p);
        }
        self.depth += 1;
        let id = self.lower_pattern_inner(p);
        self.depth -= 1;
        id
    }

    fn lower_pattern_inner(&mut self, p: Node<'_>) -> NodeId {
        let k = self.k;
        let id = p.kind_id();
        if id == k.identifier || id == k.shorthand_property_identifier_pattern {
            self.lower_name(p)
        } else if id == k.object_pattern {
            let mut entries = Vec::new();
            for c in self.named_children(p) {
                let cid = c.kind_id();
                let entry = if cid == k.pair_pattern {
                    let key = self.field(c, k.f_key).and_then(|x| self.prop_key(x));
                    let value = match self.field(c, k.f_value) {
                        Some(v) => self.lower_pattern(v),
                        None => self.add(Kind::Other(Vec::new()), c),
                    };
                    Entry {
                        key,
                        value,
                        spread: false,
                    }
                } else if cid == k.shorthand_property_identifier_pattern {
                    Entry {
                        key: Some(self.text(c).to_string()),
                        value: self.lower_name(c),
                        spread: false,
                    }
                } else if cid == k.object_assignment_pattern {
                    let left = self.field(c, k.f_left);
                    let key = left
                        .filter(|l| l.kind_id() == k.shorthand_property_identifier_pattern)
                        .map(|l| self.text(l).to_string());
                    Entry {
                        key,
                        value: self.lower_pattern(c),
                        spread: false,
                    }
                } else if cid == k.rest_pattern {
                    let value = match self.first_named(c) {
                        Some(x) => self.lower_pattern(x),
                        None => self.add(Kind::Other(Vec::new()), c),
                    };
                    Entry {
                        key: None,
                        value,
                        spread: true,
                    }
                } else {
                    Entry {
                        key: None,
                        value: self.lower_pattern(c),
                        spread: false,
                    }
                };
                entries.push(entry);
            }
            self.add(
                Kind::Object {
                    type_name: None,
                    entries,
                },
                p,
            )
        } else if id == k.array_pattern {
            let items = self
                .named_children(p)
                .into_iter()
                .map(|c| self.lower_pattern(c))
                .collect();
            self.add(Kind::Array(items), p)
        } else if id == k.rest_pattern {
            match self.first_named(p) {
                Some(x) => {
                    let inner = self.lower_pattern(x);
                    self.add(Kind::Spread(inner), p)
                }
                None => self.add(Kind::Other(Vec::new()), p),
            }
        } else if id == k.assignment_pattern || id == k.object_assignment_pattern {
            // `x = default`: the target and its default.
            let left = match self.field(p, k.f_left) {
                Some(l) => self.lower_pattern(l),
                None => self.add(Kind::Other(Vec::new()), p),
            };
            let mut items = vec![left];
            if let Some(r) = self.field(p, k.f_right) {
                items.push(self.lower_expr(r));
            }
            self.add(Kind::Other(items), p)
        } else {
            self.lower_expr(p)
        }
    }

    fn lower_jsx(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut items = Vec::new();
        let mut elems = vec![];
        if n.kind_id() == k.jsx_element {
            if let Some(open) = self.field(n, k.f_open_tag) {
                elems.extend(self.named_children(open));
            }
            let close = self.field(n, k.f_close_tag);
            let open = self.field(n, k.f_open_tag);
            elems.extend(
                self.named_children(n)
                    .into_iter()
                    .filter(|c| Some(*c) != open && Some(*c) != close),
            );
        } else {
            elems.extend(self.named_children(n));
        }
        for c in elems {
            let id = c.kind_id();
            if id == k.jsx_attribute {
                // The first child is the attribute name; the value follows.
                for v in self.named_children(c).into_iter().skip(1) {
                    items.push(self.lower_expr(v));
                }
            } else if id == k.jsx_expression {
                if let Some(e) = self.first_named(c) {
                    items.push(self.lower_expr(e));
                }
            } else if id == k.jsx_element || id == k.jsx_self_closing_element {
                items.push(self.lower_expr(c));
            }
        }
        self.add(Kind::Other(items), n)
    }
}

/// The two shapes of a `using` declaration.
#[derive(Clone, Copy)]
enum UsingForm<'t> {
    /// JavaScript `using_declaration`.
    Decl(Node<'t>),
    /// TypeScript: an `assignment_expression` with a `using` token.
    Assign(Node<'t>),
}
