#!/usr/bin/env bash
# Fuzz numaguard's parsers with libFuzzer (DESIGN.md "Testing": no crash, no hang).
#
#   scripts/fuzz.sh [--seconds N] [--target parsers|policy|interrupts|irqbalance-environ|all] [--no-build]
#                   [-- extra libFuzzer flags]
#
# Two targets, each run for N seconds (default 20), one after the other:
#   parsers  Sources/NumaguardCore/*.swift, run's pure command-line files of NumaguardLaunch,
#            Fuzz/ParsersFuzz.swift and Fuzz/LaunchInputsFuzz.swift built as one module with
#            -sanitize=fuzzer,address into .build/fuzz/parsers; seeds from Fuzz/corpus and
#            Tests/Fixtures.
#   interrupts, irqbalance-environ
#            the parsers binary with NUMAGUARD_FUZZ_ONLY set, so every execution goes to one
#            property (/proc/interrupts; irqbalance's environ and command line with isolcpus=);
#            seeds Fuzz/corpus/<target>-*. Not part of "all": the parsers target runs both.
#   policy   PolicyLoader.load over arbitrary bytes (Fuzz/PolicyFuzz.swift), and the same input
#            through the journal reader and the snapshot reader (Fuzz/ReadersFuzz.swift), so
#            the run time stays one target's, and attribute's telemetry and watch-series
#            readers (Fuzz/TelemetryFuzz.swift). NumaguardCore, NumaguardOutput, NumaguardPolicy
#            (which needs only Core and the system's libyaml through Sources/CYAML: the loader
#            takes bytes), NumaguardHost, NumaguardView, NumaguardReport, NumaguardSnapshot,
#            NumaguardAudit, NumaguardEnforce and NumaguardAttribution (Host and after: for the
#            readers) are compiled with the fuzzer and address sanitizers into
#            .build/fuzz/policy-build and linked into .build/fuzz/policy with libyaml
#            (libyaml-dev; not instrumented: coverage guides through numaguard's composer, not
#            inside libyaml). The numaguard modules are rebuilt (-Onone, a few seconds) only
#            when their sources change. Seeds from policies/*.yaml, Fuzz/policy-corpus,
#            Fuzz/readers-corpus (journal lines, a snapshot, telemetry) and the attribution fixture.
# No Package.swift change is needed. Exits non-zero on any crash, property violation, leak,
# timeout or OOM in either target, printing the offending input. Non-interactive: safe under
# CI=true with no TTY.
set -euo pipefail

seconds=20
build=1
target=all
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
        --seconds=*) seconds="${1#*=}"; shift ;;
        --target) target="${2:?--target needs a value}"; shift 2 ;;
        --target=*) target="${1#*=}"; shift ;;
        --no-build) build=0; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --seconds takes a whole number" >&2; exit 64 ;; esac
case "$target" in parsers|policy|interrupts|irqbalance-environ|all) ;;
    *) echo "fuzz.sh: --target is parsers, policy, interrupts, irqbalance-environ or all" >&2; exit 64 ;; esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out=.build/fuzz
mkdir -p "$out"
swiftc="$(command -v swiftc || echo /opt/swift/usr/bin/swiftc)"
clang="$(command -v clang || echo "$(dirname "$swiftc")/clang")"

# Let libFuzzer's own handlers report a trap; Swift's interactive backtracer would hang without a TTY.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:symbolize=1}"

# Drops ld.gold's "Cannot export local symbol '__asan_*'" warnings (one per ASan helper; harmless).
# Also drops the "part of module 'NumaguardCore'; ignoring import" warning (with its 4-line
# excerpt) of the NumaguardLaunch files compiled into the parsers module.
quiet_log() {
    awk '/ignoring import/ { skip = 5 } skip > 0 { skip--; next } !/Cannot export local symbol/' "$1" >&2 || true
}

# ---- parsers -------------------------------------------------------------------------------

launch_parsers=(Sources/NumaguardLaunch/LaunchArguments.swift Sources/NumaguardLaunch/LaunchRequest.swift
                Sources/NumaguardLaunch/NumactlSet.swift)

