//! The result cache: a cached scan reports exactly what an uncached one
//! does, a warm re-scan parses nothing, and anything that changes results
//! (file contents, rules, configuration) is never answered from the cache.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use faultline::config;
use faultline::engine::{Cache, Report, ScanOptions, scan};
use faultline_ir::{Language, Span};
use faultline_rules::{Context, Family, Finding, Level, Precision, Rule, RuleMeta, Status};
use serde_json::Value;

#[path = "common/cli.rs"]
mod cli;

use cli::{code, faultline, stderr, stdout, write};

static COUNTING_META: RuleMeta = RuleMeta {
    id: "external-call/counting",
    name: "Counting",
    family: Family::ExternalCall,
    summary: "counts the files it sees",
    docs: "## What it does\nA test rule.\n",
    level: Level::Note,
    languages: &[Language::Python, Language::TypeScript, Language::Rust],
    cwe: &[],
    tags: &[],
    precision: Precision::High,
    security_severity: None,
    status: Status::Preview,
    since: "0.1.0",
};

/// How many files [`Counting`] ran on: a file is only checked after it was
/// parsed and lowered. Only `a_warm_rescan_parses_nothing` uses it.
static CHECKED: AtomicUsize = AtomicUsize::new(0);

/// Counts the files it runs on and reports every `TODO(cache)` with a related
/// location, so cached findings carry related ranges.
struct Counting(&'static AtomicUsize);

impl Rule for Counting {
    fn meta(&self) -> &'static RuleMeta {
        &COUNTING_META
    }
    fn check(&self, cx: &mut Context<'_>) {
        self.0.fetch_add(1, Ordering::SeqCst);
        let needle = "TODO(cache)";
        let found: Vec<usize> = cx.source.match_indices(needle).map(|(at, _)| at).collect();
        for at in found {
            cx.report(
                Finding::new(&COUNTING_META, Span::new(at, at + needle.len()), "a marker")
                    .with_related(Span::new(0, 1), "the file starts here"),
            );
        }
    }
}

