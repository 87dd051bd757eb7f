//! The Rust front-end: lowers a tree-sitter CST to the IR and resolves paths.
//!
//! One pass over the tree in source order ([`lower`]) that compares node kind
//! ids ([`Kinds`], looked up once). Items that are used before they are
//! defined (a factory function called above its definition, a `static`
//! client) are lowered on demand from an item index built when a block or
//! module is entered, so resolution never depends on item order. Macro token
//! trees are re-parsed as expressions in [`macros`].

use std::sync::OnceLock;

use faultline_ir::Module;

mod lower;
mod macros;
#[cfg(test)]
mod tests;

/// Lowers a parsed Rust file. Never panics; syntax errors are recorded and
/// the rest of the file is lowered.
pub fn lower(tree: &tree_sitter::Tree, src: &str) -> Module {
    lower::lower(tree, src, true)
}

/// [`lower`]; without `test_code`, `#[cfg(test)]` modules and the bodies of
/// test functions are left out.
pub fn lower_with(tree: &tree_sitter::Tree, src: &str, test_code: bool) -> Module {
    lower::lower(tree, src, test_code)
}

macro_rules! kinds {
    (named { $($n:ident = $s:literal),* $(,)? }
     anon { $($a:ident = $t:literal),* $(,)? }
     fields { $($f:ident = $g:literal),* $(,)? }) => {
        /// Node kind and field ids of the Rust grammar, looked up once.
        pub(crate) struct Kinds {
            $(pub(crate) $n: u16,)*
            $(pub(crate) $a: u16,)*
            $(pub(crate) $f: u16,)*
        }
        impl Kinds {
            fn new(lang: &tree_sitter::Language) -> Kinds {
                Kinds {
                    $($n: lang.id_for_node_kind($s, true),)*
                    $($a: lang.id_for_node_kind($t, false),)*
                    $($f: lang.field_id_for_name($g).map_or(0, |f| f.get()),)*
                }
            }
            #[cfg(test)]
            pub(crate) fn missing(&self) -> Vec<&'static str> {
                let mut v = Vec::new();
                $(if self.$n == 0 { v.push($s); })*
                $(if self.$a == 0 { v.push($t); })*
                $(if self.$f == 0 { v.push($g); })*
                v
            }
        }
    };
}

