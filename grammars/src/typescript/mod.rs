//! The TypeScript / TSX / JavaScript front-end: lowers a tree-sitter CST to
//! the IR. One lowering serves the three grammars; node kinds are compared by
//! id, looked up once per grammar in [`kinds`].

use faultline_ir::{Language, Module};

mod kinds;
mod lower;
#[cfg(test)]
mod tests;

/// Lowers a parsed TypeScript, TSX or JavaScript file.
pub fn lower(tree: &tree_sitter::Tree, src: &str, language: Language) -> Module {
    lower::lower(tree, src, language)
}
