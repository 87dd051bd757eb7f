//! Intra-function data flow: for one function, in one pass in source order,
//! which read of shared state each value came from, followed through
//! assignments, attribute access, indexing, arithmetic, f-strings and
//! templates, and calls that take the value as an argument (helpers,
//! `int()`, `Number()`, `.unwrap_or(..)`). No whole-program fixpoint: a
//! later assignment replaces a binding, branches are read in order.
//!
//! What counts as a read of shared state is decided by a [`Classify`]
//! implementation (the `race` family asks the API models); embedded SQL is
//! recognized here, from string literals, f-strings/templates
//! (interpolations become `?`) and variables assigned a string in the same
//! function. The flow also answers what lies between a read and a write: an
//! `await`, a lock scope, a transaction.

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::cell::RefCell;
use std::rc::Rc;

use faultline_ir::{BinOp, FuncId, Kind, Module, NodeId, Span};

use crate::models::StateKind;
use crate::utils::sql::{SqlFacts, SqlKind, analyze};
use crate::utils::{args, call_name, receiver};

/// Where a value of shared state came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// A modeled API (ORM, cache, atomic, lock guard, file system).
    Model(StateKind),
    /// A `SELECT` in embedded SQL.
    Sql,
    /// An attribute of `self`/`this`.
    Instance,
    /// A module-level variable (a Python global, a JS top-level `let` or
    /// object), or an entry or field of one.
    Global,
}

/// One read of shared state, carried by the values derived from it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The call (or attribute) that read the state.
    pub read: NodeId,
    /// What sort of state.
    pub source: Source,
    /// The state's identity: a model or table name, a client, a mutex,
    /// lowercased.
    pub entity: String,
    /// The key of a keyed store, or the path of a file, normalized.
    pub key: Option<String>,
    /// How messages name the value (`product`, `product.stock`).
    pub label: String,
    /// The field read from a row (`stock`).
    pub field: Option<String>,
    /// The value is the row object itself, not a value read from it.
    pub row: bool,
    /// The read locks what it read (`select_for_update`, `FOR UPDATE`).
    pub locked: bool,
    /// The lock call whose guard the value was read through.
    pub guard: Option<NodeId>,
    /// The read was an existence check or a count.
    pub check: bool,
    /// The row belongs to a session that writes changes back on commit.
    pub tracked: bool,
}

/// Decides which calls read shared state and which expressions open a
/// scope that serializes access.
pub trait Classify {
    /// The origin a call's value has, if the call reads shared state.
    fn origin(&self, flow: &Flow<'_>, call: NodeId) -> Option<Origin>;
    /// Whether a call is known to write or create rather than produce a
    /// derived value (its result carries no origin).
    fn is_write(&self, flow: &Flow<'_>, call: NodeId) -> bool;
    /// Whether an expression (a `with` context, a decorator, a call taking a
    /// callback) opens a lock or transaction scope.
    fn scope(&self, flow: &Flow<'_>, expr: NodeId) -> Option<StateKind>;
}

/// A scope that serializes access: a `with lock:` block, a function
/// decorated with `transaction.atomic`, a callback of `runExclusive`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The node that opened it (the `with`, the decorator, the call).
    pub id: NodeId,
    /// Lock or transaction.
    pub kind: StateKind,
}

/// The flow of one function.
pub struct Flow<'a> {
    /// The module.
    pub m: &'a Module,
    /// The source text.
    pub source: &'a str,
    /// The function.
    pub func: FuncId,
    classify: &'a dyn Classify,
    vars: HashMap<String, Vec<Origin>>,
    strings: HashMap<String, String>,
    selects: HashMap<String, Origin>,
    awaits: Vec<Span>,
    outer: Vec<Scope>,
    depth: usize,
    /// Children waiting to be visited, for every level of the walk.
    kids: Vec<NodeId>,
    globals: HashSet<String>,
    assignable: HashSet<String>,
}

const MAX_DEPTH: usize = 400;

impl<'a> Flow<'a> {
    /// A flow for function `func`. `lambda` is the `Lambda` node that
    /// defines it, when it is a callback (so a callback of a scope call is
    /// inside that scope).
    pub fn new(
        scopes: &Scopes<'a>,
        func: FuncId,
        classify: &'a dyn Classify,
        lambda: Option<NodeId>,
    ) -> Flow<'a> {
        let (m, source) = (scopes.m, scopes.source);
        let mut flow = Flow {
            m,
            source,
            func,
            classify,
            vars: HashMap::new(),
            strings: HashMap::new(),
            selects: HashMap::new(),
            awaits: Vec::new(),
            outer: Vec::new(),
            depth: 0,
            kids: Vec::new(),
            globals: HashSet::new(),
            assignable: HashSet::new(),
        };
        (flow.globals, flow.assignable) = scopes.module_state_in(func);
        let body = m.function(func).body;
        let mut awaits = Vec::new();
        m.walk(body, &mut |n| match m.kind(n) {
            Kind::Await(_) => awaits.push(m.node(n).span),
            Kind::With { is_async: true, .. } => {
                let s = m.node(n).span.start;
                awaits.push(Span {
                    start: s,
                    end: s + 5,
                });
            }
            _ => {}
        });
        flow.awaits = awaits;
        let mut outer = Vec::new();
        for d in &m.function(func).decorators {
            if let Some(kind) = classify.scope(&flow, *d) {
                outer.push(Scope { id: *d, kind });
            }
        }
        if let Some(l) = lambda {
            for a in m.ancestors(l).take(3) {
                if matches!(m.kind(a), Kind::Call { .. } | Kind::New { .. })
                    && let Some(kind) = classify.scope(&flow, a)
                {
                    outer.push(Scope { id: a, kind });
                    break;
                }
            }
        }
        flow.outer = outer;
        flow
    }

