//! The python front-end: lowers a tree-sitter CST to the IR.

use faultline_ir::{Language, Module};

/// Lowers a parsed python file.
pub fn lower(_tree: &tree_sitter::Tree, _src: &str) -> Module {
    Module::new(Language::Python)
}
