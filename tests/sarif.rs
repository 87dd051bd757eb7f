//! The SARIF output is valid against the official OASIS SARIF 2.1.0 schema
//! (`tests/schemas/`), both for a real scan and for a report with every
//! kind of entry, and carries what GitHub code scanning reads.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

#[path = "common/synthetic.rs"]
mod synthetic;

use std::fs;

use faultline::engine::{ScanOptions, scan};
use faultline::report::sarif::log;
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/schemas/sarif-schema-2.1.0.json"
        ))
        .unwrap(),
    )
    .unwrap();
    jsonschema::draft4::new(&schema).unwrap()
}

fn validate(sarif: &Value) {
    let validator = validator();
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
}

#[test]
fn the_schema_rejects_invalid_logs() {
    let mut report = synthetic::report();
    report.sort();
    let mut sarif = serde_json::to_value(log(&report)).unwrap();
    sarif["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!validator().is_valid(&sarif));
}

#[test]
fn synthetic_report_is_valid_sarif() {
    let mut report = synthetic::report();
    report.sort();
    let sarif = serde_json::to_value(log(&report)).unwrap();
    validate(&sarif);

    let run = &sarif["runs"][0];
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(run["columnKind"], "utf16CodeUnits");
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        "file:///repo/"
    );
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    // The three rules that ran, then the suppression pseudo-rule.
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[3]["id"], "faultline/suppression");
    assert!(run.get("automationDetails").is_none());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[key].is_u64(), "{key} missing in {region}");
        }
    }

    // The rule descriptor is generated from the metadata and docs.
    let lost = rules
        .iter()
        .find(|r| r["id"] == "race/lost-update")
        .unwrap();
    assert_eq!(
        lost["fullDescription"]["text"],
        "Finds a value read, changed and written back with no lock."
    );
    assert_eq!(lost["defaultConfiguration"]["level"], "error");
    assert_eq!(lost["properties"]["security-severity"], "5.9");
    assert_eq!(lost["properties"]["problem.severity"], "error");
    assert_eq!(lost["properties"]["precision"], "medium");
    let tags: Vec<&str> = lost["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["race", "security", "external/cwe/cwe-362"]);
    assert!(
        lost["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("## Why is this bad?")
    );

    // Related locations have ids and messages.
    let race = results
        .iter()
        .find(|r| r["ruleId"] == "race/lost-update")
        .unwrap();
    let related = &race["relatedLocations"][0];
    assert_eq!(related["id"], 1);
    assert_eq!(related["message"]["text"], "the value is read here");
    assert_eq!(related["physicalLocation"]["region"]["startLine"], 10);

    // UTF-16 columns: `"café 😀"; ` is 26 bytes but 23 UTF-16 units.
    let post = &results[2];
    assert_eq!(
        post["locations"][0]["physicalLocation"]["region"]["startColumn"],
        24
    );

    // Every skipped file and notice is a notification with its location.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 5);
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    for n in notes {
        assert_eq!(
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"],
            "%SRCROOT%"
        );
    }
}

#[test]
fn scan_of_a_directory_is_valid_sarif() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("src dir")).unwrap();
    fs::write(dir.path().join("src dir/ok.py"), "x = 1\n").unwrap();
    // `requests.get` gets it past the prefilter, to the parser.
    fs::write(
        dir.path().join("src dir/broken.py"),
        "def f(:\n  requests.get(url, timeout=5)\n",
    )
    .unwrap();
    fs::write(dir.path().join("blob.py"), b"\0\0\0").unwrap();
    let report = scan(&ScanOptions {
        paths: vec![dir.path().to_path_buf()],
        ..ScanOptions::default()
    })
    .unwrap();
    let sarif = serde_json::to_value(log(&report)).unwrap();
    validate(&sarif);
    let run = &sarif["runs"][0];
    assert!(run["results"].as_array().unwrap().is_empty());
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    let uris: Vec<&str> = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, ["blob.py", "src%20dir/broken.py"]);
}

#[test]
fn scan_of_the_examples_is_valid_sarif_for_github() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let options = faultline::config::discovered_options(vec![examples.into()]).unwrap();
    let report = scan(&options).unwrap();
    let sarif = serde_json::to_value(log(&report)).unwrap();
    validate(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let fp = &r["partialFingerprints"];
        assert!(fp["primaryLocationLineHash"].is_string(), "{r}");
        assert!(fp["faultline/v1"].is_string(), "{r}");
    }
    // The examples' own configuration is found: the payments zone.
    assert!(
        results
            .iter()
            .any(|r| r["properties"]["zones"] == serde_json::json!(["payments"]))
    );
    // Every rule carries what GitHub reads.
    for rule in sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
    {
        assert!(rule["help"]["markdown"].is_string(), "{rule}");
        assert!(rule["fullDescription"]["text"].is_string(), "{rule}");
        assert!(rule["properties"]["tags"].is_array(), "{rule}");
        assert!(rule["properties"]["precision"].is_string(), "{rule}");
        assert!(rule["properties"]["problem.severity"].is_string(), "{rule}");
    }
}

#[test]
fn at_most_25000_results_keeping_the_most_severe() {
    use faultline::report::sarif::{MAX_RESULTS, dropped};
    use faultline_rules::Level;

    let mut report = synthetic::report();
    report.sort();
    let template = report.findings.clone();
    let mut findings = Vec::new();
    while findings.len() < MAX_RESULTS + 10 {
        findings.extend(template.iter().cloned());
    }
    // The last finding is the only error beyond the cut.
    findings.truncate(MAX_RESULTS + 10);
    for f in &mut findings {
        if f.finding.level == Level::Error {
            f.finding.level = Level::Note;
        }
    }
    if let Some(last) = findings.last_mut() {
        last.finding.level = Level::Error;
    }
    report.findings = findings;
    assert_eq!(dropped(&report), 10);
    let sarif = serde_json::to_value(log(&report)).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), MAX_RESULTS);
    assert_eq!(results.last().unwrap()["level"], "error");
    assert_eq!(
        results.iter().filter(|r| r["level"] == "note").count(),
        report.count(Level::Note) - 10
    );
}
