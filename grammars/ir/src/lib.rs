//! The faultline IR: one small, language-neutral representation that every
//! front-end lowers to and every rule reads.
//!
//! A [`Module`] is one source file. It owns an arena of [`Node`]s (statements
//! and expressions alike, addressed by [`NodeId`]) and a list of
//! [`Function`]s (index 0 is the module's top level). Every node carries a
//! byte [`Span`] into the original source.
//!
//! Name resolution happens in the front-ends: a name, attribute or call whose
//! meaning is known carries a [`Path`], the qualified chain it stands for after
//! import aliases and local bindings are followed. `import requests as rq;
//! s = rq.Session(); s.post(u)` gives the `s.post(u)` call the path
//! `requests.Session().post()`, and each called segment points back at the
//! call node that made it (so a rule can read the arguments of
//! `Session(...)`).
//!
//! ```
//! use faultline_ir::{Path, Segment};
//! let p = Path::parse("requests.Session().post()");
//! assert_eq!(p.segments.len(), 3);
//! assert!(p.segments[1].called);
//! assert_eq!(p.to_string(), "requests.Session().post()");
//! ```
#![deny(missing_docs)]

use std::fmt;

pub use compact_str::CompactString;

/// Bumped whenever the shape of the IR changes.
pub const IR_VERSION: u32 = 2;

/// A half-open byte range `[start, end)` in the source file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from byte offsets.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            end: u32::try_from(end).unwrap_or(u32::MAX),
        }
    }
    /// Whether `other` lies within `self`.
    pub fn contains(&self, other: Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }
}

/// Source language of a module. Mirrors `faultline_grammars::Lang` without
/// depending on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// Python (`.py`, `.pyi`).
    Python,
    /// TypeScript (`.ts`, `.mts`, `.cts`).
    TypeScript,
    /// TypeScript with JSX (`.tsx`).
    Tsx,
    /// JavaScript, with JSX (`.js`, `.jsx`, `.mjs`, `.cjs`).
    JavaScript,
    /// Rust (`.rs`).
    Rust,
}

impl Language {
    /// Whether this is one of the JavaScript-family languages.
    pub fn is_js_family(self) -> bool {
        matches!(
            self,
            Language::TypeScript | Language::Tsx | Language::JavaScript
        )
    }
    /// Short lowercase name used in models and reports: `python`, `typescript`, `rust`.
    /// TSX and JavaScript share the `typescript` models.
    pub fn model_name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::TypeScript | Language::Tsx | Language::JavaScript => "typescript",
            Language::Rust => "rust",
        }
    }
}

/// Index of a node in [`Module::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// Index of a function in [`Module::functions`]. `FuncId(0)` is the module's
/// top level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FuncId(pub u32);

/// One segment of a resolved [`Path`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    /// The identifier (`requests`, `Session`, `post`, `reqwest`, `Client`…),
    /// kept inline when short: paths are cloned and extended at every
    /// member access and call, and most names are short.
    pub name: CompactString,
    /// Whether this segment was called (`Session()` rather than `Session`).
    pub called: bool,
    /// The call node that called this segment, when it exists in this file.
    pub call: Option<NodeId>,
}

/// A resolved, qualified chain: `requests.Session().post()`,
/// `reqwest::Client::builder().timeout().build().get().send()`.
///
/// Module separators (`.` in Python and JS, `::` in Rust) and member access
/// are both segment boundaries; language-specific wrappers that keep the
/// value's meaning (`await`, Rust `?`, `.unwrap()`) are not segments.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Path {
    /// The segments, outermost first.
    pub segments: Vec<Segment>,
}

impl Path {
    /// Parses the textual form used in models and tests:
    /// `a.b().c`, `a::b::c()`. Never fails; empty names are dropped.
    pub fn parse(text: &str) -> Path {
        let normalized = if text.contains("::") {
            std::borrow::Cow::Owned(text.replace("::", "."))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        let segments = normalized
            .split('.')
            .filter(|s| !s.is_empty())
            .map(|s| {
                let called = s.ends_with("()");
                Segment {
                    name: s.trim_end_matches("()").into(),
                    called,
                    call: None,
                }
            })
            .collect();
        Path { segments }
    }
    /// The last segment's name, if any.
    pub fn last_name(&self) -> Option<&str> {
        self.segments.last().map(|s| s.name.as_str())
    }
    /// The first segment's name, if any.
    pub fn root(&self) -> Option<&str> {
        self.segments.first().map(|s| s.name.as_str())
    }
    /// Appends a segment.
    pub fn push(&mut self, name: impl Into<CompactString>, called: bool, call: Option<NodeId>) {
        self.segments.push(Segment {
            name: name.into(),
            called,
            call,
        });
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.segments.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&s.name)?;
            if s.called {
                f.write_str("()")?;
            }
        }
        Ok(())
    }
}