build_parsers() {
    echo "fuzz.sh: building $out/parsers"
    # One module: the harness sees NumaguardCore's internals without @testable or an import.
    # run's command-line parsers are pure files of NumaguardLaunch (they import only
    # NumaguardCore, an import the compiler ignores inside the module): fuzzed here too.
    "$swiftc" -sanitize=fuzzer,address -parse-as-library -module-name NumaguardCore \
        -swift-version 6 -O -g \
        Sources/NumaguardCore/*.swift "${launch_parsers[@]}" Fuzz/ParsersFuzz.swift Fuzz/LaunchInputsFuzz.swift \
        -o "$out/parsers" 2> "$out/build.log" || { cat "$out/build.log" >&2; exit 1; }
    quiet_log "$out/build.log"
}

seed_parsers() {
    local seeds="$1"
    cp Fuzz/corpus/* "$seeds/" 2>/dev/null || true
    if [ -d Tests/Fixtures ]; then
        local n=0 file
        while IFS= read -r -d '' file; do
            n=$((n + 1))
            cp "$file" "$seeds/fixture-$n-$(basename "$file")"
        done < <(find Tests/Fixtures -type f \( -name numa_maps -o -name cpulist -o -name cpumap \
            -o -name distance -o -name meminfo -o -name stat -o -name status -o -name cgroup \
            -o -name possible -o -name online -o -name has_cpu -o -name has_memory -o -name enabled \
            -o -name interrupts -o -name environ -o -name cmdline \) -print0)
    fi
}

# ---- policy --------------------------------------------------------------------------------

policy_build="$out/policy-build"

# Runs "$@" (a compile) unless the stamp for $1 already records the same inputs: the
# command line and the bytes of every file listed after "--".
cached() {
    local name="$1"; shift
    local files=() command=() seen=0 arg
    for arg in "$@"; do
        if [ "$arg" = "--" ]; then seen=1; continue; fi
        if [ "$seen" = 1 ]; then files+=("$arg"); else command+=("$arg"); fi
    done
    local stamp="$policy_build/$name.stamp" key
    key="$( { printf '%s\n' "${command[@]}"; cat "${files[@]}"; } | sha256sum | cut -d' ' -f1)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then return 0; fi
    rm -f "$stamp"
    "${command[@]}" 2> "$policy_build/$name.log" || { cat "$policy_build/$name.log" >&2; exit 1; }
    quiet_log "$policy_build/$name.log"
    echo "$key" > "$stamp"
}

build_policy() {
    mkdir -p "$policy_build/obj" "$policy_build/modules"
    local obj="$policy_build/obj" modules="$policy_build/modules"
    # Objects of a Yams-era build (libyaml's C sources compiled here) would be linked twice.
    rm -f "$obj"/cyaml-*.o "$obj/Yams.o" "$policy_build"/cyaml-*.stamp "$policy_build/Yams.stamp"
    local sanitize=-sanitize=fuzzer,address
    local includes=(-I "$modules" -I Sources/CYAML -I Sources/CLinux/include -I Sources/CCap)
    echo "fuzz.sh: building $out/policy"
    # numaguard's one C shim (raw memory-policy and affinity syscalls), and the start-up file
    # NumaguardHost's RuntimeStart calls into (its constructor does nothing in a dynamically
    # linked binary such as this one). ArgumentVector.c is not needed: nothing here calls it.
    cached clinux "$clang" -c -O1 -g -fsanitize=fuzzer-no-link,address -I Sources/CLinux/include \
        Sources/CLinux/CLinux.c -o "$obj/clinux.o" -- Sources/CLinux/CLinux.c Sources/CLinux/include/CLinux.h
    cached clinux-backtracer "$clang" -c -O1 -g -fsanitize=fuzzer-no-link,address -I Sources/CLinux/include \
        Sources/CLinux/BacktracerSetting.c -o "$obj/clinux-backtracer.o" -- Sources/CLinux/BacktracerSetting.c Sources/CLinux/include/CLinux.h
    # numaguard's modules: -Onone keeps the rebuild after an edit to a few seconds.
    # Each is keyed by its own sources and those of the modules before it (which include the
    # ones it imports). NumaguardPolicy comes before NumaguardHost: it does not import it.
    local module inputs=(Sources/CYAML/* Sources/CLinux/include/* Sources/CCap/*)
    # Output, Host, Report, Snapshot, Audit and Enforce: for the journal and snapshot readers (ReadersFuzz.swift).
    # Attribution: telemetry and watch series readers (TelemetryFuzz.swift).
    for module in NumaguardCore NumaguardOutput NumaguardPolicy NumaguardHost NumaguardView NumaguardReport NumaguardSnapshot NumaguardAudit NumaguardEnforce NumaguardAttribution; do
        inputs+=(Sources/"$module"/*.swift)
        cached "$module" "$swiftc" -parse-as-library -module-name "$module" -wmo -Onone -g "$sanitize" \
            -swift-version 6 "${includes[@]}" \
            -emit-module -emit-module-path "$modules/$module.swiftmodule" -c Sources/"$module"/*.swift -o "$obj/$module.o" \
            -- "${inputs[@]}"
    done
    "$swiftc" -parse-as-library -module-name PolicyFuzz -Onone -g "$sanitize" -swift-version 6 "${includes[@]}" \
        Fuzz/PolicyFuzz.swift Fuzz/ReadersFuzz.swift Fuzz/TelemetryFuzz.swift "$obj"/*.o -lcap -lyaml -o "$out/policy" 2> "$policy_build/link.log" \
        || { cat "$policy_build/link.log" >&2; exit 1; }
    quiet_log "$policy_build/link.log"
}

seed_policy() {
    local seeds="$1" file
    for file in policies/*.yaml Fuzz/policy-corpus/* Fuzz/readers-corpus/* Tests/Fixtures/attribution/*; do
        [ -f "$file" ] || continue
        case "$file" in *.dict) continue ;; esac
        cp "$file" "$seeds/$(basename "$(dirname "$file")")-$(basename "$file")"
    done
}

# ---- running -------------------------------------------------------------------------------

# run NAME BINARY DICT SEED-FUNCTION: fuzz for $seconds; non-zero on any finding.
run() {
    local name="$1" binary="$2" dict="$3" seed="$4"
    local corpus="$out/$name-corpus"       # grows across runs (git-ignored with .build/)
    local seeds="$out/$name-seeds"         # rebuilt each run
    local artifacts="$out/$name-artifacts"
    local log="$out/$name-last-run.log"
    if [ "$name" = parsers ]; then         # the paths scripts/fuzz.sh has always used
        corpus="$out/corpus"; seeds="$out/seeds"; artifacts="$out/artifacts"; log="$out/last-run.log"
    fi
    mkdir -p "$corpus" "$artifacts"
    rm -rf "$seeds"; mkdir -p "$seeds"
    "$seed" "$seeds"
    local dict_flag=()
    [ -n "$dict" ] && dict_flag=(-dict="$dict")
    echo "fuzz.sh: $name: $(ls "$seeds" | wc -l) seed files, $(ls "$corpus" | wc -l) in the saved corpus; fuzzing for ${seconds}s"
    rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/slow-unit-*
    set +e
    "$binary" "$corpus" "$seeds" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 "${dict_flag[@]}" \
        -artifact_prefix="$artifacts/" -print_final_stats=1 "${extra[@]}" > "$log" 2>&1
    local status=$?
    set -e
    tail -n 15 "$log" | grep -E "^(stat::|Done|INFO: -max_total_time)" | sed "s/^/fuzz.sh: $name: /" || true
    local found
    found=$(ls "$artifacts" 2>/dev/null | grep -E '^(crash|leak|timeout|oom)-' || true)
    if [ "$status" -ne 0 ] || [ -n "$found" ]; then
        echo "fuzz.sh: $name FAILED (libFuzzer exit $status); log: $log" >&2
        grep -E "fuzz property violated|^  input: |Fatal error|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|SUMMARY|#[0-9]+ 0x" "$log" | head -n 40 >&2 || true
        local artifact
        for artifact in $found; do
            echo "--- $artifacts/$artifact ($(wc -c < "$artifacts/$artifact") bytes), reproduce with: $binary $artifacts/$artifact" >&2
            od -c "$artifacts/$artifact" | head -n 20 >&2
        done
        return 1
    fi
    echo "fuzz.sh: $name OK, no crash, hang or leak in ${seconds}s"
}

# The policy language's words, for the policy target's mutations.
policy_dict() {
    local dict="$out/policy.dict" word
    {
        echo "# generated by scripts/fuzz.sh: the policy language's keys and values"
        for word in version host kernel numa_balancing zone_reclaim_mode transparent_hugepage cmdline require forbid \
            topology nodes cpus min_memory distances hugepages headroom min_free forbid_processes node size count \
            workloads name match comm exe cgroup systemd_unit user protected running min max cpulist memory policy \
            max_remote allow_interleave scan reserve for max_foreign_memory waivers check reason expires watch \
            isolation isolated nohz_full managed_irq workqueue housekeeping irqbalance irqs \
            interval regimes dwell shock hint_faults_per_s pages_migrated_per_s remote_fault_ratio \
            off normal tiering always madvise never bind preferred preferred-many interleave weighted-interleave \
            local default true false protected GiB MiB KiB TiB "2x protected" "50%" "2026-12-31" "0-15" \
            "host.kernel." "workload." "node." ": " "- " "{" "}" "[" "]" "&a " "*a" "!!str " "? " "---" "..." "'" "\\\""; do
            printf '"%s"\n' "$word"
        done
    } > "$dict"
    echo "$dict"
}

status=0
if [ "$target" = parsers ] || [ "$target" = all ]; then
    [ "$build" = 1 ] && build_parsers
    run parsers "$out/parsers" Fuzz/parsers.dict seed_parsers || status=1
fi
if [ "$target" = interrupts ] || [ "$target" = irqbalance-environ ]; then
    [ "$build" = 1 ] && build_parsers
    seed_focused() { cp Fuzz/corpus/"$target"-* "$1/"; }
    NUMAGUARD_FUZZ_ONLY="$target" run "$target" "$out/parsers" Fuzz/parsers.dict seed_focused || status=1
fi
if [ "$target" = policy ] || [ "$target" = all ]; then
    [ "$build" = 1 ] && build_policy
    run policy "$out/policy" "$(policy_dict)" seed_policy || status=1
fi
if [ "$status" -ne 0 ]; then
    echo "fuzz.sh: FAILED" >&2
    exit 1
fi
echo "fuzz.sh: OK"
