//! Adoption features end to end: configuration, inline suppressions,
//! fingerprints, baselines, `--diff`, risk zones, the `github` format and
//! the extra report files.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

use std::fs;
use std::path::Path;
use std::process::Command;

#[path = "common/cli.rs"]
mod cli;

use cli::{code, faultline, stderr, stdout, write};
use serde_json::Value;

fn json(dir: &Path, extra: &[&str]) -> Value {
    let args = [&["scan", "-f", "json", "--fail-on", "never"][..], extra].concat();
    let out = faultline(dir, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap()
}

/// `(path, line, rule)` of every finding.
fn findings(doc: &Value) -> Vec<(String, u64, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["range"]["start"]["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn lines_of(doc: &Value, rule: &str) -> Vec<u64> {
    findings(doc)
        .into_iter()
        .filter(|(_, _, r)| r == rule)
        .map(|(_, l, _)| l)
        .collect()
}

const TIMEOUT: &str = "external-call/missing-timeout";
const SUPPRESSION: &str = "faultline/suppression";

const CLIENT_PY: &str = "\
import requests


def fetch_user(url):
    return requests.get(url)


class Billing:
    def charge(self, url):
        return requests.post(url)
";

// ---------------------------------------------------------------- config

#[test]
fn unknown_config_keys_exit_2_naming_the_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/client.py", CLIENT_PY);
    write(dir.path(), "faultline.toml", "selectt = [\"race\"]\n");
    let out = faultline(dir.path(), &["scan", "app"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("unknown field `selectt`"), "{err}");
    assert!(err.contains("faultline.toml"), "{err}");

    // Nested tables too.
    write(
        dir.path(),
        "faultline.toml",
        "[rules.\"external-call/missing-timeout\"]\nlevel = \"error\"\nseverity = 3\n",
    );
    let err = stderr(&faultline(dir.path(), &["scan"]));
    assert!(err.contains("unknown field `severity`"), "{err}");

    // An unknown rule id as a key.
    write(
        dir.path(),
        "faultline.toml",
        "[rules.\"external-call/missing-timout\"]\nlevel = \"error\"\n",
    );
    let out = faultline(dir.path(), &["scan"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("unknown rule or family `external-call/missing-timout`")
            && err.contains("did you mean `external-call/missing-timeout`"),
        "{err}"
    );

    // [tool.faultline] in pyproject.toml is read, and checked the same way.
    fs::remove_file(dir.path().join("faultline.toml")).unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"svc\"\n\n[tool.faultline]\nexclde = [\"x\"]\n",
    );
    let out = faultline(dir.path(), &["scan", "app"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("unknown field `exclde`") && err.contains("pyproject.toml"),
        "{err}"
    );

    // An unknown key inside a user model names the key too.
    write(
        dir.path(),
        "pyproject.toml",
        "[tool.faultline]\n[[tool.faultline.models]]\nlanguage = \"python\"\npackage = \"acme\"\n[[tool.faultline.models.calls]]\npatterns = [\"acme.get()\"]\nkind = \"http\"\ntimeuot = 1\n",
    );
    let err = stderr(&faultline(dir.path(), &["scan"]));
    assert!(
        err.contains("timeuot") && err.contains("pyproject.toml"),
        "{err}"
    );
}

#[test]
fn config_selects_levels_excludes_and_is_found_upward() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "svc/app/client.py", CLIENT_PY);
    write(root, "svc/migrations/0001.py", CLIENT_PY);
    write(
        root,
        "svc/big.py",
        format!("{CLIENT_PY}{}", "x = 1\n".repeat(200)),
    );
    write(
        root,
        "faultline.toml",
        "exclude = [\"migrations/\"]\nmax-file-size = 1000\n\n[rules.\"external-call/missing-timeout\"]\nlevel = \"error\"\n",
    );
    // Found upward from the scanned path; exclude globs are relative to the file.
    let doc = json(&root.join("svc"), &[]);
    let paths: Vec<String> = findings(&doc).into_iter().map(|f| f.0).collect();
    assert!(paths.iter().all(|p| p == "app/client.py"), "{paths:?}");
    assert!(!paths.is_empty());
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == TIMEOUT)
            .all(|f| f["level"] == "error")
    );
    assert_eq!(doc["skipped"][0]["reason"], "too-large");
    // A file named on the command line (as pre-commit does) is excluded too.
    let named = json(&root.join("svc"), &["migrations/0001.py", "app/client.py"]);
    assert!(findings(&named).iter().all(|f| f.0 == "app/client.py"));
    assert_eq!(named["skipped"][0]["path"], "migrations/0001.py");
    assert_eq!(named["skipped"][0]["reason"], "excluded");
    // The command line wins over the file.
    let doc = json(&root.join("svc"), &["--max-file-size", "100000"]);
    assert!(findings(&doc).iter().any(|f| f.0 == "big.py"));

    // `off` turns a rule off; `select` picks families; --select replaces it.
    write(
        root,
        "faultline.toml",
        "select = [\"race\"]\n[rules.\"external-call/missing-timeout\"]\nlevel = \"off\"\n",
    );
    assert!(findings(&json(root, &[])).is_empty());
    write(
        root,
        "status.py",
        "import requests\n\n\ndef f(u):\n    r = requests.get(u, timeout=5)\n    return r.json()\n",
    );
    assert!(findings(&json(root, &[])).is_empty());
    let doc = json(root, &["--select", "external-call"]);
    assert_eq!(
        findings(&doc),
        [(
            "status.py".into(),
            5,
            "external-call/unchecked-status".into()
        )]
    );

    // --config names another file; a bad `select` names the file.
    write(root, "other.toml", "select = [\"no-such-family\"]\n");
    let out = faultline(root, &["scan", "--config", "other.toml"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("other.toml") && err.contains("no-such-family"),
        "{err}"
    );
}

