// swift-tools-version:6.0
import PackageDescription

/// The front's release link: lld, with the functions a launch runs and the data it touches
/// before exec placed first (start-up-order.txt, from scripts/front-order), so they share a
/// few pages of the static binary instead of faulting in pages scattered over it (bench/README.md
/// "launch"). lld because gold orders only whole sections by name, and Swift keeps a module's
/// internal functions in one. Release only: debug builds link as SwiftPM chooses.
let frontLink: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/Sources/numaguard/start-up-order.txt",
                  "-Xlinker", "--no-warn-symbol-ordering"], .when(configuration: .release)),
]

let package = Package(
    name: "numaguard",
    platforms: [.macOS(.v13)],
    products: [
        // `numaguard`: the small front (run, inspect, topology, policy check) that hands every other
        // command to numaguard-tool.
        .executable(name: "numaguard", targets: ["numaguard"]),
        .executable(name: "numaguard-tool", targets: ["numaguard-tool"]),
        .library(name: "NumaguardCore", targets: ["NumaguardCore"]),
        .library(name: "NumaguardHost", targets: ["NumaguardHost"]),
        .library(name: "NumaguardReport", targets: ["NumaguardReport"]),
        .library(name: "NumaguardOutput", targets: ["NumaguardOutput"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries come in only as system-library targets (DESIGN.md: C stays there).
        // libnuma is numactl's own library and libcap the reference reader of capabilities: the
        // tests use them as oracles for CLinux's raw calls; nothing shipped links either.
        .systemLibrary(
            name: "CNuma",
            pkgConfig: "numa",
            providers: [.apt(["libnuma-dev"])]
        ),
        .systemLibrary(
            name: "CCap",
            pkgConfig: "libcap",
            providers: [.apt(["libcap-dev"])]
        ),
        // libyaml's event API: the policy loader composes its own small node tree over it.
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        // The one C shim: raw memory-policy and affinity system calls (syscall(2) is variadic).
        .target(name: "CLinux"),
        // Pure values and parsers: no I/O, so fixtures, fuzzers and the live host share them.
        .target(name: "NumaguardCore"),
        // Output formats, Foundation-free: the JSON writers (JSONText by hand, JSONDocument for
        // Encodable documents), Prometheus text, JUnit XML, and DocumentKind (every document's
        // kind and its one format_version).
        .target(name: "NumaguardOutput", dependencies: ["NumaguardCore"]),
        // Every host read and syscall: one root path, one errno funnel. Capabilities through
        // CLinux's capget/capset, not libcap, whose constructor costs every start-up.
        .target(name: "NumaguardHost", dependencies: ["NumaguardCore", "CLinux"]),
        // The policy language: values, the YAML loader with located errors (over libyaml's
        // events, no Foundation, so the front links it), the JSON Schema. No host access: the
        // loader takes bytes (NumaguardHost's InputFile reads the file).
        .target(name: "NumaguardPolicy", dependencies: ["NumaguardCore", "NumaguardOutput", "CYAML"]),
        // Policy evaluation: host state in, findings out; and the audit reports.
        .target(name: "NumaguardAudit", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardPolicy", "NumaguardSnapshot", "NumaguardOutput"]),
        // Snapshots of the placement-relevant host, their diff, and captures of the raw files.
        .target(name: "NumaguardSnapshot", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardReport", "NumaguardOutput"]),
        // The launcher: numactl-style placement, checked, applied to itself, exec. No Foundation
        // below it, so the front binary that runs it starts as fast as numactl.
        // Type-layout lowering off: with it, IRGen copies and destroys the launch request's
        // optional structs (NumactlSet?, MemoryRequest?) through value witnesses of metadata the
        // runtime builds by demangling each type's name on first use, a tenth of a launch's
        // instructions before exec (bench/README.md "launch"); without it they are inline code.
        .target(name: "NumaguardLaunch", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardOutput"],
                swiftSettings: [.unsafeFlags(["-Xfrontend", "-disable-type-layout"])]),
        // `run --policy`: a workload's declared placement as a launch request.
        .target(name: "NumaguardLaunchPolicy", dependencies: ["NumaguardHost", "NumaguardLaunch", "NumaguardPolicy"]),
        // `watch`: counters to rates, the regime machine, protected processes, /metrics, events.
        .target(name: "NumaguardWatch", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardPolicy", "NumaguardAudit", "NumaguardOutput", "CLinux"]),
        // The enforcer: findings to a plan (pure), the apply loop over an Actuator, the journal and undo.
        .target(name: "NumaguardEnforce", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardPolicy", "NumaguardAudit", "NumaguardOutput"]),
        // inspect, topology and policy check without Foundation: the reads, the reports, their
        // text, the JSON documents' bodies, and the quick command lines the front serves itself.
        .target(name: "NumaguardView", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardOutput", "NumaguardPolicy"]),
        // Reading documents back (Foundation's decoder); re-exports NumaguardView and NumaguardOutput.
        .target(name: "NumaguardReport", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardOutput", "NumaguardView"]),
        // `attribute`: telemetry (CSV, JSON lines) joined to watch's series, statistics by regime,
        // the gate. Bytes in (the CLI reads the files), figures and documents out; its only I/O
        // is the scratch files (NumaguardHost's ScratchFile) that keep its memory flat.
        .target(name: "NumaguardAttribution", dependencies: ["NumaguardCore", "NumaguardOutput", "NumaguardHost"]),
        // `fleet report` and `fleet diff`: many hosts' certificates and snapshots judged together;
        // pure but for CollectedHostReader, which reads the collected directories.
        .target(name: "NumaguardFleet", dependencies: ["NumaguardCore", "NumaguardHost", "NumaguardOutput", "NumaguardReport", "NumaguardAudit", "NumaguardSnapshot"]),
        // The front: `run` (with --policy), inspect, topology and policy check itself, everything
        // else exec'd to numaguard-tool.
        .executableTarget(name: "numaguard", dependencies: [
            "NumaguardCore", "NumaguardHost", "NumaguardLaunch", "NumaguardLaunchPolicy", "NumaguardOutput", "NumaguardView",
        ], exclude: ["start-up-order.txt"], linkerSettings: frontLink),
        // Thin CLI: argument parsing and wiring only.
        .executableTarget(
            name: "numaguard-tool",
            dependencies: [
                "NumaguardCore", "NumaguardHost", "NumaguardOutput", "NumaguardReport", "NumaguardPolicy", "NumaguardAudit",
                "NumaguardLaunch", "NumaguardLaunchPolicy", "NumaguardSnapshot", "NumaguardWatch", "NumaguardEnforce",
                "NumaguardAttribution", "NumaguardFleet",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "NumaguardCoreTests", dependencies: ["NumaguardCore"]),
        .testTarget(name: "NumaguardOutputTests", dependencies: ["NumaguardOutput", "NumaguardCore"]),
        .testTarget(name: "NumaguardPolicyTests", dependencies: ["NumaguardPolicy", "NumaguardOutput", "NumaguardHost", "TestSupport"]),
        .testTarget(
            name: "NumaguardAuditTests",
            dependencies: ["NumaguardAudit", "NumaguardPolicy", "NumaguardHost", "NumaguardSnapshot", "NumaguardLaunch", "TestSupport"],
            exclude: ["Golden"]
        ),
        .testTarget(name: "NumaguardHostTests", dependencies: ["NumaguardHost", "NumaguardCore", "TestSupport", "CNuma", "CCap"]),
        .testTarget(name: "NumaguardLaunchTests", dependencies: ["NumaguardLaunch", "NumaguardLaunchPolicy", "NumaguardPolicy", "NumaguardHost", "NumaguardOutput", "TestSupport"]),
        .testTarget(name: "NumaguardSnapshotTests", dependencies: ["NumaguardSnapshot", "NumaguardHost", "NumaguardOutput", "TestSupport"]),
        .testTarget(name: "NumaguardWatchTests", dependencies: ["NumaguardWatch", "NumaguardHost", "NumaguardPolicy", "TestSupport"]),
        .testTarget(name: "NumaguardEnforceTests", dependencies: ["NumaguardEnforce", "NumaguardAudit", "NumaguardPolicy", "NumaguardHost", "NumaguardOutput", "TestSupport"]),
        .testTarget(name: "NumaguardFleetTests", dependencies: ["NumaguardFleet", "NumaguardCore", "NumaguardReport", "NumaguardSnapshot", "NumaguardHost", "NumaguardOutput", "TestSupport"]),
        .testTarget(name: "NumaguardAttributionTests", dependencies: ["NumaguardAttribution", "NumaguardFleet", "NumaguardWatch", "NumaguardHost", "TestSupport"]),
        .testTarget(name: "NumaguardReportTests", dependencies: ["NumaguardReport", "NumaguardHost", "NumaguardOutput", "TestSupport"]),
        // Shared by the end-to-end and VM tests: running the binary, numactl/numastat oracles.
        .target(name: "TestSupport", dependencies: ["NumaguardHost"], path: "Tests/TestSupport"),
        .testTarget(name: "CLITests", dependencies: ["numaguard", "numaguard-tool", "TestSupport"], exclude: ["Golden"]),
        // Boot real kernels under QEMU (scripts/vm); skipped unless scripts/test enables them.
        .testTarget(name: "VMTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
