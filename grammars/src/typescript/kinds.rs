//! Node-kind and field ids, looked up once per grammar so the lowering
//! compares integers rather than strings.

use std::sync::OnceLock;

use faultline_ir::{BinOp, Language, UnOp};

/// An id no node ever has: used for kinds a grammar does not define (JSX in
/// the TypeScript grammar, `using_declaration` outside JavaScript…).
const ABSENT: u16 = u16::MAX;

fn named(l: &tree_sitter::Language, name: &str) -> u16 {
    match l.id_for_node_kind(name, true) {
        0 => ABSENT,
        id => id,
    }
}

fn anon(l: &tree_sitter::Language, name: &str) -> u16 {
    match l.id_for_node_kind(name, false) {
        0 => ABSENT,
        id => id,
    }
}

fn field(l: &tree_sitter::Language, name: &str) -> u16 {
    l.field_id_for_name(name).map_or(0, |f| f.get())
}

macro_rules! kinds {
    (
        named { $($n:ident),* $(,)? }
        renamed { $($r:ident = $rt:literal),* $(,)? }
        anon { $($a:ident = $at:literal),* $(,)? }
        fields { $($f:ident = $ft:literal),* $(,)? }
    ) => {
        /// Kind and field ids of one grammar.
        pub(crate) struct Kinds {
            $(pub(crate) $n: u16,)*
            $(pub(crate) $r: u16,)*
            $(pub(crate) $a: u16,)*
            $(pub(crate) $f: u16,)*
            /// Binary operator tokens.
            pub(crate) binops: Vec<(u16, BinOp)>,
            /// Compound assignment tokens (`+=`, `??=`…).
            pub(crate) assignops: Vec<(u16, BinOp)>,
            /// Unary operator tokens.
            pub(crate) unops: Vec<(u16, UnOp)>,
        }

        impl Kinds {
            fn new(l: &tree_sitter::Language) -> Kinds {
                Kinds {
                    $($n: named(l, stringify!($n)),)*
                    $($r: named(l, $rt),)*
                    $($a: anon(l, $at),)*
                    $($f: field(l, $ft),)*
                    binops: BINOPS.iter().map(|(t, op)| (anon(l, t), *op)).collect(),
                    assignops: ASSIGNOPS.iter().map(|(t, op)| (anon(l, t), *op)).collect(),
                    unops: UNOPS.iter().map(|(t, op)| (anon(l, t), *op)).collect(),
                }
            }
        }
    };
}

kinds! {
    named {
        comment, html_comment, hash_bang_line,
        // statements
        expression_statement, lexical_declaration, variable_declaration, variable_declarator,
        using_declaration, function_declaration, generator_function_declaration,
        class_declaration, abstract_class_declaration, if_statement, for_statement,
        for_in_statement, while_statement, do_statement, switch_statement,
        try_statement, return_statement,
        throw_statement, break_statement, continue_statement, empty_statement,
        debugger_statement, labeled_statement, statement_block, export_statement,
        import_statement, with_statement, interface_declaration, type_alias_declaration,
        enum_declaration, enum_assignment, ambient_declaration, internal_module,
        module, function_signature,
        // imports
        import_clause, named_imports, namespace_import, import_require_clause,
        // classes
        class, class_heritage, extends_clause, implements_clause, method_definition,
        public_field_definition, field_definition, class_static_block, decorator,
        accessibility_modifier, override_modifier,
        // functions
        arrow_function, function_expression, generator_function,
        required_parameter, optional_parameter, type_annotation,
        // patterns
        identifier, object_pattern, array_pattern, pair_pattern, assignment_pattern,
        object_assignment_pattern, rest_pattern, shorthand_property_identifier_pattern,
        // expressions
        parenthesized_expression, as_expression, satisfies_expression, non_null_expression,
        type_assertion, instantiation_expression, call_expression, new_expression,
        member_expression, subscript_expression, await_expression, string,
        string_fragment, escape_sequence, template_string, template_substitution, number,
        regex, null, undefined, this, object, pair,
        shorthand_property_identifier, computed_property_name, property_identifier,
        private_property_identifier, spread_element, array, binary_expression,
        unary_expression, update_expression, ternary_expression, assignment_expression,
        augmented_assignment_expression, sequence_expression, meta_property,
        import, type_arguments,
        // jsx
        jsx_element, jsx_self_closing_element,
        jsx_attribute, jsx_expression,
        // types
        type_identifier, nested_type_identifier, generic_type, union_type, parenthesized_type,
        readonly_type, predefined_type, literal_type, nested_identifier,
    }
    renamed {
        k_true = "true",
        k_false = "false",
        k_super = "super",
    }
    anon {
        kw_async = "async",
        kw_await = "await",
        kw_using = "using",
        kw_readonly = "readonly",
        kw_var = "var",
        kw_get = "get",
    }
    fields {
        f_name = "name",
        f_value = "value",
        f_body = "body",
        f_parameters = "parameters",
        f_parameter = "parameter",
        f_return_type = "return_type",
        f_type = "type",
        f_pattern = "pattern",
        f_left = "left",
        f_right = "right",
        f_operator = "operator",
        f_condition = "condition",
        f_consequence = "consequence",
        f_alternative = "alternative",
        f_initializer = "initializer",
        f_increment = "increment",
        f_handler = "handler",
        f_finalizer = "finalizer",
        f_function = "function",
        f_arguments = "arguments",
        f_type_arguments = "type_arguments",
        f_constructor = "constructor",
        f_object = "object",
        f_property = "property",
        f_index = "index",
        f_key = "key",
        f_source = "source",
        f_alias = "alias",
        f_declaration = "declaration",
        f_open_tag = "open_tag",
        f_close_tag = "close_tag",
    }
}

const BINOPS: &[(&str, BinOp)] = &[
    ("+", BinOp::Add),
    ("-", BinOp::Sub),
    ("*", BinOp::Mul),
    ("/", BinOp::Div),
    ("%", BinOp::Mod),
    ("==", BinOp::Eq),
    ("===", BinOp::Eq),
    ("!=", BinOp::NotEq),
    ("!==", BinOp::NotEq),
    ("<", BinOp::Lt),
    ("<=", BinOp::LtE),
    (">", BinOp::Gt),
    (">=", BinOp::GtE),
    ("&&", BinOp::And),
    ("||", BinOp::Or),
    ("??", BinOp::Nullish),
    ("in", BinOp::In),
    ("instanceof", BinOp::InstanceOf),
];

const ASSIGNOPS: &[(&str, BinOp)] = &[
    ("+=", BinOp::Add),
    ("-=", BinOp::Sub),
    ("*=", BinOp::Mul),
    ("/=", BinOp::Div),
    ("%=", BinOp::Mod),
    ("&&=", BinOp::And),
    ("||=", BinOp::Or),
    ("??=", BinOp::Nullish),
];

const UNOPS: &[(&str, UnOp)] = &[
    ("!", UnOp::Not),
    ("-", UnOp::Neg),
    ("void", UnOp::Void),
    ("typeof", UnOp::TypeOf),
];

/// The ids of `language`'s grammar, computed once per process.
pub(crate) fn kinds(language: Language, grammar: &tree_sitter::Language) -> &'static Kinds {
    static TS: OnceLock<Kinds> = OnceLock::new();
    static TSX: OnceLock<Kinds> = OnceLock::new();
    static JS: OnceLock<Kinds> = OnceLock::new();
    let cell = match language {
        Language::Tsx => &TSX,
        Language::JavaScript => &JS,
        _ => &TS,
    };
    cell.get_or_init(|| Kinds::new(grammar))
}