/// How an argument is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Spread {
    /// A plain argument.
    #[default]
    None,
    /// `*args` (Python) or `...args` (JS): unknown positional arguments.
    Positional,
    /// `**kwargs` (Python): unknown named arguments.
    Keyword,
}

/// One argument of a call.
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    /// The keyword for named arguments (`timeout=5` → `timeout`).
    pub name: Option<String>,
    /// The argument's value.
    pub value: NodeId,
    /// Whether this argument spreads a collection.
    pub spread: Spread,
}

/// One entry of an object, dict or struct literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The key when it is a plain identifier or string (`{timeout: 5}`,
    /// `{"timeout": 5}`, `Config { timeout: 5 }`); `None` for computed keys
    /// and spreads.
    pub key: Option<String>,
    /// The value (for shorthand `{ timeout }`, a `Name` node).
    pub value: NodeId,
    /// `...rest` / `**rest` / `..Default::default()`: unknown further entries.
    pub spread: bool,
}

/// An exception handler of a [`Kind::Try`] (Python `except`, JS `catch`).
#[derive(Clone, Debug, PartialEq)]
pub struct Handler {
    /// The exception types it catches; empty for a bare `except:` / `catch`.
    pub types: Vec<NodeId>,
    /// The name the exception is bound to (`except E as e`, `catch (e)`).
    pub binding: Option<String>,
    /// The handler's body, a [`Kind::Block`].
    pub body: NodeId,
    /// The whole handler clause, from `except`/`catch` to the end of its body.
    pub span: Span,
}

/// One item of a [`Kind::With`] (`with a() as b`, `using x = ...`).
#[derive(Clone, Debug, PartialEq)]
pub struct WithItem {
    /// The context manager expression.
    pub context: NodeId,
    /// What it is bound to, if anything.
    pub target: Option<NodeId>,
}

/// One arm of a [`Kind::Match`] (Rust `match`, Python `match`, JS `switch`).
#[derive(Clone, Debug, PartialEq)]
pub struct Arm {
    /// The pattern, lowered as an expression (`Ok(v)` is a call of `Ok`,
    /// `_` a name); `None` for `default:`.
    pub pattern: Option<NodeId>,
    /// The guard (`if cond`), if any.
    pub guard: Option<NodeId>,
    /// The body: a block or, in Rust, any expression.
    pub body: NodeId,
}

/// What kind of loop a [`Kind::Loop`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LoopKind {
    /// `for x in xs`, `for (const x of xs)`, `for x in xs {}`.
    ForEach,
    /// C-style `for (init; cond; step)`.
    ForClassic,
    /// `while cond`, Rust `while let`.
    While,
    /// `do { } while (cond)`.
    DoWhile,
    /// Rust `loop {}`.
    Infinite,
}

/// Binary operators, unified across languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`, `//`
    Div,
    /// `%`
    Mod,
    /// `==`, `===`
    Eq,
    /// `!=`, `!==`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtE,
    /// `>`
    Gt,
    /// `>=`
    GtE,
    /// `and`, `&&`
    And,
    /// `or`, `||`
    Or,
    /// `??`
    Nullish,
    /// `in`
    In,
    /// `not in`
    NotIn,
    /// `is`
    Is,
    /// `is not`
    IsNot,
    /// `instanceof`
    InstanceOf,
    /// Anything else (bitwise, shifts, power, `@`…).
    Other,
}

impl BinOp {
    /// Whether the operator compares its operands.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq
                | BinOp::NotEq
                | BinOp::Lt
                | BinOp::LtE
                | BinOp::Gt
                | BinOp::GtE
                | BinOp::In
                | BinOp::NotIn
                | BinOp::Is
                | BinOp::IsNot
        )
    }
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// `not`, `!`
    Not,
    /// `-`
    Neg,
    /// JS `void`.
    Void,
    /// JS `typeof`.
    TypeOf,
    /// Rust `*` (deref).
    Deref,
    /// Rust `&`, `&mut`.
    Ref,
    /// Anything else (`~`, `+`, `delete`).
    Other,
}

