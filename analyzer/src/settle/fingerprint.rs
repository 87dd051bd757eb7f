//! Fingerprints: what identifies a finding across commits.
//!
//! - `primaryLocationLineHash` is GitHub's own line hash, computed exactly as
//!   the `upload-sarif` action does (`fingerprints.ts` of
//!   `github/codeql-action`): a rolling hash over the next 100 characters
//!   that are not spaces or tabs, starting at the line, with line endings
//!   normalized to `\n`, written `hash:occurrence`. Writing it ourselves
//!   means the action does not need the sources to compute it.
//! - `faultline/v1` hashes the rule id, the path, the flagged line(s) with
//!   all whitespace and other comments removed, and the qualified name of
//!   the enclosing function, then appends `:occurrence` (1 for the first
//!   finding with that hash in the file, 2 for the next…). Edits elsewhere in
//!   the file, re-indentation and reformatting leave it unchanged; it is
//!   the key of baselines. A change of this recipe gets a new name
//!   (`faultline/v2`).

use std::collections::HashMap;

use faultline_ir::Span;

/// The `partialFingerprints` key of the faultline fingerprint.
pub const V1: &str = "faultline/v1";
/// The `partialFingerprints` key of GitHub's line hash.
pub const LINE_HASH: &str = "primaryLocationLineHash";

const BLOCK_SIZE: usize = 100;
const MOD: i64 = 37;
const TAB: u16 = b'\t' as u16;
const SPACE: u16 = b' ' as u16;
const LF: u16 = b'\n' as u16;
const CR: u16 = b'\r' as u16;
const EOF: u16 = 65535;

/// GitHub's line hash of every line of `source`: element `i` is the hash of
/// line `i + 1`. A source ending with a newline has one more (empty) line.
pub fn line_hashes(source: &str) -> Vec<String> {
    let mut h = Hasher::new();
    for unit in source.encode_utf16() {
        h.process(unit);
    }
    h.process(EOF);
    for _ in 0..BLOCK_SIZE {
        if h.line_numbers[h.index].is_some() {
            h.output();
        }
        h.update(0);
    }
    h.out
}

struct Hasher {
    window: [i64; BLOCK_SIZE],
    line_numbers: [Option<usize>; BLOCK_SIZE],
    hash: i64,
    first_mod: i64,
    index: usize,
    line_number: usize,
    line_start: bool,
    prev_cr: bool,
    counts: HashMap<u64, usize>,
    out: Vec<String>,
}

impl Hasher {
    fn new() -> Hasher {
        Hasher {
            window: [0; BLOCK_SIZE],
            line_numbers: [None; BLOCK_SIZE],
            hash: 0,
            first_mod: (0..BLOCK_SIZE).fold(1i64, |m, _| m.wrapping_mul(MOD)),
            index: 0,
            line_number: 0,
            line_start: true,
            prev_cr: false,
            counts: HashMap::new(),
            out: Vec::new(),
        }
    }

    fn output(&mut self) {
        let value = self.hash as u64;
        let count = self.counts.entry(value).or_insert(0);
        *count += 1;
        let text = format!("{value:x}:{count}");
        if let Some(line) = self.line_numbers[self.index] {
            if self.out.len() < line {
                self.out.resize(line, String::new());
            }
            self.out[line - 1] = text;
        }
        self.line_numbers[self.index] = None;
    }

    fn update(&mut self, current: u16) {
        let begin = self.window[self.index];
        self.window[self.index] = i64::from(current);
        self.hash = MOD
            .wrapping_mul(self.hash)
            .wrapping_add(i64::from(current))
            .wrapping_sub(self.first_mod.wrapping_mul(begin));
        self.index = (self.index + 1) % BLOCK_SIZE;
    }

