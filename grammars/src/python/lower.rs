//! CST → IR lowering for Python: one recursive pass, dispatching on node
//! kind ids through [`Kinds`], with an explicit depth limit.

use foldhash::HashMap;
use std::sync::OnceLock;

use faultline_ir::{
    Arg, Arm, BinOp, Comment, Entry, FuncId, FuncKind, Function, Handler, Import, Kind, Language,
    LoopKind, Module, NodeId, Param, Path, Span, Spread, UnOp, WithItem,
};
use tree_sitter::{Node, Tree};

use crate::util::{span, text};

/// Nesting depth (statements and expressions together) beyond which a
/// subtree is lowered as an empty [`Kind::Other`] instead of recursing, so
/// pathological input cannot overflow the stack.
pub(super) const MAX_DEPTH: u32 = 200;

/// What name resolution needs that the IR does not carry.
#[derive(Debug, Default)]
pub(super) struct Side {
    /// Import statements (lowered as empty `Other`) and the names they bind.
    pub imports: HashMap<NodeId, Vec<(String, Path)>>,
    /// Comprehensions and generator expressions (lowered as `Other`) and the
    /// target nodes their `for` clauses bind.
    pub comprehensions: HashMap<NodeId, Vec<NodeId>>,
    /// `yield` expressions (lowered as `Other`) and the yielded value.
    pub yields: HashMap<NodeId, NodeId>,
    /// `global` statements (lowered as `Other` of names) and their names.
    pub globals: HashMap<NodeId, Vec<String>>,
}

/// What a CST node kind means to the lowering. Looked up by kind id.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Tag {
    Unknown,
    // statements
    Module,
    Block,
    ExpressionStatement,
    Assignment,
    AugmentedAssignment,
    If,
    Elif,
    Else,
    For,
    While,
    Try,
    Except,
    Finally,
    With,
    WithClause,
    WithItem,
    Match,
    CaseClause,
    Return,
    Raise,
    Pass,
    Break,
    Continue,
    FunctionDef,
    ClassDef,
    Decorated,
    Decorator,
    Import,
    ImportFrom,
    FutureImport,
    AliasedImport,
    DottedName,
    RelativeImport,
    ImportPrefix,
    Global,
    Nonlocal,
    // expressions
    Identifier,
    Attribute,
    Subscript,
    Slice,
    Call,
    ArgumentList,
    KeywordArgument,
    ListSplat,
    DictionarySplat,
    ParenthesizedListSplat,
    Await,
    String,
    ConcatenatedString,
    StringStart,
    StringContent,
    Interpolation,
    FormatSpecifier,
    FormatExpression,
    Integer,
    Float,
    True,
    False,
    None,
    List,
    Tuple,
    Set,
    ExpressionList,
    PatternList,
    TuplePattern,
    ListPattern,
    ListSplatPattern,
    DictionarySplatPattern,
    Dictionary,
    Pair,
    ListComprehension,
    SetComprehension,
    DictionaryComprehension,
    GeneratorExpression,
    ForInClause,
    IfClause,
    BinaryOperator,
    BooleanOperator,
    ComparisonOperator,
    NotOperator,
    UnaryOperator,
    ConditionalExpression,
    NamedExpression,
    Lambda,
    Yield,
    ParenthesizedExpression,
    AsPattern,
    AsPatternTarget,
    Parameters,
    LambdaParameters,
    TypedParameter,
    DefaultParameter,
    TypedDefaultParameter,
    KeywordSeparator,
    PositionalSeparator,
    // match patterns
    CasePattern,
    ClassPattern,
    KeywordPattern,
    SplatPattern,
    UnionPattern,
    DictPattern,
    ComplexPattern,
    // tokens
    Async,
    Underscore,
    Op(BinOp),
    AugOp(BinOp),
    Not,
    Tilde,
}