/// What a node is. Statements and expressions share one arena; in Rust,
/// block-like statements (`If`, `Match`, `Block`, `Loop`) also appear in
/// expression position.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    // ---- statements ----
    /// A sequence of statements. A Rust block's tail expression is its last
    /// statement, wrapped in [`Kind::ExprStmt`] with `value: true`.
    Block(Vec<NodeId>),
    /// An expression evaluated as a statement.
    ExprStmt {
        /// The expression.
        expr: NodeId,
        /// Rust: this is the block's tail expression, so its value is used.
        value: bool,
    },
    /// `x = v`, `a = b = v`, `const {a, b} = v`, `let x: T = v`, `x += v`.
    /// Targets are lowered as expressions (names, attributes, indexes,
    /// `Object`/`Array` for destructuring).
    Assign {
        /// What is assigned to.
        targets: Vec<NodeId>,
        /// The value (`None` for a bare declaration such as `let x;`).
        value: Option<NodeId>,
        /// `Some(op)` for augmented assignment (`x += 1` → `Add`).
        op: Option<BinOp>,
        /// The declared type, as source text (`let r: Response = …`).
        declared_type: Option<String>,
    },
    /// `if cond { then } else { els }`; `elif` chains nest in `els`.
    If {
        /// The condition (a [`Kind::Let`] for Rust `if let`).
        cond: NodeId,
        /// The then-branch.
        then: NodeId,
        /// The else-branch, if any.
        els: Option<NodeId>,
    },
    /// Any loop.
    Loop {
        /// Which loop.
        kind: LoopKind,
        /// The loop variable pattern of a for-each loop.
        target: Option<NodeId>,
        /// The iterable of a for-each loop, or the condition of a while loop.
        iter: Option<NodeId>,
        /// The body.
        body: NodeId,
        /// Python's `else:` clause.
        orelse: Option<NodeId>,
    },
    /// `try`/`except`/`else`/`finally`, `try`/`catch`/`finally`.
    Try {
        /// The protected body.
        body: NodeId,
        /// The handlers, in order.
        handlers: Vec<Handler>,
        /// Python `else:`.
        orelse: Option<NodeId>,
        /// `finally`.
        finally: Option<NodeId>,
    },
    /// `with a as b:`, `async with`, JS `using`.
    With {
        /// The context managers.
        items: Vec<WithItem>,
        /// The body.
        body: NodeId,
        /// `async with`.
        is_async: bool,
    },
    /// Rust `match`, Python `match`, JS `switch`.
    Match {
        /// The value matched on.
        subject: NodeId,
        /// The arms, in order.
        arms: Vec<Arm>,
    },
    /// `return v`.
    Return(Option<NodeId>),
    /// `raise e` / `throw e`.
    Throw(Option<NodeId>),
    /// `break`.
    Break,
    /// `continue`.
    Continue,
    /// `pass`, `;`, an empty statement.
    Pass,
    /// A nested function definition.
    FuncDef(FuncId),
    /// A class (Python, JS) or impl block (Rust; `name` is the type).
    Class {
        /// The class name.
        name: String,
        /// Base classes / implemented trait, as expressions.
        bases: Vec<NodeId>,
        /// The body, a [`Kind::Block`] of methods and fields.
        body: NodeId,
    },

    // ---- expressions ----
    /// An identifier.
    Name(CompactString),
    /// `object.name` (also `object?.name`, Rust field access).
    Attr {
        /// The object.
        object: NodeId,
        /// The member name.
        name: CompactString,
    },
    /// `object[index]`.
    Index {
        /// The object.
        object: NodeId,
        /// The index.
        index: NodeId,
    },
    /// A call. Method calls have an [`Kind::Attr`] callee.
    Call {
        /// What is called.
        callee: NodeId,
        /// The arguments, in order.
        args: Vec<Arg>,
        /// Explicit type arguments as source text (`json::<User>()` → `User`,
        /// `get<Foo>()` → `Foo`).
        type_args: Vec<String>,
    },
    /// `new C(...)` (JS). Lowered like a call of `C`.
    New {
        /// The constructor.
        callee: NodeId,
        /// The arguments.
        args: Vec<Arg>,
    },
    /// `await e`, `e.await`.
    Await(NodeId),
    /// Rust `e?`.
    Question(NodeId),
    /// A string literal's contents (escapes decoded where simple).
    Str(String),
    /// An interpolated string: f-strings, template literals, `format!`.
    /// Literal pieces are [`Kind::Str`] parts.
    Template(Vec<NodeId>),
    /// A number literal, as written.
    Num(String),
    /// `True`/`true`, `False`/`false`.
    Bool(bool),
    /// `None`, `null`, `undefined`.
    Null,
    /// Dicts, JS objects, Rust struct literals.
    Object {
        /// Rust: the struct name; otherwise `None`.
        type_name: Option<String>,
        /// The entries.
        entries: Vec<Entry>,
    },
    /// Lists, tuples, arrays, sets.
    Array(Vec<NodeId>),
    /// A binary operation (also comparisons and boolean operators).
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        lhs: NodeId,
        /// Right operand.
        rhs: NodeId,
    },
    /// A unary operation.
    Unary {
        /// The operator.
        op: UnOp,
        /// The operand.
        operand: NodeId,
    },
    /// `a if c else b`, `c ? a : b`.
    Cond {
        /// The condition.
        cond: NodeId,
        /// Value when true.
        then: NodeId,
        /// Value when false.
        els: NodeId,
    },
    /// A lambda, arrow function, closure or function expression.
    Lambda(FuncId),
    /// A Rust macro invocation; `args` are its token trees re-parsed as
    /// expressions where they parse.
    Macro {
        /// The macro name without `!` (`format`, `tokio::join`).
        name: String,
        /// The arguments that parsed as expressions.
        args: Vec<NodeId>,
    },
    /// Rust `let PATTERN = value` used as a condition (`if let`, `while let`),
    /// Python's walrus `(x := v)` (pattern is the name).
    Let {
        /// The pattern.
        pattern: NodeId,
        /// The value.
        value: NodeId,
    },
    /// A spread in a list or array: `*xs`, `...xs`.
    Spread(NodeId),
    /// Anything else; its lowered children are kept so nothing inside is lost.
    Other(Vec<NodeId>),
}