#[test]
fn user_models_teach_faultline_a_projects_own_http_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/sync.py",
        "from acme import http\n\n\ndef sync(url):\n    return http.fetch(url)\n\n\ndef sync_bounded(url):\n    return http.fetch(url, timeout=5)\n",
    );
    assert!(findings(&json(root, &[])).is_empty());
    write(
        root,
        "faultline.toml",
        "[[models]]\nlanguage = \"python\"\npackage = \"acme-http\"\n\n[[models.calls]]\npatterns = [\"acme.http.fetch()\"]\nkind = \"http\"\ntimeout = { kwarg = \"timeout\" }\n",
    );
    let doc = json(root, &[]);
    assert_eq!(lines_of(&doc, TIMEOUT), [5]);
}

#[test]
fn init_writes_a_starter_that_loads_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/client.py", CLIENT_PY);
    let out = faultline(dir.path(), &["init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(dir.path().join("faultline.toml")).unwrap();
    assert!(text.contains("[[zones]]") && text.contains("[[models]]"));
    // The starter is a valid configuration with the defaults.
    assert_eq!(findings(&json(dir.path(), &[])).len(), 2);
    fs::write(dir.path().join("faultline.toml"), "# mine\n").unwrap();
    let again = faultline(dir.path(), &["init"]);
    assert_eq!(code(&again), 2);
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        fs::read_to_string(dir.path().join("faultline.toml")).unwrap(),
        "# mine\n"
    );
}

// ----------------------------------------------------------- suppressions

#[test]
fn a_suppression_with_a_reason_silences_exactly_its_finding() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/client.py",
        "import requests\n\n\ndef fetch(url):\n    # faultline: ignore[external-call/missing-timeout] the egress proxy times out at 5 s\n    a = requests.get(url)\n    b = requests.get(url)\n    c = requests.get(url)  # faultline: ignore[external-call/missing-timeout] same proxy\n    return a, b, c\n",
    );
    let doc = json(root, &[]);
    assert_eq!(
        findings(&doc),
        [("app/client.py".into(), 7, TIMEOUT.into())]
    );
    assert_eq!(doc["stats"]["suppressed"], 2);
}

