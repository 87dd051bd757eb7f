//! CST → IR lowering with name resolution (see ARCHITECTURE.md, "Resolved
//! paths: the front-end contract").
//!
//! Scopes are a stack of [`Frame`]s. Item frames (the file, `mod` bodies)
//! and every block index their items on entry, so `use` declarations apply to
//! the whole block and functions or statics used above their definition are
//! lowered on demand ([`Lowerer::force`]) in their own scope. Lowering is
//! bounded: expressions nested deeper than [`MAX_DEPTH`] become empty
//! `Other` nodes, and method chains and operator chains are lowered
//! iteratively so long builder chains do not count against the limit.

use foldhash::{HashMap, HashMapExt};
use std::rc::Rc;

use faultline_ir::{
    Arg, Arm, BinOp, Comment, Entry, FuncId, FuncKind, Function, Import, Kind, Language, LoopKind,
    Module, NodeId, Param, Path, Span, Spread, UnOp,
};
use tree_sitter::{Node, Tree};

use super::{Kinds, kinds};

/// How deep expressions and statements may nest before the rest of the
/// subtree is replaced by an empty `Other` node.
pub(super) const MAX_DEPTH: u32 = 192;

/// Paths longer than this are dropped (keeps pathological chains linear).
const MAX_PATH_SEGMENTS: usize = 48;

/// Methods whose result keeps the receiver's meaning: looked through when
/// building paths and bindings.
const TRANSPARENT_METHODS: &[&str] = &["unwrap", "expect", "clone"];

/// Generic types stripped from annotations: `Arc<Client>` stands for a client.
const TYPE_WRAPPERS: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Option",
    "Lazy",
    "LazyLock",
    "LazyCell",
    "OnceLock",
    "OnceCell",
    "State",
    "Extension",
    "Data",
];

/// Constructors whose result stands for their first argument.
const WRAPPING_CONSTRUCTORS: &[&str] = &["Arc", "Rc", "Box"];

/// Methods whose closure argument receives the receiver's value.
const CALLBACK_METHODS: &[&str] = &["map", "and_then", "then", "inspect", "map_ok"];