/// One IR node.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Where it is.
    pub span: Span,
    /// The resolved qualified path, for names, attributes, calls and `new`
    /// whose meaning the front-end could resolve.
    pub path: Option<Path>,
}

/// A function parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name (`self` included; destructured parameters get their source text).
    pub name: String,
    /// Its type annotation as source text.
    pub annotation: Option<String>,
    /// Its default value.
    pub default: Option<NodeId>,
    /// Where it is.
    pub span: Span,
}

/// What sort of function a [`Function`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FuncKind {
    /// The module's top level (always `FuncId(0)`).
    Module,
    /// A free function.
    Function,
    /// A method of a class or impl block.
    Method,
    /// A lambda, arrow function, closure or function expression.
    Lambda,
}

/// A function, method, lambda or the module's top level.
#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    /// Its name (`<module>` for the top level, `<lambda>` for anonymous ones,
    /// or the variable it is assigned to: `const f = async () => …` is `f`).
    pub name: String,
    /// What sort of function it is.
    pub kind: FuncKind,
    /// The whole definition.
    pub span: Span,
    /// `async def`, `async function`, `async fn`, async closures.
    pub is_async: bool,
    /// Decorators (Python), as expressions.
    pub decorators: Vec<NodeId>,
    /// Outer attributes (Rust), as source text without `#[` `]`:
    /// `test`, `tokio::main`, `cfg(test)`.
    pub attributes: Vec<String>,
    /// Parameters.
    pub params: Vec<Param>,
    /// Declared return type, as source text.
    pub return_type: Option<String>,
    /// The body: a [`Kind::Block`], or an expression for expression-bodied
    /// lambdas.
    pub body: NodeId,
    /// The class / impl type it belongs to, for methods.
    pub class: Option<String>,
    /// The enclosing function (`None` only for the top level).
    pub parent: Option<FuncId>,
    /// Test code: `#[test]`, inside `#[cfg(test)]`, `test_*` functions,
    /// `describe`/`it` callbacks. Set by the front-end; the engine also marks
    /// whole test files.
    pub is_test: bool,
    /// A request handler of a known web framework (a Flask/FastAPI route,
    /// an Express/Koa/Nest handler, an axum/actix/rocket handler). Set by the
    /// rules' request-context pass from the framework models, after
    /// lowering; front-ends leave it `false`.
    pub is_handler: bool,
}

/// An import binding: `import requests as rq` binds `rq` to `requests`.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// The local name it binds.
    pub local: String,
    /// What it stands for, fully qualified.
    pub target: Path,
    /// Where the import is.
    pub span: Span,
}

/// A source comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// Where it is.
    pub span: Span,
    /// Its text with the comment markers (`#`, `//`, `/* */`) removed and
    /// trimmed.
    pub text: String,
}