static COUNTING: Counting = Counting(&CHECKED);
/// The same rule for tests that do not count.
static NOT_COUNTING: Counting = Counting(&IGNORED);
static IGNORED: AtomicUsize = AtomicUsize::new(0);

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The options `faultline scan ROOT -f human` runs with (configuration
/// found upward), with a cache in `cache_dir` when given.
fn options(root: &Path, cache_dir: Option<&Path>) -> ScanOptions {
    let mut options = config::discovered_options(vec![root.to_path_buf()]).unwrap();
    options.keep_sources = true;
    options.cache =
        cache_dir.map(|dir| Arc::new(Cache::new(Some(dir.to_path_buf())).with_context("test")));
    options
}

/// Asserts that two reports say the same thing (all but the timing and the
/// cache counter).
fn assert_same(a: &Report, b: &Report) {
    assert_eq!(a.findings, b.findings);
    assert_eq!(a.notices, b.notices);
    assert_eq!(a.skipped, b.skipped);
    assert_eq!(a.sources, b.sources);
    assert_eq!(a.root, b.root);
    let counts = |r: &Report| {
        (
            r.stats.files_scanned,
            r.stats.bytes_scanned,
            r.stats.suppressed,
        )
    };
    assert_eq!(counts(a), counts(b));
}

/// Cold, then warm: both identical to an uncached scan, and the warm one
/// answered entirely from the cache.
fn check_cold_and_warm(root: &Path) -> Report {
    let cache = tempfile::tempdir().unwrap();
    let plain = scan(&options(root, None)).unwrap();
    assert!(plain.stats.files_scanned > 0);
    assert_eq!(plain.stats.files_cached, 0);
    let cold = scan(&options(root, Some(cache.path()))).unwrap();
    assert_same(&plain, &cold);
    assert_eq!(cold.stats.files_cached, 0);
    let warm = scan(&options(root, Some(cache.path()))).unwrap();
    assert_same(&plain, &warm);
    assert_eq!(warm.stats.files_cached, warm.stats.files_scanned);
    plain
}

#[test]
fn the_fixture_tree_reports_identically_cold_and_warm() {
    let plain = check_cold_and_warm(&repo("tests/fixtures"));
    assert!(!plain.findings.is_empty());
    assert!(plain.findings.iter().any(|f| !f.related.is_empty()));
}

#[test]
fn examples_report_identically_cold_and_warm() {
    let plain = check_cold_and_warm(&repo("examples"));
    // examples/faultline.toml declares a zone: cached findings keep it.
    assert!(plain.findings.iter().any(|f| !f.zones.is_empty()));
}

/// Everything a file can produce: findings real rules report, a byte-order
/// mark, a suppression and a bad one, a syntax error, every skip reason
/// decided from contents, a level override and a zone.
fn problem_tree(root: &Path) {
    write(
        root,
        "faultline.toml",
        "[rules.\"external-call/missing-timeout\"]\nlevel = \"error\"\n\n\
         [[zones]]\nname = \"payments\"\npaths = [\"billing/**\"]\n",
    );
    let fetch = "import requests\n\ndef load(url):\n    return requests.get(url).json()\n";
    write(root, "src/fetch.py", fetch);
    write(root, "billing/charge.py", fetch);
    write(root, "src/bom.py", format!("\u{feff}{fetch}"));
    write(
        root,
        "src/quiet.py",
        "import requests\n\ndef load(url):\n    \
         # faultline: ignore[external-call/missing-timeout] local sidecar\n    \
         requests.get(url).raise_for_status()\n    \
         # faultline: ignore[external-call/missing-timeout]\n    \
         requests.get(url).raise_for_status()\n",
    );
    write(root, "src/broken.py", "def f(:\n    return 1\n");
    write(
        root,
        "src/marker.ts",
        "// é😀 TODO(cache)\n// TODO(cache)\n",
    );
    write(root, "data/blob.py", b"PK\x03\x04\x00\x00binary");
    write(root, "legacy/latin1.py", b"name = 'caf\xe9'\n");
    write(
        root,
        "static/bundle.js",
        format!("{}\n", "var a=function(){return 1};".repeat(100)),
    );
    write(root, "static/app.min.js", "var a = 1;\n");
    write(root, "gen/api_pb2.py", "# @generated by protoc\nx = 1\n");
}

#[test]
fn a_warm_rescan_parses_nothing_and_a_changed_file_is_reanalyzed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    problem_tree(&root);
    let cache = dir.path().join("cache");
    let with_counter = |cache: Option<&Path>| {
        let mut o = options(&root, cache);
        o.rules.push(&COUNTING);
        o
    };

    let plain = scan(&with_counter(None)).unwrap();
    let kinds: BTreeSet<&str> = plain.skipped.iter().map(|s| s.reason.kind()).collect();
    assert_eq!(
        kinds,
        ["binary", "generated", "minified", "not-utf8"].into()
    );
    assert!(plain.notices.iter().any(|n| n.path == "src/broken.py"));
    assert_eq!(plain.stats.suppressed, 2);
    assert!(
        plain
            .findings
            .iter()
            .any(|f| f.finding.rule == "faultline/suppression")
    );
    assert!(plain.findings.iter().any(|f| f.zones == ["payments"]));
    assert!(plain.sources.contains_key("src/bom.py"));
    assert!(
        plain
            .findings
            .iter()
            .any(|f| f.finding.rule == "external-call/counting")
    );

    let cold = scan(&with_counter(Some(&cache))).unwrap();
    assert_same(&plain, &cold);
    CHECKED.store(0, Ordering::SeqCst);
    let warm = scan(&with_counter(Some(&cache))).unwrap();
    assert_same(&plain, &warm);
    assert_eq!(
        CHECKED.load(Ordering::SeqCst),
        0,
        "the warm scan parsed files"
    );
    assert_eq!(warm.stats.files_cached, warm.stats.files_scanned);
    assert_eq!(warm.stats.files_scanned, 6);

    // One file changes: it alone is analyzed again, and its findings change.
    write(&root, "src/marker.ts", "// TODO(cache)\n");
    let changed = scan(&with_counter(Some(&cache))).unwrap();
    assert_eq!(CHECKED.load(Ordering::SeqCst), 1);
    assert_eq!(changed.stats.files_cached, changed.stats.files_scanned - 1);
    assert_same(&scan(&with_counter(None)).unwrap(), &changed);
    let markers = |r: &Report| {
        r.findings
            .iter()
            .filter(|f| f.finding.rule == "external-call/counting")
            .count()
    };
    assert_eq!((markers(&plain), markers(&changed)), (2, 1));

    // A skipped file that becomes source is analyzed.
    write(&root, "gen/api_pb2.py", "x = 1\n");
    CHECKED.store(0, Ordering::SeqCst);
    let ungenerated = scan(&with_counter(Some(&cache))).unwrap();
    assert_eq!(CHECKED.load(Ordering::SeqCst), 1);
    assert_eq!(ungenerated.stats.files_scanned, 7);
    assert_eq!(ungenerated.stats.files_cached, 6);
}

