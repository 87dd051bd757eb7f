#!/usr/bin/env bash
# benches/run.sh [CORPUS_DIR]
#
# faultline's benchmark. Builds (once) the pinned registry corpus with
# benches/make-corpus.sh, builds faultline in release mode, then measures in
# one run, side by side, the median of $RUNS runs of:
#
#   parse-only   `faultline debug parse`: faultline's own walker, reading, skip
#                rules and tree-sitter parsers, no rule (the floor of "parse
#                everything")
#   scan         `faultline scan`, every rule, no cache
#   scan-cold    the same with a fresh result cache (it writes the cache)
#   scan-warm    the same again over the unchanged corpus (it reads the cache)
#   semgrep      semgrep on benches/peer-rules/semgrep-rules.yml   (if found)
#   ast-grep     ast-grep on benches/peer-rules/astgrep/            (if found)
#   scan -j K    thread scaling, K = 1..nproc
#
# Runs that are compared with each other take turns (one of each per
# round), so that a slow spell of a shared machine weighs on both sides of
# a ratio alike. Prints wall, CPU (user+sys), MB/s, files/s and peak RSS,
# the ratios the performance goals are stated in (scan / parse-only also as
# the median of its per-round ratios, which a machine whose speed drifts
# between rounds disturbs less), and whether the scan reports the same
# findings with and without the prefilter.
#
# Environment:
#   RUNS=3                 runs per measurement (the median is shown)
#   BENCH_INSTALL_PEERS=1  pip-install semgrep and ast-grep-cli into
#                          target/bench-venv when they are not on PATH
#   FAULTLINE=path         the binary to measure (default: a fresh release build)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
corpus=${1:-$root/target/bench-corpus}
runs=${RUNS:-3}
jobs=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

command -v /usr/bin/time >/dev/null || { echo "benches/run.sh needs GNU time (/usr/bin/time)" >&2; exit 1; }

if [[ ! -f "$corpus/CORPUS-STATS.txt" ]]; then
  echo "building the corpus in $corpus (pinned registry packages, ~130 MB)…" >&2
  bash "$here/make-corpus.sh" "$corpus"
fi

if [[ -z "${FAULTLINE:-}" ]]; then
  (cd "$root" && cargo build --release --locked -q)
  FAULTLINE=$root/target/release/faultline
fi

venv=$root/target/bench-venv
if [[ -x "$venv/bin/semgrep" ]]; then PATH=$venv/bin:$PATH; fi
if [[ "${BENCH_INSTALL_PEERS:-0}" == 1 ]] && ! command -v semgrep >/dev/null; then
  python3 -m venv "$venv" && "$venv/bin/pip" install -q semgrep ast-grep-cli && PATH=$venv/bin:$PATH
fi

# What a scan analyzes (after the skip rules): files and bytes of source.
read -r files bytes < <("$FAULTLINE" scan "$corpus" --no-cache --no-progress -f json --fail-on never \
  | python3 -c 'import json,sys; s=json.load(sys.stdin)["stats"]; print(s["files_scanned"], s["bytes_scanned"])')

# once NAME CMD... : runs CMD once and appends its wall time, CPU and peak
# RSS to $tmp/NAME.runs.
once() {
  local name=$1; shift
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" || {
    if [[ $? -ne 1 ]]; then echo "$name failed:" >&2; cat "$tmp/stderr" >&2; return 0; fi
  }
  tail -n1 "$tmp/time" >> "$tmp/$name.runs"
}

# median NAME : records the run of median wall time in $tmp/NAME.
median() {
  [[ -s "$tmp/$1.runs" ]] || return 0
  sort -n "$tmp/$1.runs" | sed -n "$(( (runs + 1) / 2 ))p" > "$tmp/$1"
}

# Measurements that are compared with each other run in turns, one run of
# each per round, so that a slow spell of a shared machine weighs on both
# sides of a ratio alike.
scan=("$FAULTLINE" scan "$corpus" --no-progress -f json -o /dev/null --fail-on never)
cache=$tmp/cache
for _ in $(seq "$runs"); do
  once parse-only "$FAULTLINE" debug parse "$corpus" -j "$jobs"
  once scan "${scan[@]}" --no-cache -j "$jobs"
  rm -rf "$cache"
  once scan-cold "${scan[@]}" --cache-dir "$cache" -j "$jobs"
  once scan-warm "${scan[@]}" --cache-dir "$cache" -j "$jobs"
  if command -v ast-grep >/dev/null; then
    once ast-grep ast-grep scan -c "$here/peer-rules/astgrep/sgconfig.yml" -j "$jobs" --json=compact "$corpus"
  fi