/// One lowered source file.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The source language.
    pub language: Language,
    /// The node arena.
    pub nodes: Vec<Node>,
    /// Functions; index 0 is the top level.
    pub functions: Vec<Function>,
    /// Import bindings.
    pub imports: Vec<Import>,
    /// Comments, in source order.
    pub comments: Vec<Comment>,
    /// Spans where the parser found a syntax error (the rest was analyzed).
    pub syntax_errors: Vec<Span>,
    /// Parent of each node (filled by [`Module::link`]).
    pub parents: Vec<Option<NodeId>>,
    /// Innermost enclosing function of each node (filled by [`Module::link`]).
    pub owners: Vec<FuncId>,
}

impl Module {
    /// An empty module whose top-level function has an empty body.
    pub fn new(language: Language) -> Module {
        let mut m = Module {
            language,
            nodes: Vec::new(),
            functions: Vec::new(),
            imports: Vec::new(),
            comments: Vec::new(),
            syntax_errors: Vec::new(),
            parents: Vec::new(),
            owners: Vec::new(),
        };
        let body = m.add(Kind::Block(Vec::new()), Span::default());
        m.functions.push(Function {
            name: "<module>".to_string(),
            kind: FuncKind::Module,
            span: Span::default(),
            is_async: false,
            decorators: Vec::new(),
            attributes: Vec::new(),
            params: Vec::new(),
            return_type: None,
            body,
            class: None,
            parent: None,
            is_test: false,
            is_handler: false,
        });
        m
    }

    /// Adds a node and returns its id.
    pub fn add(&mut self, kind: Kind, span: Span) -> NodeId {
        let id = NodeId(u32::try_from(self.nodes.len()).unwrap_or(u32::MAX));
        self.nodes.push(Node {
            kind,
            span,
            path: None,
        });
        id
    }

    /// Adds a function and returns its id.
    pub fn add_function(&mut self, f: Function) -> FuncId {
        let id = FuncId(u32::try_from(self.functions.len()).unwrap_or(u32::MAX));
        self.functions.push(f);
        id
    }

    /// The node with this id.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// The node's kind.
    pub fn kind(&self, id: NodeId) -> &Kind {
        &self.nodes[id.0 as usize].kind
    }

    /// The node's resolved path, if any.
    pub fn path(&self, id: NodeId) -> Option<&Path> {
        self.nodes[id.0 as usize].path.as_ref()
    }

    /// The function with this id.
    pub fn function(&self, id: FuncId) -> &Function {
        &self.functions[id.0 as usize]
    }

