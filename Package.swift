// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "numaguard",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "numaguard", targets: ["numaguard"]),
        .library(name: "NumaguardCore", targets: ["NumaguardCore"]),
        .library(name: "NumaguardHost", targets: ["NumaguardHost"]),
        .library(name: "NumaguardReport", targets: ["NumaguardReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries come in only as system-library targets (DESIGN.md: C stays there).
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
        // Pure values and parsers: no I/O, so fixtures, fuzzers and the live host share them.
        .target(name: "NumaguardCore"),
        // Every host read and syscall: one root path, one errno funnel.
        .target(name: "NumaguardHost", dependencies: ["NumaguardCore", "CNuma", "CCap"]),
        // Summaries and renderers (text, json) over host values.
        .target(name: "NumaguardReport", dependencies: ["NumaguardCore", "NumaguardHost"]),
        // Thin CLI: argument parsing and wiring only.
        .executableTarget(
            name: "numaguard",
            dependencies: [
                "NumaguardCore", "NumaguardHost", "NumaguardReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "NumaguardCoreTests", dependencies: ["NumaguardCore"]),
        .testTarget(name: "NumaguardHostTests", dependencies: ["NumaguardHost", "NumaguardCore", "TestSupport", "CNuma"]),
        .testTarget(name: "NumaguardReportTests", dependencies: ["NumaguardReport", "NumaguardHost", "TestSupport"]),
        // Shared by the end-to-end and VM tests: running the binary, numactl/numastat oracles.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "CLITests", dependencies: ["numaguard", "TestSupport"]),
        // Boot real kernels under QEMU (scripts/vm); skipped unless scripts/test enables them.
        .testTarget(name: "VMTests", dependencies: ["TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
