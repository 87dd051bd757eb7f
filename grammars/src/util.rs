//! Helpers shared by the front-ends.

use faultline_ir::Span;
use tree_sitter::Node;

/// The span of a tree-sitter node.
pub fn span(n: Node<'_>) -> Span {
    Span::new(n.start_byte(), n.end_byte())
}

/// Room for the IR nodes of the tree under `root`. No front-end makes more
/// than about 0.45 IR node per visible syntax node (over the benchmark
/// corpus: 0.15 on average for Rust, 0.44 at most for JavaScript), so the
/// node vector is allocated once instead of doubling, and copying itself,
/// a dozen times over a large file.
pub fn node_capacity(root: Node<'_>) -> usize {
    root.descendant_count() / 2
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

/// The nodes of `root`'s tree for which `is_comment` holds, in source order.
///
/// `starts` are the byte offsets, ascending, where a comment may begin (every
/// `#`, or every `//` and `/*`). Only nodes whose range holds one of them are
/// entered, so a file's comments are found without walking its whole tree (a
/// full walk costs about a fifth of the parse).
pub fn comments<'t>(
    root: Node<'t>,
    starts: &[usize],
    is_comment: impl Fn(Node<'_>) -> bool,
) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut next = 0;
    let mut c = root.walk();
    'walk: loop {
        let n = c.node();
        let start = n.start_byte();
        while starts.get(next).is_some_and(|&p| p < start) {
            next += 1;
        }
        if starts.get(next).is_some_and(|&p| p < n.end_byte()) {
            if is_comment(n) {
                out.push(n);
            } else if c.goto_first_child() {
                continue;
            }
        }
        loop {
            if c.goto_next_sibling() {
                continue 'walk;
            }
            if !c.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

/// Every offset in `src` where `//` or `/*` begins.
pub fn slash_comment_starts(src: &str) -> Vec<usize> {
    let bytes = src.as_bytes();
    memchr::memchr_iter(b'/', bytes)
        .filter(|&i| matches!(bytes.get(i + 1), Some(b'/' | b'*')))
        .collect()
}

/// Every offset in `src` where `#` is written.
pub fn hash_comment_starts(src: &str) -> Vec<usize> {
    memchr::memchr_iter(b'#', src.as_bytes()).collect()
}