fn cache_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// The paths a cache file holds entries for.
fn cached_paths(file: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(file).unwrap();
    let (_, entries) = text.split_once('\n').unwrap();
    let entries: serde_json::Map<String, Value> = serde_json::from_str(entries).unwrap();
    entries.keys().cloned().collect()
}

#[test]
fn a_corrupt_or_torn_cache_file_is_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    problem_tree(&root);
    let cache = dir.path().join("cache");
    let plain = scan(&options(&root, None)).unwrap();
    scan(&options(&root, Some(&cache))).unwrap();
    let [file] = &cache_files(&cache)[..] else {
        panic!("expected one cache file")
    };
    let good = fs::read(file).unwrap();
    let corruptions: Vec<Vec<u8>> = vec![
        b"garbage".to_vec(),
        Vec::new(),
        good[..good.len() / 2].to_vec(),
        good.iter()
            .map(|b| if *b == b'"' { b'\'' } else { *b })
            .collect(),
        // A well-formed file whose entries make no sense.
        String::from_utf8(good.clone())
            .unwrap()
            .replace("\"rule\":\"", "\"rule\":\"no-such/")
            .replace("\"kind\":\"syntax-error\"", "\"kind\":\"bogus\"")
            .replace("\"level\":\"", "\"level\":\"x")
            .into_bytes(),
    ];
    for bad in corruptions {
        fs::write(file, &bad).unwrap();
        let report = scan(&options(&root, Some(&cache))).unwrap();
        assert_same(&plain, &report);
        // Files without findings or notices still hit in the last case.
        assert!(report.stats.files_cached < report.stats.files_scanned);
        // The next scan is warm again: the bad file was replaced.
        let warm = scan(&options(&root, Some(&cache))).unwrap();
        assert_same(&plain, &warm);
        assert_eq!(warm.stats.files_cached, warm.stats.files_scanned);
    }
    // A directory where the cache file should be is a miss too, and no error.
    fs::remove_file(file).unwrap();
    fs::create_dir(file).unwrap();
    let report = scan(&options(&root, Some(&cache))).unwrap();
    assert_same(&plain, &report);
    assert_eq!(report.stats.files_cached, 0);
}

/// A change to the options of a scan.
type Change<'a> = Box<dyn Fn(&mut ScanOptions) + 'a>;