    /// The node's parent (after [`Module::link`]).
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.parents.get(id.0 as usize).copied().flatten()
    }

    /// The innermost function containing the node (after [`Module::link`]).
    pub fn owner(&self, id: NodeId) -> FuncId {
        self.owners.get(id.0 as usize).copied().unwrap_or(FuncId(0))
    }

    /// Iterates over the ancestors of a node, innermost first, stopping at
    /// function boundaries.
    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        std::iter::successors(self.parent(id), move |&p| self.parent(p))
    }

    /// The direct children of a node, in source order. Function bodies are
    /// not children of their `FuncDef`/`Lambda` node: walk
    /// [`Module::functions`] for them.
    pub fn children(&self, id: NodeId) -> Vec<NodeId> {
        let mut out = Vec::new();
        self.children_into(id, &mut out);
        out
    }

    /// Appends the direct children of a node to `out` (no allocation when
    /// `out` has room); see [`Module::children`].
    pub fn children_into(&self, id: NodeId, out: &mut Vec<NodeId>) {
        let o = |x: &Option<NodeId>, out: &mut Vec<NodeId>| {
            if let Some(x) = x {
                out.push(*x)
            }
        };
        match self.kind(id) {
            Kind::Block(v) | Kind::Array(v) | Kind::Other(v) | Kind::Template(v) => {
                out.extend(v.iter().copied())
            }
            Kind::ExprStmt { expr, .. } => out.push(*expr),
            Kind::Assign { targets, value, .. } => {
                out.extend(targets.iter().copied());
                o(value, out);
            }
            Kind::If { cond, then, els } => {
                out.push(*cond);
                out.push(*then);
                o(els, out);
            }
            Kind::Loop {
                target,
                iter,
                body,
                orelse,
                ..
            } => {
                o(target, out);
                o(iter, out);
                out.push(*body);
                o(orelse, out);
            }
            Kind::Try {
                body,
                handlers,
                orelse,
                finally,
            } => {
                out.push(*body);
                for h in handlers {
                    out.extend(h.types.iter().copied());
                    out.push(h.body);
                }
                o(orelse, out);
                o(finally, out);
            }
            Kind::With { items, body, .. } => {
                for i in items {
                    out.push(i.context);
                    o(&i.target, out);
                }
                out.push(*body);
            }
            Kind::Match { subject, arms } => {
                out.push(*subject);
                for a in arms {
                    o(&a.pattern, out);
                    o(&a.guard, out);
                    out.push(a.body);
                }
            }
            Kind::Return(v) | Kind::Throw(v) => o(v, out),
            Kind::Class { bases, body, .. } => {
                out.extend(bases.iter().copied());
                out.push(*body);
            }
            Kind::Attr { object, .. } => out.push(*object),
            Kind::Index { object, index } => {
                out.push(*object);
                out.push(*index);
            }
            Kind::Call { callee, args, .. } | Kind::New { callee, args } => {
                out.push(*callee);
                out.extend(args.iter().map(|a| a.value));
            }
            Kind::Await(e) | Kind::Question(e) | Kind::Spread(e) => out.push(*e),
            Kind::Object { entries, .. } => out.extend(entries.iter().map(|e| e.value)),
            Kind::Binary { lhs, rhs, .. } => {
                out.push(*lhs);
                out.push(*rhs);
            }
            Kind::Unary { operand, .. } => out.push(*operand),
            Kind::Cond { cond, then, els } => {
                out.push(*cond);
                out.push(*then);
                out.push(*els);
            }
            Kind::Macro { args, .. } => out.extend(args.iter().copied()),
            Kind::Let { pattern, value } => {
                out.push(*pattern);
                out.push(*value);
            }
            Kind::Break
            | Kind::Continue
            | Kind::Pass
            | Kind::FuncDef(_)
            | Kind::Lambda(_)
            | Kind::Name(_)
            | Kind::Str(_)
            | Kind::Num(_)
            | Kind::Bool(_)
            | Kind::Null => {}
        }
    }

    /// Calls `f` on `id` and every node below it (pre-order), without
    /// entering nested functions.
    pub fn walk(&self, id: NodeId, f: &mut dyn FnMut(NodeId)) {
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            f(n);
            let at = stack.len();
            self.children_into(n, &mut stack);
            stack[at..].reverse();
        }
    }

    /// All nodes below `id` (inclusive), pre-order, not entering nested
    /// functions.
    pub fn descendants(&self, id: NodeId) -> Vec<NodeId> {
        let mut v = Vec::new();
        self.walk(id, &mut |n| v.push(n));
        v
    }

    /// Fills [`Module::parents`] and [`Module::owners`]. Front-ends call this
    /// once lowering is complete.
    pub fn link(&mut self) {
        let n = self.nodes.len();
        self.parents = vec![None; n];
        self.owners = vec![FuncId(0); n];
        for fi in 0..self.functions.len() {
            let fid = FuncId(u32::try_from(fi).unwrap_or(u32::MAX));
            let mut roots = vec![self.functions[fi].body];
            roots.extend(self.functions[fi].decorators.iter().copied());
            roots.extend(self.functions[fi].params.iter().filter_map(|p| p.default));
            for root in roots {
                let mut stack = vec![root];
                let mut kids = Vec::new();
                while let Some(x) = stack.pop() {
                    if let Some(slot) = self.owners.get_mut(x.0 as usize) {
                        *slot = fid;
                    }
                    kids.clear();
                    self.children_into(x, &mut kids);
                    for &c in &kids {
                        if let Some(slot) = self.parents.get_mut(c.0 as usize) {
                            *slot = Some(x);
                        }
                        stack.push(c);
                    }
                }
            }
        }
    }

    /// Renders a node as a compact s-expression, for lowering tests:
    /// `(call (attr (name requests) get) (str "u") timeout=(num 5))`.
    pub fn sexp(&self, id: NodeId) -> String {
        let mut s = String::new();
        self.write_sexp(id, &mut s);
        s
    }

    fn write_sexp(&self, id: NodeId, s: &mut String) {
        use std::fmt::Write;
        let list = |this: &Module, s: &mut String, head: &str, items: &[NodeId]| {
            s.push('(');
            s.push_str(head);
            for i in items {
                s.push(' ');
                this.write_sexp(*i, s);
            }
            s.push(')');
        };
        let opt = |this: &Module, s: &mut String, x: &Option<NodeId>| match x {
            Some(x) => this.write_sexp(*x, s),
            None => s.push('_'),
        };
        match self.kind(id) {
            Kind::Block(v) => list(self, s, "block", v),
            Kind::Array(v) => list(self, s, "array", v),
            Kind::Other(v) => list(self, s, "other", v),
            Kind::Template(v) => list(self, s, "template", v),
            Kind::ExprStmt { expr, value } => {
                s.push_str(if *value { "(tail " } else { "(expr " });
                self.write_sexp(*expr, s);
                s.push(')');
            }
            Kind::Assign {
                targets,
                value,
                op,
                declared_type,
            } => {
                s.push_str("(assign");
                if let Some(op) = op {
                    let _ = write!(s, "[{op:?}]");
                }
                if let Some(t) = declared_type {
                    let _ = write!(s, ":{t}");
                }
                for t in targets {
                    s.push(' ');
                    self.write_sexp(*t, s);
                }
                s.push(' ');
                opt(self, s, value);
                s.push(')');
            }
            Kind::If { cond, then, els } => {
                s.push_str("(if ");
                self.write_sexp(*cond, s);
                s.push(' ');
                self.write_sexp(*then, s);
                if els.is_some() {
                    s.push(' ');
                    opt(self, s, els);
                }
                s.push(')');
            }
            Kind::Loop {
                kind,
                target,
                iter,
                body,
                ..
            } => {
                let _ = write!(s, "(loop[{kind:?}] ");
                opt(self, s, target);
                s.push(' ');
                opt(self, s, iter);
                s.push(' ');
                self.write_sexp(*body, s);
                s.push(')');
            }
            Kind::Try {
                body,
                handlers,
                finally,
                ..
            } => {
                s.push_str("(try ");
                self.write_sexp(*body, s);
                for h in handlers {
                    s.push_str(" (catch");
                    for t in &h.types {
                        s.push(' ');
                        self.write_sexp(*t, s);
                    }
                    if let Some(b) = &h.binding {
                        let _ = write!(s, " as {b}");
                    }
                    s.push(' ');
                    self.write_sexp(h.body, s);
                    s.push(')');
                }
                if let Some(f) = finally {
                    s.push_str(" (finally ");
                    self.write_sexp(*f, s);
                    s.push(')');
                }
                s.push(')');
            }
            Kind::With { items, body, .. } => {
                s.push_str("(with");
                for i in items {
                    s.push(' ');
                    self.write_sexp(i.context, s);
                    if let Some(t) = i.target {
                        s.push_str(" as ");
                        self.write_sexp(t, s);
                    }
                }
                s.push(' ');
                self.write_sexp(*body, s);
                s.push(')');
            }
            Kind::Match { subject, arms } => {
                s.push_str("(match ");
                self.write_sexp(*subject, s);
                for a in arms {
                    s.push_str(" (arm ");
                    opt(self, s, &a.pattern);
                    s.push(' ');
                    self.write_sexp(a.body, s);
                    s.push(')');
                }
                s.push(')');
            }
            Kind::Return(v) => {
                s.push_str("(return ");
                opt(self, s, v);
                s.push(')');
            }
            Kind::Throw(v) => {
                s.push_str("(throw ");
                opt(self, s, v);
                s.push(')');
            }
            Kind::Break => s.push_str("(break)"),
            Kind::Continue => s.push_str("(continue)"),
            Kind::Pass => s.push_str("(pass)"),
            Kind::FuncDef(f) => {
                let _ = write!(s, "(def {})", self.function(*f).name);
            }
            Kind::Lambda(f) => {
                let _ = write!(s, "(lambda {})", self.function(*f).name);
            }
            Kind::Class { name, body, .. } => {
                let _ = write!(s, "(class {name} ");
                self.write_sexp(*body, s);
                s.push(')');
            }
            Kind::Name(n) => {
                let _ = write!(s, "(name {n})");
            }
            Kind::Attr { object, name } => {
                s.push_str("(attr ");
                self.write_sexp(*object, s);
                let _ = write!(s, " {name})");
            }
            Kind::Index { object, index } => {
                s.push_str("(index ");
                self.write_sexp(*object, s);
                s.push(' ');
                self.write_sexp(*index, s);
                s.push(')');
            }
            Kind::Call {
                callee,
                args,
                type_args,
            } => {
                s.push_str("(call ");
                self.write_sexp(*callee, s);
                for t in type_args {
                    let _ = write!(s, " <{t}>");
                }
                self.write_args(args, s);
                s.push(')');
            }
            Kind::New { callee, args } => {
                s.push_str("(new ");
                self.write_sexp(*callee, s);
                self.write_args(args, s);
                s.push(')');
            }
            Kind::Await(e) => {
                s.push_str("(await ");
                self.write_sexp(*e, s);
                s.push(')');
            }
            Kind::Question(e) => {
                s.push_str("(? ");
                self.write_sexp(*e, s);
                s.push(')');
            }
            Kind::Spread(e) => {
                s.push_str("(spread ");
                self.write_sexp(*e, s);
                s.push(')');
            }
            Kind::Str(v) => {
                let _ = write!(s, "(str {v:?})");
            }
            Kind::Num(v) => {
                let _ = write!(s, "(num {v})");
            }
            Kind::Bool(b) => {
                let _ = write!(s, "(bool {b})");
            }
            Kind::Null => s.push_str("(null)"),
            Kind::Object { type_name, entries } => {
                s.push_str("(object");
                if let Some(t) = type_name {
                    let _ = write!(s, " {t}");
                }
                for e in entries {
                    s.push(' ');
                    if e.spread {
                        s.push_str("..");
                    } else if let Some(k) = &e.key {
                        let _ = write!(s, "{k}=");
                    }
                    self.write_sexp(e.value, s);
                }
                s.push(')');
            }
            Kind::Binary { op, lhs, rhs } => {
                let _ = write!(s, "({op:?} ");
                self.write_sexp(*lhs, s);
                s.push(' ');
                self.write_sexp(*rhs, s);
                s.push(')');
            }
            Kind::Unary { op, operand } => {
                let _ = write!(s, "({op:?} ");
                self.write_sexp(*operand, s);
                s.push(')');
            }
            Kind::Cond { cond, then, els } => list(self, s, "cond", &[*cond, *then, *els]),
            Kind::Macro { name, args } => {
                let _ = write!(s, "(macro {name}");
                for a in args {
                    s.push(' ');
                    self.write_sexp(*a, s);
                }
                s.push(')');
            }
            Kind::Let { pattern, value } => list(self, s, "let", &[*pattern, *value]),
        }
    }

    fn write_args(&self, args: &[Arg], s: &mut String) {
        for a in args {
            s.push(' ');
            match a.spread {
                Spread::Positional => s.push('*'),
                Spread::Keyword => s.push_str("**"),
                Spread::None => {}
            }
            if let Some(n) = &a.name {
                s.push_str(n);
                s.push('=');
            }
            self.write_sexp(a.value, s);
        }
    }
}

