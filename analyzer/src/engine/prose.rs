//! Where a file holds prose rather than code, found without parsing: the
//! comments that start a line, and in Python the string statements
//! (docstrings). The prefilter ignores needles found there, so a file that
//! only names `requests` or `fetch` in its documentation is not parsed.
//!
//! Each language gets a small lexer that knows strings, template literals,
//! regular expressions, raw strings and character literals well enough to
//! tell where a comment starts. Nothing here may call code prose: only a
//! comment that begins a line (after indentation) is recorded, so a lexer
//! that loses its way in an odd line can at worst hide a comment-looking
//! line of a string, and whatever it cannot follow it leaves as code. A file
//! nested deeper than the lexers follow keeps the prose found before that
//! point and is code from there on.

use std::ops::Range;

use faultline_ir::Language;

/// How deep template literals and f-strings may nest before the rest of the
/// file is left as code.
const MAX_NESTING: u32 = 64;

/// The byte ranges of `text` that are prose, sorted and disjoint.
pub fn prose(lang: Language, text: &[u8]) -> Vec<Range<usize>> {
    let mut lx = Lexer {
        text,
        i: 0,
        out: Vec::new(),
        line_start: true,
    };
    // `None` means the lexer stopped following: the rest is code.
    let _ = match lang {
        Language::Python => lx.python(),
        Language::TypeScript | Language::Tsx | Language::JavaScript => lx.javascript(),
        Language::Rust => lx.rust(),
    };
    lx.out
}

/// Whether `at` falls inside one of `ranges` (as [`prose`] returns them).
pub fn contains(ranges: &[Range<usize>], at: usize) -> bool {
    let i = ranges.partition_point(|r| r.end <= at);
    ranges.get(i).is_some_and(|r| r.start <= at)
}

