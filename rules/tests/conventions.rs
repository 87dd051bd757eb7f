//! The conventions every rule follows, checked rather than remembered.

use std::collections::HashSet;
use std::path::PathBuf;

use faultline_ir::Language;
use faultline_rules::{all_rules, meta::section};

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

#[test]
fn ids_are_unique_sorted_and_well_formed() {
    let mut seen = HashSet::new();
    let ids: Vec<&str> = all_rules().iter().map(|r| r.meta().id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted, "the registry is sorted by id");
    for r in all_rules() {
        let m = r.meta();
        assert!(seen.insert(m.id), "duplicate id {}", m.id);
        let (family, name) = m.id.split_once('/').expect("ids are family/name");
        assert_eq!(family, m.family.as_str(), "{}: family prefix", m.id);
        assert!(
            name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: kebab-case",
            m.id
        );
        let camel: String = name
            .split('-')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(
            camel, m.name,
            "{}: struct name is the UpperCamel of the id",
            m.id
        );
    }
}

#[test]
fn docs_have_the_fixed_sections_and_an_example_per_language() {
    for r in all_rules() {
        let m = r.meta();
        for s in ["What it does", "Why is this bad?", "Example"] {
            assert!(
                section(m.docs, s).is_some_and(|t| !t.is_empty()),
                "{}: missing `## {s}`",
                m.id
            );
        }
        let example = section(m.docs, "Example").unwrap_or_default();
        assert!(
            example.contains("Use instead:"),
            "{}: `Use instead:` in `## Example`",
            m.id
        );
        for lang in m.languages {
            let fence = match lang {
                Language::Python => "```python",
                Language::Rust => "```rust",
                _ => "```typescript",
            };
            assert!(
                example.matches(fence).count() >= 2,
                "{}: `## Example` needs a bad and a good {fence} block",
                m.id
            );
        }
        assert!(
            m.summary.chars().next().is_some_and(char::is_lowercase) && !m.summary.ends_with('.'),
            "{}: summary starts lowercase, no trailing period",
            m.id
        );
    }
}

#[test]
fn every_rule_has_fixtures_for_each_language_with_expect_and_ok() {
    for r in all_rules() {
        let m = r.meta();
        let dir = fixtures_dir().join(m.id);
        for lang in m.languages {
            let files: &[&str] = match lang {
                Language::Python => &["python.py"],
                Language::Rust => &["rust.rs"],
                _ => &["typescript.ts", "javascript.js"],
            };
            for f in files {
                let path = dir.join(f);
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("{}: fixture {}: {e}", m.id, path.display()));
                let expect = format!("expect: {}", m.id);
                let ok = format!("ok: {}", m.id);
                assert!(
                    text.lines()
                        .any(|l| l.contains(&expect) && !l.contains("todo-expect")),
                    "{}: {f} has no `{expect}`",
                    m.id
                );
                assert!(
                    text.lines()
                        .any(|l| l.contains(&ok) && !l.contains("todo-ok")),
                    "{}: {f} has no `{ok}`",
                    m.id
                );
            }
        }
    }
}