#[test]
fn suppressions_work_in_every_comment_syntax() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "web/api.ts",
        "import axios from \"axios\";\n\nexport async function load(url: string) {\n  // faultline: ignore[external-call/missing-timeout] local sidecar\n  const a = await axios.get(url);\n  /* faultline: ignore[external-call/missing-timeout] local sidecar */\n  const b = await axios.get(url);\n  const c = await axios.get(url);\n  return [a, b, c];\n}\n",
    );
    write(
        root,
        "web/view.tsx",
        "import axios from \"axios\";\n\nexport function View({ url }: { url: string }) {\n  return (\n    <div>\n      {/* faultline: ignore[external-call/missing-timeout] local sidecar */}\n      <button onClick={() => axios.get(url)}>go</button>\n      <button onClick={() => axios.get(url)}>go</button>\n    </div>\n  );\n}\n",
    );
    write(
        root,
        "web/job.js",
        "const axios = require(\"axios\");\n\nasync function run(url) {\n  await axios.get(url); // faultline: ignore[external-call/missing-timeout] local sidecar\n  await axios.get(url);\n}\nmodule.exports = { run };\n",
    );
    write(
        root,
        "svc/src/lib.rs",
        "pub async fn load(url: &str) -> Result<(), reqwest::Error> {\n    // faultline: ignore[external-call/missing-timeout] local sidecar\n    reqwest::get(url).await?.error_for_status()?;\n    reqwest::get(url).await?.error_for_status()?;\n    Ok(())\n}\n",
    );
    let doc = json(root, &["--select", TIMEOUT]);
    assert_eq!(
        findings(&doc),
        [
            ("svc/src/lib.rs".into(), 4, TIMEOUT.into()),
            ("web/api.ts".into(), 8, TIMEOUT.into()),
            ("web/job.js".into(), 5, TIMEOUT.into()),
            ("web/view.tsx".into(), 8, TIMEOUT.into()),
        ]
    );
    assert_eq!(doc["stats"]["suppressed"], 5);
}

