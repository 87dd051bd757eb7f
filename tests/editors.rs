//! Editors read the concise output: a real, headless vim loads it into the
//! quickfix list with the set-up shipped in `examples/editors/vim/`.

#![expect(
    clippy::unwrap_used,
    reason = "a test helper that fails should fail the test"
)]

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

fn write(root: &Path, rel: &str, contents: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

fn vim_version() -> Option<String> {
    let out = Command::new("vim")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    })
}

#[test]
fn vim_reads_the_concise_output_into_the_quickfix_list() {
    let Some(version) = vim_version() else {
        skip("vim is not installed (the CI script installs it)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/client.py",
        "import requests\n\n\ndef fetch(url):\n    label = \"café\"; return requests.get(url)\n",
    );
    write(
        root,
        "web/api.ts",
        "import axios from \"axios\";\n\nexport async function load(url: string) {\n  return (await axios.get(url)).data;\n}\n",
    );
    write(root, "data/blob.py", "\0\0\0");
    let scan = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["scan", "-f", "concise", "-o", "faultline.txt"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(scan.status.code(), Some(1));
    let concise = fs::read_to_string(root.join("faultline.txt")).unwrap();

    let setup = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/editors/vim/faultline.vim"
    );
    let out = Command::new("vim")
        .args(["-es", "-N", "-u", "NONE", "-i", "NONE", "-S", setup])
        .args(["-c", "cfile faultline.txt"])
        .args([
            "-c",
            "call writefile([json_encode(map(getqflist(), \
             {_, e -> extend(e, {'file': bufname(e.bufnr)})}))], 'qf.json')",
        ])
        .args(["-c", "qa!"])
        .current_dir(root)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{version}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let qf: Value =
        serde_json::from_str(&fs::read_to_string(root.join("qf.json")).unwrap()).unwrap();
    let entries: Vec<(String, u64, u64, String, String)> = qf
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["valid"] == 1)
        .map(|e| {
            (
                e["file"].as_str().unwrap().to_string(),
                e["lnum"].as_u64().unwrap(),
                e["col"].as_u64().unwrap(),
                e["type"].as_str().unwrap().to_string(),
                e["text"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (
                "app/client.py".to_string(),
                5,
                // A byte column, as vim counts: `é` is two bytes.
                29,
                "w".to_string(),
                "[external-call/missing-timeout]: `requests.get` has no timeout and can wait forever"
                    .to_string()
            ),
            (
                "web/api.ts".to_string(),
                4,
                17,
                "w".to_string(),
                "[external-call/missing-timeout]: `axios.get` has no timeout and can wait forever"
                    .to_string()
            ),
        ],
        "{concise}"
    );
    // The skipped file is listed as text, not as a place to jump to.
    let texts: Vec<&str> = qf
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["valid"] == 0)
        .map(|e| e["text"].as_str().unwrap())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("data/blob.py: note[faultline/skipped]")),
        "{texts:?}"
    );
}