/// `(kind name, named, tag)` rows; every kind id whose name and namedness
/// match gets the tag (aliases share a name).
const TAGS: &[(&str, bool, Tag)] = &[
    ("module", true, Tag::Module),
    ("block", true, Tag::Block),
    ("expression_statement", true, Tag::ExpressionStatement),
    ("assignment", true, Tag::Assignment),
    ("augmented_assignment", true, Tag::AugmentedAssignment),
    ("if_statement", true, Tag::If),
    ("elif_clause", true, Tag::Elif),
    ("else_clause", true, Tag::Else),
    ("for_statement", true, Tag::For),
    ("while_statement", true, Tag::While),
    ("try_statement", true, Tag::Try),
    ("except_clause", true, Tag::Except),
    ("except_group_clause", true, Tag::Except),
    ("finally_clause", true, Tag::Finally),
    ("with_statement", true, Tag::With),
    ("with_clause", true, Tag::WithClause),
    ("with_item", true, Tag::WithItem),
    ("match_statement", true, Tag::Match),
    ("case_clause", true, Tag::CaseClause),
    ("return_statement", true, Tag::Return),
    ("raise_statement", true, Tag::Raise),
    ("pass_statement", true, Tag::Pass),
    ("break_statement", true, Tag::Break),
    ("continue_statement", true, Tag::Continue),
    ("function_definition", true, Tag::FunctionDef),
    ("class_definition", true, Tag::ClassDef),
    ("decorated_definition", true, Tag::Decorated),
    ("decorator", true, Tag::Decorator),
    ("import_statement", true, Tag::Import),
    ("import_from_statement", true, Tag::ImportFrom),
    ("future_import_statement", true, Tag::FutureImport),
    ("aliased_import", true, Tag::AliasedImport),
    ("dotted_name", true, Tag::DottedName),
    ("relative_import", true, Tag::RelativeImport),
    ("import_prefix", true, Tag::ImportPrefix),
    ("global_statement", true, Tag::Global),
    ("nonlocal_statement", true, Tag::Nonlocal),
    ("identifier", true, Tag::Identifier),
    ("attribute", true, Tag::Attribute),
    ("subscript", true, Tag::Subscript),
    ("slice", true, Tag::Slice),
    ("call", true, Tag::Call),
    ("argument_list", true, Tag::ArgumentList),
    ("keyword_argument", true, Tag::KeywordArgument),
    ("list_splat", true, Tag::ListSplat),
    ("dictionary_splat", true, Tag::DictionarySplat),
    (
        "parenthesized_list_splat",
        true,
        Tag::ParenthesizedListSplat,
    ),
    ("await", true, Tag::Await),
    ("string", true, Tag::String),
    ("concatenated_string", true, Tag::ConcatenatedString),
    ("string_start", true, Tag::StringStart),
    ("string_content", true, Tag::StringContent),
    ("interpolation", true, Tag::Interpolation),
    ("format_specifier", true, Tag::FormatSpecifier),
    ("format_expression", true, Tag::FormatExpression),
    ("integer", true, Tag::Integer),
    ("float", true, Tag::Float),
    ("true", true, Tag::True),
    ("false", true, Tag::False),
    ("none", true, Tag::None),
    ("list", true, Tag::List),
    ("tuple", true, Tag::Tuple),
    ("set", true, Tag::Set),
    ("expression_list", true, Tag::ExpressionList),
    ("pattern_list", true, Tag::PatternList),
    ("tuple_pattern", true, Tag::TuplePattern),
    ("list_pattern", true, Tag::ListPattern),
    ("list_splat_pattern", true, Tag::ListSplatPattern),
    (
        "dictionary_splat_pattern",
        true,
        Tag::DictionarySplatPattern,
    ),
    ("dictionary", true, Tag::Dictionary),
    ("pair", true, Tag::Pair),
    ("list_comprehension", true, Tag::ListComprehension),
    ("set_comprehension", true, Tag::SetComprehension),
    (
        "dictionary_comprehension",
        true,
        Tag::DictionaryComprehension,
    ),
    ("generator_expression", true, Tag::GeneratorExpression),
    ("for_in_clause", true, Tag::ForInClause),
    ("if_clause", true, Tag::IfClause),
    ("binary_operator", true, Tag::BinaryOperator),
    ("boolean_operator", true, Tag::BooleanOperator),
    ("comparison_operator", true, Tag::ComparisonOperator),
    ("not_operator", true, Tag::NotOperator),
    ("unary_operator", true, Tag::UnaryOperator),
    ("conditional_expression", true, Tag::ConditionalExpression),
    ("named_expression", true, Tag::NamedExpression),
    ("lambda", true, Tag::Lambda),
    ("yield", true, Tag::Yield),
    (
        "parenthesized_expression",
        true,
        Tag::ParenthesizedExpression,
    ),
    ("as_pattern", true, Tag::AsPattern),
    ("as_pattern_target", true, Tag::AsPatternTarget),
    ("parameters", true, Tag::Parameters),
    ("lambda_parameters", true, Tag::LambdaParameters),
    ("typed_parameter", true, Tag::TypedParameter),
    ("default_parameter", true, Tag::DefaultParameter),
    ("typed_default_parameter", true, Tag::TypedDefaultParameter),
    ("keyword_separator", true, Tag::KeywordSeparator),
    ("positional_separator", true, Tag::PositionalSeparator),
    ("case_pattern", true, Tag::CasePattern),
    ("class_pattern", true, Tag::ClassPattern),
    ("keyword_pattern", true, Tag::KeywordPattern),
    ("splat_pattern", true, Tag::SplatPattern),
    ("union_pattern", true, Tag::UnionPattern),
    ("dict_pattern", true, Tag::DictPattern),
    ("complex_pattern", true, Tag::ComplexPattern),
    ("async", false, Tag::Async),
    ("_", false, Tag::Underscore),
    ("not", false, Tag::Not),
    ("~", false, Tag::Tilde),
    ("+", false, Tag::Op(BinOp::Add)),
    ("-", false, Tag::Op(BinOp::Sub)),
    ("*", false, Tag::Op(BinOp::Mul)),
    ("/", false, Tag::Op(BinOp::Div)),
    ("//", false, Tag::Op(BinOp::Div)),
    ("%", false, Tag::Op(BinOp::Mod)),
    ("==", false, Tag::Op(BinOp::Eq)),
    ("!=", false, Tag::Op(BinOp::NotEq)),
    ("<>", false, Tag::Op(BinOp::NotEq)),
    ("<", false, Tag::Op(BinOp::Lt)),
    ("<=", false, Tag::Op(BinOp::LtE)),
    (">", false, Tag::Op(BinOp::Gt)),
    (">=", false, Tag::Op(BinOp::GtE)),
    ("and", false, Tag::Op(BinOp::And)),
    ("or", false, Tag::Op(BinOp::Or)),
    ("in", false, Tag::Op(BinOp::In)),
    ("not in", false, Tag::Op(BinOp::NotIn)),
    ("is", false, Tag::Op(BinOp::Is)),
    ("is not", false, Tag::Op(BinOp::IsNot)),
    ("**", false, Tag::Op(BinOp::Other)),
    ("@", false, Tag::Op(BinOp::Other)),
    ("&", false, Tag::Op(BinOp::Other)),
    ("|", false, Tag::Op(BinOp::Other)),
    ("^", false, Tag::Op(BinOp::Other)),
    ("<<", false, Tag::Op(BinOp::Other)),
    (">>", false, Tag::Op(BinOp::Other)),
    ("+=", false, Tag::AugOp(BinOp::Add)),
    ("-=", false, Tag::AugOp(BinOp::Sub)),
    ("*=", false, Tag::AugOp(BinOp::Mul)),
    ("/=", false, Tag::AugOp(BinOp::Div)),
    ("//=", false, Tag::AugOp(BinOp::Div)),
    ("%=", false, Tag::AugOp(BinOp::Mod)),
    ("**=", false, Tag::AugOp(BinOp::Other)),
    ("@=", false, Tag::AugOp(BinOp::Other)),
    ("&=", false, Tag::AugOp(BinOp::Other)),
    ("|=", false, Tag::AugOp(BinOp::Other)),
    ("^=", false, Tag::AugOp(BinOp::Other)),
    ("<<=", false, Tag::AugOp(BinOp::Other)),
    (">>=", false, Tag::AugOp(BinOp::Other)),
];

/// Kind-id and field-id tables for the Python grammar, built once.
struct Kinds {
    tags: Vec<Tag>,
    comment: u16,
    line_continuation: u16,
    f_name: u16,
    f_value: u16,
    f_alias: u16,
    f_left: u16,
    f_right: u16,
    f_type: u16,
    f_operator: u16,
    f_body: u16,
    f_condition: u16,
    f_consequence: u16,
    f_alternative: u16,
    f_function: u16,
    f_arguments: u16,
    f_object: u16,
    f_attribute: u16,
    f_subscript: u16,
    f_parameters: u16,
    f_return_type: u16,
    f_superclasses: u16,
    f_definition: u16,
    f_module_name: u16,
    f_subject: u16,
    f_guard: u16,
    f_key: u16,
    f_expression: u16,
    f_argument: u16,
    f_cause: u16,
}

impl Kinds {
    fn new(lang: &tree_sitter::Language) -> Kinds {
        let count = lang.node_kind_count();
        let mut tags = vec![Tag::Unknown; count];
        for (id, slot) in tags.iter_mut().enumerate() {
            let Ok(id) = u16::try_from(id) else { break };
            let Some(name) = lang.node_kind_for_id(id) else {
                continue;
            };
            let named = lang.node_kind_is_named(id);
            if let Some((_, _, tag)) = TAGS.iter().find(|(n, nd, _)| *n == name && *nd == named) {
                *slot = *tag;
            }
        }
        let field = |name: &str| lang.field_id_for_name(name).map_or(0, |f| f.get());
        Kinds {
            tags,
            comment: lang.id_for_node_kind("comment", true),
            line_continuation: lang.id_for_node_kind("line_continuation", true),
            f_name: field("name"),
            f_value: field("value"),
            f_alias: field("alias"),
            f_left: field("left"),
            f_right: field("right"),
            f_type: field("type"),
            f_operator: field("operator"),
            f_body: field("body"),
            f_condition: field("condition"),
            f_consequence: field("consequence"),
            f_alternative: field("alternative"),
            f_function: field("function"),
            f_arguments: field("arguments"),
            f_object: field("object"),
            f_attribute: field("attribute"),
            f_subscript: field("subscript"),
            f_parameters: field("parameters"),
            f_return_type: field("return_type"),
            f_superclasses: field("superclasses"),
            f_definition: field("definition"),
            f_module_name: field("module_name"),
            f_subject: field("subject"),
            f_guard: field("guard"),
            f_key: field("key"),
            f_expression: field("expression"),
            f_argument: field("argument"),
            f_cause: field("cause"),
        }
    }