#[test]
fn other_rules_or_settings_never_reuse_entries() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    problem_tree(&root);
    let cache = dir.path().join("cache");
    let run = |change: &dyn Fn(&mut ScanOptions)| {
        let mut o = options(&root, Some(&cache));
        change(&mut o);
        let mut plain = o.clone();
        plain.cache = None;
        let plain = scan(&plain).unwrap();
        let cold = scan(&o).unwrap();
        assert_same(&plain, &cold);
        let warm = scan(&o).unwrap();
        assert_same(&plain, &warm);
        (
            cold.stats.files_cached,
            warm.stats.files_cached,
            warm.stats.files_scanned,
        )
    };
    let (_, warm, all) = run(&|_| {});
    assert_eq!(warm, all);
    let changes: Vec<(&str, Change)> = vec![
        (
            "fewer rules",
            Box::new(|o| o.rules.truncate(o.rules.len() / 2)),
        ),
        ("one more rule", Box::new(|o| o.rules.push(&NOT_COUNTING))),
        (
            "a level override",
            Box::new(|o| {
                o.settings
                    .levels
                    .levels
                    .insert("external-call".into(), Level::Note);
            }),
        ),
        (
            "no suppressions",
            Box::new(|o| o.settings.suppressions = false),
        ),
        (
            "no zones",
            Box::new(|o| o.settings.zones = config::Zones::default()),
        ),
        ("a size limit", Box::new(|o| o.max_file_size = 100_000)),
        (
            "another context",
            Box::new(|o| {
                o.cache = Some(Arc::new(
                    Cache::new(Some(cache.clone())).with_context("other models"),
                ));
            }),
        ),
    ];
    for (what, change) in &changes {
        let (cold, warm, all) = run(change.as_ref());
        assert_eq!(cold, 0, "{what}: entries were reused");
        assert_eq!(warm, all, "{what}: the warm scan missed");
    }
    // Each setting has its own file: going back is still warm.
    let (cold, _, all) = run(&|_| {});
    assert_eq!(cold, all);
}

#[test]
fn scans_of_different_parts_keep_each_others_entries_and_gone_files_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    problem_tree(&root);
    let cache = dir.path().join("cache");
    let part = |rel: &str| {
        let mut o = options(&root, Some(&cache));
        o.paths = vec![root.join(rel)];
        o
    };
    scan(&part("src")).unwrap();
    scan(&part("billing")).unwrap();
    let src = scan(&part("src")).unwrap();
    assert_eq!(src.stats.files_cached, src.stats.files_scanned);
    // Paths are relative to the scan root, and rules see them: a scan of
    // the whole tree does not reuse the entries of `src/` alone…
    let whole = scan(&options(&root, Some(&cache))).unwrap();
    assert_eq!(whole.stats.files_cached, 0);
    let whole = scan(&options(&root, Some(&cache))).unwrap();
    assert_eq!(whole.stats.files_cached, whole.stats.files_scanned);

    // …and a file that is gone leaves the cache at the next scan.
    let [file] = &cache_files(&cache)[..] else {
        panic!("expected one cache file")
    };
    assert!(cached_paths(file).contains("project/src/fetch.py"));
    fs::remove_file(root.join("src/fetch.py")).unwrap();
    let after = scan(&options(&root, Some(&cache))).unwrap();
    assert_eq!(after.stats.files_cached, after.stats.files_scanned);
    let paths = cached_paths(file);
    assert!(!paths.contains("project/src/fetch.py"));
    assert!(paths.contains("project/src/bom.py"));
}

#[test]
fn concurrent_scans_never_leave_a_torn_cache() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    problem_tree(&root);
    for i in 0..40 {
        write(
            &root,
            &format!("many/m{i}.py"),
            format!("import requests\nrequests.get('{i}')\n"),
        );
    }
    let cache = dir.path().join("cache");
    let plain = scan(&options(&root, None)).unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (root, cache, plain) = (&root, &cache, &plain);
            s.spawn(move || {
                for i in 0..5 {
                    let mut o = options(root, Some(cache));
                    if (t + i) % 2 == 0 {
                        o.paths = vec![root.join(["src", "many", "billing"][(t + i) % 3])];
                    }
                    let report = scan(&o).unwrap();
                    assert!(o.cache.unwrap().warning().is_none());
                    if o.paths == [root.clone()] {
                        assert_same(plain, &report);
                    }
                }
            });
        }
    });
    let leftovers: Vec<_> = fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    for file in cache_files(&cache) {
        cached_paths(&file);
    }
    scan(&options(&root, Some(&cache))).unwrap();
    let warm = scan(&options(&root, Some(&cache))).unwrap();
    assert_same(&plain, &warm);
    assert_eq!(warm.stats.files_cached, warm.stats.files_scanned);
}