/// Lowers a parsed Rust file.
pub(super) fn lower(tree: &Tree, src: &str, test_code: bool) -> Module {
    let root = tree.root_node();
    let mut l = Lowerer::new(root, src);
    l.m.nodes.reserve(crate::util::node_capacity(root));
    l.skip_tests = !test_code;
    l.collect_comments(root);
    l.index_attrs(root);
    l.m.syntax_errors = crate::util::error_spans(root);
    let stmts = l.lower_file(root);
    let span = l.span(root);
    if let Some(n) = l.m.nodes.get_mut(0) {
        n.kind = Kind::Block(stmts);
        n.span = span;
    }
    if let Some(f) = l.m.functions.get_mut(0) {
        f.span = span;
    }
    l.m
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FrameKind {
    /// The file or a `mod` body.
    Item,
    /// A function's parameters: locals of enclosing functions are not
    /// visible past it.
    Fn,
    /// A block, closure or arm.
    Local,
}

/// The lowering context that items remember for on-demand lowering.
#[derive(Clone, Debug)]
pub(super) struct Ctx {
    func: FuncId,
    imp: Option<Rc<ImplCtx>>,
    in_test: bool,
    type_params: Rc<Vec<String>>,
}

#[derive(Debug)]
pub(super) struct ImplCtx {
    name: String,
    self_path: Option<Path>,
}

#[derive(Clone, Debug)]
enum State {
    Pending,
    Busy,
    Done(Option<Path>),
}

/// A function or static/const of the main tree, found when its block was
/// entered.
#[derive(Clone, Debug)]
struct ItemRef {
    start: usize,
    end: usize,
    kind: u16,
    frame: usize,
    ctx: Ctx,
    state: State,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ItemKey {
    Decl(usize, String),
    Method(String, String),
}

struct Frame {
    kind: FrameKind,
    /// `let` bindings, parameters, pattern bindings.
    locals: HashMap<String, Option<Path>>,
    /// `use` imports, statics and consts (visible to nested functions).
    items: HashMap<String, Option<Path>>,
    /// Functions, statics and consts declared in this frame.
    decls: HashMap<String, ItemRef>,
}

impl Frame {
    fn new(kind: FrameKind) -> Frame {
        Frame {
            kind,
            locals: HashMap::new(),
            items: HashMap::new(),
            decls: HashMap::new(),
        }
    }
}

pub(super) struct Lowerer<'t> {
    pub(super) k: &'static Kinds,
    root: Node<'t>,
    main_src: Rc<str>,
    /// The text the current nodes index into (the file, or a macro wrapper).
    pub(super) src: Rc<str>,
    /// Added to node offsets to get file offsets.
    pub(super) shift: i64,
    /// How many macro re-parses we are inside.
    pub(super) in_macro: u32,
    /// Bytes that macro re-parsing may still parse.
    pub(super) macro_budget: usize,
    pub(super) m: Module,
    frames: Vec<Frame>,
    methods: HashMap<(String, String), ItemRef>,
    /// Struct name → field name → type segments.
    structs: HashMap<String, HashMap<String, Vec<String>>>,
    /// Main-tree items already lowered (by start byte) → their statement.
    lowered: HashMap<usize, NodeId>,
    pub(super) ctx: Ctx,
    pub(super) depth: u32,
    /// A closure (by tree-sitter node id) whose first parameter is bound to a path.
    hint: Option<(usize, Option<Path>)>,
    /// A closure (by node id) named after the variable it is assigned to.
    name_hint: Option<(usize, String)>,
    /// Return paths of functions and closures.
    returns: HashMap<FuncId, Path>,
    /// The outer attributes of main-tree items that have some, by node id.
    attrs: HashMap<usize, Vec<String>>,
    /// Leave out `#[cfg(test)]` modules and test function bodies.
    skip_tests: bool,
}

impl<'t> Lowerer<'t> {
    fn new(root: Node<'t>, src: &str) -> Self {
        let main_src: Rc<str> = Rc::from(src);
        Lowerer {
            k: kinds(),
            root,
            src: main_src.clone(),
            main_src,
            shift: 0,
            in_macro: 0,
            macro_budget: src.len().saturating_mul(2).saturating_add(1 << 16),
            m: Module::new(Language::Rust),
            frames: Vec::new(),
            methods: HashMap::new(),
            structs: HashMap::new(),
            lowered: HashMap::new(),
            ctx: Ctx {
                func: FuncId(0),
                imp: None,
                in_test: false,
                type_params: Rc::new(Vec::new()),
            },
            depth: 0,
            hint: None,
            name_hint: None,
            returns: HashMap::new(),
            attrs: HashMap::new(),
            skip_tests: false,
        }
    }

    // ------------------------------------------------------------------
    // small helpers

    pub(super) fn span(&self, n: Node<'_>) -> Span {
        let off = |b: usize| {
            let v = i64::try_from(b)
                .unwrap_or(i64::MAX)
                .saturating_add(self.shift);
            usize::try_from(v.max(0)).unwrap_or(0)
        };
        let s = off(n.start_byte());
        Span::new(s, off(n.end_byte()).max(s))
    }

    pub(super) fn text(&self, n: Node<'_>) -> String {
        crate::util::text(n, &self.src).to_string()
    }

    fn is_comment(&self, n: Node<'_>) -> bool {
        n.kind_id() == self.k.line_comment || n.kind_id() == self.k.block_comment
    }

    /// Named children that are not comments.
    pub(super) fn kids<'a>(&self, n: Node<'a>) -> Vec<Node<'a>> {
        let mut c = n.walk();
        n.named_children(&mut c)
            .filter(|x| !self.is_comment(*x))
            .collect()
    }

    /// The first of [`Self::kids`], without collecting them.
    pub(super) fn first_kid<'a>(&self, n: Node<'a>) -> Option<Node<'a>> {
        let mut c = n.walk();
        n.named_children(&mut c).find(|x| !self.is_comment(*x))
    }

    /// Children of a pattern: named ones plus the anonymous `_`.
    fn pattern_kids<'a>(&self, n: Node<'a>) -> Vec<Node<'a>> {
        let mut c = n.walk();
        n.children(&mut c)
            .filter(|x| (x.is_named() && !self.is_comment(*x)) || x.kind_id() == self.k.underscore)
            .collect()
    }

    fn field<'a>(&self, n: Node<'a>, id: u16) -> Option<Node<'a>> {
        n.child_by_field_id(id)
    }

    fn has_anon(&self, n: Node<'_>, kind: u16) -> bool {
        let mut c = n.walk();
        n.children(&mut c).any(|x| x.kind_id() == kind)
    }

    pub(super) fn add(&mut self, kind: Kind, span: Span) -> NodeId {
        self.m.add(kind, span)
    }

    fn set_path(&mut self, id: NodeId, p: Option<Path>) {
        if let Some(n) = self.m.nodes.get_mut(id.0 as usize) {
            n.path = p;
        }
    }

    fn node_path(&self, id: NodeId) -> Option<&Path> {
        self.m
            .nodes
            .get(id.0 as usize)
            .and_then(|n| n.path.as_ref())
    }

    fn kind_of(&self, id: NodeId) -> Option<&Kind> {
        self.m.nodes.get(id.0 as usize).map(|n| &n.kind)
    }

    fn other_empty(&mut self, n: Node<'_>) -> NodeId {
        let sp = self.span(n);
        self.add(Kind::Other(Vec::new()), sp)
    }

    fn push_frame(&mut self, kind: FrameKind) {
        self.frames.push(Frame::new(kind));
    }

    fn pop_frame(&mut self) {
        self.frames.pop();
    }

    // ------------------------------------------------------------------
    // comments

    fn collect_comments(&mut self, root: Node<'_>) {
        let src = Rc::clone(&self.src);
        let starts = crate::util::slash_comment_starts(&src);
        self.m.comments = crate::util::comments(root, &starts, |n| self.is_comment(n))
            .into_iter()
            .map(|n| Comment {
                span: self.span(n),
                text: comment_text(&self.text(n)),
            })
            .collect();
    }

    // ------------------------------------------------------------------
    // resolution

    fn self_type_path(&self) -> Option<Path> {
        self.ctx.imp.as_ref().and_then(|i| i.self_path.clone())
    }

    /// The instance path of the current impl type: `Api()`.
    fn self_instance(&self) -> Option<Path> {
        self.self_type_path().map(instance)
    }

    /// Resolves a name in value position: locals, then items, then global.
    pub(super) fn resolve(&mut self, name: &str) -> Option<Path> {
        self.lookup(name, true)
    }

    /// Resolves the root of a `::` path or a type: locals are skipped.
    pub(super) fn resolve_item(&mut self, name: &str) -> Option<Path> {
        self.lookup(name, false)
    }

    fn lookup(&mut self, name: &str, locals: bool) -> Option<Path> {
        if name == "Self" {
            return self.self_type_path();
        }
        if matches!(name, "crate" | "super") {
            return Some(Path::parse(name));
        }
        let mut crossed = false;
        let mut force: Option<ItemRef> = None;
        for f in self.frames.iter().rev() {
            if locals
                && !crossed
                && let Some(b) = f.locals.get(name)
            {
                return b.clone();
            }
            if let Some(b) = f.items.get(name) {
                return b.clone();
            }
            if let Some(it) = f.decls.get(name)
                && it.kind != self.k.function_item
            {
                match &it.state {
                    State::Pending => {
                        force = Some(it.clone());
                        break;
                    }
                    State::Busy => return None,
                    State::Done(p) => return p.clone(),
                }
            }
            if f.kind == FrameKind::Fn {
                crossed = true;
            }
        }
        if let Some(it) = force {
            let key = ItemKey::Decl(it.frame, name.to_string());
            return self.force(key, it);
        }
        Some(Path::parse(name))
    }

    fn bind_local(&mut self, name: &str, p: Option<Path>) {
        if let Some(f) = self.frames.last_mut() {
            f.locals.insert(name.to_string(), p);
        }
    }

    fn bind_item(&mut self, name: &str, p: Option<Path>) {
        if let Some(f) = self.frames.last_mut() {
            f.items.insert(name.to_string(), p);
        }
    }

    /// `x = v`: replaces the innermost visible local binding of `x`.
    fn rebind(&mut self, name: &str, p: Option<Path>) {
        for f in self.frames.iter_mut().rev() {
            if let Some(slot) = f.locals.get_mut(name) {
                *slot = p;
                return;
            }
            if f.kind == FrameKind::Fn {
                return;
            }
        }
    }

    fn item_state(&mut self, key: &ItemKey) -> Option<&mut ItemRef> {
        match key {
            ItemKey::Decl(frame, name) => self.frames.get_mut(*frame)?.decls.get_mut(name),
            ItemKey::Method(t, m) => self.methods.get_mut(&(t.clone(), m.clone())),
        }
    }

    fn set_state(&mut self, key: &ItemKey, start: usize, state: State) {
        if let Some(it) = self.item_state(key)
            && it.start == start
        {
            it.state = state;
        }
    }

    /// The main-tree node of an indexed item.
    fn find_main(&self, it: &ItemRef) -> Option<Node<'t>> {
        let mut n = self.root.descendant_for_byte_range(it.start, it.end)?;
        for _ in 0..8 {
            if n.kind_id() == it.kind && n.start_byte() == it.start && n.end_byte() == it.end {
                return Some(n);
            }
            n = n.parent()?;
        }
        None
    }

    /// Lowers an item before its turn, in its own scope, and returns its
    /// path (return path of a function, binding of a static).
    fn force(&mut self, key: ItemKey, it: ItemRef) -> Option<Path> {
        if self.depth > MAX_DEPTH / 2 {
            return None;
        }
        let node = self.find_main(&it)?;
        self.set_state(&key, it.start, State::Busy);
        let tail = self.frames.split_off((it.frame + 1).min(self.frames.len()));
        let saved_ctx = std::mem::replace(&mut self.ctx, it.ctx.clone());
        let saved_src = std::mem::replace(&mut self.src, self.main_src.clone());
        let saved_shift = std::mem::replace(&mut self.shift, 0);
        let saved_macro = std::mem::replace(&mut self.in_macro, 0);
        let saved_hint = self.hint.take();
        let saved_name = self.name_hint.take();
        let (stmt, path) = if it.kind == self.k.function_item {
            self.lower_fn_item(node)
        } else {
            self.lower_value_item(node)
        };
        self.lowered.insert(it.start, stmt);
        self.frames.extend(tail);
        self.ctx = saved_ctx;
        self.src = saved_src;
        self.shift = saved_shift;
        self.in_macro = saved_macro;
        self.hint = saved_hint;
        self.name_hint = saved_name;
        self.set_state(&key, it.start, State::Done(path.clone()));
        path
    }

    /// A same-file function called by name: `Some(return path)`.
    fn fn_factory(&mut self, name: &str) -> Option<Option<Path>> {
        let mut found = None;
        for (i, f) in self.frames.iter().enumerate().rev() {
            if let Some(it) = f.decls.get(name)
                && it.kind == self.k.function_item
            {
                found = Some((i, it.clone()));
                break;
            }
        }
        let (i, it) = found?;
        Some(match it.state {
            State::Done(p) => p,
            State::Busy => None,
            State::Pending => self.force(ItemKey::Decl(i, name.to_string()), it),
        })
    }

    /// A method of a same-file type: `Some(return path)`.
    fn method_factory(&mut self, ty: &str, name: &str) -> Option<Option<Path>> {
        let key = (ty.to_string(), name.to_string());
        let it = self.methods.get(&key)?.clone();
        Some(match it.state {
            State::Done(p) => p,
            State::Busy => None,
            State::Pending => self.force(ItemKey::Method(key.0, key.1), it),
        })
    }

    /// The path a node stands for, looking through `.await`, `?`, `&`, `*`
    /// and a block's tail.
    pub(super) fn vpath(&self, id: NodeId) -> Option<Path> {
        let mut cur = id;
        for _ in 0..64 {
            match self.kind_of(cur)? {
                Kind::Name(_) | Kind::Attr { .. } | Kind::Call { .. } | Kind::Macro { .. } => {
                    return self.node_path(cur).cloned();
                }
                Kind::Await(e) | Kind::Question(e) => cur = *e,
                Kind::Unary {
                    op: UnOp::Ref | UnOp::Deref,
                    operand,
                } => cur = *operand,
                Kind::Block(v) => match v.last().and_then(|s| self.kind_of(*s)) {
                    Some(Kind::ExprStmt { expr, value: true }) => cur = *expr,
                    _ => return None,
                },
                _ => return None,
            }
        }
        None
    }

    /// The path a variable assigned this value stands for: [`vpath`] plus
    /// `Arc::new(x)`, `Some(x)`, `Ok(x)`, `Lazy::new(|| x)`,
    /// `cell.get_or_init(|| x)` and struct literals of same-file types.
    ///
    /// [`vpath`]: Lowerer::vpath
    fn binding_path(&self, id: NodeId) -> Option<Path> {
        let mut cur = id;
        for _ in 0..16 {
            match self.kind_of(cur)? {
                Kind::Await(e) | Kind::Question(e) => cur = *e,
                Kind::Unary {
                    op: UnOp::Ref | UnOp::Deref,
                    operand,
                } => cur = *operand,
                Kind::Call { callee, args, .. } => {
                    let first = args.first().map(|a| a.value);
                    let cp = self.node_path(*callee);
                    let segs = cp.map(|p| p.segments.as_slice()).unwrap_or(&[]);
                    let last = segs.last().map(|s| s.name.as_str());
                    let prev = segs
                        .len()
                        .checked_sub(2)
                        .and_then(|i| segs.get(i))
                        .map(|s| s.name.as_str());
                    let Some(first) = first else {
                        return self.vpath(cur);
                    };
                    let keeps_meaning = (segs.len() == 1 && matches!(last, Some("Ok" | "Some")))
                        || (last == Some("new")
                            && prev.is_some_and(|p| WRAPPING_CONSTRUCTORS.contains(&p)));
                    if keeps_meaning {
                        cur = first;
                    } else if last == Some("new")
                        && matches!(prev, Some("Lazy" | "LazyLock" | "LazyCell"))
                        && let Some(Kind::Lambda(f)) = self.kind_of(first)
                    {
                        return self.returns.get(f).cloned();
                    } else {
                        return self.vpath(cur);
                    }
                }
                Kind::Object {
                    type_name: Some(t), ..
                } => {
                    return self
                        .structs
                        .contains_key(t.as_str())
                        .then(|| instance(Path::parse(t)));
                }
                _ => return self.vpath(cur),
            }
        }
        None
    }

    /// The path of a value returned by a function or closure body.
    fn body_return_path(&self, body: NodeId) -> Option<Path> {
        match self.kind_of(body)? {
            Kind::Block(v) => {
                if let Some(Kind::ExprStmt { expr, value: true }) =
                    v.last().and_then(|s| self.kind_of(*s))
                    && !matches!(self.kind_of(*expr), Some(Kind::Macro { .. }))
                    && let Some(p) = self.binding_path(*expr)
                {
                    return Some(p);
                }
                let mut found = None;
                self.m.walk(body, &mut |n| {
                    if found.is_none()
                        && let Some(Kind::Return(Some(e))) = self.kind_of(n)
                    {
                        found = self.binding_path(*e);
                    }
                });
                found
            }
            _ => self.binding_path(body),
        }
    }

    // ------------------------------------------------------------------
    // types

    /// Segments of a type annotation with references and wrapper generics
    /// (`Arc<…>`, `Option<…>`…) stripped; `None` for primitives, type
    /// parameters and anything without a name.
    fn type_segments(&self, ty: Node<'_>) -> Option<Vec<String>> {
        let k = self.k;
        let mut ty = ty;
        for _ in 0..32 {
            let kind = ty.kind_id();
            if kind == k.reference_type || kind == k.pointer_type {
                ty = self.field(ty, k.f_type)?;
            } else if kind == k.generic_type || kind == k.generic_type_with_turbofish {
                let base = self.field(ty, k.f_type)?;
                let base_segs = self.type_segments(base)?;
                let wrapper = base_segs
                    .last()
                    .is_some_and(|l| TYPE_WRAPPERS.contains(&l.as_str()));
                if !wrapper {
                    return Some(base_segs);
                }
                let args = self.field(ty, k.f_type_arguments)?;
                ty = self
                    .kids(args)
                    .into_iter()
                    .find(|a| a.kind_id() != k.lifetime)?;
            } else if kind == k.type_identifier || kind == k.identifier {
                let name = self.text(ty);
                if self.ctx.type_params.contains(&name) {
                    return None;
                }
                return Some(vec![name]);
            } else if kind == k.scoped_type_identifier || kind == k.scoped_identifier {
                return self.scoped_segments(ty);
            } else if kind == k.bracketed_type {
                ty = self.first_kid(ty)?;
            } else if kind == k.qualified_type {
                ty = self.field(ty, k.f_type)?;
            } else {
                return None;
            }
        }
        None
    }

    /// `a::b::C` → `["a", "b", "C"]` (generic arguments dropped).
    pub(super) fn scoped_segments(&self, n: Node<'_>) -> Option<Vec<String>> {
        let k = self.k;
        let mut rev = Vec::new();
        let mut cur = Some(n);
        let mut steps = 0;
        while let Some(c) = cur {
            steps += 1;
            if steps > 256 {
                return None;
            }
            let kind = c.kind_id();
            if kind == k.scoped_identifier
                || kind == k.scoped_type_identifier
                || kind == k.scoped_use_list
            {
                if let Some(name) = self.field(c, k.f_name) {
                    rev.push(self.text(name));
                }
                cur = self.field(c, k.f_path);
            } else if kind == k.generic_type || kind == k.generic_type_with_turbofish {
                cur = self.field(c, k.f_type);
            } else if kind == k.bracketed_type || kind == k.qualified_type {
                let inner = if kind == k.bracketed_type {
                    self.first_kid(c)
                } else {
                    self.field(c, k.f_type)
                };
                cur = inner;
            } else {
                rev.push(self.text(c));
                cur = None;
            }
        }
        rev.reverse();
        (!rev.is_empty()).then_some(rev)
    }

    /// Resolves type segments: the root through imports, the last marked
    /// as an instance (`called`, no call).
    fn resolve_type(&mut self, segs: &[String]) -> Option<Path> {
        let (first, rest) = segs.split_first()?;
        let mut p = if first == "self" {
            Path::parse("self")
        } else {
            self.resolve_item(first)?
        };
        for s in rest {
            p.push(s.clone(), false, None);
        }
        Some(instance(p))
    }

    fn type_path(&mut self, ty: Node<'_>) -> Option<Path> {
        let segs = self.type_segments(ty)?;
        self.resolve_type(&segs)
    }

    /// The name of an impl's self type without generics: `Api`.
    fn impl_type_name(&self, ty: Node<'_>) -> String {
        let k = self.k;
        let mut ty = ty;
        for _ in 0..8 {
            let kind = ty.kind_id();
            if kind == k.generic_type || kind == k.reference_type {
                match self.field(ty, k.f_type) {
                    Some(t) => ty = t,
                    None => break,
                }
            } else if kind == k.scoped_type_identifier {
                match self.field(ty, k.f_name) {
                    Some(t) => ty = t,
                    None => break,
                }
            } else {
                break;
            }
        }
        self.text(ty)
    }

    fn type_param_names(&self, n: Node<'_>) -> Vec<String> {
        let k = self.k;
        let Some(tp) = self.field(n, k.f_type_parameters) else {
            return Vec::new();
        };
        self.kids(tp)
            .into_iter()
            .filter(|c| c.kind_id() == k.type_parameter)
            .filter_map(|c| self.field(c, k.f_name))
            .map(|c| self.text(c))
            .collect()
    }

    // ------------------------------------------------------------------
    // attributes

    /// Indexes the outer attributes of the main tree's items: the
    /// `attribute_item`s (and comments) just before each, read in order. Only
    /// nodes holding a `#` are entered, so files without attributes cost
    /// nothing, and no item has to look back through its parent.
    fn index_attrs(&mut self, root: Node<'_>) {
        let starts = crate::util::hash_comment_starts(&self.src);
        let holds = |n: Node<'_>| {
            let i = starts.partition_point(|&p| p < n.start_byte());
            starts.get(i).is_some_and(|&p| p < n.end_byte())
        };
        if !holds(root) {
            return;
        }
        let mut stack = vec![root];
        let mut c = root.walk();
        while let Some(n) = stack.pop() {
            let mut pending: Vec<String> = Vec::new();
            for child in n.children(&mut c) {
                if child.kind_id() == self.k.attribute_item {
                    if let Some(a) = self.first_kid(child) {
                        pending.push(self.text(a));
                    }
                    continue;
                }
                if !self.is_comment(child) && !pending.is_empty() {
                    self.attrs.insert(child.id(), std::mem::take(&mut pending));
                }
                if holds(child) {
                    stack.push(child);
                }
            }
        }
    }

    /// The outer attributes of an item, as text inside `#[…]`.
    fn outer_attrs(&self, n: Node<'_>) -> Vec<String> {
        if Rc::ptr_eq(&self.src, &self.main_src) {
            return self.attrs.get(&n.id()).cloned().unwrap_or_default();
        }
        // In a macro's re-parsed text: look back through the siblings.
        let mut out = Vec::new();
        let mut cur = n.prev_sibling();
        while let Some(c) = cur {
            if c.kind_id() == self.k.attribute_item {
                if let Some(a) = self.first_kid(c) {
                    out.push(self.text(a));
                }
            } else if !self.is_comment(c) {
                break;
            }
            cur = c.prev_sibling();
        }
        out.reverse();
        out
    }

    // ------------------------------------------------------------------
    // items and scopes

    fn lower_file(&mut self, root: Node<'_>) -> Vec<NodeId> {
        let inner_test = self
            .kids(root)
            .into_iter()
            .filter(|c| c.kind_id() == self.k.inner_attribute_item)
            .filter_map(|c| self.first_kid(c))
            .any(|a| is_cfg_test(&self.text(a)));
        if inner_test {
            self.ctx.in_test = true;
            if let Some(f) = self.m.functions.get_mut(0) {
                f.is_test = true;
            }
            if self.skip_tests {
                return Vec::new();
            }
        }
        self.push_frame(FrameKind::Item);
        self.enter_items(root);
        let stmts = self.lower_stmts(root);
        self.pop_frame();
        stmts
    }

    /// Indexes the items of a block or module: binds `use` declarations and
    /// records functions, statics, consts, structs and impl methods.
    pub(super) fn enter_items(&mut self, container: Node<'_>) {
        let k = self.k;
        let frame = self.frames.len().saturating_sub(1);
        for c in self.kids(container) {
            let kind = c.kind_id();
            if kind == k.use_declaration {
                self.lower_use(c);
                continue;
            }
            if kind == k.extern_crate_declaration {
                if let (Some(name), alias) = (self.field(c, k.f_name), self.field(c, k.f_alias)) {
                    let target = self.text(name);
                    let local = alias.map_or_else(|| target.clone(), |a| self.text(a));
                    self.bind_item(&local, Some(Path::parse(&target)));
                }
                continue;
            }
            if kind == k.struct_item {
                self.index_struct(c);
                continue;
            }
            if self.in_macro > 0 {
                continue;
            }
            if kind == k.function_item || kind == k.static_item || kind == k.const_item {
                let Some(name) = self.field(c, k.f_name).map(|n| self.text(n)) else {
                    continue;
                };
                let it = ItemRef {
                    start: c.start_byte(),
                    end: c.end_byte(),
                    kind,
                    frame,
                    ctx: self.ctx.clone(),
                    state: State::Pending,
                };
                if let Some(f) = self.frames.get_mut(frame) {
                    f.decls.entry(name).or_insert(it);
                }
            } else if kind == k.impl_item {
                let ctx = self.impl_ctx(c);
                let Some(ty) = ctx.imp.as_ref().map(|i| i.name.clone()) else {
                    continue;
                };
                let Some(body) = self.field(c, k.f_body) else {
                    continue;
                };
                for m in self.kids(body) {
                    if m.kind_id() != k.function_item {
                        continue;
                    }
                    let Some(name) = self.field(m, k.f_name).map(|n| self.text(n)) else {
                        continue;
                    };
                    let it = ItemRef {
                        start: m.start_byte(),
                        end: m.end_byte(),
                        kind: k.function_item,
                        frame,
                        ctx: ctx.clone(),
                        state: State::Pending,
                    };
                    self.methods.entry((ty.clone(), name)).or_insert(it);
                }
            }
        }
    }

    fn index_struct(&mut self, n: Node<'_>) {
        let k = self.k;
        let Some(name) = self.field(n, k.f_name).map(|x| self.text(x)) else {
            return;
        };
        let mut fields = HashMap::new();
        if let Some(body) = self.field(n, k.f_body) {
            if body.kind_id() == k.field_declaration_list {
                for f in self.kids(body) {
                    if f.kind_id() != k.field_declaration {
                        continue;
                    }
                    if let (Some(fname), Some(ty)) =
                        (self.field(f, k.f_name), self.field(f, k.f_type))
                        && let Some(segs) = self.type_segments(ty)
                    {
                        fields.insert(self.text(fname), segs);
                    }
                }
            } else if body.kind_id() == k.ordered_field_declaration_list {
                let mut i = 0usize;
                for f in self.kids(body) {
                    if f.kind_id() == k.attribute_item || f.kind_id() == k.visibility_modifier {
                        continue;
                    }
                    if let Some(segs) = self.type_segments(f) {
                        fields.insert(i.to_string(), segs);
                    }
                    i += 1;
                }
            }
        }
        self.structs.entry(name).or_insert(fields);
    }

    fn impl_ctx(&mut self, n: Node<'_>) -> Ctx {
        let k = self.k;
        let attrs = self.outer_attrs(n);
        let in_test = self.ctx.in_test || attrs.iter().any(|a| is_cfg_test(a));
        let imp = self.field(n, k.f_type).map(|ty| {
            let name = self.impl_type_name(ty);
            (name, ty)
        });
        let mut tps = (*self.ctx.type_params).clone();
        tps.extend(self.type_param_names(n));
        let imp = match imp {
            Some((name, _)) => {
                let self_path = self.resolve_item(&name);
                Some(Rc::new(ImplCtx { name, self_path }))
            }
            None => None,
        };
        Ctx {
            func: self.ctx.func,
            imp,
            in_test,
            type_params: Rc::new(tps),
        }
    }

    fn trait_ctx(&mut self, n: Node<'_>) -> Ctx {
        let attrs = self.outer_attrs(n);
        let in_test = self.ctx.in_test || attrs.iter().any(|a| is_cfg_test(a));
        let name = self
            .field(n, self.k.f_name)
            .map(|x| self.text(x))
            .unwrap_or_default();
        let mut tps = (*self.ctx.type_params).clone();
        tps.extend(self.type_param_names(n));
        Ctx {
            func: self.ctx.func,
            imp: Some(Rc::new(ImplCtx {
                self_path: Some(Path::parse(&name)),
                name,
            })),
            in_test,
            type_params: Rc::new(tps),
        }
    }

    fn lower_use(&mut self, n: Node<'_>) {
        let Some(arg) = self.field(n, self.k.f_argument) else {
            return;
        };
        let mut out = Vec::new();
        self.use_tree(arg, &[], &mut out, 0);
        let span = self.span(n);
        for (local, segs) in out {
            if local == "_" || segs.is_empty() {
                continue;
            }
            let target = Path {
                segments: segs
                    .iter()
                    .map(|s| faultline_ir::Segment {
                        name: s.as_str().into(),
                        called: false,
                        call: None,
                    })
                    .collect(),
            };
            self.bind_item(&local, Some(target.clone()));
            self.m.imports.push(Import {
                local,
                target,
                span,
            });
        }
    }

    fn use_tree(
        &self,
        n: Node<'_>,
        prefix: &[String],
        out: &mut Vec<(String, Vec<String>)>,
        depth: u32,
    ) {
        let k = self.k;
        if depth > 64 {
            return;
        }
        let kind = n.kind_id();
        let join = |segs: Vec<String>| {
            let mut v = prefix.to_vec();
            v.extend(segs);
            v
        };
        if kind == k.self_ && !prefix.is_empty() {
            if let Some(last) = prefix.last() {
                out.push((last.clone(), prefix.to_vec()));
            }
        } else if kind == k.identifier
            || kind == k.crate_
            || kind == k.super_
            || kind == k.self_
            || kind == k.metavariable
            || kind == k.scoped_identifier
        {
            let Some(segs) = self.scoped_segments(n) else {
                return;
            };
            let segs = join(segs);
            // `use a::b::self` is `b`.
            let (local, target) = if let Some((last, init)) = segs.split_last()
                && last == "self"
                && !init.is_empty()
            {
                (init.last().cloned().unwrap_or_default(), init.to_vec())
            } else {
                (segs.last().cloned().unwrap_or_default(), segs)
            };
            out.push((local, target));
        } else if kind == k.use_as_clause {
            let (Some(path), Some(alias)) = (self.field(n, k.f_path), self.field(n, k.f_alias))
            else {
                return;
            };
            let Some(segs) = self.scoped_segments(path) else {
                return;
            };
            let mut segs = join(segs);
            if segs.last().is_some_and(|s| s == "self") {
                segs.pop();
            }
            out.push((self.text(alias), segs));
        } else if kind == k.scoped_use_list {
            let segs = self
                .field(n, k.f_path)
                .and_then(|p| self.scoped_segments(p))
                .unwrap_or_default();
            let inner = join(segs);
            if let Some(list) = self.field(n, k.f_list) {
                self.use_tree(list, &inner, out, depth + 1);
            }
        } else if kind == k.use_list {
            for c in self.kids(n) {
                self.use_tree(c, prefix, out, depth + 1);
            }
        }
    }

    /// Lowers the statements of a block, file or module body.
    pub(super) fn lower_stmts(&mut self, container: Node<'_>) -> Vec<NodeId> {
        let kids = self.kids(container);
        let n = kids.len();
        let mut out = Vec::with_capacity(n);
        for (i, c) in kids.into_iter().enumerate() {
            let last = i + 1 == n && container.kind_id() == self.k.block;
            self.lower_stmt(c, last, &mut out);
        }
        out
    }

    fn is_skipped_item(&self, kind: u16) -> bool {
        let k = self.k;
        [
            k.attribute_item,
            k.inner_attribute_item,
            k.struct_item,
            k.enum_item,
            k.union_item,
            k.type_item,
            k.empty_statement,
            k.extern_crate_declaration,
            k.macro_definition,
            k.function_signature_item,
            k.associated_type,
            k.foreign_mod_item,
            k.label,
            k.use_declaration,
        ]
        .contains(&kind)
    }

    fn lower_stmt(&mut self, c: Node<'_>, last: bool, out: &mut Vec<NodeId>) {
        let k = self.k;
        let kind = c.kind_id();
        if self.depth >= MAX_DEPTH {
            out.push(self.other_empty(c));
            return;
        }
        self.depth += 1;
        if kind == k.expression_statement {
            let semi = c
                .child(c.child_count().saturating_sub(1))
                .is_some_and(|x| x.kind_id() == k.semicolon);
            if let Some(e) = self.first_kid(c) {
                let s = self.lower_expr_stmt(e, last && !semi, self.span(c));
                out.push(s);
            }
        } else if kind == k.let_declaration {
            self.lower_let(c, out);
        } else if kind == k.function_item {
            out.push(self.lower_fn_in_order(c));
        } else if kind == k.static_item || kind == k.const_item {
            out.push(self.lower_value_in_order(c));
        } else if kind == k.impl_item {
            out.push(self.lower_impl(c));
        } else if kind == k.trait_item {
            out.push(self.lower_trait(c));
        } else if kind == k.mod_item {
            if let Some(b) = self.lower_mod(c) {
                out.push(b);
            }
        } else if kind == k.macro_invocation {
            let e = self.lower_expr(c);
            let sp = self.span(c);
            out.push(self.add(
                Kind::ExprStmt {
                    expr: e,
                    value: last,
                },
                sp,
            ));
        } else if self.is_skipped_item(kind) {
        } else {
            let sp = self.span(c);
            let s = self.lower_expr_stmt(c, last, sp);
            out.push(s);
        }
        self.depth -= 1;
    }

    /// An expression in statement position. Block-like expressions,
    /// assignments and jumps are statements themselves unless they are the
    /// block's value.
    fn lower_expr_stmt(&mut self, e: Node<'_>, tail: bool, span: Span) -> NodeId {
        let k = self.k;
        let kind = e.kind_id();
        let jump = kind == k.return_expression
            || kind == k.break_expression
            || kind == k.continue_expression;
        let statement_like = kind == k.if_expression
            || kind == k.match_expression
            || kind == k.loop_expression
            || kind == k.while_expression
            || kind == k.for_expression
            || kind == k.block
            || kind == k.unsafe_block
            || kind == k.assignment_expression
            || kind == k.compound_assignment_expr;
        let id = self.lower_expr(e);
        if jump || (statement_like && !tail) {
            return id;
        }
        self.add(
            Kind::ExprStmt {
                expr: id,
                value: tail,
            },
            span,
        )
    }

    fn lower_fn_in_order(&mut self, c: Node<'_>) -> NodeId {
        if self.in_macro == 0
            && let Some(id) = self.lowered.get(&c.start_byte())
        {
            return *id;
        }
        let name = self
            .field(c, self.k.f_name)
            .map(|n| self.text(n))
            .unwrap_or_default();
        let key = match &self.ctx.imp {
            Some(i) if self.in_macro == 0 => Some(ItemKey::Method(i.name.clone(), name)),
            None if self.in_macro == 0 => {
                Some(ItemKey::Decl(self.frames.len().saturating_sub(1), name))
            }
            _ => None,
        };
        if let Some(key) = &key {
            self.set_state(key, c.start_byte(), State::Busy);
        }
        let (stmt, path) = self.lower_fn_item(c);
        if let Some(key) = &key {
            self.set_state(key, c.start_byte(), State::Done(path));
        }
        stmt
    }

    fn lower_value_in_order(&mut self, c: Node<'_>) -> NodeId {
        if self.in_macro == 0
            && let Some(id) = self.lowered.get(&c.start_byte())
        {
            return *id;
        }
        let name = self
            .field(c, self.k.f_name)
            .map(|n| self.text(n))
            .unwrap_or_default();
        let key = ItemKey::Decl(self.frames.len().saturating_sub(1), name);
        if self.in_macro == 0 {
            self.set_state(&key, c.start_byte(), State::Busy);
        }
        let (stmt, path) = self.lower_value_item(c);
        if self.in_macro == 0 {
            self.set_state(&key, c.start_byte(), State::Done(path));
        }
        stmt
    }

    /// `static`/`const`: a module-level assignment whose name is bound for
    /// every function.
    fn lower_value_item(&mut self, n: Node<'_>) -> (NodeId, Option<Path>) {
        let k = self.k;
        let name = self
            .field(n, k.f_name)
            .map(|x| self.text(x))
            .unwrap_or_default();
        let ty = self.field(n, k.f_type);
        let value = self.field(n, k.f_value).map(|v| self.lower_expr(v));
        let from_value = value.and_then(|v| self.binding_path(v)).filter(|p| {
            // `OnceLock::new()` says nothing; the annotation does.
            !(p.segments.len() >= 2
                && p.last_name() == Some("new")
                && p.segments
                    .get(p.segments.len() - 2)
                    .is_some_and(|s| TYPE_WRAPPERS.contains(&s.name.as_str())))
        });
        let path = from_value.or_else(|| ty.and_then(|t| self.type_path(t)));
        let sp = self
            .field(n, k.f_name)
            .map_or_else(|| self.span(n), |x| self.span(x));
        let target = self.add(Kind::Name(name.clone().into()), sp);
        self.set_path(target, path.clone());
        self.bind_item(&name, path.clone());
        let declared_type = ty.map(|t| self.text(t));
        let sp = self.span(n);
        let stmt = self.add(
            Kind::Assign {
                targets: vec![target],
                value,
                op: None,
                declared_type,
            },
            sp,
        );
        (stmt, path)
    }

    fn lower_fn_item(&mut self, n: Node<'_>) -> (NodeId, Option<Path>) {
        let k = self.k;
        let attrs = self.outer_attrs(n);
        let name = self
            .field(n, k.f_name)
            .map(|x| self.text(x))
            .unwrap_or_default();
        let is_async = self
            .kids(n)
            .into_iter()
            .find(|c| c.kind_id() == k.function_modifiers)
            .is_some_and(|m| self.has_anon(m, k.async_kw));
        let is_test = self.ctx.in_test || attrs.iter().any(|a| is_test_attr(a) || is_cfg_test(a));
        let return_type = self.field(n, k.f_return_type).map(|t| self.text(t));
        let class = self.ctx.imp.as_ref().map(|i| i.name.clone());
        let fid = self.m.add_function(Function {
            name,
            kind: if class.is_some() {
                FuncKind::Method
            } else {
                FuncKind::Function
            },
            span: self.span(n),
            is_async,
            decorators: Vec::new(),
            attributes: attrs,
            params: Vec::new(),
            return_type,
            body: NodeId(0),
            class,
            parent: Some(self.ctx.func),
            is_test,
            is_handler: false,
        });
        if is_test && self.skip_tests {
            let sp = self.span(n);
            let body = self.add(Kind::Block(Vec::new()), sp);
            if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
                f.body = body;
            }
            return (self.add(Kind::FuncDef(fid), sp), None);
        }
        let mut tps = (*self.ctx.type_params).clone();
        tps.extend(self.type_param_names(n));
        let saved = self.ctx.clone();
        self.ctx.func = fid;
        self.ctx.in_test = is_test;
        self.ctx.type_params = Rc::new(tps);
        self.push_frame(FrameKind::Fn);
        let params = match self.field(n, k.f_parameters) {
            Some(p) => self.lower_params(p, None),
            None => Vec::new(),
        };
        let body = match self.field(n, k.f_body) {
            Some(b) => self.lower_block(b),
            None => {
                let sp = self.span(n);
                self.add(Kind::Block(Vec::new()), sp)
            }
        };
        self.pop_frame();
        self.ctx = saved;
        if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
            f.params = params;
            f.body = body;
        }
        let ret = self.body_return_path(body);
        if let Some(p) = &ret {
            self.returns.insert(fid, p.clone());
        }
        let sp = self.span(n);
        (self.add(Kind::FuncDef(fid), sp), ret)
    }

    /// Parameters of a function or closure; binds them in the current frame.
    fn lower_params(&mut self, ps: Node<'_>, first_hint: Option<Path>) -> Vec<Param> {
        let k = self.k;
        let mut out = Vec::new();
        let mut hint = first_hint;
        for c in self.kids(ps) {
            let kind = c.kind_id();
            if kind == k.attribute_item {
                continue;
            }
            let span = self.span(c);
            if kind == k.self_parameter {
                let p = self.self_instance();
                self.bind_local("self", p);
                out.push(Param {
                    name: "self".into(),
                    annotation: Some(self.text(c)),
                    default: None,
                    span,
                });
            } else if kind == k.parameter {
                let pat = self.field(c, k.f_pattern);
                let ty = self.field(c, k.f_type);
                if let Some(pat) = pat {
                    self.bind_param(pat, ty);
                }
                out.push(Param {
                    name: pat.map(|p| self.text(p)).unwrap_or_default(),
                    annotation: ty.map(|t| self.text(t)),
                    default: None,
                    span,
                });
            } else {
                // closure parameter without a type, or `...`
                self.bind_names(c, hint.take(), 0);
                out.push(Param {
                    name: self.text(c),
                    annotation: None,
                    default: None,
                    span,
                });
            }
            hint = None;
        }
        out
    }

    /// Binds an annotated parameter: `c: &Client`, `State(s): State<App>`.
    fn bind_param(&mut self, pat: Node<'_>, ty: Option<Node<'_>>) {
        let k = self.k;
        let kind = pat.kind_id();
        let Some(ty) = ty else {
            self.bind_names(pat, None, 0);
            return;
        };
        if kind == k.identifier || kind == k.mut_pattern || kind == k.self_ {
            let p = self.type_path(ty);
            self.bind_names(pat, p, 0);
        } else if kind == k.tuple_struct_pattern {
            let inner: Vec<_> = self
                .kids(pat)
                .into_iter()
                .filter(|c| Some(*c) != self.field(pat, k.f_type))
                .collect();
            let p = if inner.len() == 1 && ty.kind_id() == k.generic_type {
                self.field(ty, k.f_type_arguments)
                    .and_then(|a| self.kids(a).into_iter().find(|x| x.kind_id() != k.lifetime))
                    .and_then(|t| self.type_path(t))
            } else {
                None
            };
            match inner.first() {
                Some(i) if inner.len() == 1 => self.bind_names(*i, p, 0),
                _ => self.bind_names(pat, None, 0),
            }
        } else {
            self.bind_names(pat, None, 0);
        }
    }

    /// Binds every name a pattern introduces; a plain name (possibly `mut`,
    /// `ref`, inside `Ok(..)`/`Some(..)`) gets `p`, others nothing.
    fn bind_names(&mut self, pat: Node<'_>, p: Option<Path>, depth: u32) {
        let k = self.k;
        if depth > 64 {
            return;
        }
        let kind = pat.kind_id();
        if kind == k.identifier {
            let name = self.text(pat);
            if !starts_upper(&name) {
                self.bind_local(&name, p);
            }
        } else if kind == k.self_ {
            self.bind_local("self", p);
        } else if kind == k.mut_pattern || kind == k.ref_pattern || kind == k.reference_pattern {
            if let Some(inner) = self
                .kids(pat)
                .into_iter()
                .rfind(|c| c.kind_id() != k.mutable_specifier)
            {
                self.bind_names(inner, p, depth + 1);
            }
        } else if kind == k.tuple_struct_pattern {
            let ty = self.field(pat, k.f_type);
            let keep = ty.is_some_and(|t| matches!(self.text(t).as_str(), "Ok" | "Some"));
            let inner: Vec<_> = self
                .kids(pat)
                .into_iter()
                .filter(|c| Some(*c) != ty)
                .collect();
            let single = inner.len() == 1;
            for c in inner {
                let q = if keep && single { p.clone() } else { None };
                self.bind_names(c, q, depth + 1);
            }
        } else if kind == k.captured_pattern {
            for c in self.kids(pat) {
                self.bind_names(c, p.clone(), depth + 1);
            }
        } else if kind == k.field_pattern {
            match self.field(pat, k.f_pattern) {
                Some(sub) => self.bind_names(sub, None, depth + 1),
                None => {
                    if let Some(n) = self.field(pat, k.f_name) {
                        let name = self.text(n);
                        self.bind_local(&name, None);
                    }
                }
            }
        } else if kind == k.or_pattern {
            for c in self.kids(pat) {
                self.bind_names(c, p.clone(), depth + 1);
            }
        } else if kind == k.tuple_pattern
            || kind == k.slice_pattern
            || kind == k.struct_pattern
            || kind == k.closure_parameters
        {
            for c in self.kids(pat) {
                self.bind_names(c, None, depth + 1);
            }
        } else if kind == k.parameter {
            let pt = self.field(pat, k.f_pattern);
            let ty = self.field(pat, k.f_type);
            if let Some(pt) = pt {
                self.bind_param(pt, ty);
            }
        }
    }

    fn lower_impl(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let ctx = self.impl_ctx(n);
        let name = ctx.imp.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let bases = match self.field(n, k.f_trait) {
            Some(t) => {
                let id = self.lower_type_expr(t);
                vec![id]
            }
            None => Vec::new(),
        };
        let saved = std::mem::replace(&mut self.ctx, ctx);
        let body = self.lower_decl_body(self.field(n, k.f_body), n);
        self.ctx = saved;
        let sp = self.span(n);
        self.add(Kind::Class { name, bases, body }, sp)
    }

    fn lower_trait(&mut self, n: Node<'_>) -> NodeId {
        let ctx = self.trait_ctx(n);
        let name = ctx.imp.as_ref().map(|i| i.name.clone()).unwrap_or_default();
        let saved = std::mem::replace(&mut self.ctx, ctx);
        let body = self.lower_decl_body(self.field(n, self.k.f_body), n);
        self.ctx = saved;
        let sp = self.span(n);
        self.add(
            Kind::Class {
                name,
                bases: Vec::new(),
                body,
            },
            sp,
        )
    }

    /// The body of an impl or trait: methods, associated consts, macros.
    fn lower_decl_body(&mut self, body: Option<Node<'_>>, owner: Node<'_>) -> NodeId {
        let k = self.k;
        let Some(body) = body else {
            let sp = self.span(owner);
            return self.add(Kind::Block(Vec::new()), sp);
        };
        let mut stmts = Vec::new();
        self.push_frame(FrameKind::Local);
        for c in self.kids(body) {
            let kind = c.kind_id();
            if kind == k.function_item {
                stmts.push(self.lower_fn_in_order(c));
            } else if kind == k.const_item {
                let (s, _) = self.lower_value_item(c);
                stmts.push(s);
            } else if kind == k.macro_invocation {
                self.lower_stmt(c, false, &mut stmts);
            }
        }
        self.pop_frame();
        let sp = self.span(body);
        self.add(Kind::Block(stmts), sp)
    }

    /// `mod x { … }`: its items, lowered in place as a block.
    fn lower_mod(&mut self, n: Node<'_>) -> Option<NodeId> {
        let body = self.field(n, self.k.f_body)?;
        let attrs = self.outer_attrs(n);
        let test = attrs.iter().any(|a| is_cfg_test(a));
        if test && self.skip_tests {
            return None;
        }
        let saved = self.ctx.clone();
        self.ctx.in_test = self.ctx.in_test || test;
        self.ctx.imp = None;
        self.push_frame(FrameKind::Item);
        self.enter_items(body);
        let stmts = self.lower_stmts(body);
        self.pop_frame();
        self.ctx = saved;
        let sp = self.span(n);
        Some(self.add(Kind::Block(stmts), sp))
    }

    /// A trait or type used as an expression (impl bases).
    fn lower_type_expr(&mut self, t: Node<'_>) -> NodeId {
        let sp = self.span(t);
        let segs = self.type_segments(t);
        let name = segs
            .as_ref()
            .map(|s| s.join("::"))
            .unwrap_or_else(|| self.text(t));
        let id = self.add(Kind::Name(name.into()), sp);
        let p = match segs {
            Some(segs) => self.resolve_type(&segs).map(|mut p| {
                if let Some(l) = p.segments.last_mut() {
                    l.called = false;
                }
                p
            }),
            None => None,
        };
        self.set_path(id, p);
        id
    }

    // ------------------------------------------------------------------
    // statements

    fn lower_let(&mut self, n: Node<'_>, out: &mut Vec<NodeId>) {
        let k = self.k;
        let pat = self.field(n, k.f_pattern);
        let ty = self.field(n, k.f_type);
        let value = self.field(n, k.f_value);
        if let (Some(p), Some(v)) = (pat, value)
            && p.kind_id() == k.identifier
            && (v.kind_id() == k.closure_expression || v.kind_id() == k.async_block)
        {
            self.name_hint = Some((v.id(), self.text(p)));
        }
        let value_id = value.map(|v| self.lower_expr(v));
        let els = self.field(n, k.f_alternative).map(|b| self.lower_block(b));
        let mut path = value_id.and_then(|v| self.binding_path(v));
        if path.is_none()
            && value_id.is_none()
            && let Some(t) = ty
        {
            path = self.type_path(t);
        }
        let target = match pat {
            Some(p) => self.lower_pattern(p, path),
            None => self.other_empty(n),
        };
        let declared_type = ty.map(|t| self.text(t));
        let sp = self.span(n);
        out.push(self.add(
            Kind::Assign {
                targets: vec![target],
                value: value_id,
                op: None,
                declared_type,
            },
            sp,
        ));
        if let Some(e) = els {
            // `let … else { … }`: the IR has no slot for the else block.
            let sp = self.m.node(e).span;
            out.push(self.add(Kind::Other(vec![e]), sp));
        }
    }

    pub(super) fn lower_block(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let block = if n.kind_id() == k.block {
            Some(n)
        } else {
            self.kids(n).into_iter().find(|c| c.kind_id() == k.block)
        };
        let Some(block) = block else {
            return self.lower_other(n);
        };
        self.push_frame(FrameKind::Local);
        self.enter_items(block);
        let stmts = self.lower_stmts(block);
        self.pop_frame();
        let sp = self.span(n);
        self.add(Kind::Block(stmts), sp)
    }

    // ------------------------------------------------------------------
    // expressions

    pub(super) fn lower_expr(&mut self, n: Node<'_>) -> NodeId {
        if self.depth >= MAX_DEPTH {
            return self.other_empty(n);
        }
        self.depth += 1;
        let id = self.lower_expr_inner(n);
        self.depth -= 1;
        id
    }

    fn is_chain(&self, kind: u16) -> bool {
        let k = self.k;
        kind == k.call_expression
            || kind == k.field_expression
            || kind == k.await_expression
            || kind == k.try_expression
            || kind == k.generic_function
            || kind == k.index_expression
    }

    fn lower_expr_inner(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let kind = n.kind_id();
        let sp = self.span(n);
        if self.is_chain(kind) {
            return self.lower_chain(n);
        }
        if kind == k.identifier {
            let name = self.text(n);
            let p = self.resolve(&name);
            let id = self.add(Kind::Name(name.into()), sp);
            self.set_path(id, p);
            id
        } else if kind == k.self_ {
            let p = self.resolve("self");
            let id = self.add(Kind::Name("self".into()), sp);
            self.set_path(id, p);
            id
        } else if kind == k.underscore || kind == k.metavariable {
            let t = self.text(n);
            self.add(Kind::Name(t.into()), sp)
        } else if kind == k.scoped_identifier {
            self.lower_scoped(n)
        } else if kind == k.macro_invocation {
            self.lower_macro(n)
        } else if kind == k.string_literal || kind == k.raw_string_literal || kind == k.char_literal
        {
            let s = decode_literal(&self.text(n));
            self.add(Kind::Str(s), sp)
        } else if kind == k.integer_literal || kind == k.float_literal || kind == k.negative_literal
        {
            let t = self.text(n);
            self.add(Kind::Num(t), sp)
        } else if kind == k.boolean_literal {
            let b = self.text(n) == "true";
            self.add(Kind::Bool(b), sp)
        } else if kind == k.parenthesized_expression || kind == k.type_cast_expression {
            let inner = if kind == k.type_cast_expression {
                self.field(n, k.f_value)
            } else {
                self.first_kid(n)
            };
            match inner {
                Some(i) => self.lower_expr(i),
                None => self.add(Kind::Other(Vec::new()), sp),
            }
        } else if kind == k.reference_expression {
            match self.field(n, k.f_value) {
                Some(v) => {
                    let operand = self.lower_expr(v);
                    self.add(
                        Kind::Unary {
                            op: UnOp::Ref,
                            operand,
                        },
                        sp,
                    )
                }
                None => self.lower_other(n),
            }
        } else if kind == k.unary_expression {
            let op = match n.child(0).map(|c| c.kind_id()) {
                Some(x) if x == k.op_star => UnOp::Deref,
                Some(x) if x == k.op_not => UnOp::Not,
                Some(x) if x == k.op_minus => UnOp::Neg,
                _ => UnOp::Other,
            };
            match self.first_kid(n) {
                Some(o) => {
                    let operand = self.lower_expr(o);
                    self.add(Kind::Unary { op, operand }, sp)
                }
                None => self.lower_other(n),
            }
        } else if kind == k.binary_expression {
            self.lower_binary(n)
        } else if kind == k.range_expression {
            let kids = self.kids(n);
            let ids: Vec<NodeId> = kids.into_iter().map(|c| self.lower_expr(c)).collect();
            match ids.as_slice() {
                [lhs, rhs] => self.add(
                    Kind::Binary {
                        op: BinOp::Other,
                        lhs: *lhs,
                        rhs: *rhs,
                    },
                    sp,
                ),
                _ => self.add(Kind::Other(ids), sp),
            }
        } else if kind == k.assignment_expression || kind == k.compound_assignment_expr {
            self.lower_assign(n)
        } else if kind == k.array_expression {
            let ids: Vec<NodeId> = self
                .kids(n)
                .into_iter()
                .filter(|c| c.kind_id() != k.attribute_item)
                .map(|c| self.lower_expr(c))
                .collect();
            if self.field(n, k.f_length).is_some() {
                self.add(Kind::Other(ids), sp)
            } else {
                self.add(Kind::Array(ids), sp)
            }
        } else if kind == k.tuple_expression {
            let ids: Vec<NodeId> = self
                .kids(n)
                .into_iter()
                .filter(|c| c.kind_id() != k.attribute_item)
                .map(|c| self.lower_expr(c))
                .collect();
            self.add(Kind::Array(ids), sp)
        } else if kind == k.unit_expression {
            self.add(Kind::Array(Vec::new()), sp)
        } else if kind == k.struct_expression {
            self.lower_struct(n)
        } else if kind == k.closure_expression {
            self.lower_closure(n)
        } else if kind == k.async_block || kind == k.gen_block {
            self.lower_async_block(n)
        } else if kind == k.block
            || kind == k.unsafe_block
            || kind == k.const_block
            || kind == k.try_block
        {
            self.lower_block(n)
        } else if kind == k.if_expression {
            self.lower_if(n)
        } else if kind == k.match_expression {
            self.lower_match(n)
        } else if kind == k.loop_expression
            || kind == k.while_expression
            || kind == k.for_expression
        {
            self.lower_loop(n)
        } else if kind == k.return_expression {
            let v = self.first_kid(n).map(|c| self.lower_expr(c));
            self.add(Kind::Return(v), sp)
        } else if kind == k.break_expression {
            let v = self
                .kids(n)
                .into_iter()
                .find(|c| c.kind_id() != k.label)
                .map(|c| self.lower_expr(c));
            let brk = self.add(Kind::Break, sp);
            match v {
                Some(v) => {
                    let vs = self.m.node(v).span;
                    let st = self.add(
                        Kind::ExprStmt {
                            expr: v,
                            value: false,
                        },
                        vs,
                    );
                    self.add(Kind::Block(vec![st, brk]), sp)
                }
                None => brk,
            }
        } else if kind == k.continue_expression {
            self.add(Kind::Continue, sp)
        } else if kind == k.let_condition || kind == k.let_chain {
            self.lower_cond(n)
        } else {
            self.lower_other(n)
        }
    }

    /// Unknown or broken syntax: keep whatever inside lowers.
    pub(super) fn lower_other(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        if self.depth >= MAX_DEPTH {
            return self.add(Kind::Other(Vec::new()), sp);
        }
        self.depth += 1;
        let mut ids = Vec::new();
        for c in self.kids(n) {
            let kind = c.kind_id();
            if kind == k.let_declaration
                || kind == k.expression_statement
                || kind == k.function_item
                || kind == k.impl_item
                || kind == k.mod_item
                || kind == k.static_item
                || kind == k.const_item
            {
                self.lower_stmt(c, false, &mut ids);
            } else if self.is_type_or_token(kind) {
                continue;
            } else {
                ids.push(self.lower_expr(c));
            }
        }
        self.depth -= 1;
        self.add(Kind::Other(ids), sp)
    }

    fn is_type_or_token(&self, kind: u16) -> bool {
        let k = self.k;
        kind == k.type_identifier
            || kind == k.primitive_type
            || kind == k.generic_type
            || kind == k.reference_type
            || kind == k.scoped_type_identifier
            || kind == k.type_arguments
            || kind == k.lifetime
            || kind == k.label
            || kind == k.attribute_item
            || self.is_skipped_item(kind)
    }

    /// `a.b().c::<T>().await?[i]`, lowered bottom-up without recursion.
    fn lower_chain(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut spine = Vec::new();
        let mut cur = n;
        loop {
            let kind = cur.kind_id();
            let next = if kind == k.call_expression || kind == k.generic_function {
                self.field(cur, k.f_function)
            } else if kind == k.field_expression {
                self.field(cur, k.f_value)
            } else if kind == k.await_expression
                || kind == k.try_expression
                || kind == k.index_expression
            {
                self.first_kid(cur)
            } else {
                None
            };
            match next {
                Some(x) if self.is_chain(kind) => {
                    spine.push(cur);
                    cur = x;
                }
                _ => break,
            }
        }
        let mut acc = if self.is_chain(cur.kind_id()) {
            self.lower_other(cur)
        } else {
            self.lower_expr(cur)
        };
        let mut targs: Vec<String> = Vec::new();
        for link in spine.into_iter().rev() {
            let kind = link.kind_id();
            let sp = self.span(link);
            if kind == k.call_expression {
                acc = self.finish_call(link, acc, std::mem::take(&mut targs));
            } else if kind == k.generic_function {
                targs = self
                    .field(link, k.f_type_arguments)
                    .map(|a| {
                        self.kids(a)
                            .into_iter()
                            .filter(|x| x.kind_id() != k.lifetime)
                            .map(|x| self.text(x))
                            .collect()
                    })
                    .unwrap_or_default();
            } else if kind == k.field_expression {
                targs.clear();
                let name = self
                    .field(link, k.f_field)
                    .map(|f| self.text(f))
                    .unwrap_or_default();
                let p = self.attr_path(acc, &name);
                acc = self.add(
                    Kind::Attr {
                        object: acc,
                        name: name.into(),
                    },
                    sp,
                );
                self.set_path(acc, p);
            } else if kind == k.await_expression {
                acc = self.add(Kind::Await(acc), sp);
            } else if kind == k.try_expression {
                acc = self.add(Kind::Question(acc), sp);
            } else if kind == k.index_expression {
                let index = match self.kids(link).get(1) {
                    Some(i) => self.lower_expr(*i),
                    None => self.add(Kind::Other(Vec::new()), sp),
                };
                acc = self.add(Kind::Index { object: acc, index }, sp);
            }
        }
        acc
    }

    /// The path of `object.name`: a field of a same-file struct instance
    /// resolves through the field's type.
    fn attr_path(&mut self, object: NodeId, name: &str) -> Option<Path> {
        let p = self.vpath(object)?;
        if p.segments.len() >= MAX_PATH_SEGMENTS {
            return None;
        }
        if let [s] = p.segments.as_slice()
            && s.called
            && s.call.is_none()
            && let Some(segs) = self
                .structs
                .get(s.name.as_str())
                .and_then(|f| f.get(name))
                .cloned()
        {
            return self.resolve_type(&segs);
        }
        let mut q = p;
        q.push(name.to_string(), false, None);
        Some(q)
    }

    fn finish_call(&mut self, n: Node<'_>, callee: NodeId, type_args: Vec<String>) -> NodeId {
        let k = self.k;
        let arg_nodes: Vec<Node<'_>> = self
            .field(n, k.f_arguments)
            .map(|a| {
                self.kids(a)
                    .into_iter()
                    .filter(|c| c.kind_id() != k.attribute_item)
                    .collect()
            })
            .unwrap_or_default();
        if let Some(Kind::Attr { object, name }) = self.kind_of(callee)
            && CALLBACK_METHODS.contains(&name.as_str())
            && let Some(first) = arg_nodes.first()
            && first.kind_id() == k.closure_expression
        {
            let object = *object;
            let recv = self.vpath(object);
            self.hint = Some((first.id(), recv));
        }
        let args: Vec<Arg> = arg_nodes
            .iter()
            .map(|a| Arg {
                name: None,
                value: self.lower_expr(*a),
                spread: Spread::None,
            })
            .collect();
        self.hint = None;
        let sp = self.span(n);
        let id = self.add(
            Kind::Call {
                callee,
                args,
                type_args,
            },
            sp,
        );
        let p = self.call_path(id, callee);
        self.set_path(id, p);
        id
    }

    fn call_path(&mut self, id: NodeId, callee: NodeId) -> Option<Path> {
        let first_lambda = match self.kind_of(id) {
            Some(Kind::Call { args, .. }) => match args.first().and_then(|a| self.kind_of(a.value))
            {
                Some(Kind::Lambda(f)) => Some(*f),
                _ => None,
            },
            _ => None,
        };
        match self.kind_of(callee).cloned() {
            Some(Kind::Attr { object, name }) => {
                if TRANSPARENT_METHODS.contains(&name.as_str()) {
                    return self.vpath(object);
                }
                if matches!(name.as_str(), "get_or_init" | "get_or_try_init")
                    && let Some(f) = first_lambda
                    && let Some(p) = self.returns.get(&f)
                {
                    return Some(p.clone());
                }
                if let Some(p) = self.vpath(object)
                    && let [s] = p.segments.as_slice()
                    && s.call.is_none()
                    && let Some(r) = self.method_factory(&s.name.clone(), &name)
                    && r.is_some()
                {
                    return r;
                }
            }
            Some(Kind::Name(name)) => {
                let global = self
                    .node_path(callee)
                    .is_some_and(|p| p.segments.len() == 1 && p.root() == Some(name.as_str()));
                if global && let Some(Some(r)) = self.fn_factory(&name) {
                    return Some(r);
                }
            }
            _ => {}
        }
        let p = self.node_path(callee)?;
        if p.segments.len() > MAX_PATH_SEGMENTS {
            return None;
        }
        let mut p = p.clone();
        let last = p.segments.last_mut()?;
        if last.called {
            return None;
        }
        last.called = true;
        last.call = Some(id);
        Some(p)
    }

    /// `a::b::c` as a chain of attributes, the root resolved as an item.
    fn lower_scoped(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut spine = Vec::new();
        let mut cur = n;
        while cur.kind_id() == k.scoped_identifier && spine.len() < 256 {
            spine.push(cur);
            match self.field(cur, k.f_path) {
                Some(p) => cur = p,
                None => break,
            }
        }
        let root_is_path = cur.kind_id() != k.scoped_identifier;
        let mut acc = if root_is_path {
            let sp = self.span(cur);
            let kind = cur.kind_id();
            let (name, p) = if kind == k.identifier {
                let name = self.text(cur);
                let p = self.resolve_item(&name);
                (name, p)
            } else if kind == k.self_ || kind == k.crate_ || kind == k.super_ {
                let name = self.text(cur);
                (name.clone(), Some(Path::parse(&name)))
            } else {
                match self.type_segments(cur) {
                    Some(segs) => {
                        let name = segs.join("::");
                        let p = self.resolve_type(&segs).map(|mut p| {
                            if let Some(l) = p.segments.last_mut() {
                                l.called = false;
                            }
                            p
                        });
                        (name, p)
                    }
                    None => (self.text(cur), None),
                }
            };
            let id = self.add(Kind::Name(name.into()), sp);
            self.set_path(id, p);
            Some(id)
        } else {
            None
        };
        for s in spine.into_iter().rev() {
            let sp = self.span(s);
            let name = self
                .field(s, k.f_name)
                .map(|x| self.text(x))
                .unwrap_or_default();
            match acc {
                Some(object) => {
                    let p = self.node_path(object).cloned().map(|mut p| {
                        p.push(name.clone(), false, None);
                        p
                    });
                    let id = self.add(
                        Kind::Attr {
                            object,
                            name: name.into(),
                        },
                        sp,
                    );
                    self.set_path(id, p);
                    acc = Some(id);
                }
                None => {
                    // `::name` (leading `::`)
                    let id = self.add(Kind::Name(name.clone().into()), sp);
                    self.set_path(id, Some(Path::parse(&name)));
                    acc = Some(id);
                }
            }
        }
        acc.unwrap_or_else(|| self.other_empty(n))
    }

    fn lower_binary(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let mut spine = Vec::new();
        let mut cur = n;
        while cur.kind_id() == k.binary_expression {
            match self.field(cur, k.f_left) {
                Some(l) => {
                    spine.push(cur);
                    cur = l;
                }
                None => break,
            }
        }
        let mut acc = if cur.kind_id() == k.binary_expression {
            self.lower_other(cur)
        } else {
            self.lower_expr(cur)
        };
        for b in spine.into_iter().rev() {
            let sp = self.span(b);
            let op = self
                .field(b, k.f_operator)
                .map_or(BinOp::Other, |o| self.binop(o.kind_id()));
            let rhs = match self.field(b, k.f_right) {
                Some(r) => self.lower_expr(r),
                None => self.add(Kind::Other(Vec::new()), sp),
            };
            acc = self.add(Kind::Binary { op, lhs: acc, rhs }, sp);
        }
        acc
    }

    fn binop(&self, kind: u16) -> BinOp {
        let k = self.k;
        let table = [
            (k.op_plus, BinOp::Add),
            (k.op_minus, BinOp::Sub),
            (k.op_star, BinOp::Mul),
            (k.op_slash, BinOp::Div),
            (k.op_percent, BinOp::Mod),
            (k.op_eq, BinOp::Eq),
            (k.op_ne, BinOp::NotEq),
            (k.op_lt, BinOp::Lt),
            (k.op_le, BinOp::LtE),
            (k.op_gt, BinOp::Gt),
            (k.op_ge, BinOp::GtE),
            (k.op_and, BinOp::And),
            (k.op_or, BinOp::Or),
            (k.op_plus_eq, BinOp::Add),
            (k.op_minus_eq, BinOp::Sub),
            (k.op_star_eq, BinOp::Mul),
            (k.op_slash_eq, BinOp::Div),
            (k.op_percent_eq, BinOp::Mod),
        ];
        table
            .iter()
            .find(|(id, _)| *id == kind)
            .map_or(BinOp::Other, |(_, op)| *op)
    }

    fn lower_assign(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        let compound = n.kind_id() == k.compound_assignment_expr;
        let value = self.field(n, k.f_right).map(|r| self.lower_expr(r));
        let left = self.field(n, k.f_left);
        let target = match left {
            Some(l) => self.lower_expr(l),
            None => self.add(Kind::Other(Vec::new()), sp),
        };
        let op = if compound {
            Some(
                self.field(n, k.f_operator)
                    .map_or(BinOp::Other, |o| self.binop(o.kind_id())),
            )
        } else {
            None
        };
        if !compound
            && let Some(l) = left
            && l.kind_id() == k.identifier
        {
            let p = value.and_then(|v| self.binding_path(v));
            let name = self.text(l);
            self.rebind(&name, p.clone());
            self.set_path(target, p);
        }
        self.add(
            Kind::Assign {
                targets: vec![target],
                value,
                op,
                declared_type: None,
            },
            sp,
        )
    }

    fn lower_struct(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        let type_name = self.field(n, k.f_name).map(|t| {
            let name = self
                .type_segments(t)
                .map(|s| s.join("::"))
                .unwrap_or_else(|| self.text(t));
            if name == "Self" {
                self.ctx.imp.as_ref().map_or(name, |i| i.name.clone())
            } else {
                name
            }
        });
        let mut entries = Vec::new();
        if let Some(body) = self.field(n, k.f_body) {
            for c in self.kids(body) {
                let kind = c.kind_id();
                if kind == k.field_initializer {
                    let key = self.field(c, k.f_field).map(|f| self.text(f));
                    let value = match self.field(c, k.f_value) {
                        Some(v) => self.lower_expr(v),
                        None => self.other_empty(c),
                    };
                    entries.push(Entry {
                        key,
                        value,
                        spread: false,
                    });
                } else if kind == k.shorthand_field_initializer {
                    let value = match self.first_kid(c) {
                        Some(i) => self.lower_expr(i),
                        None => self.other_empty(c),
                    };
                    entries.push(Entry {
                        key: Some(self.text(c)),
                        value,
                        spread: false,
                    });
                } else if kind == k.base_field_initializer {
                    let value = match self.first_kid(c) {
                        Some(i) => self.lower_expr(i),
                        None => self.other_empty(c),
                    };
                    entries.push(Entry {
                        key: None,
                        value,
                        spread: true,
                    });
                }
            }
        }
        self.add(Kind::Object { type_name, entries }, sp)
    }

    fn lower_closure(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let hint = match self.hint.take() {
            Some((id, p)) if id == n.id() => p,
            other => {
                self.hint = other;
                None
            }
        };
        let name = match self.name_hint.take() {
            Some((id, name)) if id == n.id() => name,
            _ => "<lambda>".to_string(),
        };
        let is_async = self.has_anon(n, k.async_kw);
        let return_type = self.field(n, k.f_return_type).map(|t| self.text(t));
        let fid = self.new_lambda(n, name, is_async, return_type);
        let saved = self.ctx.clone();
        self.ctx.func = fid;
        self.push_frame(FrameKind::Local);
        let params = match self.field(n, k.f_parameters) {
            Some(p) => self.lower_params(p, hint),
            None => Vec::new(),
        };
        let body = match self.field(n, k.f_body) {
            Some(b) if b.kind_id() == k.block => self.lower_block(b),
            Some(b) => self.lower_expr(b),
            None => self.other_empty(n),
        };
        self.pop_frame();
        self.ctx = saved;
        self.finish_lambda(n, fid, params, body)
    }

    fn lower_async_block(&mut self, n: Node<'_>) -> NodeId {
        let name = match self.name_hint.take() {
            Some((id, name)) if id == n.id() => name,
            _ => "<lambda>".to_string(),
        };
        let fid = self.new_lambda(n, name, true, None);
        let saved = self.ctx.clone();
        self.ctx.func = fid;
        let body = self.lower_block(n);
        self.ctx = saved;
        self.finish_lambda(n, fid, Vec::new(), body)
    }

    fn new_lambda(
        &mut self,
        n: Node<'_>,
        name: String,
        is_async: bool,
        return_type: Option<String>,
    ) -> FuncId {
        let span = self.span(n);
        self.m.add_function(Function {
            name,
            kind: FuncKind::Lambda,
            span,
            is_async,
            decorators: Vec::new(),
            attributes: Vec::new(),
            params: Vec::new(),
            return_type,
            body: NodeId(0),
            class: None,
            parent: Some(self.ctx.func),
            is_test: self.ctx.in_test,
            is_handler: false,
        })
    }

    fn finish_lambda(
        &mut self,
        n: Node<'_>,
        fid: FuncId,
        params: Vec<Param>,
        body: NodeId,
    ) -> NodeId {
        if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
            f.params = params;
            f.body = body;
        }
        if let Some(p) = self.body_return_path(body) {
            self.returns.insert(fid, p);
        }
        let sp = self.span(n);
        self.add(Kind::Lambda(fid), sp)
    }

    /// A condition: `let P = v` (`if let`, `while let`), let chains, or
    /// an expression. Pattern bindings go into the current frame.
    fn lower_cond(&mut self, c: Node<'_>) -> NodeId {
        let k = self.k;
        let kind = c.kind_id();
        let sp = self.span(c);
        if kind == k.let_condition {
            let value = match self.field(c, k.f_value) {
                Some(v) => self.lower_expr(v),
                None => self.other_empty(c),
            };
            let p = self.binding_path(value);
            let pattern = match self.field(c, k.f_pattern) {
                Some(pt) => self.lower_pattern(pt, p),
                None => self.other_empty(c),
            };
            self.add(Kind::Let { pattern, value }, sp)
        } else if kind == k.let_chain {
            let mut acc: Option<NodeId> = None;
            for part in self.kids(c) {
                let id = self.lower_cond(part);
                acc = Some(match acc {
                    Some(lhs) => {
                        let s = Span {
                            start: self.m.node(lhs).span.start,
                            end: self.m.node(id).span.end,
                        };
                        self.add(
                            Kind::Binary {
                                op: BinOp::And,
                                lhs,
                                rhs: id,
                            },
                            s,
                        )
                    }
                    None => id,
                });
            }
            acc.unwrap_or_else(|| self.add(Kind::Other(Vec::new()), sp))
        } else {
            self.lower_expr(c)
        }
    }

    fn lower_if(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        self.push_frame(FrameKind::Local);
        let cond = match self.field(n, k.f_condition) {
            Some(c) => self.lower_cond(c),
            None => self.other_empty(n),
        };
        let then = match self.field(n, k.f_consequence) {
            Some(b) => self.lower_block(b),
            None => self.other_empty(n),
        };
        self.pop_frame();
        let els = self.field(n, k.f_alternative).and_then(|e| {
            let inner = self.first_kid(e)?;
            Some(if inner.kind_id() == k.if_expression {
                self.lower_expr(inner)
            } else {
                self.lower_block(inner)
            })
        });
        self.add(Kind::If { cond, then, els }, sp)
    }

    fn lower_match(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        let subject = match self.field(n, k.f_value) {
            Some(v) => self.lower_expr(v),
            None => self.other_empty(n),
        };
        let sp_path = self.binding_path(subject);
        let mut arms = Vec::new();
        if let Some(body) = self.field(n, k.f_body) {
            for arm in self.kids(body) {
                if arm.kind_id() != k.match_arm {
                    continue;
                }
                self.push_frame(FrameKind::Local);
                let mp = self.field(arm, k.f_pattern);
                let cond = mp.and_then(|m| self.field(m, k.f_condition));
                let pat_node = mp.and_then(|m| {
                    let mut c = m.walk();
                    m.children(&mut c).find(|x| {
                        Some(*x) != cond && !self.is_comment(*x) && x.kind_id() != k.attribute_item
                    })
                });
                let pattern = pat_node.map(|p| self.lower_pattern(p, sp_path.clone()));
                let guard = cond.map(|c| self.lower_cond(c));
                let body = match self.field(arm, k.f_value) {
                    Some(v) => self.lower_expr(v),
                    None => self.other_empty(arm),
                };
                self.pop_frame();
                arms.push(Arm {
                    pattern,
                    guard,
                    body,
                });
            }
        }
        self.add(Kind::Match { subject, arms }, sp)
    }

    fn lower_loop(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        let kind = n.kind_id();
        let body_node = self.field(n, k.f_body);
        let lower_body = |this: &mut Self| match body_node {
            Some(b) => this.lower_block(b),
            None => this.other_empty(n),
        };
        let (lk, target, iter, body) = if kind == k.for_expression {
            let iter = self.field(n, k.f_value).map(|v| self.lower_expr(v));
            self.push_frame(FrameKind::Local);
            let target = self
                .field(n, k.f_pattern)
                .map(|p| self.lower_pattern(p, None));
            let body = lower_body(self);
            self.pop_frame();
            (LoopKind::ForEach, target, iter, body)
        } else if kind == k.while_expression {
            self.push_frame(FrameKind::Local);
            let cond = self.field(n, k.f_condition).map(|c| self.lower_cond(c));
            let body = lower_body(self);
            self.pop_frame();
            (LoopKind::While, None, cond, body)
        } else {
            (LoopKind::Infinite, None, None, lower_body(self))
        };
        self.add(
            Kind::Loop {
                kind: lk,
                target,
                iter,
                body,
                orelse: None,
            },
            sp,
        )
    }

    // ------------------------------------------------------------------
    // patterns

    /// A pattern lowered as an expression (`Ok(v)` is a call of `Ok`, `_` a
    /// name); the names it introduces are bound, a plain name (or one inside
    /// `Ok(..)`/`Some(..)`) to `p`.
    fn lower_pattern(&mut self, n: Node<'_>, p: Option<Path>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        if self.depth >= MAX_DEPTH {
            return self.add(Kind::Other(Vec::new()), sp);
        }
        self.depth += 1;
        let kind = n.kind_id();
        let id = if kind == k.identifier {
            let name = self.text(n);
            if starts_upper(&name) {
                self.lower_expr(n)
            } else {
                self.bind_local(&name, p.clone());
                let id = self.add(Kind::Name(name.into()), sp);
                self.set_path(id, p);
                id
            }
        } else if kind == k.underscore {
            self.add(Kind::Name("_".into()), sp)
        } else if kind == k.mut_pattern || kind == k.ref_pattern || kind == k.reference_pattern {
            match self
                .kids(n)
                .into_iter()
                .rfind(|c| c.kind_id() != k.mutable_specifier)
            {
                Some(inner) => self.lower_pattern(inner, p),
                None => self.add(Kind::Other(Vec::new()), sp),
            }
        } else if kind == k.tuple_struct_pattern {
            let ty = self.field(n, k.f_type);
            let keep = ty.is_some_and(|t| matches!(self.text(t).as_str(), "Ok" | "Some"));
            let callee = match ty {
                Some(t) => self.lower_expr(t),
                None => self.add(Kind::Other(Vec::new()), sp),
            };
            let inner: Vec<_> = self
                .pattern_kids(n)
                .into_iter()
                .filter(|c| Some(*c) != ty)
                .collect();
            let single = inner.len() == 1;
            let args = inner
                .into_iter()
                .map(|c| {
                    let q = if keep && single { p.clone() } else { None };
                    Arg {
                        name: None,
                        value: self.lower_pattern(c, q),
                        spread: Spread::None,
                    }
                })
                .collect();
            let id = self.add(
                Kind::Call {
                    callee,
                    args,
                    type_args: Vec::new(),
                },
                sp,
            );
            let cp = self.node_path(callee).cloned().map(|mut q| {
                if let Some(l) = q.segments.last_mut() {
                    l.called = true;
                    l.call = Some(id);
                }
                q
            });
            self.set_path(id, cp);
            id
        } else if kind == k.struct_pattern {
            let type_name = self.field(n, k.f_type).map(|t| self.text(t));
            let mut entries = Vec::new();
            for c in self.kids(n) {
                if c.kind_id() == k.field_pattern {
                    let key = self.field(c, k.f_name).map(|x| self.text(x));
                    let value = match self.field(c, k.f_pattern) {
                        Some(sub) => self.lower_pattern(sub, None),
                        None => {
                            let name = key.clone().unwrap_or_default();
                            self.bind_local(&name, None);
                            let s = self.span(c);
                            self.add(Kind::Name(name.into()), s)
                        }
                    };
                    entries.push(Entry {
                        key,
                        value,
                        spread: false,
                    });
                } else if c.kind_id() == k.remaining_field_pattern {
                    let value = self.other_empty(c);
                    entries.push(Entry {
                        key: None,
                        value,
                        spread: true,
                    });
                }
            }
            self.add(Kind::Object { type_name, entries }, sp)
        } else if kind == k.tuple_pattern || kind == k.slice_pattern {
            let ids = self
                .pattern_kids(n)
                .into_iter()
                .map(|c| self.lower_pattern(c, None))
                .collect();
            self.add(Kind::Array(ids), sp)
        } else if kind == k.or_pattern {
            let ids: Vec<NodeId> = self
                .pattern_kids(n)
                .into_iter()
                .map(|c| self.lower_pattern(c, p.clone()))
                .collect();
            match ids.as_slice() {
                [lhs, rhs] => self.add(
                    Kind::Binary {
                        op: BinOp::Or,
                        lhs: *lhs,
                        rhs: *rhs,
                    },
                    sp,
                ),
                _ => self.add(Kind::Other(ids), sp),
            }
        } else if kind == k.captured_pattern {
            let ids = self
                .kids(n)
                .into_iter()
                .map(|c| self.lower_pattern(c, p.clone()))
                .collect();
            self.add(Kind::Other(ids), sp)
        } else if kind == k.range_pattern {
            let ids = self
                .kids(n)
                .into_iter()
                .map(|c| self.lower_pattern(c, None))
                .collect();
            self.add(Kind::Other(ids), sp)
        } else if kind == k.remaining_field_pattern {
            self.add(Kind::Other(Vec::new()), sp)
        } else {
            self.lower_expr(n)
        };
        self.depth -= 1;
        id
    }
}

