//! Snapshots of every reporter on one fixed report.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

#[path = "common/synthetic.rs"]
mod synthetic;

use faultline::report::{Format, Options, reporter};

fn render(format: Format, options: Options) -> String {
    let mut report = synthetic::report();
    report.sort();
    let mut out = Vec::new();
    reporter(format, options).write(&report, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn human() {
    snapshot("human", &render(Format::Human, Options::default()));
}

#[test]
fn human_quiet_has_only_findings() {
    let quiet = render(
        Format::Human,
        Options {
            quiet: true,
            ..Options::default()
        },
    );
    assert!(quiet.contains("warning[external-call/missing-timeout]"));
    assert!(!quiet.contains("skipped"));
    assert!(!quiet.contains("findings ("));
}

#[test]
fn human_colour_only_when_asked() {
    let plain = render(Format::Human, Options::default());
    assert!(!plain.contains('\x1b'));
    let coloured = render(
        Format::Human,
        Options {
            color: true,
            ..Options::default()
        },
    );
    assert!(coloured.contains("\x1b["));
}

#[test]
fn concise() {
    snapshot("concise", &render(Format::Concise, Options::default()));
}

#[test]
fn json() {
    snapshot("json", &render(Format::Json, Options::default()));
}

#[test]
fn sarif() {
    snapshot("sarif", &render(Format::Sarif, Options::default()));
}