#[test]
fn bad_suppressions_are_reported_as_notes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/client.py",
        "import requests\n\n\ndef fetch(url):\n    a = requests.get(url)  # faultline: ignore[external-call/missing-timeout]\n    # faultline: ignore\n    b = requests.get(url)\n    # faultline: ignore[external-call/missing-timeout] nothing here any more\n    c = 1\n    # faultline: ignore[external-call/no-such-rule] typo\n    return a, b, c\n",
    );
    let doc = json(root, &[]);
    let notes: Vec<(u64, String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == SUPPRESSION)
        .map(|f| {
            (
                f["range"]["start"]["line"].as_u64().unwrap(),
                f["level"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let note = |line: u64, message: &str| (line, "note".to_string(), message.to_string());
    assert_eq!(
        notes,
        [
            note(5, "suppression without a reason"),
            note(
                6,
                "blanket `faultline: ignore` suppresses nothing: name the rule"
            ),
            note(
                8,
                "unused suppression: no `external-call/missing-timeout` finding on this line or the next"
            ),
            note(
                10,
                "suppression of unknown rule `external-call/no-such-rule`"
            ),
        ]
    );
    // The blanket comment did not silence line 7; the reasonless one did silence line 5.
    assert_eq!(lines_of(&doc, TIMEOUT), [7]);
    // A suppression of a rule that did not run is not "unused".
    let doc = json(root, &["--select", "race"]);
    assert!(
        !doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["message"].as_str().unwrap().starts_with("unused")),
        "{doc}"
    );
    // The pseudo-rule's level is configurable, and it can be turned off.
    write(
        root,
        "faultline.toml",
        "[rules.\"faultline/suppression\"]\nlevel = \"off\"\n",
    );
    assert!(lines_of(&json(root, &[]), SUPPRESSION).is_empty());
}

// ------------------------------------------------ fingerprints + baseline

fn fingerprints(doc: &Value) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["fingerprints"]["faultline/v1"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn fingerprints_survive_inserted_lines_and_reformatting() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app/client.py", CLIENT_PY);
    let before = json(root, &[]);
    let functions: Vec<&str> = before["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert_eq!(functions, ["fetch_user", "Billing.charge"]);

    // Lines inserted above, whitespace inside the call, a comment after it.
    write(
        root,
        "app/client.py",
        "\"\"\"Clients.\"\"\"\nimport logging\n\nimport requests\n\nlog = logging.getLogger(__name__)\n\n\ndef fetch_user(url):\n    log.info(\"fetching\")\n    return requests.get( url )  # the user service\n\n\nclass Billing:\n\n    def charge(self, url):\n        return   requests.post(url)\n",
    );
    let after = json(root, &[]);
    assert_eq!(lines_of(&after, TIMEOUT), [11, 17]);
    assert_eq!(fingerprints(&before), fingerprints(&after));

    // The same call in another function is another finding.
    write(
        root,
        "app/client.py",
        CLIENT_PY.replace("fetch_user", "fetch_account"),
    );
    let renamed = json(root, &[]);
    assert_ne!(fingerprints(&before)[0], fingerprints(&renamed)[0]);
    assert_eq!(fingerprints(&before)[1], fingerprints(&renamed)[1]);

    // GitHub's line hash is in SARIF, with the faultline fingerprint.
    let out = faultline(root, &["scan", "-f", "sarif"]);
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let fp = &sarif["runs"][0]["results"][0]["partialFingerprints"];
    assert!(
        fp["primaryLocationLineHash"]
            .as_str()
            .unwrap()
            .ends_with(":1")
    );
    assert_eq!(
        fp["faultline/v1"].as_str().unwrap(),
        fingerprints(&renamed)[0].1
    );
}

#[test]
fn identical_findings_in_one_function_get_distinct_fingerprints() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.py",
        "import requests\n\n\ndef f(u):\n    requests.get(u)\n    requests.get(u)\n",
    );
    let fps = fingerprints(&json(dir.path(), &[]));
    assert_eq!(fps.len(), 2);
    assert!(fps[0].1.ends_with(":1") && fps[1].1.ends_with(":2"));
    assert_eq!(fps[0].1.split(':').next(), fps[1].1.split(':').next());
}

#[test]
fn a_baseline_hides_old_findings_and_not_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app/client.py", CLIENT_PY);
    let out = faultline(
        root,
        &["scan", "--write-baseline", ".faultline/baseline.json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote 2 findings to the baseline"));
    let baseline: Value =
        serde_json::from_str(&fs::read_to_string(root.join(".faultline/baseline.json")).unwrap())
            .unwrap();
    assert_eq!(baseline["version"], 1);
    assert_eq!(baseline["fingerprint"], "faultline/v1");
    assert_eq!(baseline["findings"].as_array().unwrap().len(), 2);

    let out = faultline(root, &["scan", "--baseline", ".faultline/baseline.json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("2 in the baseline"),
        "{}",
        stdout(&out)
    );

    // Old findings move down; a new one appears.
    write(
        root,
        "app/client.py",
        format!("import os\n{CLIENT_PY}\n\ndef fetch_flags(url):\n    return requests.get(url)\n"),
    );
    let out = faultline(
        root,
        &[
            "scan",
            "--baseline",
            ".faultline/baseline.json",
            "-f",
            "json",
        ],
    );
    assert_eq!(code(&out), 1);
    let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        findings(&doc),
        [("app/client.py".into(), 15, TIMEOUT.into())]
    );
    assert_eq!(doc["stats"]["baselined"], 2);

    // A file that is not a baseline is an error, not an empty baseline.
    write(
        root,
        "bogus.json",
        "{\"version\": 7, \"fingerprint\": \"x\", \"findings\": []}",
    );
    let out = faultline(root, &["scan", "--baseline", "bogus.json"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("version 7"), "{}", stderr(&out));
}

// ------------------------------------------------------------------ diff

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

fn has_git() -> bool {
    Command::new("git").arg("--version").output().is_ok()
}

#[test]
fn diff_keeps_only_findings_on_changed_lines() {
    if !has_git() {
        skip("git is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, "app/client.py", CLIENT_PY);
    write(root, "app/other.py", "import requests\nrequests.get(u)\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);

    // One old finding's line is edited, one new finding is added, one is untouched.
    write(
        root,
        "app/client.py",
        format!(
            "{}\n\ndef fetch_flags(url):\n    return requests.get(url)\n",
            CLIENT_PY.replace("requests.post(url)", "requests.post(url, json={})")
        ),
    );
    write(root, "app/new.py", "import requests\nrequests.delete(u)\n");
    let doc = json(root, &["--diff", "main", "--select", TIMEOUT]);
    assert_eq!(
        findings(&doc),
        [
            ("app/client.py".into(), 10, TIMEOUT.into()),
            ("app/client.py".into(), 14, TIMEOUT.into()),
            ("app/new.py".into(), 2, TIMEOUT.into()),
        ]
    );
    assert_eq!(doc["stats"]["outside_diff"], 2);

    // Scanning a subdirectory: paths are relative to it, and still match.
    let doc = json(&root.join("app"), &["--diff", "main", "--select", TIMEOUT]);
    assert_eq!(findings(&doc).len(), 3);

    // An unknown ref and a directory outside git are clear errors (exit 2).
    let out = faultline(root, &["scan", "--diff", "no-such-branch"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("unknown git ref `no-such-branch`"),
        "{}",
        stderr(&out)
    );
    let plain = tempfile::tempdir().unwrap();
    write(plain.path(), "a.py", "x = 1\n");
    let out = faultline(plain.path(), &["scan", "--diff", "main"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("needs a git repository"),
        "{}",
        stderr(&out)
    );
}

// ----------------------------------------------------------------- zones

#[test]
fn zones_raise_levels_and_are_tagged_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app/billing/charge.py", CLIENT_PY);
    write(root, "app/users.py", CLIENT_PY);
    write(
        root,
        "faultline.toml",
        "[[zones]]\nname = \"payments\"\npaths = [\"**/billing/**\", \"**/payments/**\"]\n",
    );
    let doc = json(root, &[]);
    for f in doc["findings"].as_array().unwrap() {
        if f["path"] == "app/billing/charge.py" {
            assert_eq!(f["level"], "error", "{f}");
            assert_eq!(f["zones"], serde_json::json!(["payments"]));
        } else {
            assert_eq!(f["level"], "warning", "{f}");
            assert_eq!(f["zones"], serde_json::json!([]));
        }
    }
    let human = stdout(&faultline(root, &["scan", "--color", "never"]));
    assert!(
        human.contains("error[external-call/missing-timeout]: `requests.get` has no timeout and can wait forever [zone: payments]"),
        "{human}"
    );
    let concise = stdout(&faultline(root, &["scan", "-f", "concise"]));
    assert!(
        concise
            .lines()
            .any(|l| l.starts_with("app/billing/charge.py:5:12: error[")
                && l.ends_with(" [zone: payments]")),
        "{concise}"
    );
    assert!(
        concise
            .lines()
            .any(|l| l.starts_with("app/users.py:5:12: warning[") && !l.contains("zone")),
        "{concise}"
    );
    let sarif: Value =
        serde_json::from_str(&stdout(&faultline(root, &["scan", "-f", "sarif"]))).unwrap();
    let zoned: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["properties"]["zones"] == serde_json::json!(["payments"]))
        .collect();
    assert_eq!(zoned.len(), 2);
    assert!(zoned.iter().all(|r| r["level"] == "error"));
    let github = stdout(&faultline(root, &["scan", "-f", "github"]));
    assert!(github.contains("[zone: payments]"), "{github}");
    // A level override is applied first, then the zone raises it.
    write(
        root,
        "faultline.toml",
        "[rules.\"external-call\"]\nlevel = \"note\"\n[[zones]]\nname = \"payments\"\npaths = [\"**/billing/**\"]\n",
    );
    let doc = json(root, &[]);
    let levels: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["level"].as_str().unwrap()))
        .collect();
    assert!(levels.contains(&("app/billing/charge.py", "warning")));
    assert!(levels.contains(&("app/users.py", "note")));
}

// ---------------------------------------------------- formats and outputs

#[test]
fn github_format_escapes_and_caps_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let mut many = String::from("import requests\n\n\ndef f(u):\n");
    for _ in 0..30 {
        many.push_str("    requests.get(u)\n");
    }
    write(root, "a,b:c%.py", &many);
    let out = faultline(root, &["scan", "-f", "github"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let annotations: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(annotations.len(), 10, "{text}");
    assert!(
        annotations[0].starts_with(
            "::warning file=a%2Cb%3Ac%25.py,line=5,endLine=5,col=5,endColumn=20,title=external-call/missing-timeout::`requests.get` has no timeout"
        ),
        "{}",
        annotations[0]
    );
    assert!(annotations[0].contains("%0Ahelp: "), "{}", annotations[0]);
    let plain = text.lines().filter(|l| l.starts_with("a,b:c%.py:")).count();
    assert_eq!(plain, 20, "{text}");
    let last = text.lines().last().unwrap();
    assert_eq!(
        last,
        "faultline: 30 findings (0 errors, 30 warnings, 0 notes); 10 annotated, 20 more listed above (GitHub shows 10 annotations per level per step)"
    );
}

#[test]
fn one_scan_prints_for_humans_and_writes_sarif_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "app/client.py", CLIENT_PY);
    let out = faultline(
        root,
        &[
            "scan",
            "app",
            "-f",
            "concise",
            "--sarif-output",
            ".sarif/faultline.sarif",
            "--json-output",
            "out/faultline.json",
        ],
    );
    assert_eq!(code(&out), 1);
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    let sarif: Value =
        serde_json::from_str(&fs::read_to_string(root.join(".sarif/faultline.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["runs"].as_array().unwrap().len(), 1);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);
    assert!(sarif["runs"][0].get("automationDetails").is_none());
    let doc: Value =
        serde_json::from_str(&fs::read_to_string(root.join("out/faultline.json")).unwrap())
            .unwrap();
    assert_eq!(findings(&doc).len(), 2);

    let out = faultline(
        root,
        &["scan", "-f", "sarif", "--sarif-category", "backend"],
    );
    let sarif: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(sarif["runs"][0]["automationDetails"]["id"], "backend/");
}