/// `p` as an instance: its last segment called, with no call node.
fn instance(mut p: Path) -> Path {
    if let Some(l) = p.segments.last_mut() {
        l.called = true;
        l.call = None;
    }
    p
}

fn starts_upper(s: &str) -> bool {
    s.chars().next().is_some_and(char::is_uppercase)
}

/// `test`, `tokio::test`, `sqlx::test(..)`, `rstest`, `test_case(..)`.
pub(super) fn is_test_attr(a: &str) -> bool {
    let head = a.split('(').next().unwrap_or("").trim();
    head == "test"
        || head.ends_with("::test")
        || head == "rstest"
        || head == "test_case"
        || head.ends_with("::test_case")
}

/// `cfg(test)`, `cfg(all(test, …))`, but not `cfg(not(test))`.
pub(super) fn is_cfg_test(a: &str) -> bool {
    let a: String = a.chars().filter(|c| !c.is_whitespace()).collect();
    if !a.starts_with("cfg(") || a.contains("not(test") {
        return false;
    }
    a.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == "test")
}

/// A comment's text without its markers, trimmed.
fn comment_text(raw: &str) -> String {
    let t = if let Some(rest) = raw.strip_prefix("//") {
        rest.trim_start_matches('/').trim_start_matches('!')
    } else if let Some(rest) = raw.strip_prefix("/*") {
        let rest = rest.strip_suffix("*/").unwrap_or(rest);
        rest.trim_start_matches('*').trim_start_matches('!')
    } else {
        raw
    };
    t.trim().to_string()
}