done
for _ in $(seq "$runs"); do
  for k in $(seq 1 "$jobs"); do
    once "scan-j$k" "${scan[@]}" --no-cache -j "$k"
  done
done
if command -v semgrep >/dev/null; then
  for _ in $(seq "$runs"); do
    once semgrep semgrep scan --metrics=off --disable-version-check --jobs "$jobs" \
      --config "$here/peer-rules/semgrep-rules.yml" --json -o /dev/null "$corpus"
  done
fi
for name in parse-only scan scan-cold scan-warm semgrep ast-grep $(seq -f 'scan-j%g' 1 "$jobs"); do
  median "$name"
done

# Same findings with and without the prefilter.
"$FAULTLINE" scan "$corpus" --no-cache --no-progress -f json -o "$tmp/on.json" --fail-on never || true
"$FAULTLINE" scan "$corpus" --no-cache --no-progress --no-prefilter -f json -o "$tmp/off.json" --fail-on never || true

python3 - "$tmp" "$bytes" "$files" "$jobs" "$corpus" <<'EOF'
import json, os, sys
tmp, size, files, jobs, corpus = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def get(name):
    p = os.path.join(tmp, name)
    if not os.path.exists(p) or not open(p).read().strip():
        return None
    wall, user, sys_, rss = open(p).read().split()
    return float(wall), float(user) + float(sys_), int(rss)
print(f"corpus: {corpus}: {files} files, {size / 1e6:.1f} MB of source; {jobs} threads; median of {os.environ.get('RUNS', '3')} runs")
print(f"{'what':<12} {'wall s':>8} {'CPU s':>8} {'MB/s':>8} {'files/s':>9} {'peak RSS':>9}")
names = ["parse-only", "scan", "scan-cold", "scan-warm", "semgrep", "ast-grep"] + [f"scan-j{k}" for k in range(1, jobs + 1)]
for n in names:
    m = get(n)
    if m:
        w, c, r = m
        print(f"{n:<12} {w:>8.2f} {c:>8.2f} {size / 1e6 / w:>8.1f} {files / w:>9.0f} {r / 1024:>7.0f} MB")
def ratio(a, b, label):
    x, y = get(a), get(b)
    if x and y:
        print(f"{label:<40} {x[0] / y[0]:6.2f}")
def paired(a, b):
    """The median of the per-round ratios of a to b: runs of one round are
    back to back, so a machine whose speed drifts between rounds moves
    both sides of each ratio alike."""
    def walls(n):
        p = os.path.join(tmp, n + ".runs")
        return [float(l.split()[0]) for l in open(p)] if os.path.exists(p) else []
    rs = sorted(x / y for x, y in zip(walls(a), walls(b)) if y > 0)
    if not rs:
        return None
    mid = len(rs) // 2
    return rs[mid] if len(rs) % 2 else (rs[mid - 1] + rs[mid]) / 2
print()
ratio("scan", "parse-only", "scan / parse-only (goal <= 1.0)")
r = paired("scan", "parse-only")
if r is not None:
    print(f"{'  the same, median of per-round ratios':<40} {r:6.2f}")
ratio("semgrep", "scan", "semgrep / scan (goal >= 10)")
ratio("ast-grep", "scan", "ast-grep / scan (goal >= 1.5)")
ratio("scan-warm", "scan-cold", "warm / cold (goal <= 0.10)")
ratio("scan-j1", f"scan-j{jobs}", f"1 -> {jobs} threads speed-up (goal >= 1.8)")
s = get("scan")
if s:
    print(f"{'scan peak RSS, MB (goal <= 200)':<40} {s[2] / 1024:6.0f}")
def findings(p):
    d = json.load(open(p))
    return sorted((f["path"], f["rule"], f["range"]["start"]["line"], f["message"]) for f in d["findings"])
on, off = findings(os.path.join(tmp, "on.json")), findings(os.path.join(tmp, "off.json"))
same = "identical" if on == off else f"DIFFERENT ({len(set(on) ^ set(off))} differ)"
stats = json.load(open(os.path.join(tmp, "on.json")))["stats"]
print(f"findings with / without the prefilter: {len(on)} / {len(off)}, {same}; "
      f"{stats['files_prefiltered']} of {stats['files_scanned']} files not parsed")
EOF
