//! Name resolution over the lowered IR (the front-end contract on resolved
//! paths in ARCHITECTURE.md).
//!
//! Each pass walks the module top level in source order, then every function
//! with the final bindings of its enclosing scope (so module-level bindings
//! are visible in functions whatever the order), and collects three facts:
//! the path each same-file function returns, the path of each `self.x`
//! attribute per class, and names assigned under `global`. Passes repeat until
//! those facts stop changing, so factories and attributes defined after their
//! use still resolve.

use faultline_ir::{BinOp, FuncId, FuncKind, Kind, Module, NodeId, Path, Segment};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::lower::{MAX_DEPTH, Side};

/// Passes after which resolution stops even if facts still change.
const MAX_PASSES: usize = 6;

/// What a name stands for in a scope.
#[derive(Clone, Debug, PartialEq)]
enum Binding {
    /// A value with a resolved path.
    Path(Path),
    /// A local, parameter or loop variable whose meaning is unknown.
    Local,
    /// A same-file function or lambda.
    Func(FuncId),
    /// The instance (or class) parameter of a method of this class.
    SelfOf(String),
}

/// A scope: its own bindings over those of the scope that encloses it,
/// which it reads but never changes (so entering a function or a
/// comprehension copies nothing).
struct Env<'p> {
    outer: Option<&'p Env<'p>>,
    vars: HashMap<String, Option<Binding>>,
}

impl<'p> Env<'p> {
    fn new() -> Env<'static> {
        Env {
            outer: None,
            vars: HashMap::new(),
        }
    }

    /// A scope inside `outer`.
    fn within(outer: &'p Env<'p>) -> Env<'p> {
        Env {
            outer: Some(outer),
            vars: HashMap::new(),
        }
    }

    fn get(&self, name: &str) -> Option<&Binding> {
        let mut scope = Some(self);
        while let Some(s) = scope {
            if let Some(b) = s.vars.get(name) {
                return b.as_ref();
            }
            scope = s.outer;
        }
        None
    }

    fn insert(&mut self, name: String, b: Binding) {
        self.vars.insert(name, Some(b));
    }

    /// Unbinds `name` in this scope, whatever an enclosing scope binds.
    fn remove(&mut self, name: &str) {
        if self.outer.is_some() {
            self.vars.insert(name.to_string(), None);
        } else {
            self.vars.remove(name);
        }
    }
}

/// Facts collected by a pass.
#[derive(Clone, Debug, Default, PartialEq)]
struct Facts {
    /// The first resolved `return` (or `yield` of a context manager) of a function.
    returns: HashMap<FuncId, Path>,
    /// Class → attribute → path, from `self.x = …` and class-body assignments.
    attrs: HashMap<String, HashMap<String, Path>>,
    /// Module names assigned a path inside functions under `global`.
    globals: HashMap<String, Path>,
}

/// Which facts a pass read, and whether a later write in the same pass
/// changed one of them. A pass whose reads all still hold at its end would
/// be repeated exactly by the next one, so no next pass is needed.
#[derive(Default)]
struct Reads {
    returns: HashSet<FuncId>,
    /// Attribute names looked up (in any class: a write to a base class
    /// can change a lookup through a subclass).
    attrs: HashSet<String>,
    globals: bool,
    /// A fact changed after the pass had read it.
    stale: bool,
}

impl Reads {
    fn wrote(&mut self, changed: bool, was_read: bool) {
        self.stale |= changed && was_read;
    }
}

/// Resolves every name, attribute and call of `m` it can.
pub(super) fn resolve(m: &mut Module, side: &Side) {
    // Paths are collected apart from the nodes so the walk can borrow the
    // module's nodes without copying them.
    let paths: Vec<Option<Path>> = m.nodes.iter_mut().map(|n| n.path.take()).collect();
    let mut r = Resolver::new(m, side, paths);
    for _ in 0..MAX_PASSES {
        let before = r.facts.clone();
        r.reads = Reads::default();
        r.pass();
        // Unchanged facts: the next pass would start where this one did.
        // No stale read: it would read what this one read. Either way it
        // would repeat this pass.
        if !r.reads.stale || r.facts == before {
            break;
        }
    }
    let paths = r.paths;
    for (n, p) in m.nodes.iter_mut().zip(paths) {
        n.path = p;
    }
}

