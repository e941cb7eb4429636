#!/usr/bin/env bash
# Fuzz the pure parsers of NumaguardCore with libFuzzer (DESIGN.md "Testing": no crash, no hang).
#
#   scripts/fuzz.sh [--seconds N] [--no-build] [-- extra libFuzzer flags]
#
# Builds Sources/NumaguardCore/*.swift + Fuzz/ParsersFuzz.swift as one module with
# -sanitize=fuzzer,address into .build/fuzz/parsers (no Package.swift change needed),
# seeds a corpus from Fuzz/corpus and Tests/Fixtures, runs for N seconds (default 20),
# and exits non-zero on any crash, property violation, leak, timeout or OOM, printing the
# offending input. Non-interactive: safe under CI=true with no TTY.
set -euo pipefail

seconds=20
build=1
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
        --seconds=*) seconds="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds takes a whole number" >&2; exit 64 ;; esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=.build/fuzz
binary="$out/parsers"
corpus="$out/corpus"          # grows across runs (git-ignored with .build/)
seeds="$out/seeds"            # rebuilt each run from Fuzz/corpus and Tests/Fixtures
artifacts="$out/artifacts"
mkdir -p "$out" "$corpus" "$artifacts"

if [ "$build" = 1 ]; then
    swiftc="$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)"
    echo "fuzz.sh: building $binary"
    # One module: the harness sees NumaguardCore's internals without @testable or an import.
    # ld.gold warns "Cannot export local symbol '__asan_*'" for every ASan helper; harmless.
    "$swiftc" -sanitize=fuzzer,address -parse-as-library -module-name NumaguardCore \
        -swift-version 6 -O -g \
        Sources/NumaguardCore/*.swift Fuzz/ParsersFuzz.swift \
        -o "$binary" 2> "$out/build.log" || { cat "$out/build.log" >&2; exit 1; }
    grep -v "Cannot export local symbol" "$out/build.log" >&2 || true
fi

# Seeds: hand-written lines plus every recorded fixture file a parser reads.
rm -rf "$seeds"; mkdir -p "$seeds"
cp Fuzz/corpus/* "$seeds/" 2>/dev/null || true
if [ -d Tests/Fixtures ]; then
    n=0
    while IFS= read -r -d '' file; do
        n=$((n + 1))
        cp "$file" "$seeds/fixture-$n-$(basename "$file")"
    done < <(find Tests/Fixtures -type f \( -name numa_maps -o -name cpulist -o -name cpumap \
        -o -name distance -o -name meminfo -o -name stat -o -name status -o -name cgroup \
        -o -name possible -o -name online -o -name has_cpu -o -name has_memory -o -name enabled \) -print0)
fi
echo "fuzz.sh: $(ls "$seeds" | wc -l) seed files, $(ls "$corpus" | wc -l) in the saved corpus; fuzzing for ${seconds}s"

# Let libFuzzer's own handlers report a trap; Swift's interactive backtracer would hang without a TTY.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"
log="$out/last-run.log"
rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/slow-unit-*
set +e
"$binary" "$corpus" "$seeds" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 -dict=Fuzz/parsers.dict \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "${extra[@]}" > "$log" 2>&1
status=$?
set -e

tail -n 15 "$log" | grep -E "^(stat::|Done|INFO: -max_total_time)" || true
found=$(ls "$artifacts" 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-' || true)
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
    echo "fuzz.sh: FAILED (libFuzzer exit $status); log: $log" >&2
    grep -E "fuzz property violated|^  input: |Fatal error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY|#[0-9]+ 0x" "$log" | head -n 40 >&2 || true
    for artifact in $found; do
        echo "--- $artifacts/$artifact ($(wc -c < "$artifacts/$artifact") bytes), reproduce with: $binary $artifacts/$artifact" >&2
        od -c "$artifacts/$artifact" | head -n 20 >&2
    done
    exit 1
fi
echo "fuzz.sh: OK, no crash, hang or leak in ${seconds}s"
