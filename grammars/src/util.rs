//! Helpers shared by the front-ends.

use faultline_ir::Span;
use tree_sitter::Node;

/// The span of a tree-sitter node.
pub fn span(n: Node<'_>) -> Span {
    Span::new(n.start_byte(), n.end_byte())
}

/// The source text of a node (empty if the range is not valid UTF-8 boundaries).
pub fn text<'a>(n: Node<'_>, src: &'a str) -> &'a str {
    src.get(n.start_byte()..n.end_byte()).unwrap_or("")
}

/// The spans of ERROR and MISSING nodes below `root`, outermost only.
pub fn error_spans(root: Node<'_>) -> Vec<Span> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(n) = stack.pop() {
        if n.is_error() || n.is_missing() {
            out.push(span(n));
            continue;
        }
        if n.has_error() {
            let mut c = n.walk();
            for child in n.children(&mut c) {
                stack.push(child);
            }
        }
    }
    out.sort();
    out
}
