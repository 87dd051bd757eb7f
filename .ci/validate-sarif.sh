#!/usr/bin/env bash
# Validates SARIF files with the Microsoft SARIF multitool, running both its
# SARIF rules and GitHub's ingestion rules (`--rule-kind "Sarif;Gh"`).
#
#   .ci/validate-sarif.sh FILE.sarif...
#
# The multitool exits 0 whatever it finds, so this script reads its output
# log and fails (exit 1) on any error-level result or notification. Warnings
# and notes are printed but do not fail.
#
# The multitool is installed with npm into a scratch directory on first use
# (SARIF_MULTITOOL_DIR, default ~/.cache/faultline/sarif-multitool-VERSION)
# and reused afterwards. Needs node and npm.
set -euo pipefail

VERSION=5.7.0
TOOL_DIR=${SARIF_MULTITOOL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/faultline/sarif-multitool-$VERSION}

if [ "$#" -eq 0 ]; then
  echo "usage: $0 FILE.sarif..." >&2
  exit 2
fi
for tool in node npm npx; do
  command -v "$tool" >/dev/null || { echo "error: $tool is needed to run the SARIF multitool" >&2; exit 2; }
done

if [ ! -e "$TOOL_DIR/node_modules/@microsoft/sarif-multitool/package.json" ]; then
  echo "installing @microsoft/sarif-multitool@$VERSION into $TOOL_DIR" >&2
  mkdir -p "$TOOL_DIR"
  [ -f "$TOOL_DIR/package.json" ] || echo '{"name": "sarif-multitool-scratch", "private": true}' >"$TOOL_DIR/package.json"
  npm install --prefix "$TOOL_DIR" --no-audit --no-fund --loglevel=error "@microsoft/sarif-multitool@$VERSION" >&2
fi
# The native binary's postinstall (chmod u+x) may have been skipped.
native=$(cd "$TOOL_DIR" && node -p "require('@microsoft/sarif-multitool')" 2>/dev/null || true)
if [ -n "$native" ] && [ -f "$native" ]; then chmod u+x "$native"; fi
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

status=0
for file in "$@"; do
  if [ ! -f "$file" ]; then
    echo "error: no such file: $file" >&2
    status=1
    continue
  fi
  abs=$(cd "$(dirname "$file")" && pwd)/$(basename "$file")
  log=$(mktemp "${TMPDIR:-/tmp}/sarif-validate.XXXXXX")
  # The npm wrapper runs the tool through a shell, so arguments with `;` or
  # spaces are quoted once more.
  (cd "$TOOL_DIR" && npx --no-install sarif-multitool validate \
      --rule-kind "'Sarif;Gh'" --log "'ForceOverwrite'" \
      --output "'$log'" "'$abs'") >/dev/null 2>&1 || true
  if ! node - "$log" "$file" <<'JS'
const fs = require("fs");
const [log, file] = process.argv.slice(2);
let doc;
try {
  doc = JSON.parse(fs.readFileSync(log, "utf8"));
} catch (e) {
  console.error(`error: the multitool wrote no readable log for ${file}: ${e.message}`);
  process.exit(1);
}
let errors = 0;
const text = (run, r) => {
  const rule = (run.tool.driver.rules || [])[r.ruleIndex] || {};
  const template = r.message.text
    || ((rule.messageStrings || {})[r.message.id] || {}).text
    || r.message.id || "";
  return template.replace(/\{(\d+)\}/g, (_, i) => (r.message.arguments || [])[i] ?? "");
};
for (const run of doc.runs || []) {
  for (const r of run.results || []) {
    const level = r.level || "warning";
    const region = ((r.locations || [])[0] || {}).physicalLocation?.region || {};
    console.log(`${file}:${region.startLine ?? 0}:${region.startColumn ?? 0}: ${level}[${r.ruleId}]: ${text(run, r)}`);
    if (level === "error") errors++;
  }
  for (const inv of run.invocations || []) {
    for (const n of [...(inv.toolExecutionNotifications || []), ...(inv.toolConfigurationNotifications || [])]) {
      if ((n.level || "warning") === "error") {
        console.log(`${file}: error[multitool]: ${n.message.text}`);
        errors++;
      }
    }
  }
}
if (!(doc.runs || []).length) {
  console.error(`error: the multitool log for ${file} has no run`);
  process.exit(1);
}
console.log(`${file}: ${errors} error-level problem(s) under the multitool's SARIF and GitHub rules`);
process.exit(errors ? 1 : 0);
JS
  then
    status=1
  fi
  rm -f "$log"
done
exit "$status"