    fn tag(&self, n: Node<'_>) -> Tag {
        self.tags
            .get(usize::from(n.kind_id()))
            .copied()
            .unwrap_or(Tag::Unknown)
    }
}

fn kinds(lang: &tree_sitter::Language) -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| Kinds::new(lang))
}

/// Lowers the tree to a module (not yet linked or resolved) and the side table.
pub(super) fn lower_tree(tree: &Tree, src: &str) -> (Module, Side) {
    let lang: tree_sitter::Language = tree.language().to_owned();
    let k = kinds(&lang);
    let root = tree.root_node();
    let mut l = Lowerer {
        k,
        src,
        m: Module::new(Language::Python),
        side: Side::default(),
        depth: 0,
        func: FuncId(0),
        class: None,
        in_test: false,
    };
    l.m.nodes.reserve(crate::util::node_capacity(root));
    let stmts = l.statements(root);
    let body = l.m.functions.first().map_or(NodeId(0), |f| f.body);
    if let Some(node) = l.m.nodes.get_mut(body.0 as usize) {
        node.kind = Kind::Block(stmts);
        node.span = span(root);
    }
    if let Some(f) = l.m.functions.first_mut() {
        f.span = span(root);
    }
    l.scan_extras(root);
    (l.m, l.side)
}

/// One piece of a (possibly concatenated, possibly formatted) string.
enum Piece {
    Text(String, Span),
    Expr(NodeId),
}

struct Lowerer<'a> {
    k: &'static Kinds,
    src: &'a str,
    m: Module,
    side: Side,
    depth: u32,
    /// The function whose body is being lowered.
    func: FuncId,
    /// The class whose body is being lowered directly (reset inside functions).
    class: Option<String>,
    /// Whether the enclosing function is test code.
    in_test: bool,
}