kinds! {
    named {
        identifier = "identifier",
        self_ = "self",
        crate_ = "crate",
        super_ = "super",
        metavariable = "metavariable",
        scoped_identifier = "scoped_identifier",
        scoped_type_identifier = "scoped_type_identifier",
        type_identifier = "type_identifier",
        primitive_type = "primitive_type",
        generic_type = "generic_type",
        generic_type_with_turbofish = "generic_type_with_turbofish",
        bracketed_type = "bracketed_type",
        qualified_type = "qualified_type",
        reference_type = "reference_type",
        pointer_type = "pointer_type",
        type_arguments = "type_arguments",
        type_parameter = "type_parameter",
        lifetime = "lifetime",
        line_comment = "line_comment",
        block_comment = "block_comment",
        block = "block",
        expression_statement = "expression_statement",
        let_declaration = "let_declaration",
        function_item = "function_item",
        function_signature_item = "function_signature_item",
        function_modifiers = "function_modifiers",
        parameter = "parameter",
        self_parameter = "self_parameter",
        impl_item = "impl_item",
        trait_item = "trait_item",
        mod_item = "mod_item",
        struct_item = "struct_item",
        field_declaration_list = "field_declaration_list",
        field_declaration = "field_declaration",
        ordered_field_declaration_list = "ordered_field_declaration_list",
        enum_item = "enum_item",
        union_item = "union_item",
        type_item = "type_item",
        const_item = "const_item",
        static_item = "static_item",
        use_declaration = "use_declaration",
        use_as_clause = "use_as_clause",
        use_list = "use_list",
        scoped_use_list = "scoped_use_list",
        extern_crate_declaration = "extern_crate_declaration",
        attribute_item = "attribute_item",
        inner_attribute_item = "inner_attribute_item",
        macro_invocation = "macro_invocation",
        macro_definition = "macro_definition",
        token_tree = "token_tree",
        empty_statement = "empty_statement",
        label = "label",
        associated_type = "associated_type",
        foreign_mod_item = "foreign_mod_item",
        call_expression = "call_expression",
        field_expression = "field_expression",
        generic_function = "generic_function",
        await_expression = "await_expression",
        try_expression = "try_expression",
        index_expression = "index_expression",
        parenthesized_expression = "parenthesized_expression",
        reference_expression = "reference_expression",
        unary_expression = "unary_expression",
        type_cast_expression = "type_cast_expression",
        binary_expression = "binary_expression",
        range_expression = "range_expression",
        assignment_expression = "assignment_expression",
        compound_assignment_expr = "compound_assignment_expr",
        array_expression = "array_expression",
        tuple_expression = "tuple_expression",
        unit_expression = "unit_expression",
        struct_expression = "struct_expression",
        field_initializer = "field_initializer",
        shorthand_field_initializer = "shorthand_field_initializer",
        base_field_initializer = "base_field_initializer",
        closure_expression = "closure_expression",
        closure_parameters = "closure_parameters",
        async_block = "async_block",
        gen_block = "gen_block",
        unsafe_block = "unsafe_block",
        const_block = "const_block",
        try_block = "try_block",
        if_expression = "if_expression",
        let_condition = "let_condition",
        let_chain = "let_chain",
        match_expression = "match_expression",
        match_arm = "match_arm",
        loop_expression = "loop_expression",
        while_expression = "while_expression",
        for_expression = "for_expression",
        return_expression = "return_expression",
        break_expression = "break_expression",
        continue_expression = "continue_expression",
        string_literal = "string_literal",
        raw_string_literal = "raw_string_literal",
        char_literal = "char_literal",
        integer_literal = "integer_literal",
        float_literal = "float_literal",
        boolean_literal = "boolean_literal",
        negative_literal = "negative_literal",
        tuple_pattern = "tuple_pattern",
        slice_pattern = "slice_pattern",
        tuple_struct_pattern = "tuple_struct_pattern",
        struct_pattern = "struct_pattern",
        field_pattern = "field_pattern",
        remaining_field_pattern = "remaining_field_pattern",
        ref_pattern = "ref_pattern",
        mut_pattern = "mut_pattern",
        reference_pattern = "reference_pattern",
        captured_pattern = "captured_pattern",
        or_pattern = "or_pattern",
        range_pattern = "range_pattern",
        mutable_specifier = "mutable_specifier",
        visibility_modifier = "visibility_modifier",
    }
    anon {
        underscore = "_",
        async_kw = "async",
        semicolon = ";",
        op_star = "*",
        op_not = "!",
        op_minus = "-",
        op_plus = "+",
        op_slash = "/",
        op_percent = "%",
        op_eq = "==",
        op_ne = "!=",
        op_lt = "<",
        op_le = "<=",
        op_gt = ">",
        op_ge = ">=",
        op_and = "&&",
        op_or = "||",
        op_plus_eq = "+=",
        op_minus_eq = "-=",
        op_star_eq = "*=",
        op_slash_eq = "/=",
        op_percent_eq = "%=",
    }
    fields {
        f_name = "name",
        f_body = "body",
        f_value = "value",
        f_pattern = "pattern",
        f_type = "type",
        f_function = "function",
        f_arguments = "arguments",
        f_field = "field",
        f_condition = "condition",
        f_consequence = "consequence",
        f_alternative = "alternative",
        f_parameters = "parameters",
        f_return_type = "return_type",
        f_type_parameters = "type_parameters",
        f_type_arguments = "type_arguments",
        f_path = "path",
        f_list = "list",
        f_alias = "alias",
        f_argument = "argument",
        f_left = "left",
        f_right = "right",
        f_operator = "operator",
        f_macro = "macro",
        f_trait = "trait",
        f_length = "length",
    }
}

/// The kind ids of the Rust grammar.
pub(crate) fn kinds() -> &'static Kinds {
    static KINDS: OnceLock<Kinds> = OnceLock::new();
    KINDS.get_or_init(|| Kinds::new(&tree_sitter_rust::LANGUAGE.into()))
}
