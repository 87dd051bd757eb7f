//! Macro invocations. tree-sitter keeps macro arguments as token trees; we
//! re-parse the tree's text wrapped in a small function so the calls inside
//! (`format!("{}", f(x))`, `tokio::join!(a(), b())`, `vec![g(); n]`,
//! `tracing::info!(user = %id, "…")`) are lowered like any expression, with
//! spans shifted back to the original file.
//!
//! The text is first made parseable without changing its length (so one
//! shift maps every offset): `key = value` and `key: value` prefixes and the
//! `%`/`?` sigils of tracing fields are blanked out. Then three wrappings are
//! tried — call arguments, array elements, statements — and if none parses,
//! each top-level piece (split at `,` and `=>`) is tried alone. Re-parsing is
//! bounded by a nesting limit and a per-file byte budget.

use std::rc::Rc;

use faultline_ir::{Kind, NodeId, Path, Span};
use tree_sitter::{Node, Tree};

use super::lower::{Lowerer, decode_literal, unescape};

/// How many macros deep re-parsing goes.
const MAX_NESTING: u32 = 8;

/// Macros whose string arguments are format strings (`{name}` captures).
const FORMAT_MACROS: &[&str] = &[
    "format",
    "format_args",
    "print",
    "println",
    "eprint",
    "eprintln",
    "write",
    "writeln",
    "panic",
    "todo",
    "unimplemented",
    "unreachable",
    "assert",
    "assert_eq",
    "assert_ne",
    "debug_assert",
    "debug_assert_eq",
    "debug_assert_ne",
    "trace",
    "debug",
    "info",
    "warn",
    "error",
    "event",
    "anyhow",
    "bail",
    "ensure",
    "eyre",
];

/// Macros whose input is a template of generated code (`quote!`): nothing
/// in it runs where it is written, so it is not lowered.
const TEMPLATE_MACROS: &[&str] = &[
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
];

/// Keywords that start an item (`cfg_if!`-style wrappers hold items, not
/// expressions).
const ITEM_KEYWORDS: &[&str] = &[
    "pub",
    "fn",
    "struct",
    "enum",
    "impl",
    "trait",
    "type",
    "mod",
    "use",
    "static",
    "extern",
    "macro_rules",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Args,
    Array,
    Stmts,
}

const WRAPPINGS: [(&str, &str, Shape); 3] = [
    ("fn __faultline(){__m(", ");}", Shape::Args),
    ("fn __faultline(){[", "];}", Shape::Array),
    ("fn __faultline(){", "\n}", Shape::Stmts),
];