    /// Walks the function body in source order and calls `visit` on every
    /// node, with the bindings in force at that point. An assignment is
    /// visited after its value and before its targets are bound.
    pub fn run(&mut self, visit: &mut dyn FnMut(&Flow<'_>, NodeId)) {
        let body = self.m.function(self.func).body;
        self.visit(body, visit);
    }

    fn visit(&mut self, n: NodeId, visit: &mut dyn FnMut(&Flow<'_>, NodeId)) {
        if self.depth > MAX_DEPTH {
            return;
        }
        self.depth += 1;
        // The module outlives `self`: match on its node without cloning it.
        let m = self.m;
        match m.kind(n) {
            Kind::Assign {
                targets, value, op, ..
            } => {
                let value = *value;
                if let Some(v) = value {
                    self.visit(v, visit);
                }
                visit(self, n);
                for t in targets {
                    self.visit(*t, visit);
                }
                let mut origins = value.map(|v| self.eval(v)).unwrap_or_default();
                if op.is_some() {
                    for t in targets {
                        origins.extend(self.eval(*t));
                    }
                }
                let text = value.and_then(|v| self.string_value(v));
                for t in targets {
                    self.bind(*t, &origins, text.clone());
                }
            }
            Kind::Call { .. } => {
                visit(self, n);
                self.visit_children(n, visit);
                self.note_select(n);
            }
            _ => {
                visit(self, n);
                self.visit_children(n, visit);
            }
        }
        self.depth -= 1;
    }

    /// Visits the children of `n` in order. Their ids are kept on one stack
    /// shared by the whole walk, so a step allocates nothing.
    fn visit_children(&mut self, n: NodeId, visit: &mut dyn FnMut(&Flow<'_>, NodeId)) {
        let start = self.kids.len();
        self.m.children_into(n, &mut self.kids);
        for i in start..self.kids.len() {
            let Some(&c) = self.kids.get(i) else { break };
            self.visit(c, visit);
        }
        self.kids.truncate(start);
    }

    fn bind(&mut self, target: NodeId, origins: &[Origin], text: Option<String>) {
        let m = self.m;
        match m.kind(target) {
            Kind::Name(name) => {
                if origins.is_empty() {
                    self.vars.remove(name.as_str());
                } else {
                    let named = origins
                        .iter()
                        .map(|o| {
                            let mut o = o.clone();
                            if o.row {
                                o.label = name.to_string();
                            }
                            o
                        })
                        .collect();
                    self.vars.insert(name.to_string(), named);
                }
                match text {
                    Some(t) => {
                        self.strings.insert(name.to_string(), t);
                    }
                    None => {
                        self.strings.remove(name.as_str());
                    }
                }
            }
            // `const { stock } = row`, `a, b = pair`.
            Kind::Object { entries, .. } => {
                for e in entries {
                    let field = e.key.clone();
                    let derived: Vec<Origin> = origins
                        .iter()
                        .map(|o| field_of(o, field.as_deref()))
                        .collect();
                    self.bind(e.value, &derived, None);
                }
            }
            Kind::Array(items) | Kind::Other(items) => {
                for i in items {
                    self.bind(*i, origins, None);
                }
            }
            _ => {}
        }
    }

    /// Remembers `cur.execute("SELECT …")` whose result is fetched later
    /// from the same cursor (`cur.fetchone()`).
    fn note_select(&mut self, call: NodeId) {
        let m = self.m;
        let Some(parent) = m.parent(call) else { return };
        let stmt = match m.kind(parent) {
            Kind::Await(_) => m.parent(parent),
            _ => Some(parent),
        };
        if !stmt.is_some_and(|s| matches!(m.kind(s), Kind::ExprStmt { .. })) {
            return;
        }
        if let Some((sql_call, facts)) = self.chain_sql(call)
            && facts.kind == SqlKind::Select
            && let Some(r) = receiver(m, call)
        {
            let key = self.text(m.node(r).span);
            let origin = self.sql_origin(sql_call, &facts);
            self.selects.insert(key, origin);
        }
    }

    fn sql_origin(&self, call: NodeId, facts: &SqlFacts) -> Origin {
        Origin {
            read: call,
            source: Source::Sql,
            entity: facts.tables.first().cloned().unwrap_or_default(),
            key: None,
            label: facts.tables.first().cloned().unwrap_or_default(),
            field: None,
            row: false,
            locked: facts.locks,
            guard: None,
            check: facts.aggregate,
            tracked: false,
        }
    }

    /// The origins of the value of an expression.
    pub fn eval(&self, e: NodeId) -> Vec<Origin> {
        let mut out = Vec::new();
        self.eval_into(e, &mut out, 0);
        out.dedup();
        out
    }

    fn eval_into(&self, e: NodeId, out: &mut Vec<Origin>, depth: usize) {
        if depth > 64 {
            return;
        }
        let m = self.m;
        let d = depth + 1;
        match m.kind(e) {
            Kind::Name(n) => {
                if let Some(v) = self.vars.get(n.as_str()) {
                    out.extend(v.iter().cloned());
                } else if self.globals.contains(n.as_str()) {
                    out.push(global_origin(e, n, None, n.to_string()));
                }
            }
            Kind::Attr { object, name } if matches!(m.kind(*object), Kind::Name(g) if self.is_global(g)) => {
                if let Kind::Name(g) = m.kind(*object) {
                    out.push(global_origin(
                        e,
                        g,
                        Some(name.to_string()),
                        format!("{g}.{name}"),
                    ));
                }
            }
            Kind::Index { object, index } if matches!(m.kind(*object), Kind::Name(g) if self.is_global(g)) => {
                if let Kind::Name(g) = m.kind(*object) {
                    let key = self.text(m.node(*index).span);
                    let label = format!("{g}[{key}]");
                    out.push(global_origin(e, g, Some(key), label));
                }
            }
            Kind::Attr { object, name } => {
                // Rust's `&mut self` excludes every other access for as long
                // as the method runs, `await`s included.
                if let Kind::Name(o) = m.kind(*object)
                    && (o == "self" || o == "this")
                    && m.language != faultline_ir::Language::Rust
                {
                    let label = format!("{o}.{name}");
                    out.push(Origin {
                        read: e,
                        source: Source::Instance,
                        entity: label.clone(),
                        key: None,
                        label,
                        field: None,
                        row: false,
                        locked: false,
                        guard: None,
                        check: false,
                        tracked: false,
                    });
                    return;
                }
                let mut inner = Vec::new();
                self.eval_into(*object, &mut inner, d);
                out.extend(inner.iter().map(|o| field_of(o, Some(name))));
            }
            Kind::Index { object, index } => {
                let key = match m.kind(*index) {
                    Kind::Str(s) => Some(s.clone()),
                    _ => None,
                };
                let mut inner = Vec::new();
                self.eval_into(*object, &mut inner, d);
                out.extend(inner.iter().map(|o| field_of(o, key.as_deref())));
            }
            Kind::Call { .. } | Kind::New { .. } => {
                if let Some(o) = self.call_origin(e) {
                    out.push(o);
                    return;
                }
                if self.classify.is_write(self, e) {
                    return;
                }
                if let Some(r) = receiver(m, e) {
                    let mut inner = Vec::new();
                    self.eval_into(r, &mut inner, d);
                    // A method of a row (`order.total()`) is a value derived from
                    // it; `is_some()`/`is_none()` still test the row itself.
                    let presence = matches!(
                        call_name(m, e),
                        Some("is_some" | "is_none" | "is_empty" | "isEmpty" | "optional")
                    );
                    out.extend(inner.into_iter().map(|mut o| {
                        o.row &= presence;
                        o
                    }));
                }
                // A helper given a row computes a value from it.
                for a in args(m, e) {
                    if !matches!(m.kind(a.value), Kind::Lambda(_)) {
                        let mut inner = Vec::new();
                        self.eval_into(a.value, &mut inner, d);
                        out.extend(inner.into_iter().map(|mut o| {
                            o.row = false;
                            o
                        }));
                    }
                }
            }
            Kind::Binary { op, lhs, rhs } if !op.is_comparison() => {
                self.eval_into(*lhs, out, d);
                self.eval_into(*rhs, out, d);
            }
            Kind::Cond { then, els, .. } => {
                self.eval_into(*then, out, d);
                self.eval_into(*els, out, d);
            }
            Kind::Block(stmts) => {
                if let Some(last) = stmts.last() {
                    self.eval_into(*last, out, d);
                }
            }
            Kind::ExprStmt { expr, value: true } => self.eval_into(*expr, out, d),
            Kind::If { then, els, .. } => {
                self.eval_into(*then, out, d);
                if let Some(x) = els {
                    self.eval_into(*x, out, d);
                }
            }
            Kind::Await(x) | Kind::Question(x) | Kind::Spread(x) => self.eval_into(*x, out, d),
            Kind::Unary { operand, .. } => self.eval_into(*operand, out, d),
            Kind::Template(parts) | Kind::Array(parts) | Kind::Other(parts) => {
                for p in parts {
                    self.eval_into(*p, out, d);
                }
            }
            Kind::Object { entries, .. } => {
                for en in entries {
                    self.eval_into(en.value, out, d);
                }
            }
            Kind::Macro { args, .. } => {
                for a in args {
                    self.eval_into(*a, out, d);
                }
            }
            _ => {}
        }
    }

    /// The origin of a call that reads shared state: a modeled read, an
    /// embedded `SELECT`, or a fetch from a cursor that ran one.
    pub fn call_origin(&self, call: NodeId) -> Option<Origin> {
        if let Some(o) = self.classify.origin(self, call) {
            return Some(o);
        }
        if let Some((sql_call, facts)) = self.chain_sql(call)
            && facts.kind == SqlKind::Select
        {
            return Some(self.sql_origin(sql_call, &facts));
        }
        let m = self.m;
        if call_name(m, call).is_some_and(|n| n.starts_with("fetch"))
            && let Some(r) = receiver(m, call)
        {
            return self.selects.get(&self.text(m.node(r).span)).cloned();
        }
        None
    }

    /// The embedded SQL a call runs: the first string argument of the call
    /// or of a call it is chained on (`sqlx::query("…").bind(x).execute()`).
    pub fn chain_sql(&self, call: NodeId) -> Option<(NodeId, SqlFacts)> {
        let m = self.m;
        let mut cur = Some(call);
        for _ in 0..12 {
            let c = cur?;
            if matches!(m.kind(c), Kind::Call { .. } | Kind::New { .. }) {
                if let Some(first) = args(m, c).first()
                    && let Some(text) = self.string_value(first.value)
                    && looks_like_sql(&text)
                    && let Some(f) = analyze(&text)
                {
                    return Some((c, f));
                }
                cur = receiver(m, c).map(|r| crate::utils::strip_await(m, r));
            } else {
                return None;
            }
        }
        None
    }

    /// The text of a string-valued expression: a literal, an f-string or
    /// template (interpolations become `?`), a concatenation, a variable
    /// assigned one of those in this function, or `text("…")`.
    pub fn string_value(&self, e: NodeId) -> Option<String> {
        let m = self.m;
        match m.kind(e) {
            Kind::Str(_) | Kind::Template(_) => crate::utils::literal_text(m, e),
            Kind::Name(n) => self.strings.get(n.as_str()).cloned(),
            Kind::Binary {
                op: BinOp::Add,
                lhs,
                rhs,
            } => Some(self.string_value(*lhs)? + &self.string_value(*rhs).unwrap_or_default()),
            Kind::Call { .. } if matches!(call_name(m, e), Some("text" | "sql" | "raw")) => {
                self.string_value(args(m, e).first()?.value)
            }
            Kind::Macro { name, args } if name == "format" || name.ends_with("query") => {
                self.string_value(*args.first()?)
            }
            _ => None,
        }
    }

    /// Whether a name is a module-level variable in this function (not
    /// shadowed by a parameter or a local of it or of a function around it)
    /// and no value read in this function is bound to it.
    pub fn is_global(&self, name: &str) -> bool {
        self.globals.contains(name) && !self.vars.contains_key(name)
    }

    /// Whether assigning to a name in this function assigns the
    /// module-level variable (Python: declared `global`; JS: not declared
    /// locally).
    pub fn assigns_global(&self, name: &str) -> bool {
        self.assignable.contains(name)
    }

    /// The source text of a span.
    pub fn text(&self, span: Span) -> String {
        self.source
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
            .to_string()
    }

    /// Whether an `await` (or the entry of an `async with`) completes after
    /// a read and starts before a write ends: the function may be suspended
    /// between the two.
    pub fn await_between(&self, read: Span, write_end: u32) -> bool {
        self.awaits
            .iter()
            .any(|a| a.end > read.end && a.start < write_end)
    }

    /// The lock and transaction scopes around a node, innermost first.
    pub fn scopes(&self, n: NodeId) -> Vec<Scope> {
        let m = self.m;
        let mut out = Vec::new();
        let mut prev = n;
        for a in m.ancestors(n) {
            if let Kind::With { items, body, .. } = m.kind(a)
                && *body == prev
            {
                for it in items {
                    if let Some(kind) = self.classify.scope(self, it.context) {
                        out.push(Scope { id: a, kind });
                    }
                }
            }
            prev = a;
        }
        out.extend(self.outer.iter().copied());
        out
    }

    /// Whether one lock scope encloses both nodes.
    pub fn same_lock(&self, a: NodeId, b: NodeId) -> bool {
        let sa = self.scopes(a);
        self.scopes(b)
            .iter()
            .any(|s| s.kind == StateKind::Lock && sa.contains(s))
    }

    /// Whether a node is inside a transaction scope.
    pub fn in_transaction(&self, n: NodeId) -> bool {
        self.scopes(n)
            .iter()
            .any(|s| s.kind == StateKind::Transaction)
    }
}

/// The origin of `o.field`.
fn field_of(o: &Origin, field: Option<&str>) -> Origin {
    let mut o = o.clone();
    if o.row {
        o.row = false;
        if let Some(f) = field {
            o.label = format!("{}.{f}", o.label);
            o.field = Some(f.to_string());
        }
    }
    o
}

fn global_origin(read: NodeId, entity: &str, key: Option<String>, label: String) -> Origin {
    Origin {
        read,
        source: Source::Global,
        entity: entity.to_string(),
        key,
        label,
        field: None,
        row: false,
        locked: false,
        guard: None,
        check: false,
        tracked: false,
    }
}

/// Whether a module-level value is state a function may change: a number,
/// boolean or `None`/`null`, a dict/object or list/array literal, or a new
/// collection (`new Map()`, `dict()`, `defaultdict(int)`).
fn is_state_value(m: &Module, v: NodeId) -> bool {
    match m.kind(v) {
        Kind::Num(_) | Kind::Bool(_) | Kind::Null | Kind::Object { .. } | Kind::Array(_) => true,
        Kind::Call { .. } | Kind::New { .. } => matches!(
            call_name(m, v),
            Some(
                "Map"
                    | "Set"
                    | "dict"
                    | "list"
                    | "set"
                    | "defaultdict"
                    | "Counter"
                    | "OrderedDict"
                    | "deque"
            )
        ),
        _ => false,
    }
}

/// What every flow over one module shares: the module-level variables
/// that hold state, and each function's local names, computed once (a
/// callback nested ten deep would otherwise walk its ten enclosing
/// functions again for every flow).
pub struct Scopes<'a> {
    m: &'a Module,
    source: &'a str,
    /// Module-level names bound once to a state value.
    state: HashSet<String>,
    /// Per function: the names it binds and those it declares `global`.
    locals: RefCell<HashMap<FuncId, Rc<Locals>>>,
}

type Locals = (HashSet<String>, HashSet<String>);

impl<'a> Scopes<'a> {
    /// The scopes of module `m` with source `source`.
    pub fn new(m: &'a Module, source: &'a str) -> Scopes<'a> {
        Scopes {
            m,
            source,
            state: module_state(m),
            locals: RefCell::new(HashMap::new()),
        }
    }

    fn locals(&self, f: FuncId) -> Rc<Locals> {
        if let Some(l) = self.locals.borrow().get(&f) {
            return Rc::clone(l);
        }
        let python = self.m.language == faultline_ir::Language::Python;
        let l = Rc::new(locals_of(self.m, self.source, f, python));
        self.locals.borrow_mut().insert(f, Rc::clone(&l));
        l
    }

    /// The module-level variables function `func` sees (not shadowed by its
    /// own parameters and locals or those of the functions around it), and
    /// those of them it assigns when it assigns the bare name.
    fn module_state_in(&self, func: FuncId) -> (HashSet<String>, HashSet<String>) {
        let m = self.m;
        let mut assignable = HashSet::new();
        if func == FuncId(0) || self.state.is_empty() {
            return (HashSet::new(), assignable);
        }
        let mut globals = self.state.clone();
        let python = m.language == faultline_ir::Language::Python;
        let mut cur = Some(func);
        let mut first = true;
        while let Some(f) = cur {
            if f == FuncId(0) {
                break;
            }
            let l = self.locals(f);
            let (locals, declared) = (&l.0, &l.1);
            if first {
                for g in &globals {
                    if python {
                        if declared.contains(g) {
                            assignable.insert(g.clone());
                        }
                    } else if !locals.contains(g) {
                        assignable.insert(g.clone());
                    }
                }
                first = false;
            }
            globals.retain(|g| !locals.contains(g) || declared.contains(g));
            cur = m.function(f).parent;
        }
        assignable.retain(|g| globals.contains(g));
        (globals, assignable)
    }
}

/// The module-level names bound once to a state value. Rust has no mutable
/// module state outside `static`s behind locks (modeled as guards).
fn module_state(m: &Module) -> HashSet<String> {
    let mut globals = HashSet::new();
    if m.language == faultline_ir::Language::Rust || m.functions.is_empty() {
        return globals;
    }
    let Kind::Block(stmts) = m.kind(m.function(FuncId(0)).body) else {
        return globals;
    };
    let mut defined: HashMap<String, usize> = HashMap::new();
    for s in stmts {
        if let Kind::Assign {
            targets,
            value: Some(v),
            op: None,
            ..
        } = m.kind(*s)
            && let [t] = targets.as_slice()
            && let Kind::Name(n) = m.kind(*t)
        {
            *defined.entry(n.to_string()).or_default() += 1;
            if is_state_value(m, *v) {
                globals.insert(n.to_string());
            }
        }
    }
    // A name bound twice at module level is configuration, not a counter.
    globals.retain(|n| defined.get(n).copied() == Some(1));
    globals
}

/// The names a function binds locally (parameters, declarations, Python
/// assignments, loop and `with` targets) and the names it declares `global`.
fn locals_of(
    m: &Module,
    source: &str,
    f: FuncId,
    python: bool,
) -> (HashSet<String>, HashSet<String>) {
    let mut locals = HashSet::new();
    let mut declared = HashSet::new();
    for p in &m.function(f).params {
        for w in p
            .name
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$'))
            .filter(|w| !w.is_empty())
        {
            locals.insert(w.to_string());
        }
    }
    let names = |t: NodeId, out: &mut HashSet<String>| {
        m.walk(t, &mut |x| {
            if let Kind::Name(n) = m.kind(x) {
                out.insert(n.to_string());
            }
        });
    };
    for n in crate::utils::function_nodes(m, f, false) {
        match m.kind(n) {
            Kind::Assign { targets, .. } => {
                // JS declarations are statements; a JS assignment to an
                // existing variable is an expression statement.
                let declaration = python
                    || m.parent(n)
                        .is_some_and(|p| !matches!(m.kind(p), Kind::ExprStmt { .. }));
                if declaration {
                    for t in targets {
                        if matches!(
                            m.kind(*t),
                            Kind::Name(_) | Kind::Object { .. } | Kind::Array(_) | Kind::Other(_)
                        ) {
                            names(*t, &mut locals);
                        }
                    }
                }
            }
            Kind::Loop {
                target: Some(t), ..
            } => names(*t, &mut locals),
            Kind::With { items, .. } => {
                for it in items {
                    if let Some(t) = it.target {
                        names(t, &mut locals);
                    }
                }
            }
            Kind::FuncDef(g) => {
                locals.insert(m.function(*g).name.clone());
            }
            Kind::Other(kids) if python => {
                let text = source
                    .get(m.node(n).span.start as usize..m.node(n).span.end as usize)
                    .unwrap_or("");
                if text.starts_with("global") {
                    for k in kids {
                        if let Kind::Name(x) = m.kind(*k) {
                            declared.insert(x.to_string());
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (locals, declared)
}

fn looks_like_sql(text: &str) -> bool {
    let t = text.trim_start().as_bytes();
    let head: Vec<u8> = t.iter().take(7).map(u8::to_ascii_lowercase).collect();
    [&b"select"[..], b"update", b"insert", b"with", b"delete"]
        .iter()
        .any(|k| head.starts_with(k))
}

/// The `Lambda` node that defines each callback function of a module.
pub fn lambda_nodes(m: &Module) -> HashMap<FuncId, NodeId> {
    let mut out = HashMap::new();
    for (i, n) in m.nodes.iter().enumerate() {
        if let Kind::Lambda(f) = n.kind {
            out.insert(f, NodeId(i as u32));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The flow on its own: a test classifier treats `<x>.load(..)` as a
    //! read of row `x`, `<x>.peek(..)` as a read of key `<x>`, `<x>.exists(..)`
    //! as a check, `<x>.store(..)` as a write, and `lock(..)` / `atomic(..)`
    //! (and the `atomic` decorator) as lock and transaction scopes. The value
    //! of the first argument of each `sink(..)` call is recorded.
    use super::*;
    use faultline_grammars::{Lang, lower};

    struct Test;

    fn last_name(m: &Module, call: NodeId) -> Option<String> {
        match m.kind(call) {
            Kind::Call { callee, .. } => match m.kind(*callee) {
                Kind::Name(n) | Kind::Attr { name: n, .. } => Some(n.to_string()),
                _ => None,
            },
            Kind::Name(n) | Kind::Attr { name: n, .. } => Some(n.to_string()),
            _ => None,
        }
    }

    impl Classify for Test {
        fn origin(&self, flow: &Flow<'_>, call: NodeId) -> Option<Origin> {
            let m = flow.m;
            let name = call_name(m, call)?;
            let (kind, row, check) = match name {
                "load" => (StateKind::Row, true, false),
                "peek" => (StateKind::Key, false, false),
                "exists" => (StateKind::Row, false, true),
                _ => return None,
            };
            let entity = receiver(m, call)
                .map(|r| flow.text(m.node(r).span))
                .unwrap_or_default();
            Some(Origin {
                read: call,
                source: Source::Model(kind),
                entity: entity.clone(),
                key: None,
                label: entity,
                field: None,
                row,
                locked: flow.text(m.node(call).span).contains("for_update"),
                guard: None,
                check,
                tracked: false,
            })
        }

        fn is_write(&self, flow: &Flow<'_>, call: NodeId) -> bool {
            call_name(flow.m, call) == Some("store")
        }

        fn scope(&self, flow: &Flow<'_>, expr: NodeId) -> Option<StateKind> {
            match last_name(flow.m, expr).as_deref() {
                Some("lock") => Some(StateKind::Lock),
                Some("atomic") => Some(StateKind::Transaction),
                _ => None,
            }
        }
    }

    /// What one `sink(..)` call saw.
    #[derive(Debug)]
    struct Sink {
        origins: Vec<Origin>,
        /// An await lies between each origin's read and the sink.
        awaited: bool,
        in_tx: bool,
        same_lock: bool,
    }

    fn module(lang: Lang, src: &str) -> Module {
        lower(lang, src).unwrap_or_else(|e| panic!("lowering failed: {e:?}"))
    }

    fn sinks(lang: Lang, src: &str) -> Vec<Sink> {
        let m = module(lang, src);
        let mut out = Vec::new();
        for i in 0..m.functions.len() {
            let f = FuncId(i as u32);
            let lambdas = lambda_nodes(&m);
            let scopes = Scopes::new(&m, src);
            let mut flow = Flow::new(&scopes, f, &Test, lambdas.get(&f).copied());
            flow.run(&mut |flow, n| {
                if matches!(m.kind(n), Kind::Call { .. })
                    && call_name(&m, n) == Some("sink")
                    && m.owner(n) == f
                    && let Some(a) = args(&m, n).first()
                {
                    let origins = flow.eval(a.value);
                    let end = m.node(n).span.end;
                    let awaited = origins
                        .iter()
                        .any(|o| flow.await_between(m.node(o.read).span, end));
                    let same_lock = origins.iter().any(|o| flow.same_lock(o.read, n));
                    out.push(Sink {
                        origins,
                        awaited,
                        in_tx: flow.in_transaction(n),
                        same_lock,
                    });
                }
            });
        }
        out
    }

    fn one(lang: Lang, src: &str) -> Sink {
        let mut s = sinks(lang, src);
        assert_eq!(s.len(), 1, "expected one sink in {src}");
        s.remove(0)
    }

    fn fields(s: &Sink) -> Vec<Option<String>> {
        s.origins.iter().map(|o| o.field.clone()).collect()
    }

    #[test]
    fn assignment_and_attribute_carry_the_read() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    row = db.load(pk)\n    n = row.stock\n    m = n\n    sink(m)\n",
        );
        assert_eq!(s.origins.len(), 1);
        let o = &s.origins[0];
        assert_eq!(o.entity, "db");
        assert_eq!(o.field.as_deref(), Some("stock"));
        assert_eq!(o.label, "row.stock");
        assert!(!o.row);
    }

    #[test]
    fn the_row_itself_stays_a_row_under_its_new_name() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    item = db.load(pk)\n    sink(item)\n",
        );
        assert!(s.origins[0].row);
        assert_eq!(s.origins[0].label, "item");
    }

    #[test]
    fn a_later_assignment_replaces_the_binding() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    n = db.load(pk).stock\n    n = 3\n    sink(n)\n",
        );
        assert!(s.origins.is_empty());
    }

    #[test]
    fn arithmetic_and_augmented_assignment() {
        let s = one(
            Lang::Python,
            "def f(pk, q):\n    row = db.load(pk)\n    left = row.stock - q * 2\n    left += 1\n    sink(left)\n",
        );
        assert_eq!(fields(&s), vec![Some("stock".to_string())]);

        let s = one(
            Lang::Python,
            "def f(pk, q):\n    total = 0\n    row = db.load(pk)\n    total += row.stock\n    sink(total)\n",
        );
        assert_eq!(fields(&s), vec![Some("stock".to_string())]);
    }

    #[test]
    fn comparisons_do_not_carry_the_value() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    row = db.load(pk)\n    low = row.stock < 5\n    sink(low)\n",
        );
        assert!(s.origins.is_empty());
    }

    #[test]
    fn fstrings_and_templates() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    row = db.load(pk)\n    s = f\"{row.name}!\"\n    sink(s)\n",
        );
        assert_eq!(fields(&s), vec![Some("name".to_string())]);