struct Lexer<'a> {
    text: &'a [u8],
    i: usize,
    out: Vec<Range<usize>>,
    /// Only whitespace (and comments) since the last newline seen in code.
    line_start: bool,
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.text.get(i).copied()
    }

    fn starts_with(&self, i: usize, s: &[u8]) -> bool {
        self.text.get(i..).is_some_and(|t| t.starts_with(s))
    }

    /// The index of the next newline at or after `i`, or the end.
    fn line_end(&self, i: usize) -> usize {
        self.text
            .get(i..)
            .and_then(|t| memchr::memchr(b'\n', t))
            .map_or(self.text.len(), |p| i + p)
    }

    /// The index of the next `a`, `b` or `c` at or after `i`, or the end:
    /// where the byte-at-a-time lexing of a string or comment resumes.
    fn next_of(&self, i: usize, a: u8, b: u8, c: u8) -> usize {
        self.text
            .get(i..)
            .and_then(|t| memchr::memchr3(a, b, c, t))
            .map_or(self.text.len(), |p| i + p)
    }

    /// The end of the identifier starting at `i`.
    fn ident_end(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(is_ident) {
            i += 1;
        }
        i
    }

    /// Records `start..end` when the comment or statement began a line.
    fn record(&mut self, start: usize, end: usize) {
        if self.line_start && start < end {
            self.out.push(start..end);
        }
    }

    /// A comment from here to `end`, recorded when it began a line.
    fn comment_to(&mut self, end: usize) {
        self.record(self.i, end);
        self.i = end;
    }

    /// A comment from here to the end of the line.
    fn line_comment(&mut self) {
        let end = self.line_end(self.i);
        self.comment_to(end);
    }

    /// Whitespace other than a newline.
    fn blank(b: u8) -> bool {
        matches!(b, b' ' | b'\t' | b'\r' | 0x0b | 0x0c)
    }

    // ---- Python ----------------------------------------------------------

    fn python(&mut self) -> Option<()> {
        let mut depth = 0usize;
        // The last significant byte of code; 0 before the first.
        let mut last = 0u8;
        while let Some(b) = self.at(self.i) {
            match b {
                b'\n' => {
                    self.line_start = true;
                    self.i += 1;
                }
                b if Self::blank(b) => self.i += 1,
                b'#' => self.line_comment(),
                b'\\' => {
                    // A continuation line is not the start of a statement.
                    self.i += 1;
                    if self.at(self.i) == Some(b'\r') {
                        self.i += 1;
                    }
                    if self.at(self.i) == Some(b'\n') {
                        self.i += 1;
                    }
                    self.line_start = false;
                }
                b'\'' | b'"' => {
                    self.python_statement_string(self.i, self.i, false, depth, last)?;
                    last = b'"';
                }
                b if is_ident(b) => {
                    let start = self.i;
                    let end = self.ident_end(start);
                    let quote = self.at(end).filter(|q| matches!(q, b'\'' | b'"'));
                    match (quote, python_prefix(&self.text[start..end])) {
                        (Some(_), Some(fmt)) => {
                            self.python_statement_string(start, end, fmt, depth, last)?;
                            last = b'"';
                        }
                        _ => {
                            self.i = end;
                            self.line_start = false;
                            last = b'a';
                        }
                    }
                }
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                    self.line_start = false;
                    last = b;
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    self.i += 1;
                    self.line_start = false;
                    last = b;
                }
                _ => {
                    self.i += 1;
                    self.line_start = false;
                    last = b;
                }
            }
        }
        Some(())
    }

    /// A string starting at `start` (its prefix) with the quote at `quote`.
    /// Records it when it is a statement of its own that opens a block or
    /// the module (a docstring): it starts a logical line at bracket depth
    /// 0 right after a line ending in `:`, and nothing but a comment follows
    /// it on its line. An f-string statement runs code and is never prose.
    fn python_statement_string(
        &mut self,
        start: usize,
        quote: usize,
        fmt: bool,
        depth: usize,
        last: u8,
    ) -> Option<()> {
        let end = self.python_string(quote, fmt, 0)?;
        let mut after = end;
        while self.at(after).is_some_and(Self::blank) {
            after += 1;
        }
        let alone = matches!(self.at(after), None | Some(b'\n' | b'#'));
        if alone && !fmt && depth == 0 && (last == b':' || last == 0) {
            self.record(start, end);
        }
        self.i = end;
        self.line_start = false;
        Some(())
    }

    /// Skips a string whose opening quote is at `q`; the index after it.
    /// A one-line string that meets a newline ends there.
    fn python_string(&self, q: usize, fmt: bool, nest: u32) -> Option<usize> {
        let quote = self.at(q)?;
        let triple = self.starts_with(q, &[quote; 3]);
        let mut i = q + if triple { 3 } else { 1 };
        while let Some(b) = self.at(i) {
            match b {
                b'\\' => i += 2,
                b'\n' if !triple => return Some(i),
                b if b == quote => {
                    if !triple {
                        return Some(i + 1);
                    }
                    if self.starts_with(i, &[quote; 3]) {
                        return Some(i + 3);
                    }
                    i += 1;
                }
                b'{' if fmt => {
                    if self.at(i + 1) == Some(b'{') {
                        i += 2;
                    } else {
                        i = self.python_field(i + 1, nest + 1)?;
                    }
                }
                // Nothing up to the next byte the arms above look at.
                _ => {
                    i = match (triple, fmt) {
                        (true, false) => self.next_of(i + 1, b'\\', quote, quote),
                        (true, true) => self.next_of(i + 1, b'\\', quote, b'{'),
                        (false, false) => self.next_of(i + 1, b'\\', quote, b'\n'),
                        (false, true) => i + 1,
                    }
                }
            }
        }
        Some(self.text.len())
    }

    /// Skips the replacement field of an f-string from just after its `{`;
    /// the index after its `}`.
    fn python_field(&self, mut i: usize, nest: u32) -> Option<usize> {
        if nest > MAX_NESTING {
            return None;
        }
        let mut depth = 0usize;
        let mut spec = false;
        while let Some(b) = self.at(i) {
            match b {
                b'}' if depth == 0 => return Some(i + 1),
                b'{' if spec => i = self.python_field(i + 1, nest + 1)?,
                _ if spec => i += 1,
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    i += 1;
                }
                // The format spec: literal text up to the `}`.
                b':' if depth == 0 && self.at(i + 1) != Some(b'=') => {
                    spec = true;
                    i += 1;
                }
                b'\'' | b'"' => i = self.python_string(i, false, nest)?,
                b if is_ident(b) => {
                    let end = self.ident_end(i);
                    let quoted = self.at(end).is_some_and(|q| matches!(q, b'\'' | b'"'));
                    i = match python_prefix(&self.text[i..end]) {
                        Some(fmt) if quoted => self.python_string(end, fmt, nest + 1)?,
                        _ => end,
                    };
                }
                _ => i += 1,
            }
        }
        Some(self.text.len())
    }

    // ---- JavaScript, TypeScript ------------------------------------------

    fn javascript(&mut self) -> Option<()> {
        if self.starts_with(0, b"#!") {
            self.i = self.line_end(0);
        }
        self.js_code(false, 0).map(|_| ())
    }

    /// Lexes code up to the end, or, inside a template literal's `${`
    /// (`nested`), up to its closing `}`; the index after that `}`.
    fn js_code(&mut self, nested: bool, nest: u32) -> Option<usize> {
        if nest > MAX_NESTING {
            return None;
        }
        let mut braces = 0usize;
        // Whether a `/` here starts a regular expression.
        let mut regex_ok = true;
        while let Some(b) = self.at(self.i) {
            match b {
                b'\n' => {
                    self.line_start = !nested;
                    self.i += 1;
                }
                b if Self::blank(b) => self.i += 1,
                b'/' if self.at(self.i + 1) == Some(b'/') => self.line_comment(),
                b'/' if self.at(self.i + 1) == Some(b'*') => {
                    let end = self
                        .text
                        .get(self.i + 2..)
                        .and_then(|t| memchr::memmem::find(t, b"*/"))
                        .map_or(self.text.len(), |p| self.i + 2 + p + 2);
                    self.comment_to(end);
                }
                b'/' => {
                    self.line_start = false;
                    let regex = if regex_ok {
                        self.js_regex_end(self.i)
                    } else {
                        None
                    };
                    match regex {
                        Some(end) => {
                            self.i = end;
                            regex_ok = false;
                        }
                        None => {
                            self.i += 1;
                            regex_ok = true;
                        }
                    }
                }
                b'\'' | b'"' => {
                    self.line_start = false;
                    self.i = self.js_string(self.i);
                    regex_ok = false;
                }
                b'`' => {
                    self.line_start = false;
                    self.js_template(nest + 1)?;
                    regex_ok = false;
                }
                b'{' => {
                    braces += 1;
                    self.i += 1;
                    self.line_start = false;
                    regex_ok = true;
                }
                b'}' => {
                    self.i += 1;
                    self.line_start = false;
                    if braces == 0 && nested {
                        return Some(self.i);
                    }
                    braces = braces.saturating_sub(1);
                    regex_ok = true;
                }
                b')' | b']' => {
                    self.i += 1;
                    self.line_start = false;
                    regex_ok = false;
                }
                b if is_ident(b) => {
                    let end = self.ident_end(self.i);
                    regex_ok = matches!(
                        &self.text[self.i..end],
                        b"return"
                            | b"typeof"
                            | b"instanceof"
                            | b"in"
                            | b"of"
                            | b"new"
                            | b"delete"
                            | b"void"
                            | b"throw"
                            | b"case"
                            | b"do"
                            | b"else"
                            | b"yield"
                            | b"await"
                    );
                    self.i = end;
                    self.line_start = false;
                }
                _ => {
                    self.i += 1;
                    self.line_start = false;
                    regex_ok = true;
                }
            }
        }
        Some(self.text.len())
    }

    /// The end of a string whose quote is at `q`; a newline ends it.
    fn js_string(&self, q: usize) -> usize {
        let quote = self.at(q).unwrap_or(b'"');
        let mut i = q + 1;
        while let Some(b) = self.at(i) {
            match b {
                b'\\' => i += 2,
                b'\n' => return i,
                b if b == quote => return i + 1,
                _ => i = self.next_of(i + 1, b'\\', b'\n', quote),
            }
        }
        self.text.len()
    }

    /// The end of a regular expression starting at `i`, or `None` when the
    /// line ends first (then the `/` was a division).
    fn js_regex_end(&self, start: usize) -> Option<usize> {
        let mut i = start + 1;
        let mut class = false;
        loop {
            match self.at(i)? {
                b'\\' => i += 2,
                b'\n' => return None,
                b'[' => {
                    class = true;
                    i += 1;
                }
                b']' => {
                    class = false;
                    i += 1;
                }
                b'/' if !class => break,
                _ => i += 1,
            }
        }
        Some(self.ident_end(i + 1))
    }

    /// Skips a template literal from its opening backtick at `self.i`.
    fn js_template(&mut self, nest: u32) -> Option<()> {
        self.i += 1;
        while let Some(b) = self.at(self.i) {
            match b {
                b'\\' => self.i += 2,
                b'`' => {
                    self.i += 1;
                    self.line_start = false;
                    return Some(());
                }
                b'$' if self.at(self.i + 1) == Some(b'{') => {
                    self.i += 2;
                    self.js_code(true, nest + 1)?;
                }
                _ => self.i = self.next_of(self.i + 1, b'\\', b'`', b'$'),
            }
        }
        Some(())
    }

    // ---- Rust --------------------------------------------------------------

    fn rust(&mut self) -> Option<()> {
        while let Some(b) = self.at(self.i) {
            match b {
                b'\n' => {
                    self.line_start = true;
                    self.i += 1;
                }
                b if Self::blank(b) => self.i += 1,
                b'/' if self.at(self.i + 1) == Some(b'/') => self.line_comment(),
                b'/' if self.at(self.i + 1) == Some(b'*') => {
                    let end = self.rust_block_comment(self.i);
                    self.comment_to(end);
                }
                b'"' => {
                    self.line_start = false;
                    self.i = self.rust_string(self.i, false, 0);
                }
                b'\'' => {
                    self.line_start = false;
                    self.i = self.rust_quote(self.i);
                }
                b if is_ident(b) => {
                    self.line_start = false;
                    let start = self.i;
                    let end = self.ident_end(start);
                    let word = &self.text[start..end];
                    let next = self.at(end);
                    self.i = match (word, next) {
                        (b"b" | b"c", Some(b'"')) => self.rust_string(end, false, 0),
                        (b"b", Some(b'\'')) => self.rust_quote(end),
                        (b"r" | b"br" | b"cr", Some(b'"' | b'#')) => {
                            let mut q = end;
                            while self.at(q) == Some(b'#') {
                                q += 1;
                            }
                            if self.at(q) == Some(b'"') {
                                self.rust_string(q, true, q - end)
                            } else {
                                // `r#ident`: a raw identifier.
                                self.ident_end(q)
                            }
                        }
                        _ => end,
                    };
                }
                _ => {
                    self.line_start = false;
                    self.i += 1;
                }
            }
        }
        Some(())
    }

    /// The end of a (nested) block comment starting at `i`.
    fn rust_block_comment(&self, start: usize) -> usize {
        let mut depth = 0usize;
        let mut i = start;
        while i < self.text.len() {
            if self.starts_with(i, b"/*") {
                depth += 1;
                i += 2;
            } else if self.starts_with(i, b"*/") {
                depth = depth.saturating_sub(1);
                i += 2;
                if depth == 0 {
                    return i;
                }
            } else {
                i = self.next_of(i + 1, b'/', b'*', b'*');
            }
        }
        self.text.len()
    }

    /// The end of a string whose quote is at `q`; a `raw` one has no
    /// escapes and is closed by `"` and `hashes` times `#`.
    fn rust_string(&self, q: usize, raw: bool, hashes: usize) -> usize {
        let mut i = q + 1;
        while let Some(b) = self.at(i) {
            match b {
                b'\\' if !raw => i += 2,
                b'"' => {
                    let close = (1..=hashes).all(|k| self.at(i + k) == Some(b'#'));
                    if close {
                        return i + 1 + hashes;
                    }
                    i += 1;
                }
                _ => i = self.next_of(i + 1, b'\\', b'"', b'"'),
            }
        }
        self.text.len()
    }

    /// After a `'` at `q`: the end of a character literal, or of the `'`
    /// alone when it opens a lifetime or a label.
    fn rust_quote(&self, q: usize) -> usize {
        match self.at(q + 1) {
            Some(b'\\') => {
                // An escape: `'\n'`, `'\''`, `'\u{1F600}'`.
                let mut i = q + 3;
                while i < q + 12 {
                    match self.at(i) {
                        Some(b'\'') => return i + 1,
                        Some(b'\n') | None => break,
                        _ => i += 1,
                    }
                }
                q + 1
            }
            Some(b) => {
                let width = match b {
                    0xf0.. => 4,
                    0xe0.. => 3,
                    0xc0.. => 2,
                    _ => 1,
                };
                if self.at(q + 1 + width) == Some(b'\'') {
                    q + 2 + width
                } else {
                    q + 1
                }
            }
            None => q + 1,
        }
    }
}