impl Lowerer<'_> {
    /// `name!(…)` → `Macro { name, args }`; the node's path is the resolved
    /// macro path, called (`tracing.info()`).
    pub(super) fn lower_macro(&mut self, n: Node<'_>) -> NodeId {
        let k = self.k;
        let sp = self.span(n);
        let mnode = n.child_by_field_id(k.f_macro);
        let name: String = mnode
            .map(|m| self.text(m))
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let last = name.rsplit("::").next().unwrap_or("").to_string();
        let path = mnode.and_then(|m| self.macro_path(m));
        let args = match self
            .kids(n)
            .into_iter()
            .find(|c| c.kind_id() == k.token_tree)
        {
            Some(tt) => self.macro_args(&last, tt),
            None => Vec::new(),
        };
        let id = self.add(Kind::Macro { name, args }, sp);
        let path = path.map(|mut p| {
            if let Some(l) = p.segments.last_mut() {
                l.called = true;
                l.call = Some(id);
            }
            p
        });
        if let Some(node) = self.m.nodes.get_mut(id.0 as usize) {
            node.path = path;
        }
        id
    }

    fn macro_path(&mut self, m: Node<'_>) -> Option<Path> {
        let segs = self.scoped_segments(m)?;
        let (first, rest) = segs.split_first()?;
        let mut p = self.resolve_item(first)?;
        for s in rest {
            p.push(s.clone(), false, None);
        }
        Some(p)
    }

    fn spend(&mut self, bytes: usize) -> bool {
        if self.macro_budget < bytes {
            return false;
        }
        self.macro_budget -= bytes;
        true
    }

    fn macro_args(&mut self, last: &str, tt: Node<'_>) -> Vec<NodeId> {
        let full = self.text(tt);
        let Some(inner) = full.get(1..full.len().saturating_sub(1)) else {
            return Vec::new();
        };
        if inner.trim().is_empty()
            || self.in_macro >= MAX_NESTING
            || TEMPLATE_MACROS.contains(&last)
        {
            return Vec::new();
        }
        let base = i64::try_from(tt.start_byte() + 1)
            .unwrap_or(i64::MAX)
            .saturating_add(self.shift);
        if let Some(out) = self.plain_macro_args(last, tt, inner.len()) {
            return out;
        }
        let prepared = prepare(inner, last);
        // Call arguments first; array elements (`vec![x; n]`) and statements
        // (`lazy_static! { … }`) only when the input looks like them.
        let semis = {
            let b = prepared.as_bytes();
            top_level(b).filter(|&i| b.get(i) == Some(&b';')).count()
        };
        let semi = semis > 0;
        // Items (`cfg_net! { pub fn .. }`) parse only as statements; input
        // with a top-level `=>` (`select!` arms) never parses as call
        // arguments or array elements, and a failed parse costs tree-sitter
        // its error recovery: neither is tried.
        let items = starts_with_item(&prepared);
        let arrows = !items && split_top_on(&prepared, b'>');
        let stmts = semi || items || matches!(last, "lazy_static" | "thread_local");
        let mut broken: Option<(Tree, String)> = None;
        // A `;` at the top level never parses as call arguments: that
        // wrapping is paid for in its turn but parsed only when the others
        // fail, for what parsed of it.
        let mut args_unparsed = None;
        for (pre, post, shape) in WRAPPINGS {
            if (shape == Shape::Array && !semi) || (shape == Shape::Stmts && !stmts) {
                continue;
            }
            if shape != Shape::Stmts && (items || arrows) {
                continue;
            }
            let text = format!("{pre}{prepared}{post}");
            if !self.spend(text.len()) {
                return Vec::new();
            }
            if shape == Shape::Args && semi {
                args_unparsed = Some(text);
                continue;
            }
            // `[x; n]` has one `;`: with more, array elements cannot parse.
            if shape == Shape::Array && semis > 1 {
                continue;
            }
            let Ok(tree) = crate::parse(crate::Lang::Rust, &text) else {
                continue;
            };
            let shift = base.saturating_sub(len_i64(pre));
            // Items that do not parse: what parsed of them.
            if !tree.root_node().has_error() || items {
                return self.lower_wrapped(&tree, text, shift, shape, last);
            }
            if shape == Shape::Args {
                broken = Some((tree, text));
            }
        }
        if let Some(text) = args_unparsed
            && let Ok(tree) = crate::parse(crate::Lang::Rust, &text)
        {
            broken = Some((tree, text));
        }
        // `select!`-like arms: piece by piece. Anything else: what parsed
        // of the call-argument wrapping.
        if !arrows && let Some((tree, text)) = broken {
            let shift = base.saturating_sub(len_i64(WRAPPINGS[0].0));
            return self.lower_wrapped(&tree, text, shift, Shape::Args, last);
        }
        // Piece by piece: whatever parses.
        let mut out = Vec::new();
        let (pre, post, _) = WRAPPINGS[0];
        for (s, e) in split_top(&prepared, true) {
            let Some(part) = prepared.get(s..e) else {
                continue;
            };
            let skip = top_level_assign(part).map_or(0, |i| i + 1);
            let Some(part) = part.get(skip..) else {
                continue;
            };
            if part.trim().is_empty() {
                continue;
            }
            let text = format!("{pre}{part}{post}");
            if !self.spend(text.len()) {
                break;
            }
            let Ok(tree) = crate::parse(crate::Lang::Rust, &text) else {
                continue;
            };
            if tree.root_node().has_error() {
                continue;
            }
            let shift = base
                .saturating_add(i64::try_from(s + skip).unwrap_or(0))
                .saturating_sub(len_i64(pre));
            out.extend(self.lower_wrapped(&tree, text, shift, Shape::Args, last));
        }
        out
    }

    /// Arguments that are only literals and names between commas
    /// (`println!("{}", x)`, `vec![1, 2]`), lowered from the tree as they
    /// stand: what re-parsing them as call arguments gives, without the
    /// second parse. `None` for anything else.
    fn plain_macro_args(
        &mut self,
        last: &str,
        tt: Node<'_>,
        inner_len: usize,
    ) -> Option<Vec<NodeId>> {
        let k = self.k;
        let leaf = [
            k.string_literal,
            k.raw_string_literal,
            k.char_literal,
            k.integer_literal,
            k.float_literal,
            k.boolean_literal,
            k.identifier,
        ];
        let count = tt.child_count();
        let mut args = Vec::new();
        for i in 1..count.saturating_sub(1) {
            let c = tt.child(i)?;
            if i % 2 == 0 {
                if c.kind() != "," {
                    return None;
                }
            } else if leaf.contains(&c.kind_id())
                && !(c.kind_id() == k.identifier && is_keyword(&self.text(c)))
            {
                args.push(c);
            } else {
                return None;
            }
        }
        // The re-parse would have spent this much of the file's budget.
        let (pre, post, _) = WRAPPINGS[0];
        if !self.spend(pre.len() + inner_len + post.len()) {
            return Some(Vec::new());
        }
        let fmt = FORMAT_MACROS.contains(&last);
        Some(
            args.into_iter()
                .map(|a| self.lower_macro_arg(a, fmt))
                .collect(),
        )
    }

    /// One argument of a macro: a format string of a formatting macro
    /// (`fmt`) with its captured names, anything else as an expression.
    fn lower_macro_arg(&mut self, a: Node<'_>, fmt: bool) -> NodeId {
        if fmt && a.kind_id() == self.k.string_literal {
            self.lower_format(a)
        } else if a.has_error() {
            self.lower_other(a)
        } else {
            self.lower_expr(a)
        }
    }

    /// Lowers the interesting part of a wrapper tree with `src`/`shift`
    /// switched to the wrapper text.
    fn lower_wrapped(
        &mut self,
        tree: &Tree,
        text: String,
        shift: i64,
        shape: Shape,
        last: &str,
    ) -> Vec<NodeId> {
        let k = self.k;
        let saved_src = std::mem::replace(&mut self.src, Rc::from(text));
        let saved_shift = std::mem::replace(&mut self.shift, shift);
        self.in_macro += 1;
        let root = tree.root_node();
        let body = root
            .named_child(0)
            .and_then(|f| f.child_by_field_id(k.f_body));
        let mut out = Vec::new();
        if let Some(body) = body {
            match shape {
                Shape::Args => {
                    let args = self
                        .first_expr(body)
                        .and_then(|call| call.child_by_field_id(k.f_arguments))
                        .map(|a| self.kids(a))
                        .unwrap_or_default();
                    let fmt = FORMAT_MACROS.contains(&last);
                    for a in args {
                        if a.kind_id() != k.attribute_item {
                            out.push(self.lower_macro_arg(a, fmt));
                        }
                    }
                }
                Shape::Array => {
                    if let Some(arr) = self.first_expr(body) {
                        for a in self.kids(arr) {
                            if a.kind_id() != k.attribute_item {
                                out.push(self.lower_expr(a));
                            }
                        }
                    }
                }
                Shape::Stmts => {
                    self.enter_items(body);
                    out = self.lower_stmts(body);
                }
            }
        }
        self.in_macro -= 1;
        self.src = saved_src;
        self.shift = saved_shift;
        out
    }

    /// A format string: `Template` of literal pieces and captured names
    /// (`"failed: {e}"`), or a plain `Str` when nothing is captured.
    fn lower_format(&mut self, n: Node<'_>) -> NodeId {
        let raw = self.text(n);
        let sp = self.span(n);
        let Some(open) = raw.find('"') else {
            return self.add(Kind::Str(decode_literal(&raw)), sp);
        };
        let is_raw = raw.get(..open).is_some_and(|p| p.contains('r'));
        let close = raw.rfind('"').unwrap_or(raw.len());
        let content = raw.get(open + 1..close.max(open + 1)).unwrap_or("");
        let base = sp.start as usize + open + 1;
        let bytes = content.as_bytes();
        let mut parts = Vec::new();
        let mut captured = false;
        let mut lit_start = 0usize;
        let mut i = 0usize;
        let decode = |s: &str| if is_raw { s.to_string() } else { unescape(s) };
        while i < bytes.len() {
            let b = bytes.get(i).copied().unwrap_or(0);
            let next = bytes.get(i + 1).copied();
            if (b == b'{' && next == Some(b'{')) || (b == b'}' && next == Some(b'}')) {
                i += 2;
                continue;
            }
            if b != b'{' {
                i += 1;
                continue;
            }
            let Some(rel) = content.get(i + 1..).and_then(|r| r.find('}')) else {
                break;
            };
            let j = i + 1 + rel;
            let inner = content.get(i + 1..j).unwrap_or("");
            let arg = inner.split(':').next().unwrap_or("");
            let lead = arg.len() - arg.trim_start().len();
            let arg = arg.trim();
            if is_ident(arg) {
                if lit_start < i {
                    let piece = decode(content.get(lit_start..i).unwrap_or(""));
                    let s = Span::new(base + lit_start, base + i);
                    parts.push(self.add(Kind::Str(piece), s));
                }
                let start = base + i + 1 + lead;
                let s = Span::new(start, start + arg.len());
                let p = self.resolve(arg);
                let id = self.add(Kind::Name(arg.into()), s);
                if let Some(node) = self.m.nodes.get_mut(id.0 as usize) {
                    node.path = p;
                }
                parts.push(id);
                captured = true;
                lit_start = j + 1;
            }
            i = j + 1;
        }
        if !captured {
            return self.add(Kind::Str(decode_literal(&raw)), sp);
        }
        if lit_start < bytes.len() {
            let piece = decode(content.get(lit_start..).unwrap_or(""));
            let s = Span::new(base + lit_start, base + bytes.len());
            parts.push(self.add(Kind::Str(piece), s));
        }
        self.add(Kind::Template(parts), sp)
    }
}