struct Resolver<'a> {
    m: &'a Module,
    /// Per node: its resolved path.
    paths: Vec<Option<Path>>,
    side: &'a Side,
    facts: Facts,
    reads: Reads,
    /// Class → method name → function.
    methods: HashMap<String, HashMap<String, FuncId>>,
    /// Class → names of its base classes.
    bases: HashMap<String, Vec<String>>,
    /// Per-function state.
    func: FuncId,
    ret: Option<Path>,
    yields_return: bool,
    global_names: HashSet<String>,
    /// Nested functions met in the current scope, resolved after it.
    pending: Vec<FuncId>,
    /// The class whose body is being walked directly.
    class_body: Option<String>,
    depth: u32,
    /// Children waiting to be visited, for every level of the walk.
    kids: Vec<NodeId>,
}

impl<'a> Resolver<'a> {
    fn new(m: &'a Module, side: &'a Side, paths: Vec<Option<Path>>) -> Resolver<'a> {
        let mut methods: HashMap<String, HashMap<String, FuncId>> = HashMap::new();
        for (i, f) in m.functions.iter().enumerate() {
            if f.kind == FuncKind::Method
                && let Some(c) = &f.class
            {
                let id = FuncId(u32::try_from(i).unwrap_or(u32::MAX));
                methods
                    .entry(c.clone())
                    .or_default()
                    .insert(f.name.clone(), id);
            }
        }
        let mut bases: HashMap<String, Vec<String>> = HashMap::new();
        for n in &m.nodes {
            if let Kind::Class { name, bases: b, .. } = &n.kind {
                let names = b
                    .iter()
                    .filter_map(|id| match m.nodes.get(id.0 as usize).map(|x| &x.kind) {
                        Some(Kind::Name(n)) => Some(n.to_string()),
                        Some(Kind::Attr { name, .. }) => Some(name.to_string()),
                        _ => None,
                    })
                    .collect();
                bases.insert(name.clone(), names);
            }
        }
        Resolver {
            m,
            paths,
            side,
            facts: Facts::default(),
            reads: Reads::default(),
            methods,
            bases,
            func: FuncId(0),
            ret: None,
            yields_return: false,
            global_names: HashSet::new(),
            pending: Vec::new(),
            class_body: None,
            depth: 0,
            kids: Vec::new(),
        }
    }

    fn pass(&mut self) {
        let body = self.m.functions.first().map_or(NodeId(0), |f| f.body);
        let mut env = Env::new();
        self.func = FuncId(0);
        self.ret = None;
        self.global_names.clear();
        self.pending.clear();
        self.visit(body, &mut env);
        // Functions see the module's final bindings, plus globals assigned
        // inside functions where the module itself binds nothing useful.
        self.reads.globals = true;
        for (name, p) in &self.facts.globals {
            match env.get(name) {
                None | Some(Binding::Local) => {
                    env.insert(name.clone(), Binding::Path(p.clone()));
                }
                _ => {}
            }
        }
        let pending = std::mem::take(&mut self.pending);
        for f in pending {
            self.function(f, &env);
        }
    }

    /// Resolves one function (or lambda) body with `outer` as its enclosing scope.
    fn function(&mut self, fid: FuncId, outer: &Env<'_>) {
        let m = self.m;
        let Some(f) = m.functions.get(fid.0 as usize) else {
            return;
        };
        let (kind, class, body) = (f.kind, f.class.as_ref(), f.body);
        let is_static = f
            .decorators
            .iter()
            .any(|d| matches!(m.kind(*d), Kind::Name(n) if n == "staticmethod"));
        let is_context_manager = f.decorators.iter().any(|d| {
            self.paths
                .get(d.0 as usize)
                .and_then(Option::as_ref)
                .and_then(Path::last_name)
                .is_some_and(|n| n == "contextmanager" || n == "asynccontextmanager")
        });

        let mut env = Env::within(outer);
        for (i, param) in f.params.iter().enumerate() {
            let name = param.name.trim_start_matches('*');
            let b = match (class, kind) {
                (Some(c), FuncKind::Method) if i == 0 && !is_static => Binding::SelfOf(c.clone()),
                _ => match param
                    .annotation
                    .as_deref()
                    .and_then(|a| annotation_path(a, outer))
                {
                    Some(p) => Binding::Path(p),
                    None => Binding::Local,
                },
            };
            env.insert(name.to_string(), b);
        }

        let saved_func = std::mem::replace(&mut self.func, fid);
        let saved_ret = self.ret.take();
        let saved_yields = std::mem::replace(&mut self.yields_return, is_context_manager);
        let saved_globals = std::mem::take(&mut self.global_names);
        let saved_pending = std::mem::take(&mut self.pending);
        let saved_class = self.class_body.take();

        if kind == FuncKind::Lambda && !matches!(self.m.kind(body), Kind::Block(_)) {
            self.ret = self.visit(body, &mut env);
        } else {
            self.visit(body, &mut env);
        }
        let ret = self.ret.take();
        let changed = self.facts.returns.get(&fid) != ret.as_ref();
        self.reads.wrote(changed, self.reads.returns.contains(&fid));
        match ret {
            Some(p) => {
                self.facts.returns.insert(fid, p);
            }
            None => {
                self.facts.returns.remove(&fid);
            }
        }
        let nested = std::mem::replace(&mut self.pending, saved_pending);
        for n in nested {
            self.function(n, &env);
        }

        self.func = saved_func;
        self.ret = saved_ret;
        self.yields_return = saved_yields;
        self.global_names = saved_globals;
        self.class_body = saved_class;
    }

    /// Records `class.name` as holding `p` (`self.name = …`, class bodies).
    fn set_attr(&mut self, class: String, name: String, p: Path) {
        let table = self.facts.attrs.entry(class).or_default();
        let changed = table.get(&name) != Some(&p);
        self.reads.wrote(changed, self.reads.attrs.contains(&name));
        table.insert(name, p);
    }

    fn set_path(&mut self, id: NodeId, p: Option<Path>) {
        if let Some(slot) = self.paths.get_mut(id.0 as usize) {
            *slot = p;
        }
    }

    /// The class whose instance `id` is, when it is a `self`-like name.
    fn self_class(&self, id: NodeId, env: &Env<'_>) -> Option<String> {
        match self.m.kind(id) {
            Kind::Name(n) => match env.get(n) {
                Some(Binding::SelfOf(c)) => Some(c.clone()),
                _ => None,
            },
            _ => None,
        }
    }

    /// Looks `name` up in `class` and its same-file base classes.
    fn lookup<T: Clone>(
        &self,
        class: &str,
        table: &HashMap<String, HashMap<String, T>>,
        name: &str,
    ) -> Option<T> {
        let mut stack = vec![class.to_string()];
        let mut seen = HashSet::new();
        while let Some(c) = stack.pop() {
            if !seen.insert(c.clone()) || seen.len() > 32 {
                continue;
            }
            if let Some(v) = table.get(&c).and_then(|t| t.get(name)) {
                return Some(v.clone());
            }
            if let Some(b) = self.bases.get(&c) {
                stack.extend(b.iter().rev().cloned());
            }
        }
        None
    }

    fn name_path(name: &str, env: &Env<'_>) -> Option<Path> {
        match env.get(name) {
            Some(Binding::Path(p)) => Some(p.clone()),
            Some(Binding::Local | Binding::SelfOf(_)) => None,
            Some(Binding::Func(_)) | None => Some(Path::parse(name)),
        }
    }

    /// Visits a node: sets paths below it, applies its bindings to `env`, and
    /// returns its own path (looking through `await`).
    fn visit(&mut self, id: NodeId, env: &mut Env<'_>) -> Option<Path> {
        if self.depth > 2 * MAX_DEPTH + 16 {
            return None;
        }
        self.depth += 1;
        let p = self.visit_inner(id, env);
        self.depth -= 1;
        p
    }

    /// Visits the children of `id` in order. Their ids wait on one stack
    /// shared by the whole walk, so a step allocates nothing.
    fn visit_children(&mut self, id: NodeId, env: &mut Env<'_>) {
        let start = self.kids.len();
        self.m.children_into(id, &mut self.kids);
        for i in start..self.kids.len() {
            let Some(&c) = self.kids.get(i) else { break };
            self.visit(c, env);
        }
        self.kids.truncate(start);
    }

    fn visit_all(&mut self, ids: &[NodeId], env: &mut Env<'_>) {
        for id in ids {
            self.visit(*id, env);
        }
    }

    fn visit_inner(&mut self, id: NodeId, env: &mut Env<'_>) -> Option<Path> {
        match self.m.kind(id) {
            Kind::Name(_) | Kind::Attr { .. } => self.reference(id, env),
            Kind::Call { callee, .. } | Kind::New { callee, .. } => {
                let callee = *callee;
                self.call(id, callee, env)
            }
            Kind::Await(e) | Kind::Question(e) => {
                let e = *e;
                self.visit(e, env)
            }
            Kind::Let { pattern, value } => {
                let (pattern, value) = (*pattern, *value);
                let p = self.visit(value, env);
                self.bind(pattern, p.clone(), env);
                p
            }
            Kind::Assign { .. } => {
                self.assign(id, env);
                None
            }
            Kind::Loop { .. } => {
                self.loop_statement(id, env);
                None
            }
            Kind::Try { .. } => {
                self.try_statement(id, env);
                None
            }
            Kind::With { .. } => {
                self.with_statement(id, env);
                None
            }
            Kind::Match { .. } => {
                self.match_statement(id, env);
                None
            }
            Kind::Return(v) => {
                if let Some(v) = *v {
                    let p = self.visit(v, env);
                    if self.ret.is_none() {
                        self.ret = p;
                    }
                }
                None
            }
            Kind::FuncDef(f) | Kind::Lambda(f) => {
                let f = *f;
                self.definition(id, f, env);
                None
            }
            Kind::Class { .. } => {
                self.class(id, env);
                None
            }
            Kind::Other(_) => {
                self.other(id, env);
                None
            }
            // `session or requests.Session()`, `a if c else b`: either side.
            Kind::Binary {
                op: BinOp::Or,
                lhs,
                rhs,
            } => {
                let (lhs, rhs) = (*lhs, *rhs);
                let l = self.visit(lhs, env);
                let r = self.visit(rhs, env);
                l.or(r)
            }
            Kind::Cond { cond, then, els } => {
                let (cond, then, els) = (*cond, *then, *els);
                self.visit(cond, env);
                let t = self.visit(then, env);
                let e = self.visit(els, env);
                t.or(e)
            }
            _ => {
                self.visit_children(id, env);
                None
            }
        }
    }

    /// A name or attribute read.
    fn reference(&mut self, id: NodeId, env: &mut Env<'_>) -> Option<Path> {
        let p = match self.m.kind(id) {
            Kind::Name(n) => Self::name_path(n, env),
            &Kind::Attr { object, ref name } => match self.self_class(object, env) {
                Some(c) => {
                    self.visit(object, env);
                    if !self.reads.attrs.contains(name.as_str()) {
                        self.reads.attrs.insert(name.to_string());
                    }
                    self.lookup(&c, &self.facts.attrs, name)
                }
                None => self.visit(object, env).map(|mut p| {
                    p.push(name.clone(), false, None);
                    p
                }),
            },
            _ => None,
        };
        self.set_path(id, p.clone());
        p
    }

    fn call(&mut self, id: NodeId, callee: NodeId, env: &mut Env<'_>) -> Option<Path> {
        let p = self.call_path(id, callee, env);
        if let Kind::Call { args, .. } | Kind::New { args, .. } = self.m.kind(id) {
            for a in args {
                self.visit(a.value, env);
            }
        }
        self.set_path(id, p.clone());
        p
    }

    fn loop_statement(&mut self, id: NodeId, env: &mut Env<'_>) {
        let &Kind::Loop {
            target,
            iter,
            body,
            orelse,
            ..
        } = self.m.kind(id)
        else {
            return;
        };
        if let Some(i) = iter {
            self.visit(i, env);
        }
        if let Some(t) = target {
            self.bind(t, None, env);
        }
        self.visit(body, env);
        if let Some(o) = orelse {
            self.visit(o, env);
        }
    }

    fn try_statement(&mut self, id: NodeId, env: &mut Env<'_>) {
        let &Kind::Try {
            body,
            ref handlers,
            orelse,
            finally,
        } = self.m.kind(id)
        else {
            return;
        };
        self.visit(body, env);
        for h in handlers {
            self.visit_all(&h.types, env);
            if let Some(b) = &h.binding {
                env.insert(b.clone(), Binding::Local);
            }
            self.visit(h.body, env);
        }
        if let Some(o) = orelse {
            self.visit(o, env);
        }
        if let Some(f) = finally {
            self.visit(f, env);
        }
    }

    fn with_statement(&mut self, id: NodeId, env: &mut Env<'_>) {
        let &Kind::With {
            ref items, body, ..
        } = self.m.kind(id)
        else {
            return;
        };
        for item in items {
            let p = self.visit(item.context, env);
            if let Some(t) = item.target {
                self.bind(t, p, env);
            }
        }
        self.visit(body, env);
    }

    fn match_statement(&mut self, id: NodeId, env: &mut Env<'_>) {
        let &Kind::Match { subject, ref arms } = self.m.kind(id) else {
            return;
        };
        self.visit(subject, env);
        for arm in arms {
            if let Some(p) = arm.pattern {
                self.capture(p, env);
            }
            if let Some(g) = arm.guard {
                self.visit(g, env);
            }
            self.visit(arm.body, env);
        }
    }

    /// A `def` or lambda: decorators and defaults resolve here; the body
    /// resolves after the enclosing scope, with its final bindings.
    fn definition(&mut self, id: NodeId, f: FuncId, env: &mut Env<'_>) {
        let m = self.m;
        let Some(func) = m.functions.get(f.0 as usize) else {
            return;
        };
        self.visit_all(&func.decorators, env);
        for d in func.params.iter().filter_map(|p| p.default) {
            self.visit(d, env);
        }
        if matches!(m.kind(id), Kind::FuncDef(_)) {
            env.insert(func.name.clone(), Binding::Func(f));
        }
        self.pending.push(f);
    }

    fn class(&mut self, id: NodeId, env: &mut Env<'_>) {
        let &Kind::Class {
            ref name,
            ref bases,
            body,
        } = self.m.kind(id)
        else {
            return;
        };
        self.visit_all(bases, env);
        let mut class_env = Env::within(env);
        let saved = self.class_body.replace(name.clone());
        self.visit(body, &mut class_env);
        self.class_body = saved;
        // A same-file class is its own global name.
        env.remove(name);
    }

    fn other(&mut self, id: NodeId, env: &mut Env<'_>) {
        let side = self.side;
        if let Some(bindings) = side.imports.get(&id) {
            for (local, target) in bindings {
                self.bind_name(local, Some(target.clone()), env);
            }
        } else if let Some(targets) = side.comprehensions.get(&id) {
            let mut inner = Env::within(env);
            for t in targets {
                self.bind(*t, None, &mut inner);
            }
            self.visit_children(id, &mut inner);
        } else if let Some(names) = side.globals.get(&id) {
            self.global_names.extend(names.iter().cloned());
        } else if let Some(value) = side.yields.get(&id) {
            let p = self.visit(*value, env);
            if self.yields_return && self.ret.is_none() {
                self.ret = p;
            }
        } else {
            self.visit_children(id, env);
        }
    }

    /// The path of a call: same-file functions and methods give their return
    /// path; anything else appends a called segment to the callee's path.
    fn call_path(&mut self, call: NodeId, callee: NodeId, env: &mut Env<'_>) -> Option<Path> {
        let callee_kind = self.m.kind(callee);
        if let Kind::Name(n) = callee_kind
            && let Some(Binding::Func(f)) = env.get(n)
        {
            let f = *f;
            self.set_path(callee, Some(Path::parse(n)));
            self.reads.returns.insert(f);
            if let Some(ret) = self.facts.returns.get(&f) {
                return Some(ret.clone());
            }
            let mut p = Path::default();
            p.push(n.clone(), true, Some(call));
            return Some(p);
        }
        if let Kind::Attr { object, name } = callee_kind
            && let Some(c) = self.self_class(*object, env)
            && let Some(m) = self.lookup(&c, &self.methods, name)
        {
            self.visit(*object, env);
            // Like a same-file function, a method is named by its class.
            let owner = self
                .m
                .functions
                .get(m.0 as usize)
                .and_then(|f| f.class.clone())
                .unwrap_or(c);
            let mut named = Path::parse(&owner);
            named.push(name.clone(), false, None);
            self.set_path(callee, Some(named.clone()));
            self.reads.returns.insert(m);
            if let Some(ret) = self.facts.returns.get(&m) {
                return Some(ret.clone());
            }
            if let Some(last) = named.segments.last_mut() {
                last.called = true;
                last.call = Some(call);
            }
            return Some(named);
        }
        let mut p = self.visit(callee, env)?;
        let last = p.segments.last_mut()?;
        if last.called {
            return None;
        }
        last.called = true;
        last.call = Some(call);
        Some(p)
    }

    fn assign(&mut self, id: NodeId, env: &mut Env<'_>) {
        let m = self.m;
        let &Kind::Assign {
            ref targets,
            value,
            ref op,
            ref declared_type,
        } = m.kind(id)
        else {
            return;
        };
        let augmented = op.is_some();
        let targets = targets.as_slice();
        let declared = declared_type
            .as_deref()
            .and_then(|d| annotation_path(d, env));
        // `a, b = x, y`: bind element-wise.
        let tuple_value = value.and_then(|v| match m.kind(v) {
            Kind::Array(items) => Some(items),
            _ => None,
        });
        let wants_elements = targets.iter().any(|t| {
            matches!(m.kind(*t), Kind::Array(ts) if tuple_value.is_some_and(|v| v.len() == ts.len()))
        });
        if let (true, Some(items)) = (wants_elements, tuple_value) {
            let paths: Vec<Option<Path>> = items.iter().map(|i| self.visit(*i, env)).collect();
            for t in targets {
                match m.kind(*t) {
                    Kind::Array(ts) if ts.len() == paths.len() => {
                        for (t, p) in ts.iter().zip(paths.iter()) {
                            self.bind(*t, p.clone(), env);
                        }
                    }
                    _ => self.bind(*t, None, env),
                }
            }
            return;
        }
        let lambda = value.and_then(|v| match m.kind(v) {
            Kind::Lambda(f) => Some(*f),
            _ => None,
        });
        let p = value.and_then(|v| self.visit(v, env));
        if augmented {
            for t in targets {
                self.bind(*t, None, env);
            }
            return;
        }
        let p = p.or(declared);
        for t in targets {
            match (lambda, m.kind(*t)) {
                (Some(f), Kind::Name(n)) => {
                    env.insert(n.to_string(), Binding::Func(f));
                }
                _ => self.bind(*t, p.clone(), env),
            }
        }
    }

    /// Binds an assignment (or `with`/`for`/walrus) target to `p`.
    fn bind(&mut self, target: NodeId, p: Option<Path>, env: &mut Env<'_>) {
        match self.m.kind(target) {
            Kind::Name(n) => self.bind_name(n, p, env),
            &Kind::Attr { object, ref name } => {
                if let Some(c) = self.self_class(object, env) {
                    if let Some(p) = p {
                        self.set_attr(c, name.to_string(), p);
                    }
                } else {
                    self.visit(object, env);
                }
            }
            Kind::Array(items) => {
                for i in items {
                    self.bind(*i, None, env);
                }
            }
            Kind::Spread(e) => self.bind(*e, None, env),
            _ => {
                self.visit(target, env);
            }
        }
    }

    fn bind_name(&mut self, n: &str, p: Option<Path>, env: &mut Env<'_>) {
        if let Some(c) = &self.class_body
            && let Some(p) = &p
        {
            self.set_attr(c.clone(), n.to_string(), p.clone());
        }
        if self.global_names.contains(n)
            && let Some(p) = &p
        {
            let changed = self.facts.globals.get(n) != Some(p);
            self.reads.wrote(changed, self.reads.globals);
            self.facts.globals.insert(n.to_string(), p.clone());
        }
        env.insert(
            n.to_string(),
            match p {
                Some(p) => Binding::Path(p),
                None => Binding::Local,
            },
        );
    }

    /// Binds the capture names of a `case` pattern and resolves its value parts.
    fn capture(&mut self, pattern: NodeId, env: &mut Env<'_>) {
        match self.m.kind(pattern) {
            Kind::Name(n) if n != "_" => {
                env.insert(n.to_string(), Binding::Local);
            }
            Kind::Call { callee, args, .. } => {
                self.visit(*callee, env);
                for a in args {
                    self.capture(a.value, env);
                }
            }
            Kind::Attr { .. } => {
                self.visit(pattern, env);
            }
            Kind::Array(items) | Kind::Other(items) => {
                for i in items {
                    self.capture(*i, env);
                }
            }
            Kind::Object { entries, .. } => {
                for e in entries {
                    self.capture(e.value, env);
                }
            }
            Kind::Spread(e) => self.capture(*e, env),
            _ => {}
        }
    }
}