/// Maps byte offsets to 1-based line and column numbers.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    /// Indexes a source text.
    pub fn new(src: &str) -> LineIndex {
        // Lines are short: a vectorized search that reports every newline
        // of a block at once beats restarting a search after each one.
        let starts = std::iter::once(0)
            .chain(
                memchr::memchr_iter(b'\n', src.as_bytes())
                    .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX)),
            )
            .collect();
        LineIndex { starts }
    }
    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: u32) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
    /// The byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> u32 {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or_else(|| self.starts.last().copied().unwrap_or(0))
    }
    /// Number of lines.
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parse_and_display_round_trip() {
        let p = Path::parse("reqwest::Client::builder().timeout().build()");
        assert_eq!(p.to_string(), "reqwest.Client.builder().timeout().build()");
        assert_eq!(p.last_name(), Some("build"));
    }

    #[test]
    fn link_sets_parents_and_owners() {
        let mut m = Module::new(Language::Python);
        let callee = m.add(Kind::Name("f".into()), Span::new(0, 1));
        let call = m.add(
            Kind::Call {
                callee,
                args: vec![],
                type_args: vec![],
            },
            Span::new(0, 3),
        );
        let stmt = m.add(
            Kind::ExprStmt {
                expr: call,
                value: false,
            },
            Span::new(0, 3),
        );
        let body = m.functions[0].body;
        m.nodes[body.0 as usize].kind = Kind::Block(vec![stmt]);
        m.link();
        assert_eq!(m.parent(callee), Some(call));
        assert_eq!(
            m.ancestors(callee).collect::<Vec<_>>(),
            vec![call, stmt, body]
        );
        assert_eq!(m.sexp(body), "(block (expr (call (name f))))");
    }

    #[test]
    fn line_index_maps_offsets() {
        let li = LineIndex::new("a\nbc\n\nd");
        assert_eq!(li.line(0), 1);
        assert_eq!(li.line(2), 2);
        assert_eq!(li.line(5), 3);
        assert_eq!(li.line(6), 4);
        assert_eq!(li.line_start(4), 6);
    }
}