impl Lowerer<'_> {
    /// The expression of a wrapper body's first statement.
    fn first_expr<'a>(&self, body: Node<'a>) -> Option<Node<'a>> {
        let stmt = self.first_kid(body)?;
        self.first_kid(stmt)
    }
}

fn len_i64(s: &str) -> i64 {
    i64::try_from(s.len()).unwrap_or(0)
}

/// Words a token tree holds as identifiers that an expression cannot be.
fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "async"
            | "await"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "gen"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "try"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "yield"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
    )
}

fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && cs.all(|c| c.is_alphanumeric() || c == '_')
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Makes macro input parseable as expressions without changing its length:
/// blanks `key =` / `key:` prefixes and tracing's `%`/`?` sigils of each
/// top-level piece, and `lazy_static!`'s `static ref`.
fn prepare(inner: &str, last: &str) -> String {
    let mut b = inner.as_bytes().to_vec();
    for (s, e) in split_top(inner, false) {
        let mut i = skip_ws(&b, s, e);
        let mut j = i;
        while j < e && b.get(j).is_some_and(|c| is_ident_byte(*c) || *c == b'.') {
            j += 1;
        }
        if j > i && b.get(i).is_some_and(|c| !c.is_ascii_digit()) {
            let t = skip_ws(&b, j, e);
            let c = b.get(t).copied();
            let n = b.get(t + 1).copied();
            let assign = c == Some(b'=') && !matches!(n, Some(b'=' | b'>'));
            let label = c == Some(b':') && n != Some(b':');
            if t < e && (assign || label) {
                for x in b.iter_mut().take(t + 1).skip(i) {
                    *x = b' ';
                }
                i = t + 1;
            }
        }
        let i = skip_ws(&b, i, e);
        if i < e
            && let Some(c) = b.get_mut(i)
            && (*c == b'%' || *c == b'?')
        {
            *c = b' ';
        }
    }
    if last == "lazy_static" {
        let pat = b"static ref ";
        let mut i = 0;
        while i + pat.len() <= b.len() {
            if b.get(i..i + pat.len()) == Some(pat.as_slice()) {
                for x in b.iter_mut().skip(i + 7).take(3) {
                    *x = b' ';
                }
                i += pat.len();
            } else {
                i += 1;
            }
        }
    }
    String::from_utf8(b).unwrap_or_else(|_| inner.to_string())
}