/// The instance path a type annotation stands for: `requests.Session` →
/// `requests.Session()`; `Optional[X]`, `X | None`, `Annotated[X, …]` and
/// quotes are stripped. `None` when it is not a plain dotted name.
fn annotation_path(ann: &str, env: &Env<'_>) -> Option<Path> {
    let t = strip_annotation(ann)?;
    let mut parts = t.split('.');
    let root = parts.next()?;
    let mut p = match env.get(root) {
        Some(Binding::Path(p)) => p.clone(),
        Some(_) => return None,
        None => Path::parse(root),
    };
    for s in parts {
        p.push(s, false, None);
    }
    let last = p.segments.last_mut()?;
    *last = Segment {
        name: std::mem::take(&mut last.name),
        called: true,
        call: None,
    };
    Some(p)
}

fn strip_annotation(ann: &str) -> Option<&str> {
    let mut s = ann.trim();
    for _ in 0..8 {
        if s.len() >= 2
            && ((s.starts_with('"') && s.ends_with('"'))
                || (s.starts_with('\'') && s.ends_with('\'')))
        {
            s = s.get(1..s.len() - 1)?.trim();
            continue;
        }
        let alternatives = if s.contains('|') {
            split_top(s, '|')
        } else {
            Vec::new()
        };
        if alternatives.len() > 1 {
            let rest: Vec<&str> = alternatives.into_iter().filter(|a| *a != "None").collect();
            match rest.as_slice() {
                [one] => {
                    s = one;
                    continue;
                }
                _ => return None,
            }
        }
        if let Some(open) = s.find('[')
            && s.ends_with(']')
        {
            let head = s.get(..open)?.trim();
            let inner = s.get(open + 1..s.len() - 1)?;
            let head_name = head.rsplit('.').next().unwrap_or(head);
            let args = split_top(inner, ',');
            s = match head_name {
                "Optional" | "Annotated" | "Final" | "ClassVar" => args.first()?,
                "Union" => {
                    let rest: Vec<&str> = args.into_iter().filter(|a| *a != "None").collect();
                    match rest.as_slice() {
                        [one] => one,
                        _ => return None,
                    }
                }
                _ => return None,
            };
            continue;
        }
        break;
    }
    let dotted = !s.is_empty()
        && s.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        });
    dotted.then_some(s)
}

/// Splits on `sep` outside brackets, trimming each part.
fn split_top(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                out.push(s.get(start..i).unwrap_or("").trim());
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(s.get(start..).unwrap_or("").trim());
    out
}