    fn process(&mut self, mut current: u16) {
        if current == SPACE || current == TAB || (self.prev_cr && current == LF) {
            self.prev_cr = false;
            return;
        }
        if current == CR {
            current = LF;
            self.prev_cr = true;
        } else {
            self.prev_cr = false;
        }
        if self.line_numbers[self.index].is_some() {
            self.output();
        }
        if self.line_start {
            self.line_start = false;
            self.line_number += 1;
            self.line_numbers[self.index] = Some(self.line_number);
        }
        if current == LF {
            self.line_start = true;
        }
        self.update(current);
    }
}

/// The text of lines `first..=last` (1-based) of `source`, without the
/// parts covered by `skip` spans (comments) and without any whitespace.
pub fn normalized_lines(
    source: &str,
    line_starts: &dyn Fn(usize) -> usize,
    first: usize,
    last: usize,
    skip: &[Span],
) -> String {
    let start = line_starts(first).min(source.len());
    let end = line_starts(last + 1).min(source.len()).max(start);
    let mut out = String::new();
    for (i, c) in source.get(start..end).unwrap_or("").char_indices() {
        let at = (start + i) as u32;
        if c.is_whitespace() || skip.iter().any(|s| s.start <= at && at < s.end) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The `faultline/v1` hash (without the occurrence suffix): 128-bit
/// FNV-1a over the parts, each followed by a NUL byte, in hex.
pub fn v1_hash(rule: &str, path: &str, normalized: &str, function: Option<&str>) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for part in ["v1", rule, path, normalized, function.unwrap_or("")] {
        for b in part.bytes().chain([0u8]) {
            h ^= u128::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vectors of `fingerprints.test.ts` in github/codeql-action.
    #[test]
    fn matches_githubs_line_hashes() {
        assert_eq!(line_hashes(""), ["c129715d7a2bc9a3:1"]);
        assert_eq!(
            line_hashes(" a\nb\n  \t\tc\n d"),
            [
                "271789c17abda88f:1",
                "54703d4cd895b18:1",
                "180aee12dab6264:1",
                "a23a3dc5e078b07b:1"
            ]
        );
        assert_eq!(
            line_hashes(" hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End"),
            [
                "8b7cf3e952e7aeb2:1",
                "b1ae1287ec4718d9:1",
                "bff680108adb0fcc:1",
                "c6805c5e1288b612:1",
                "b86d3392aea1be30:1",
                "e6ceba753e1a442:1",
            ]
        );
        let with_newline = [
            "e9496ae3ebfced30:1",
            "fb7c023a8b9ccb3f:1",
            "ce8ba1a563dcdaca:1",
            "e20e36e16fcb0cc8:1",
            "b3edc88f2938467e:1",
            "c8e28b0b4002a3a0:1",
            "c129715d7a2bc9a3:1",
        ];
        for input in [
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
            " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
            " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
            " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
        ] {
            assert_eq!(line_hashes(input), with_newline, "{input:?}");
        }
        assert_eq!(
            line_hashes(&"Lorem ipsum dolor sit amet.\n".repeat(10)),
            [
                "a7f2ff13bc495cf2:1",
                "a7f2ff13bc495cf2:2",
                "a7f2ff13bc495cf2:3",
                "a7f2ff13bc495cf2:4",
                "a7f2ff13bc495cf2:5",
                "a7f2ff13bc495cf2:6",
                "a7f2ff1481e87703:1",
                "a9cf91f7bbf1862b:1",
                "55ec222b86bcae53:1",
                "cc97dc7b1d7d8f7b:1",
                "c129715d7a2bc9a3:1"
            ]
        );
    }

    #[test]
    fn normalization_ignores_whitespace_and_comments() {
        let src = "a = 1\n  x = f( y )  # note\nb\n";
        let starts = |l: usize| match l {
            1 => 0,
            2 => 6,
            3 => 27,
            _ => src.len(),
        };
        let comment = src.find('#').unwrap();
        let skip = [Span::new(comment, comment + 6)];
        assert_eq!(normalized_lines(src, &starts, 2, 2, &skip), "x=f(y)");
        assert_ne!(
            v1_hash("r", "p", "x=f(y)", Some("f")),
            v1_hash("r", "p", "x=f(y)", Some("g"))
        );
    }
}