        let s = one(
            Lang::TypeScript,
            "async function f(id: string) {\n  const row = await db.load(id);\n  const s = `${row.name}!`;\n  sink(s);\n}\n",
        );
        assert_eq!(fields(&s), vec![Some("name".to_string())]);
    }

    #[test]
    fn helper_calls_and_conversions_take_the_value_along() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    row = db.load(pk)\n    left = remaining(row)\n    sink(int(left))\n",
        );
        assert_eq!(s.origins.len(), 1);
        assert!(
            !s.origins[0].row,
            "a helper's result is a value, not the row"
        );

        let s = one(
            Lang::Rust,
            "fn f(db: &Db) {\n    let n = db.peek(\"k\").unwrap_or(0);\n    sink(n + 1);\n}\n",
        );
        assert_eq!(s.origins.len(), 1);
        assert_eq!(s.origins[0].source, Source::Model(StateKind::Key));
    }

    #[test]
    fn writes_carry_no_value() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    row = db.load(pk)\n    r = db.store(row)\n    sink(r)\n",
        );
        assert!(s.origins.is_empty());
    }

    #[test]
    fn destructuring_takes_the_field() {
        let s = one(
            Lang::TypeScript,
            "async function f(id: string) {\n  const { stock } = await db.load(id);\n  sink(stock - 1);\n}\n",
        );
        assert_eq!(fields(&s), vec![Some("stock".to_string())]);
    }

    #[test]
    fn checks_are_marked() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    n = db.exists(pk)\n    sink(n)\n",
        );
        assert!(s.origins[0].check);
    }

    #[test]
    fn await_between_read_and_write() {
        let s = one(
            Lang::Python,
            "async def f(pk, c):\n    row = db.load(pk)\n    extra = await c.fetch()\n    sink(row.n + extra)\n",
        );
        assert!(s.awaited);

        let s = one(
            Lang::Python,
            "async def f(pk, c):\n    extra = await c.fetch()\n    row = db.load(pk)\n    sink(row.n + extra)\n",
        );
        assert!(!s.awaited, "the await completes before the read");

        let s = one(
            Lang::TypeScript,
            "async function f(id: string) {\n  const row = db.load(id);\n  await tick();\n  sink(row.n);\n}\n",
        );
        assert!(s.awaited);
    }

    #[test]
    fn lock_scopes() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    with lock(pk):\n        row = db.load(pk)\n        sink(row.n + 1)\n",
        );
        assert!(s.same_lock);

        let s = one(
            Lang::Python,
            "def f(pk):\n    with lock(pk):\n        row = db.load(pk)\n    with lock(pk):\n        sink(row.n + 1)\n",
        );
        assert!(!s.same_lock, "two lock scopes are two steps");

        let s = one(
            Lang::TypeScript,
            "async function f(id: string) {\n  await lock(async () => {\n    const row = await db.load(id);\n    sink(row.n + 1);\n  });\n}\n",
        );
        assert!(s.same_lock, "a callback of a lock call is inside the lock");
    }

    #[test]
    fn transaction_scopes() {
        let s = one(
            Lang::Python,
            "@atomic\ndef f(pk):\n    row = db.load(pk)\n    sink(row.n)\n",
        );
        assert!(s.in_tx);

        let s = one(
            Lang::Python,
            "def f(pk):\n    with atomic():\n        row = db.load(pk)\n    sink(row.n)\n",
        );
        assert!(!s.in_tx);
    }

    #[test]
    fn embedded_select_and_for_update() {
        let src = "def f(cur, pk):\n    cur.execute(\"SELECT n FROM items WHERE id = %s\", [pk])\n    n = cur.fetchone()[0]\n    sink(n + 1)\n";
        let s = one(Lang::Python, src);
        assert_eq!(s.origins.len(), 1);
        assert_eq!(s.origins[0].source, Source::Sql);
        assert_eq!(s.origins[0].entity, "items");
        assert!(!s.origins[0].locked);

        let src = "def f(cur, pk):\n    q = \"SELECT n FROM items WHERE id = %s FOR UPDATE\"\n    cur.execute(q, [pk])\n    n = cur.fetchone()[0]\n    sink(n + 1)\n";
        let s = one(Lang::Python, src);
        assert!(s.origins[0].locked, "FOR UPDATE through a variable");

        let src = "async function f(id: string) {\n  const { rows } = await pool.query(`SELECT n FROM items WHERE id = ${id}`);\n  sink(rows[0].n + 1);\n}\n";
        let s = one(Lang::TypeScript, src);
        assert_eq!(s.origins.len(), 1);
        assert_eq!(s.origins[0].source, Source::Sql);
    }

    #[test]
    fn locking_reads_are_marked() {
        let s = one(
            Lang::Python,
            "def f(pk):\n    row = db.for_update().load(pk)\n    sink(row.n - 1)\n",
        );
        assert!(s.origins[0].locked);
    }

    #[test]
    fn instance_attributes() {
        let s = one(
            Lang::Python,
            "class C:\n    async def f(self, c):\n        cur = self.total\n        await c.fetch()\n        sink(cur + 1)\n",
        );
        assert_eq!(s.origins[0].source, Source::Instance);
        assert_eq!(s.origins[0].entity, "self.total");
        assert!(s.awaited);
    }

    #[test]
    fn string_values_follow_variables_and_concatenation() {
        let src = "def f(pk):\n    a = \"UPDATE t \"\n    q = a + \"SET n = 1\"\n    sink(q)\n";
        let m = module(Lang::Python, src);
        let f = FuncId(1);
        let scopes = Scopes::new(&m, src);
        let mut flow = Flow::new(&scopes, f, &Test, None);
        let mut got = Vec::new();
        flow.run(&mut |flow, n| {
            if call_name(&m, n) == Some("sink")
                && let Some(a) = args(&m, n).first()
            {
                got.push(flow.string_value(a.value));
            }
        });
        assert_eq!(got, vec![Some("UPDATE t SET n = 1".to_string())]);
    }
}