impl<'a> Lowerer<'a> {
    fn text(&self, n: Node<'_>) -> &'a str {
        text(n, self.src)
    }

    fn add(&mut self, kind: Kind, n: Node<'_>) -> NodeId {
        self.m.add(kind, span(n))
    }

    fn field<'t>(&self, n: Node<'t>, field: u16) -> Option<Node<'t>> {
        if field == 0 {
            return None;
        }
        n.child_by_field_id(field)
    }

    /// The named children in `field` of `n`.
    fn fields<'t>(&self, n: Node<'t>, field: u16) -> Vec<Node<'t>> {
        let Some(f) = std::num::NonZeroU16::new(field) else {
            return Vec::new();
        };
        let mut c = n.walk();
        n.children_by_field_id(f, &mut c)
            .filter(|x| x.is_named() && !self.is_extra(*x))
            .collect()
    }

    /// Whether a node is a comment or line continuation (the grammar's extras).
    fn is_extra(&self, n: Node<'_>) -> bool {
        n.kind_id() == self.k.comment || n.kind_id() == self.k.line_continuation
    }

    /// Named children, without comments.
    fn named<'t>(&self, n: Node<'t>) -> Vec<Node<'t>> {
        let mut c = n.walk();
        n.named_children(&mut c)
            .filter(|x| !self.is_extra(*x))
            .collect()
    }

    /// The first of [`Self::named`], without collecting them.
    fn first_named<'t>(&self, n: Node<'t>) -> Option<Node<'t>> {
        let mut c = n.walk();
        n.named_children(&mut c).find(|x| !self.is_extra(*x))
    }

    /// Comments and syntax errors, in one iterative walk.
    /// Collects the comments and the syntax errors of the tree.
    fn scan_extras(&mut self, root: Node<'_>) {
        let starts = crate::util::hash_comment_starts(self.src);
        let comment = self.k.comment;
        for n in crate::util::comments(root, &starts, |n| n.kind_id() == comment) {
            let t = self.text(n);
            self.m.comments.push(Comment {
                span: span(n),
                text: t.strip_prefix('#').unwrap_or(t).trim().to_string(),
            });
        }
        if root.has_error() {
            self.m.syntax_errors = crate::util::error_spans(root);
            self.dedupe_errors();
        }
    }

    /// Keeps only the outermost error spans.
    fn dedupe_errors(&mut self) {
        let mut spans = std::mem::take(&mut self.m.syntax_errors);
        spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut out: Vec<Span> = Vec::new();
        for s in spans {
            if out.last().is_some_and(|o| o.contains(s)) {
                continue;
            }
            out.push(s);
        }
        self.m.syntax_errors = out;
    }

    // ---------------------------------------------------------------- blocks

    fn statements(&mut self, n: Node<'_>) -> Vec<NodeId> {
        self.named(n).into_iter().map(|c| self.lower(c)).collect()
    }

    fn block(&mut self, n: Node<'_>) -> NodeId {
        let stmts = self.statements(n);
        self.add(Kind::Block(stmts), n)
    }

    /// The block in `field` of `n`, or an empty block at `n` when it is missing.
    fn block_field(&mut self, n: Node<'_>, field: u16) -> NodeId {
        match self.field(n, field) {
            Some(b) => self.block(b),
            None => self.m.add(
                Kind::Block(Vec::new()),
                Span::new(n.end_byte(), n.end_byte()),
            ),
        }
    }

    /// The first `block` child (clauses without a body field).
    fn block_child(&mut self, n: Node<'_>) -> NodeId {
        let b = self
            .named(n)
            .into_iter()
            .find(|c| self.k.tag(*c) == Tag::Block);
        match b {
            Some(b) => self.block(b),
            None => self.m.add(
                Kind::Block(Vec::new()),
                Span::new(n.end_byte(), n.end_byte()),
            ),
        }
    }

    fn opt(&mut self, n: Option<Node<'_>>) -> Option<NodeId> {
        n.map(|n| self.lower(n))
    }

    fn lower_field(&mut self, n: Node<'_>, field: u16) -> NodeId {
        match self.field(n, field) {
            Some(c) => self.lower(c),
            None => self.m.add(
                Kind::Other(Vec::new()),
                Span::new(n.end_byte(), n.end_byte()),
            ),
        }
    }

    fn other_children(&mut self, n: Node<'_>) -> NodeId {
        let kids = self.statements(n);
        self.add(Kind::Other(kids), n)
    }

    // ------------------------------------------------------------- dispatch

    /// Lowers any statement or expression node.
    fn lower(&mut self, n: Node<'_>) -> NodeId {
        let mut n = n;
        // Parentheses are not nodes: unwrap them without recursing.
        while self.k.tag(n) == Tag::ParenthesizedExpression {
            let inner = self.named(n);
            match inner.as_slice() {
                [one] => n = *one,
                _ => break,
            }
        }
        if n.is_missing() || self.depth >= MAX_DEPTH {
            return self.add(Kind::Other(Vec::new()), n);
        }
        self.depth += 1;
        let id = self.dispatch(n);
        self.depth -= 1;
        id
    }

    fn dispatch(&mut self, n: Node<'_>) -> NodeId {
        match self.k.tag(n) {
            Tag::Module | Tag::Block => self.block(n),
            Tag::ExpressionStatement => self.expression_statement(n),
            Tag::Assignment => self.assignment(n),
            Tag::AugmentedAssignment => self.augmented_assignment(n),
            Tag::If => self.if_statement(n),
            Tag::For => self.for_statement(n),
            Tag::While => self.while_statement(n),
            Tag::Try => self.try_statement(n),
            Tag::With => self.with_statement(n),
            Tag::Match => self.match_statement(n),
            Tag::Return => self.return_statement(n),
            Tag::Raise => self.raise_statement(n),
            Tag::Pass => self.add(Kind::Pass, n),
            Tag::Break => self.add(Kind::Break, n),
            Tag::Continue => self.add(Kind::Continue, n),
            Tag::FunctionDef => self.function(n, Vec::new(), n),
            Tag::ClassDef => self.class(n, Vec::new(), n),
            Tag::Decorated => self.decorated(n),
            Tag::Import | Tag::ImportFrom => self.import(n),
            Tag::FutureImport => self.add(Kind::Other(Vec::new()), n),
            Tag::Global => self.global_statement(n),
            Tag::Identifier => self.add(Kind::Name(self.text(n).into()), n),
            Tag::Attribute => self.attribute(n),
            Tag::DottedName => self.dotted_name(n),
            Tag::Subscript => self.subscript(n),
            Tag::Call => self.call(n),
            Tag::Await => self.await_expression(n),
            Tag::String | Tag::ConcatenatedString => self.string(n),
            Tag::Integer | Tag::Float | Tag::ComplexPattern => {
                self.add(Kind::Num(self.text(n).to_string()), n)
            }
            Tag::True => self.add(Kind::Bool(true), n),
            Tag::False => self.add(Kind::Bool(false), n),
            Tag::None => self.add(Kind::Null, n),
            Tag::List
            | Tag::Tuple
            | Tag::Set
            | Tag::ExpressionList
            | Tag::PatternList
            | Tag::TuplePattern
            | Tag::ListPattern => self.array(n),
            Tag::ListSplat
            | Tag::DictionarySplat
            | Tag::ParenthesizedListSplat
            | Tag::ListSplatPattern
            | Tag::DictionarySplatPattern
            | Tag::SplatPattern => self.spread(n),
            Tag::Dictionary => self.dictionary(n),
            Tag::ListComprehension
            | Tag::SetComprehension
            | Tag::DictionaryComprehension
            | Tag::GeneratorExpression => self.comprehension(n),
            Tag::BinaryOperator => self.binary(n, false),
            Tag::BooleanOperator => self.binary(n, true),
            Tag::ComparisonOperator => self.comparison(n),
            Tag::NotOperator | Tag::UnaryOperator => self.unary(n),
            Tag::ConditionalExpression => self.conditional(n),
            Tag::NamedExpression => self.named_expression(n),
            Tag::Lambda => self.lambda(n),
            Tag::Yield => self.yield_expression(n),
            Tag::AsPatternTarget | Tag::Decorator | Tag::IfClause => self.single_child(n),
            Tag::CasePattern => self.case_pattern(n),
            Tag::ClassPattern => self.class_pattern(n),
            Tag::DictPattern => self.dict_pattern(n),
            _ => self.other_children(n),
        }
    }

    fn return_statement(&mut self, n: Node<'_>) -> NodeId {
        let v = self.first_named(n);
        let v = self.opt(v);
        self.add(Kind::Return(v), n)
    }

    /// `raise e from cause`: the cause is not kept.
    fn raise_statement(&mut self, n: Node<'_>) -> NodeId {
        let cause = self.field(n, self.k.f_cause).map(|c| c.id());
        let v = self.named(n).into_iter().find(|c| Some(c.id()) != cause);
        let v = self.opt(v);
        self.add(Kind::Throw(v), n)
    }

    fn global_statement(&mut self, n: Node<'_>) -> NodeId {
        let names: Vec<String> = self
            .named(n)
            .into_iter()
            .map(|c| self.text(c).to_string())
            .collect();
        let kids = self.statements(n);
        let id = self.add(Kind::Other(kids), n);
        self.side.globals.insert(id, names);
        id
    }

    fn attribute(&mut self, n: Node<'_>) -> NodeId {
        let object = self.lower_field(n, self.k.f_object);
        let name = self
            .field(n, self.k.f_attribute)
            .map(|a| self.text(a).into())
            .unwrap_or_default();
        self.add(Kind::Attr { object, name }, n)
    }

    /// The first named child lowered, or an empty `Other` at `n`.
    fn first_child(&mut self, n: Node<'_>) -> NodeId {
        match self.first_named(n) {
            Some(e) => self.lower(e),
            None => self.add(Kind::Other(Vec::new()), n),
        }
    }

    fn await_expression(&mut self, n: Node<'_>) -> NodeId {
        let e = self.first_child(n);
        self.add(Kind::Await(e), n)
    }

    fn array(&mut self, n: Node<'_>) -> NodeId {
        let items = self.statements(n);
        self.add(Kind::Array(items), n)
    }

    fn spread(&mut self, n: Node<'_>) -> NodeId {
        let e = self.first_child(n);
        self.add(Kind::Spread(e), n)
    }

    fn unary(&mut self, n: Node<'_>) -> NodeId {
        let op = if self.k.tag(n) == Tag::NotOperator {
            UnOp::Not
        } else {
            match self.field(n, self.k.f_operator).map(|o| self.k.tag(o)) {
                Some(Tag::Op(BinOp::Sub)) => UnOp::Neg,
                _ => UnOp::Other,
            }
        };
        let operand = self.lower_field(n, self.k.f_argument);
        self.add(Kind::Unary { op, operand }, n)
    }

    fn conditional(&mut self, n: Node<'_>) -> NodeId {
        let parts = self.named(n);
        match parts.as_slice() {
            [then, cond, els] => {
                let then = self.lower(*then);
                let cond = self.lower(*cond);
                let els = self.lower(*els);
                self.add(Kind::Cond { cond, then, els }, n)
            }
            _ => self.other_children(n),
        }
    }

    fn named_expression(&mut self, n: Node<'_>) -> NodeId {
        let pattern = self.lower_field(n, self.k.f_name);
        let value = self.lower_field(n, self.k.f_value);
        self.add(Kind::Let { pattern, value }, n)
    }

    fn yield_expression(&mut self, n: Node<'_>) -> NodeId {
        let v = self.first_named(n);
        let kids: Vec<NodeId> = self.opt(v).into_iter().collect();
        let value = kids.first().copied();
        let id = self.add(Kind::Other(kids), n);
        if let Some(v) = value {
            self.side.yields.insert(id, v);
        }
        id
    }

    fn single_child(&mut self, n: Node<'_>) -> NodeId {
        match self.named(n).as_slice() {
            [one] => self.lower(*one),
            _ => self.other_children(n),
        }
    }

    fn case_pattern(&mut self, n: Node<'_>) -> NodeId {
        match self.named(n).as_slice() {
            [one] => self.lower(*one),
            [] => self.add(Kind::Name("_".into()), n),
            _ => self.other_children(n),
        }
    }

    // ------------------------------------------------------------ statements

    fn expression_statement(&mut self, n: Node<'_>) -> NodeId {
        let kids = self.named(n);
        match kids.as_slice() {
            [one] if matches!(self.k.tag(*one), Tag::Assignment | Tag::AugmentedAssignment) => {
                self.lower(*one)
            }
            [one] => {
                let expr = self.lower(*one);
                self.add(Kind::ExprStmt { expr, value: false }, n)
            }
            _ => {
                let items = self.statements(n);
                let expr = self.add(Kind::Array(items), n);
                self.add(Kind::ExprStmt { expr, value: false }, n)
            }
        }
    }

    fn assignment(&mut self, n: Node<'_>) -> NodeId {
        let declared_type = self
            .field(n, self.k.f_type)
            .map(|t| self.text(t).to_string());
        let mut targets = Vec::new();
        let mut cur = n;
        let value = loop {
            targets.push(self.lower_field(cur, self.k.f_left));
            match self.field(cur, self.k.f_right) {
                Some(r) if self.k.tag(r) == Tag::Assignment => cur = r,
                Some(r) => break Some(self.lower(r)),
                None => break None,
            }
        };
        if let (Some(v), [t]) = (value, targets.as_slice())
            && let Kind::Lambda(f) = self.m.kind(v)
            && let Kind::Name(name) = self.m.kind(*t)
        {
            let (f, name) = (*f, name.clone());
            if let Some(func) = self.m.functions.get_mut(f.0 as usize) {
                func.name = name.to_string();
            }
        }
        self.add(
            Kind::Assign {
                targets,
                value,
                op: None,
                declared_type,
            },
            n,
        )
    }

    fn augmented_assignment(&mut self, n: Node<'_>) -> NodeId {
        let target = self.lower_field(n, self.k.f_left);
        let value = self.field(n, self.k.f_right);
        let value = self.opt(value);
        let op = match self.field(n, self.k.f_operator).map(|o| self.k.tag(o)) {
            Some(Tag::AugOp(op)) => op,
            _ => BinOp::Other,
        };
        self.add(
            Kind::Assign {
                targets: vec![target],
                value,
                op: Some(op),
                declared_type: None,
            },
            n,
        )
    }

    fn if_statement(&mut self, n: Node<'_>) -> NodeId {
        let cond = self.lower_field(n, self.k.f_condition);
        let then = self.block_field(n, self.k.f_consequence);
        // Lower the clauses in source order, then nest them from the end.
        let mut elifs: Vec<(NodeId, NodeId, Span)> = Vec::new();
        let mut els = None;
        let alts = self.fields(n, self.k.f_alternative);
        for alt in alts {
            match self.k.tag(alt) {
                Tag::Elif => {
                    let c = self.lower_field(alt, self.k.f_condition);
                    let t = self.block_field(alt, self.k.f_consequence);
                    elifs.push((c, t, Span::new(alt.start_byte(), n.end_byte())));
                }
                Tag::Else => els = Some(self.block_field(alt, self.k.f_body)),
                _ => {}
            }
        }
        for (c, t, s) in elifs.into_iter().rev() {
            els = Some(self.m.add(
                Kind::If {
                    cond: c,
                    then: t,
                    els,
                },
                s,
            ));
        }
        self.add(Kind::If { cond, then, els }, n)
    }

    fn else_of(&mut self, n: Node<'_>) -> Option<NodeId> {
        let e = self.field(n, self.k.f_alternative)?;
        Some(self.block_field(e, self.k.f_body))
    }

    fn for_statement(&mut self, n: Node<'_>) -> NodeId {
        let target = self.field(n, self.k.f_left);
        let target = self.opt(target);
        let iter = self.field(n, self.k.f_right);
        let iter = self.opt(iter);
        let body = self.block_field(n, self.k.f_body);
        let orelse = self.else_of(n);
        self.add(
            Kind::Loop {
                kind: LoopKind::ForEach,
                target,
                iter,
                body,
                orelse,
            },
            n,
        )
    }

    fn while_statement(&mut self, n: Node<'_>) -> NodeId {
        let iter = self.field(n, self.k.f_condition);
        let iter = self.opt(iter);
        let body = self.block_field(n, self.k.f_body);
        let orelse = self.else_of(n);
        self.add(
            Kind::Loop {
                kind: LoopKind::While,
                target: None,
                iter,
                body,
                orelse,
            },
            n,
        )
    }

    fn try_statement(&mut self, n: Node<'_>) -> NodeId {
        let body = self.block_field(n, self.k.f_body);
        let mut handlers = Vec::new();
        let mut orelse = None;
        let mut finally = None;
        for c in self.named(n) {
            match self.k.tag(c) {
                Tag::Except => handlers.push(self.handler(c)),
                Tag::Else => orelse = Some(self.block_field(c, self.k.f_body)),
                Tag::Finally => finally = Some(self.block_child(c)),
                _ => {}
            }
        }
        self.add(
            Kind::Try {
                body,
                handlers,
                orelse,
                finally,
            },
            n,
        )
    }

    fn handler(&mut self, n: Node<'_>) -> Handler {
        let mut types = Vec::new();
        let mut binding = None;
        let values = self.fields(n, self.k.f_value);
        for v in values {
            let (ty, alias) = if self.k.tag(v) == Tag::AsPattern {
                let parts = self.named(v);
                let alias = self.field(v, self.k.f_alias);
                (parts.first().copied(), alias)
            } else {
                (Some(v), None)
            };
            if let Some(a) = alias {
                binding = Some(self.text(a).trim().to_string());
            }
            let Some(ty) = ty else { continue };
            if self.k.tag(ty) == Tag::Tuple {
                for t in self.named(ty) {
                    types.push(self.lower(t));
                }
            } else {
                types.push(self.lower(ty));
            }
        }
        let body = self.block_child(n);
        Handler {
            types,
            binding,
            body,
            span: span(n),
        }
    }

    fn with_statement(&mut self, n: Node<'_>) -> NodeId {
        let is_async = n.child(0).is_some_and(|c| self.k.tag(c) == Tag::Async);
        let mut items = Vec::new();
        for clause in self.named(n) {
            if self.k.tag(clause) != Tag::WithClause {
                continue;
            }
            for item in self.named(clause) {
                if self.k.tag(item) != Tag::WithItem {
                    continue;
                }
                let Some(v) = self.field(item, self.k.f_value) else {
                    continue;
                };
                if self.k.tag(v) == Tag::AsPattern {
                    let ctx = self.first_named(v);
                    let context = match ctx {
                        Some(c) => self.lower(c),
                        None => self.add(Kind::Other(Vec::new()), v),
                    };
                    let target = self.field(v, self.k.f_alias);
                    let target = self.opt(target);
                    items.push(WithItem { context, target });
                } else {
                    let context = self.lower(v);
                    items.push(WithItem {
                        context,
                        target: None,
                    });
                }
            }
        }
        let body = self.block_field(n, self.k.f_body);
        self.add(
            Kind::With {
                items,
                body,
                is_async,
            },
            n,
        )
    }

    fn match_statement(&mut self, n: Node<'_>) -> NodeId {
        let subjects = self.fields(n, self.k.f_subject);
        let subject = match subjects.as_slice() {
            [one] => self.lower(*one),
            _ => {
                let items = subjects.iter().map(|s| self.lower(*s)).collect();
                self.add(Kind::Array(items), n)
            }
        };
        let mut arms = Vec::new();
        if let Some(body) = self.field(n, self.k.f_body) {
            for clause in self.named(body) {
                if self.k.tag(clause) != Tag::CaseClause {
                    continue;
                }
                let pats: Vec<Node<'_>> = self
                    .named(clause)
                    .into_iter()
                    .filter(|p| self.k.tag(*p) == Tag::CasePattern)
                    .collect();
                let pattern = match pats.as_slice() {
                    [] => None,
                    [one] => Some(self.lower(*one)),
                    many => {
                        let items = many.iter().map(|p| self.lower(*p)).collect();
                        Some(self.add(Kind::Array(items), clause))
                    }
                };
                let guard = self.field(clause, self.k.f_guard);
                let guard = self.opt(guard);
                let body = self.block_field(clause, self.k.f_consequence);
                arms.push(Arm {
                    pattern,
                    guard,
                    body,
                });
            }
        }
        self.add(Kind::Match { subject, arms }, n)
    }

    fn import(&mut self, n: Node<'_>) -> NodeId {
        let mut bindings = Vec::new();
        let base: Option<Path> = if self.k.tag(n) == Tag::ImportFrom {
            let module = self.field(n, self.k.f_module_name);
            Some(module.map_or_else(Path::default, |m| self.module_path(m)))
        } else {
            None
        };
        let names = self.fields(n, self.k.f_name);
        for name in names {
            let (dotted, alias) = if self.k.tag(name) == Tag::AliasedImport {
                (
                    self.field(name, self.k.f_name),
                    self.field(name, self.k.f_alias).map(|a| self.text(a)),
                )
            } else {
                (Some(name), None)
            };
            let Some(dotted) = dotted else { continue };
            let full = self.module_path(dotted);
            match &base {
                Some(base) => {
                    let mut target = base.clone();
                    target.segments.extend(full.segments.iter().cloned());
                    let local = alias.or_else(|| full.last_name()).unwrap_or("");
                    bindings.push((local.to_string(), target));
                }
                None => match alias {
                    Some(a) => bindings.push((a.to_string(), full)),
                    None => {
                        if let Some(root) = full.root() {
                            bindings.push((root.to_string(), Path::parse(root)));
                        }
                    }
                },
            }
        }
        bindings.retain(|(local, target)| !local.is_empty() && !target.segments.is_empty());
        let id = self.add(Kind::Other(Vec::new()), n);
        for (local, target) in &bindings {
            self.m.imports.push(Import {
                local: local.clone(),
                target: target.clone(),
                span: span(n),
            });
        }
        self.side.imports.insert(id, bindings);
        id
    }

    /// `a.b.c`, `..a.b` (leading dots dropped) as a path.
    fn module_path(&self, n: Node<'_>) -> Path {
        let t = self.text(n);
        let t: String = t
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '\\')
            .collect();
        Path::parse(t.trim_start_matches('.'))
    }

    // ------------------------------------------------------------- functions

    fn decorated(&mut self, n: Node<'_>) -> NodeId {
        let mut decorators = Vec::new();
        for c in self.named(n) {
            if self.k.tag(c) == Tag::Decorator {
                decorators.push(self.lower(c));
            }
        }
        match self.field(n, self.k.f_definition) {
            Some(d) if self.k.tag(d) == Tag::FunctionDef => self.function(d, decorators, n),
            Some(d) if self.k.tag(d) == Tag::ClassDef => self.class(d, decorators, n),
            Some(d) => {
                let inner = self.lower(d);
                decorators.push(inner);
                self.add(Kind::Other(decorators), n)
            }
            None => self.add(Kind::Other(decorators), n),
        }
    }

    fn function(&mut self, n: Node<'_>, decorators: Vec<NodeId>, whole: Node<'_>) -> NodeId {
        let name = self
            .field(n, self.k.f_name)
            .map(|x| self.text(x).to_string())
            .unwrap_or_default();
        let is_async = n.child(0).is_some_and(|c| self.k.tag(c) == Tag::Async);
        let params_node = self.field(n, self.k.f_parameters);
        let params = self.params(params_node);
        let return_type = self
            .field(n, self.k.f_return_type)
            .map(|t| self.text(t).to_string());
        let class = self.class.clone();
        // `test_connection` on a query runner is not a test: methods count
        // only inside `Test*` classes.
        let is_test = self.in_test
            || (name.starts_with("test_") && class.is_none())
            || class.as_deref().is_some_and(|c| c.starts_with("Test"));
        let fid = self.m.add_function(Function {
            name,
            kind: if class.is_some() {
                FuncKind::Method
            } else {
                FuncKind::Function
            },
            span: span(whole),
            is_async,
            decorators,
            attributes: Vec::new(),
            params,
            return_type,
            body: NodeId(0),
            class,
            parent: Some(self.func),
            is_test,
            is_handler: false,
        });
        let saved = (self.func, self.class.take(), self.in_test);
        self.func = fid;
        self.in_test = is_test;
        let body = self.block_field(n, self.k.f_body);
        (self.func, self.class, self.in_test) = saved;
        if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
            f.body = body;
        }
        self.add(Kind::FuncDef(fid), whole)
    }

    fn lambda(&mut self, n: Node<'_>) -> NodeId {
        let params_node = self.field(n, self.k.f_parameters);
        let params = self.params(params_node);
        let fid = self.m.add_function(Function {
            name: "<lambda>".to_string(),
            kind: FuncKind::Lambda,
            span: span(n),
            is_async: false,
            decorators: Vec::new(),
            attributes: Vec::new(),
            params,
            return_type: None,
            body: NodeId(0),
            class: None,
            parent: Some(self.func),
            is_test: self.in_test,
            is_handler: false,
        });
        let saved = (self.func, self.class.take());
        self.func = fid;
        let body = self.lower_field(n, self.k.f_body);
        (self.func, self.class) = saved;
        if let Some(f) = self.m.functions.get_mut(fid.0 as usize) {
            f.body = body;
        }
        self.add(Kind::Lambda(fid), n)
    }

    fn params(&mut self, n: Option<Node<'_>>) -> Vec<Param> {
        let Some(n) = n else { return Vec::new() };
        let mut out = Vec::new();
        for p in self.named(n) {
            let (name, annotation, default) = match self.k.tag(p) {
                Tag::KeywordSeparator | Tag::PositionalSeparator => continue,
                Tag::TypedParameter => {
                    let name = self
                        .named(p)
                        .into_iter()
                        .find(|c| Some(c.id()) != self.field(p, self.k.f_type).map(|t| t.id()))
                        .map(|c| self.text(c).to_string())
                        .unwrap_or_default();
                    let ann = self
                        .field(p, self.k.f_type)
                        .map(|t| self.text(t).to_string());
                    (name, ann, None)
                }
                Tag::DefaultParameter | Tag::TypedDefaultParameter => {
                    let name = self
                        .field(p, self.k.f_name)
                        .map(|x| self.text(x).to_string())
                        .unwrap_or_default();
                    let ann = self
                        .field(p, self.k.f_type)
                        .map(|t| self.text(t).to_string());
                    let v = self.field(p, self.k.f_value);
                    (name, ann, self.opt(v))
                }
                _ => (self.text(p).to_string(), None, None),
            };
            out.push(Param {
                name,
                annotation,
                default,
                span: span(p),
            });
        }
        out
    }

    fn class(&mut self, n: Node<'_>, decorators: Vec<NodeId>, whole: Node<'_>) -> NodeId {
        let name = self
            .field(n, self.k.f_name)
            .map(|x| self.text(x).to_string())
            .unwrap_or_default();
        let bases = match self.field(n, self.k.f_superclasses) {
            Some(list) => self.args(list).into_iter().map(|a| a.value).collect(),
            None => Vec::new(),
        };
        let saved = self.class.replace(name.clone());
        let body = self.block_field(n, self.k.f_body);
        self.class = saved;
        if decorators.is_empty() {
            return self.add(Kind::Class { name, bases, body }, whole);
        }
        // The IR's Class has no decorators: keep them beside it.
        let class = self.add(Kind::Class { name, bases, body }, n);
        let mut kids = decorators;
        kids.push(class);
        self.add(Kind::Other(kids), whole)
    }

    // ----------------------------------------------------------- expressions

    fn dotted_name(&mut self, n: Node<'_>) -> NodeId {
        let parts = self.named(n);
        let mut cur: Option<NodeId> = None;
        for p in parts {
            let name = self.text(p);
            let s = Span::new(n.start_byte(), p.end_byte());
            cur = Some(match cur {
                None => self.m.add(Kind::Name(name.into()), s),
                Some(object) => self.m.add(
                    Kind::Attr {
                        object,
                        name: name.into(),
                    },
                    s,
                ),
            });
        }
        cur.unwrap_or_else(|| self.add(Kind::Other(Vec::new()), n))
    }

    fn subscript(&mut self, n: Node<'_>) -> NodeId {
        let object = self.lower_field(n, self.k.f_value);
        let subs = self.fields(n, self.k.f_subscript);
        let index = match subs.as_slice() {
            [one] => self.lower(*one),
            many => {
                let items: Vec<NodeId> = many.iter().map(|s| self.lower(*s)).collect();
                let s = match (many.first(), many.last()) {
                    (Some(a), Some(b)) => Span::new(a.start_byte(), b.end_byte()),
                    _ => span(n),
                };
                self.m.add(Kind::Array(items), s)
            }
        };
        self.add(Kind::Index { object, index }, n)
    }

    fn call(&mut self, n: Node<'_>) -> NodeId {
        let callee = self.lower_field(n, self.k.f_function);
        let args = match self.field(n, self.k.f_arguments) {
            Some(a) if self.k.tag(a) == Tag::ArgumentList => self.args(a),
            Some(g) => vec![Arg {
                name: None,
                value: self.lower(g),
                spread: Spread::None,
            }],
            None => Vec::new(),
        };
        self.add(
            Kind::Call {
                callee,
                args,
                type_args: Vec::new(),
            },
            n,
        )
    }

    fn args(&mut self, list: Node<'_>) -> Vec<Arg> {
        let mut out = Vec::new();
        for a in self.named(list) {
            let arg = match self.k.tag(a) {
                Tag::KeywordArgument => Arg {
                    name: self
                        .field(a, self.k.f_name)
                        .map(|x| self.text(x).to_string()),
                    value: self.lower_field(a, self.k.f_value),
                    spread: Spread::None,
                },
                tag @ (Tag::ListSplat | Tag::DictionarySplat) => {
                    let inner = self.first_named(a);
                    let value = match inner {
                        Some(e) => self.lower(e),
                        None => self.add(Kind::Other(Vec::new()), a),
                    };
                    Arg {
                        name: None,
                        value,
                        spread: if tag == Tag::ListSplat {
                            Spread::Positional
                        } else {
                            Spread::Keyword
                        },
                    }
                }
                _ => Arg {
                    name: None,
                    value: self.lower(a),
                    spread: Spread::None,
                },
            };
            out.push(arg);
        }
        out
    }

    fn binary(&mut self, n: Node<'_>, boolean: bool) -> NodeId {
        let op = match self.field(n, self.k.f_operator).map(|o| self.k.tag(o)) {
            Some(Tag::Op(op)) => op,
            _ if boolean => BinOp::And,
            _ => BinOp::Other,
        };
        let lhs = self.lower_field(n, self.k.f_left);
        let rhs = self.lower_field(n, self.k.f_right);
        self.add(Kind::Binary { op, lhs, rhs }, n)
    }

    fn comparison(&mut self, n: Node<'_>) -> NodeId {
        let mut operands = Vec::new();
        let mut ops = Vec::new();
        let mut c = n.walk();
        for ch in n.children(&mut c) {
            if self.is_extra(ch) {
                continue;
            }
            if ch.is_named() {
                operands.push(ch);
            } else if let Tag::Op(op) = self.k.tag(ch) {
                ops.push(op);
            }
        }
        match (operands.as_slice(), ops.as_slice()) {
            ([l, r], [op]) => {
                let lhs = self.lower(*l);
                let rhs = self.lower(*r);
                self.add(Kind::Binary { op: *op, lhs, rhs }, n)
            }
            _ => {
                let items = operands.iter().map(|o| self.lower(*o)).collect();
                self.add(Kind::Other(items), n)
            }
        }
    }

    fn dictionary(&mut self, n: Node<'_>) -> NodeId {
        let mut entries = Vec::new();
        for c in self.named(n) {
            match self.k.tag(c) {
                Tag::Pair => {
                    let key = self
                        .field(c, self.k.f_key)
                        .and_then(|k| self.literal_key(k));
                    let value = self.lower_field(c, self.k.f_value);
                    entries.push(Entry {
                        key,
                        value,
                        spread: false,
                    });
                }
                Tag::DictionarySplat => {
                    let inner = self.first_named(c);
                    let value = match inner {
                        Some(e) => self.lower(e),
                        None => self.add(Kind::Other(Vec::new()), c),
                    };
                    entries.push(Entry {
                        key: None,
                        value,
                        spread: true,
                    });
                }
                _ => {
                    let value = self.lower(c);
                    entries.push(Entry {
                        key: None,
                        value,
                        spread: false,
                    });
                }
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

    /// The text of a plain (non-formatted) string key.
    fn literal_key(&self, k: Node<'_>) -> Option<String> {
        if self.k.tag(k) != Tag::String {
            return None;
        }
        let mut out = String::new();
        let mut raw = false;
        for c in self.named(k) {
            match self.k.tag(c) {
                Tag::StringStart => {
                    let prefix = self.text(c).to_ascii_lowercase();
                    if prefix.contains('f') || prefix.contains('t') {
                        return None;
                    }
                    raw = prefix.contains('r');
                }
                Tag::StringContent => out.push_str(&decode(self.text(c), raw, false)),
                Tag::Interpolation => return None,
                _ => {}
            }
        }
        Some(out)
    }

    fn comprehension(&mut self, n: Node<'_>) -> NodeId {
        let mut kids = Vec::new();
        let mut targets = Vec::new();
        for c in self.named(n) {
            match self.k.tag(c) {
                Tag::Pair => {
                    for part in self.named(c) {
                        kids.push(self.lower(part));
                    }
                }
                Tag::ForInClause => {
                    if let Some(l) = self.field(c, self.k.f_left) {
                        let t = self.lower(l);
                        targets.push(t);
                        kids.push(t);
                    }
                    let rights = self.fields(c, self.k.f_right);
                    for r in rights {
                        kids.push(self.lower(r));
                    }
                }
                _ => kids.push(self.lower(c)),
            }
        }
        let id = self.add(Kind::Other(kids), n);
        self.side.comprehensions.insert(id, targets);
        id
    }

    fn class_pattern(&mut self, n: Node<'_>) -> NodeId {
        let parts = self.named(n);
        let Some((first, rest)) = parts.split_first() else {
            return self.add(Kind::Other(Vec::new()), n);
        };
        let callee = self.lower(*first);
        let mut args = Vec::new();
        for p in rest {
            let inner = self.named(*p);
            match inner.as_slice() {
                [kw] if self.k.tag(*kw) == Tag::KeywordPattern => {
                    let kv = self.named(*kw);
                    let name = kv.first().map(|x| self.text(*x).to_string());
                    let value = match kv.get(1) {
                        Some(v) => self.lower(*v),
                        None => self.add(Kind::Other(Vec::new()), *kw),
                    };
                    args.push(Arg {
                        name,
                        value,
                        spread: Spread::None,
                    });
                }
                _ => args.push(Arg {
                    name: None,
                    value: self.lower(*p),
                    spread: Spread::None,
                }),
            }
        }
        self.add(
            Kind::Call {
                callee,
                args,
                type_args: Vec::new(),
            },
            n,
        )
    }

    fn dict_pattern(&mut self, n: Node<'_>) -> NodeId {
        let mut entries = Vec::new();
        let mut key: Option<Option<String>> = None;
        for c in self.named(n) {
            if self.k.tag(c) == Tag::SplatPattern {
                let value = self.lower(c);
                entries.push(Entry {
                    key: None,
                    value,
                    spread: true,
                });
                continue;
            }
            match key.take() {
                None => key = Some(self.literal_key(c)),
                Some(k) => {
                    let value = self.lower(c);
                    entries.push(Entry {
                        key: k,
                        value,
                        spread: false,
                    });
                }
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

    /// Strings: plain and concatenated strings become one `Str`; when any
    /// part is formatted, a `Template` of `Str` pieces and interpolations.
    fn string(&mut self, n: Node<'_>) -> NodeId {
        let mut pieces = Vec::new();
        let mut template = false;
        if self.k.tag(n) == Tag::ConcatenatedString {
            for s in self.named(n) {
                template |= self.string_pieces(s, &mut pieces);
            }
        } else {
            template = self.string_pieces(n, &mut pieces);
        }
        if !template {
            let mut s = String::new();
            for p in &pieces {
                if let Piece::Text(t, _) = p {
                    s.push_str(t);
                }
            }
            return self.add(Kind::Str(s), n);
        }
        let mut parts = Vec::new();
        let mut pending: Option<(String, Span)> = None;
        for p in pieces {
            match p {
                Piece::Text(t, s) => {
                    pending = Some(match pending {
                        Some((mut acc, a)) => {
                            acc.push_str(&t);
                            (
                                acc,
                                Span {
                                    start: a.start,
                                    end: s.end,
                                },
                            )
                        }
                        None => (t, s),
                    });
                }
                Piece::Expr(e) => {
                    if let Some((t, s)) = pending.take() {
                        parts.push(self.m.add(Kind::Str(t), s));
                    }
                    parts.push(e);
                }
            }
        }
        if let Some((t, s)) = pending.take() {
            parts.push(self.m.add(Kind::Str(t), s));
        }
        self.add(Kind::Template(parts), n)
    }

    /// Appends the pieces of one `string` node; returns whether it is formatted.
    fn string_pieces(&mut self, n: Node<'_>, out: &mut Vec<Piece>) -> bool {
        let mut raw = false;
        let mut template = false;
        for c in self.named(n) {
            match self.k.tag(c) {
                Tag::StringStart => {
                    let prefix = self.text(c).to_ascii_lowercase();
                    raw = prefix.contains('r');
                    template = prefix.contains('f') || prefix.contains('t');
                }
                Tag::StringContent => {
                    out.push(Piece::Text(decode(self.text(c), raw, template), span(c)));
                }
                Tag::Interpolation => {
                    let e = self.lower_field(c, self.k.f_expression);
                    out.push(Piece::Expr(e));
                    for part in self.named(c) {
                        if self.k.tag(part) == Tag::FormatSpecifier {
                            for fe in self.named(part) {
                                if self.k.tag(fe) == Tag::FormatExpression {
                                    let e = self.lower_field(fe, self.k.f_expression);
                                    out.push(Piece::Expr(e));
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        template
    }
}

/// Decodes the simple escapes of a string literal's contents.
fn decode(s: &str, raw: bool, formatted: bool) -> String {
    // Most strings (docstrings above all) have nothing to decode.
    let special = |b: &u8| (*b == b'\\' && !raw) || (formatted && (*b == b'{' || *b == b'}'));
    if !s.as_bytes().iter().any(special) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if formatted && (c == '{' || c == '}') && chars.peek() == Some(&c) {
            chars.next();
            out.push(c);
            continue;
        }
        if c != '\\' || raw {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\n' => {}
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let digits: String = chars.clone().take(len).collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(ch) if digits.len() == len => {
                        out.push(ch);
                        for _ in 0..len {
                            chars.next();
                        }
                    }
                    _ => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    out
}
