//! Fixture annotations, semgrep style: a comment on its own line that names
//! the full rule id(s) expected — or not — on the next line of code.
//!
//! ```text
//! # expect: external-call/missing-timeout
//! requests.get(url)
//! // ok: external-call/missing-timeout, external-call/unchecked-status
//! await fetch(url, { signal });
//! {/* todo-expect: external-call/missing-timeout */}
//! ```
//!
//! - `expect`: the rule must report a finding starting on the target line.
//! - `ok`: the rule must not report one there.
//! - `todo-expect`: a known false negative; the rule does not report it yet
//!   (if it starts to, the finding is unexpected until the annotation is
//!   promoted to `expect`).
//! - `todo-ok`: a known false positive; a finding there is tolerated.
//!
//! The target is the next line that is neither blank nor a comment. Any
//! finding on a line without an `expect` or `todo-ok` for its rule is
//! unexpected. This module is the one place that reads annotations.

use faultline_grammars::Lang;

/// What an annotation asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The rule fires on the target line.
    Expect,
    /// The rule does not fire on the target line.
    Ok,
    /// The rule should fire but does not yet.
    TodoExpect,
    /// The rule fires but should not.
    TodoOk,
}

impl Kind {
    const ALL: [(&'static str, Kind); 4] = [
        ("todo-expect", Kind::TodoExpect),
        ("todo-ok", Kind::TodoOk),
        ("expect", Kind::Expect),
        ("ok", Kind::Ok),
    ];
}

/// One rule id of one annotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    /// What it asserts.
    pub kind: Kind,
    /// The full rule id.
    pub rule: String,
    /// The 1-based line of the annotation itself.
    pub line: usize,
    /// The 1-based line it applies to.
    pub target: usize,
}

/// A mismatch between annotations and findings, or a malformed annotation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// The 1-based line.
    pub line: usize,
    /// The rule id.
    pub rule: String,
    /// `missing`, `unexpected`, `malformed annotation`…
    pub what: String,
    /// The finding's message or an explanation.
    pub message: String,
}

fn comment_body(line: &str, lang: Lang) -> Option<&str> {
    let t = line.trim();
    if lang == Lang::Python {
        return t.strip_prefix('#');
    }
    if let Some(rest) = t.strip_prefix("//") {
        return Some(rest);
    }
    let rest = t.strip_prefix("{/*").or_else(|| t.strip_prefix("/*"))?;
    let rest = rest.trim_end();
    let rest = rest.strip_suffix('}').unwrap_or(rest).trim_end();
    Some(rest.strip_suffix("*/").unwrap_or(rest))
}

fn is_rule_id(id: &str) -> bool {
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    id.split_once('/')
        .is_some_and(|(family, rule)| valid(family) && valid(rule))
}

/// Reads the annotations of a fixture.
pub fn parse(source: &str, lang: Lang) -> (Vec<Annotation>, Vec<Problem>) {
    let lines: Vec<&str> = source.lines().collect();
    let mut annotations = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(body) = comment_body(line, lang) else {
            continue;
        };
        let body = body.trim();
        let Some((kind, ids)) = Kind::ALL.iter().find_map(|(word, kind)| {
            body.strip_prefix(word)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|ids| (*kind, ids))
        }) else {
            continue;
        };
        let target = lines
            .iter()
            .enumerate()
            .skip(i + 1)
            .find(|(_, l)| !l.trim().is_empty() && comment_body(l, lang).is_none())
            .map(|(j, _)| j + 1);
        let Some(target) = target else {
            problems.push(Problem {
                line: i + 1,
                rule: ids.trim().to_string(),
                what: "malformed annotation".into(),
                message: "no line of code follows it".into(),
            });
            continue;
        };
        for id in ids.split(',').map(str::trim) {
            if is_rule_id(id) {
                annotations.push(Annotation {
                    kind,
                    rule: id.to_string(),
                    line: i + 1,
                    target,
                });
            } else {
                problems.push(Problem {
                    line: i + 1,
                    rule: id.to_string(),
                    what: "malformed annotation".into(),
                    message: "name the full rule id, `family/rule-name`".into(),
                });
            }
        }
    }
    (annotations, problems)
}