fn skip_ws(b: &[u8], mut i: usize, e: usize) -> usize {
    while i < e && b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Whether macro input starts with an item (`pub fn`, `impl`, `struct`,
/// `unsafe impl`, `async fn`), after comments and attributes.
fn starts_with_item(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        i = skip_ws(b, i, b.len());
        let j = skip_token(b, i);
        if j != i && b.get(i) == Some(&b'/') {
            i = j;
            continue;
        }
        if b.get(i) == Some(&b'#') {
            let open = if b.get(i + 1) == Some(&b'!') {
                i + 2
            } else {
                i + 1
            };
            if b.get(open) != Some(&b'[') {
                return false;
            }
            // The attribute's closing bracket: the first byte past it that
            // the top-level scanner sees.
            match b.get(open..).and_then(|rest| top_level(rest).next()) {
                Some(k) => i = open + k,
                None => return false,
            }
            continue;
        }
        break;
    }
    let word = |at: usize| {
        let rest = b.get(at..).unwrap_or(&[]);
        let end = rest
            .iter()
            .position(|c| !is_ident_byte(*c))
            .unwrap_or(rest.len());
        let w = rest.get(..end).and_then(|w| std::str::from_utf8(w).ok());
        (w.unwrap_or(""), at + end)
    };
    let (first, end) = word(i);
    match first {
        "unsafe" | "async" | "const" => {
            let (second, _) = word(skip_ws(b, end, b.len()));
            matches!(second, "fn" | "impl" | "trait" | "extern")
        }
        w => ITEM_KEYWORDS.contains(&w),
    }
}

/// The offset of a top-level single `=` (`pat = fut` in `select!`).
fn top_level_assign(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    top_level(b).find(|&i| {
        let prev = i.checked_sub(1).and_then(|p| b.get(p)).copied();
        let next = b.get(i + 1).copied();
        let compound = matches!(
            prev,
            Some(b'=' | b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^')
        );
        b.get(i) == Some(&b'=') && !compound && !matches!(next, Some(b'=' | b'>'))
    })
}

/// If `b[i]` starts a string, raw string, char literal or comment, the
/// offset just past it; otherwise `i`.
fn skip_token(b: &[u8], i: usize) -> usize {
    let at = |j: usize| b.get(j).copied();
    match at(i) {
        Some(b'"') => {
            let mut j = i + 1;
            while j < b.len() {
                match at(j) {
                    Some(b'\\') => j += 2,
                    Some(b'"') => return j + 1,
                    _ => j += 1,
                }
            }
            b.len()
        }
        Some(b'r') => {
            if i > 0 && at(i - 1).is_some_and(is_ident_byte) && at(i - 1) != Some(b'b') {
                return i;
            }
            let mut j = i + 1;
            while at(j) == Some(b'#') {
                j += 1;
            }
            if at(j) != Some(b'"') {
                return i;
            }
            let hashes = j - i - 1;
            j += 1;
            while j < b.len() {
                if at(j) == Some(b'"') && (1..=hashes).all(|h| at(j + h) == Some(b'#')) {
                    return j + 1 + hashes;
                }
                j += 1;
            }
            b.len()
        }
        Some(b'\'') => {
            if at(i + 1) == Some(b'\\') {
                let mut j = i + 2;
                while j < b.len() && at(j) != Some(b'\'') {
                    j += 1;
                }
                return (j + 1).min(b.len());
            }
            // one UTF-8 character then a quote: a char literal; else a lifetime
            let lead = at(i + 1).unwrap_or(0);
            let width = match lead {
                0x00..=0x7f => 1,
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            if at(i + 1 + width) == Some(b'\'') {
                i + 2 + width
            } else {
                i
            }
        }
        Some(b'/') => match at(i + 1) {
            Some(b'/') => {
                let mut j = i;
                while j < b.len() && at(j) != Some(b'\n') {
                    j += 1;
                }
                j
            }
            Some(b'*') => {
                let mut j = i + 2;
                while j + 1 < b.len() && !(at(j) == Some(b'*') && at(j + 1) == Some(b'/')) {
                    j += 1;
                }
                (j + 2).min(b.len())
            }
            _ => i,
        },
        _ => i,
    }
}

/// Whether `sep` occurs at the top level (`;` of `vec![x; n]`); `b'>'` looks
/// for `=>` only.
fn split_top_on(s: &str, sep: u8) -> bool {
    let b = s.as_bytes();
    top_level(b).any(|i| {
        if sep == b'>' {
            b.get(i) == Some(&b'>') && i > 0 && b.get(i - 1) == Some(&b'=')
        } else {
            b.get(i) == Some(&sep)
        }
    })
}

/// Top-level pieces of macro input, split at `,` (and `=>` if `arrows`).
fn split_top(s: &str, arrows: bool) -> Vec<(usize, usize)> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut skip = None;
    for i in top_level(b) {
        if skip == Some(i) {
            continue;
        }
        match b.get(i) {
            Some(b',') => {
                out.push((start, i));
                start = i + 1;
            }
            Some(b'=') if arrows && b.get(i + 1) == Some(&b'>') => {
                out.push((start, i));
                start = i + 2;
                skip = Some(i + 1);
            }
            _ => {}
        }
    }
    out.push((start, b.len()));
    out
}

/// The offsets of the bytes of macro input that sit at bracket depth 0,
/// outside strings, char literals and comments, brackets excluded: the one
/// scanner behind [`split_top`], [`split_top_on`] and [`top_level_assign`].
fn top_level(b: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut depth = 0i32;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let at = i;
            let c = b.get(at).copied().unwrap_or(0);
            if matches!(c, b'"' | b'\'' | b'/' | b'r') {
                let j = skip_token(b, at);
                if j != at {
                    i = j;
                    continue;
                }
            }
            i += 1;
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                _ if depth == 0 => return Some(at),
                _ => {}
            }
        }
        None
    })
}