fn json(dir: &Path, extra: &[&str]) -> Value {
    let args = [&["scan", "-f", "json", "--fail-on", "never"][..], extra].concat();
    let out = faultline(dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

#[test]
fn the_cli_caches_beside_the_configuration_and_marks_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    problem_tree(root);
    // Inside the cache directory, hidden: never scanned.
    write(
        root,
        "src/.faultline_cache/x.py",
        "import requests\nrequests.get(u)\n",
    );

    let cold = json(&root.join("src"), &[]);
    let cache = root.join(".faultline_cache");
    assert_eq!(
        fs::read_to_string(cache.join(".gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    assert!(
        fs::read_to_string(cache.join("CACHEDIR.TAG"))
            .unwrap()
            .starts_with("Signature: 8a477f597d28d172789f06886806bc55")
    );
    assert_eq!(cold["stats"]["files_cached"], 0);
    let warm = json(&root.join("src"), &[]);
    assert_eq!(
        warm["stats"]["files_cached"],
        warm["stats"]["files_scanned"]
    );
    let strip = |mut v: Value| {
        v["stats"]["elapsed_ms"] = Value::Null;
        v["stats"]["files_cached"] = Value::Null;
        v
    };
    assert_eq!(strip(cold.clone()), strip(warm));
    assert!(
        cold["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| !f["path"].as_str().unwrap().contains("cache"))
    );

    // The human summary says how many files came from the cache.
    let human = stdout(&faultline(root, &["scan", "--color", "never"]));
    assert!(!human.contains("cached"), "{human}");
    let human = stdout(&faultline(root, &["scan", "--color", "never"]));
    assert!(human.contains("files (6 cached)"), "{human}");

    // A changed configuration is a new key.
    let config = fs::read_to_string(root.join("faultline.toml")).unwrap();
    fs::write(root.join("faultline.toml"), config.replace("error", "note")).unwrap();
    let changed = json(root, &[]);
    assert_eq!(changed["stats"]["files_cached"], 0);
    // So is a user model.
    fs::write(
        root.join("faultline.toml"),
        format!(
            "{config}\n[[models]]\nlanguage = \"python\"\npackage = \"acme\"\n\
             [[models.calls]]\npatterns = [\"acme.get()\"]\nkind = \"http\"\n\
             timeout = {{ kwarg = \"timeout\" }}\n"
        ),
    )
    .unwrap();
    let modeled = json(root, &[]);
    assert_eq!(modeled["stats"]["files_cached"], 0);
    assert_eq!(
        json(root, &[])["stats"]["files_cached"],
        modeled["stats"]["files_scanned"]
    );
}

#[test]
fn no_cache_and_cache_dir() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app.py", "import requests\nrequests.get(u)\n");
    json(root, &["--no-cache"]);
    json(root, &["--no-cache"]);
    assert!(!root.join(".faultline_cache").exists());
    assert_eq!(json(root, &["--no-cache"])["stats"]["files_cached"], 0);

    let elsewhere = tempfile::tempdir().unwrap();
    let there = elsewhere.path().join("c");
    let there = there.to_str().unwrap();
    json(root, &["--cache-dir", there]);
    assert!(!root.join(".faultline_cache").exists());
    assert!(Path::new(there).join("CACHEDIR.TAG").exists());
    assert_eq!(
        json(root, &["--cache-dir", there])["stats"]["files_cached"],
        1
    );
}

#[test]
fn an_unwritable_cache_dir_costs_one_warning_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app.py", "import requests\nrequests.get(u)\n");
    write(root, "blocker", "a file, not a directory");
    let expected = faultline(root, &["scan", "-f", "concise", "--no-cache"]);
    for _ in 0..2 {
        let out = faultline(root, &["scan", "-f", "concise", "--cache-dir", "blocker/c"]);
        assert_eq!(code(&out), code(&expected));
        assert_eq!(stdout(&out), stdout(&expected));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("cannot write the result cache"), "{err}");
    }
}

#[test]
fn help_documents_the_cache() {
    let help = stdout(&faultline(Path::new("."), &["scan", "--help"]));
    for expected in [
        "--no-cache",
        "--cache-dir",
        "Cache:",
        ".faultline_cache",
        "CACHEDIR.TAG",
    ] {
        assert!(help.contains(expected), "missing {expected:?} in\n{help}");
    }
}