/// Decodes a string, byte string, raw string or char literal.
pub(super) fn decode_literal(raw: &str) -> String {
    let s = raw.strip_prefix(['b', 'c']).unwrap_or(raw);
    if let Some(rest) = s.strip_prefix('r') {
        let hashes = rest.len() - rest.trim_start_matches('#').len();
        let inner = rest.get(hashes..).unwrap_or("");
        let inner = inner.strip_prefix('"').unwrap_or(inner);
        let end = inner.len().saturating_sub(hashes + 1);
        return inner.get(..end).unwrap_or(inner).to_string();
    }
    let inner = if let Some(x) = s.strip_prefix('"') {
        x.strip_suffix('"').unwrap_or(x)
    } else if let Some(x) = s.strip_prefix('\'') {
        x.strip_suffix('\'').unwrap_or(x)
    } else {
        s
    };
    unescape(inner)
}

/// Rust string escapes: `\n`, `\t`, `\r`, `\0`, `\\`, quotes, `\x41`,
/// `\u{..}` and line continuations.
pub(super) fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('\'') => out.push('\''),
            Some('x') => {
                let h: String = chars.by_ref().take(2).collect();
                match u8::from_str_radix(&h, 16) {
                    Ok(b) => out.push(char::from(b)),
                    Err(_) => {
                        out.push_str("\\x");
                        out.push_str(&h);
                    }
                }
            }
            Some('u') => {
                let mut hex = String::new();
                if chars.peek() == Some(&'{') {
                    chars.next();
                    for h in chars.by_ref() {
                        if h == '}' {
                            break;
                        }
                        hex.push(h);
                    }
                }
                match u32::from_str_radix(&hex.replace('_', ""), 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(ch) => out.push(ch),
                    None => out.push('\u{fffd}'),
                }
            }
            Some('\n') => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}
