//! The Python front-end: lowers a tree-sitter CST to the IR, then resolves
//! names to qualified paths.
//!
//! Lowering (`lower.rs`) is one recursive pass over the CST that
//! dispatches on node kind ids through a table built once per process. It
//! records what name resolution needs but the IR does not carry (import
//! bindings, comprehension targets, `yield`s, `global` declarations) in a
//! side table. Resolution (`resolve.rs`) then runs over the IR until the
//! facts it collects (factory return paths, `self.x` attributes, globals
//! assigned in functions) stop changing, so definition order does not matter.
//!
//! ```
//! use faultline_grammars::{Lang, lower};
//! let src = "import requests as rq\ns = rq.Session()\ns.get(u)\n";
//! let m = lower(Lang::Python, src).unwrap();
//! let call = m.nodes.iter().rev().find(|n| n.path.is_some()).unwrap();
//! assert_eq!(call.path.as_ref().unwrap().to_string(), "requests.Session().get()");
//! ```

mod lower;
mod resolve;
#[cfg(test)]
mod tests;

use faultline_ir::Module;

/// Lowers a parsed Python file and resolves its names. Resolution works on
/// the IR alone, so the tree is dropped first: a large file's tree and IR
/// need not both stay in the cache while names are resolved.
pub fn lower(tree: tree_sitter::Tree, src: &str) -> Module {
    let (mut module, side) = lower::lower_tree(&tree, src);
    drop(tree);
    resolve::resolve(&mut module, &side);
    module
}