/// Whether an identifier directly before a quote is a string prefix, and
/// then whether it formats (`f`, `t`).
fn python_prefix(word: &[u8]) -> Option<bool> {
    if word.is_empty() || word.len() > 2 {
        return None;
    }
    let mut fmt = false;
    for &c in word {
        match c.to_ascii_lowercase() {
            b'f' | b't' => fmt = true,
            b'r' | b'b' | b'u' => {}
            _ => return None,
        }
    }
    Some(fmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The prose of `src`, as text.
    fn prose_of(lang: Language, src: &str) -> Vec<&str> {
        prose(lang, src.as_bytes())
            .into_iter()
            .map(|r| &src[r])
            .collect()
    }

    #[test]
    fn python_comments_and_docstrings() {
        let src = r##""""Module doc: uses requests."""
import os  # trailing: not recorded

# a comment line
def f(a):
    """Calls requests.get."""
    s = "# not a comment"
    cursor.execute(
        "SELECT 1"
    )
    x = {"k":
         "v"}
    "a string statement after code"
    return f"{a["k"]} # still a string"

class A:
    '''
    # inside a docstring
    '''
    # after
"##;
        assert_eq!(
            prose_of(Language::Python, src),
            [
                r#""""Module doc: uses requests.""""#,
                "# a comment line",
                r#""""Calls requests.get.""""#,
                "'''\n    # inside a docstring\n    '''",
                "# after",
            ]
        );
    }

    #[test]
    fn python_strings_that_run_code_are_not_prose() {
        // An f-string statement calls `fetch`; a `#` in a triple-quoted
        // string that is an argument is not a comment.
        let src = "def f():\n    f\"{fetch()}\"\n    run('''\n# x\n''')\n";
        assert!(prose_of(Language::Python, src).is_empty());
        // Formats, nested quotes and continuation lines.
        let src = "def g():\n    y = f\"{x:>{w}} {d['#']}\" \\\n        \"\"\"not a docstring\"\"\"\n# done\n";
        assert_eq!(prose_of(Language::Python, src), ["# done"]);
    }

    #[test]
    fn javascript_comments() {
        let src = r#"#!/usr/bin/env node
/**
 * Uses fetch.
 */
// line comment
const url = "http://x"; // trailing
const re = /\/\/ not a comment/g;
const t = `line
// inside a template ${ a /* c */ + `nested // ${b}` }
`;
  /* block */ fetch(url);
const half = a / 2; // see /* this
x = y;
"#;
        assert_eq!(
            prose_of(Language::TypeScript, src),
            ["/**\n * Uses fetch.\n */", "// line comment", "/* block */"]
        );
    }

    #[test]
    fn javascript_division_is_not_a_regex() {
        // `a / b` followed by a `/` later on the line; the string after it
        // must still be a string.
        let src = "const r = total / count / 2, s = \"//\";\n// real\n";
        assert_eq!(prose_of(Language::JavaScript, src), ["// real"]);
        // A `/` that opens no regex on its line is a division.
        let src = "let q = (a) / b;\nlet u = '/*';\n// ok\n";
        assert_eq!(prose_of(Language::JavaScript, src), ["// ok"]);
    }

    #[test]
    fn rust_comments() {
        let src = r####"//! Crate docs: reqwest.
/// Docs.
fn f<'a>(s: &'a str) -> char {
    let raw = r#"
// inside a raw string
"#;
    let q = '"';
    let esc = '\'';
    let s = "multi
// line string";
    /* outer /* nested */ still */
    'outer: loop { break 'outer; }
    let r#type = b"//";
    q
}
"####;
        assert_eq!(
            prose_of(Language::Rust, src),
            [
                "//! Crate docs: reqwest.",
                "/// Docs.",
                "/* outer /* nested */ still */"
            ]
        );
    }

    #[test]
    fn ranges_answer_containment() {
        let ranges = [2..4, 10..12];
        assert!(!contains(&ranges, 1));
        assert!(contains(&ranges, 2));
        assert!(contains(&ranges, 3));
        assert!(!contains(&ranges, 4));
        assert!(contains(&ranges, 11));
        assert!(!contains(&ranges, 12));
        assert!(!contains(&[], 0));
    }

    #[test]
    fn broken_input_never_panics() {
        for lang in [Language::Python, Language::JavaScript, Language::Rust] {
            for src in [
                "\"", "'", "`${", "f'{", "r#\"", "/*", "'\\", "b'", "/", "r##", "`${`${`",
            ] {
                let _ = prose(lang, src.as_bytes());
            }
            let deep = "`${".repeat(500);
            let _ = prose(lang, deep.as_bytes());
            let deep = "f'{f'{".repeat(500);
            let _ = prose(lang, deep.as_bytes());
        }
    }
}