/// A finding as the harness sees it: its start line, rule and message.
#[derive(Clone, Debug)]
pub struct Found<'a> {
    /// 1-based line where it starts.
    pub line: usize,
    /// Rule id.
    pub rule: &'a str,
    /// Message.
    pub message: &'a str,
}

/// Compares findings with annotations (see the module docs).
pub fn check(annotations: &[Annotation], findings: &[Found<'_>]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let marked = |line: usize, rule: &str, kinds: &[Kind]| {
        annotations
            .iter()
            .find(|a| a.target == line && a.rule == rule && kinds.contains(&a.kind))
    };
    for a in annotations.iter().filter(|a| a.kind == Kind::Expect) {
        if !findings
            .iter()
            .any(|f| f.line == a.target && f.rule == a.rule)
        {
            problems.push(Problem {
                line: a.target,
                rule: a.rule.clone(),
                what: "missing".into(),
                message: format!("expected by the annotation on line {}", a.line),
            });
        }
    }
    for f in findings {
        if marked(f.line, f.rule, &[Kind::Expect, Kind::TodoOk]).is_some() {
            continue;
        }
        let why = match marked(f.line, f.rule, &[Kind::Ok, Kind::TodoExpect]) {
            Some(a) if a.kind == Kind::Ok => "unexpected (the line is marked `ok`)",
            Some(_) => "unexpected (marked `todo-expect`: it fires now, make it `expect`)",
            None => "unexpected",
        };
        problems.push(Problem {
            line: f.line,
            rule: f.rule.to_string(),
            what: why.into(),
            message: f.message.to_string(),
        });
    }
    problems.sort();
    problems.dedup();
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "external-call/missing-timeout";

    #[test]
    fn annotations_apply_to_the_next_line_of_code() {
        let src = "# expect: external-call/missing-timeout\n\n# a comment\nrequests.get(u)\n# ok: external-call/missing-timeout, race/lost-update\nx = 1\n";
        let (annotations, problems) = parse(src, Lang::Python);
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<(Kind, &str, usize)> = annotations
            .iter()
            .map(|a| (a.kind, a.rule.as_str(), a.target))
            .collect();
        assert_eq!(
            got,
            [
                (Kind::Expect, T, 4),
                (Kind::Ok, T, 6),
                (Kind::Ok, "race/lost-update", 6)
            ]
        );
    }

    #[test]
    fn js_and_jsx_comment_forms() {
        let src = "// todo-expect: external-call/missing-timeout\nfetch(u);\n{/* todo-ok: external-call/missing-timeout */}\n<A />\n/* expect: race/lost-update */\nx++;\n";
        let (annotations, problems) = parse(src, Lang::Tsx);
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<(Kind, usize)> = annotations.iter().map(|a| (a.kind, a.target)).collect();
        assert_eq!(
            got,
            [(Kind::TodoExpect, 2), (Kind::TodoOk, 4), (Kind::Expect, 6)]
        );
    }

    #[test]
    fn rust_attributes_are_code_and_bare_ids_are_malformed() {
        let src = "// expect: external-call/missing-timeout\n#[tokio::main]\n// ok: missing-timeout\nfn main() {}\n// expect: race/x\n";
        let (annotations, problems) = parse(src, Lang::Rust);
        assert_eq!(annotations[0].target, 2);
        let whats: Vec<(&str, usize)> =
            problems.iter().map(|p| (p.rule.as_str(), p.line)).collect();
        assert_eq!(whats, [("missing-timeout", 3), ("race/x", 5)]);
    }

    #[test]
    fn check_reports_missing_unexpected_and_ok_that_fires() {
        let src = "# expect: external-call/missing-timeout\na()\n# ok: external-call/missing-timeout\nb()\nc()\n# todo-ok: external-call/missing-timeout\nd()\n# todo-expect: external-call/missing-timeout\ne()\n";
        let (annotations, _) = parse(src, Lang::Python);
        let found = |line| Found {
            line,
            rule: T,
            message: "m",
        };
        let problems = check(&annotations, &[found(4), found(5), found(7)]);
        let got: Vec<(usize, &str)> = problems.iter().map(|p| (p.line, p.what.as_str())).collect();
        assert_eq!(
            got,
            [
                (2, "missing"),
                (4, "unexpected (the line is marked `ok`)"),
                (5, "unexpected"),
            ]
        );
        let problems = check(&annotations, &[found(2), found(9)]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].what.contains("todo-expect"));
    }
}
