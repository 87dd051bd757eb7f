//! The TypeScript / TSX / JavaScript front-end: lowers a tree-sitter CST to the IR.

use faultline_ir::{Language, Module};

/// Lowers a parsed TypeScript, TSX or JavaScript file.
pub fn lower(_tree: &tree_sitter::Tree, _src: &str, language: Language) -> Module {
    Module::new(language)
}
