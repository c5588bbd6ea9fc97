// swift-tools-version:6.0
import PackageDescription

// Layers point downward only: Tensor <- Checkpoint <- (Models, Cloud) <- (Diffusion, Mesh, Eval) <- Engine
// <- Cluster <- pointe; Parity (which harness checks which reference fixture) sits beside Engine,
// for pointe and its tests. See ../shared/DESIGN.md and README.md.
let package = Package(
    name: "pointe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pointe", targets: ["pointe"]),
        .library(name: "PointEModels", targets: ["PointEModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System libraries (Debian packages installed by scripts/install-deps.sh).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CLAPACK", path: "Sources/CLAPACK"),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),
        .systemLibrary(name: "CZeroMQ", path: "Sources/CZeroMQ"),

        // Hot loops compiled once per instruction set (baseline, AVX2, AVX-512), all giving the
        // same bits. No value-changing fast-math flags here, ever: the kernels rely on exact
        // IEEE rounding (see Sources/CKernels/kernel_body.h); -O3 so debug builds stay usable.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-ffp-contract=off"])]),
        // sched_getaffinity/sched_setaffinity (glibc declares them only under _GNU_SOURCE).
        .target(name: "CAffinity"),
        .target(name: "PointETensor", dependencies: ["CBLAS", "CKernels", "CAffinity"]),
        .target(name: "PointECheckpoint", dependencies: ["PointETensor", "CZlib"]),
        .target(name: "PointEModels", dependencies: ["PointETensor", "PointECheckpoint", "CZlib"],
                // CLIP's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz, as the CLIP package ships it).
                resources: [.copy("Resources/bpe_simple_vocab_16e6.txt.gz")]),
        // Image files and CLIP's image preprocessing.
        .target(name: "PointEImage", dependencies: ["PointETensor", "CJPEG", "CPNG"]),
        // Point clouds and their files (.npz, .ply): what sampling makes, meshing and evaluation read.
        .target(name: "PointECloud", dependencies: ["PointETensor", "PointECheckpoint"]),
        .target(name: "PointEMesh", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "PointECloud", "CZlib"]),
        .target(name: "PointEDiffusion", dependencies: ["PointETensor", "PointEModels", "PointECloud"]),
        // The trained demo model set (scripts/train): data only, installed by the engine's DemoModelSet.
        .target(name: "PointEDemoModels", resources: [.copy("DemoSet")]),
        .target(name: "PointEEngine", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "PointECloud", "PointEMesh", "PointEDiffusion", "PointEImage", "PointEDemoModels"]),
        .target(name: "PointEEval", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "PointECloud", "CBLAS", "CLAPACK"]),
        // The reference-fixture harnesses behind `pointe parity` and the tests (no library depends on it).
        .target(name: "PointEParity", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "PointEDiffusion", "PointECloud", "PointEMesh", "PointEEval", "PointEImage"]),
        // The service in three rooms over a shared base (docs/ARCHITECTURE.md): a job (SQLite, no
        // ZeroMQ), the wire (protobuf + ZeroMQ, no SQLite), and the coordinator and peers using both.
        // The log, the error type and the clock every room uses.
        .target(name: "PointEClusterBase", dependencies: ["PointETensor", .product(name: "Logging", package: "swift-log")]),
        // A job: prompt files, settings, the store, the job directory, outputs, manifest, report.
        .target(name: "PointEJob", dependencies: [
            "PointEClusterBase", "PointETensor", "PointECheckpoint", "PointEModels", "PointEDiffusion", "PointECloud", "PointEMesh", "PointEEngine",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // The wire: protocol (generated from proto/pointe.proto), payload checks, sockets, CURVE.
        .target(name: "PointEWire", dependencies: [
            "PointEClusterBase", "PointETensor", "PointECloud", "PointEMesh", "PointEImage", "PointEModels", "PointEDiffusion", "PointEEngine", "CZeroMQ",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        // The service: coordinator, delivery authority, workers and meshers, status and drain clients.
        .target(name: "PointECluster", dependencies: [
            "PointEClusterBase", "PointEJob", "PointEWire",
            "PointETensor", "PointECheckpoint", "PointEModels", "PointEDiffusion", "PointECloud", "PointEMesh", "PointEEngine",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .executableTarget(
            name: "pointe",
            dependencies: [
                "PointETensor", "PointECheckpoint", "PointEModels", "PointECloud", "PointEMesh", "PointEDiffusion", "PointEEval", "PointEEngine", "PointEClusterBase", "PointEJob", "PointEWire", "PointECluster", "PointEParity", "CZeroMQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Test-only helpers: bounded child processes and the test-process watchdog.
        .target(name: "CTestWatchdog", path: "Tests/CTestWatchdog"),
        .target(name: "PointETestSupport", dependencies: ["CTestWatchdog", "PointETensor"], path: "Tests/PointETestSupport"),
        .testTarget(name: "PointETensorTests", dependencies: ["PointETestSupport", "PointETensor", "CKernels"]),
        .testTarget(name: "PointECheckpointTests", dependencies: ["PointETestSupport", "PointECheckpoint", "PointETensor"]),
        .testTarget(name: "PointEModelsTests", dependencies: ["PointETestSupport", "PointEModels", "PointECheckpoint", "PointETensor", "PointEParity"]),
        .testTarget(name: "PointEImageTests", dependencies: ["PointETestSupport", "PointEImage", "PointEParity"]),
        .testTarget(name: "PointEMeshTests", dependencies: ["PointETestSupport", "PointECloud", "PointEMesh", "PointECheckpoint", "CZlib", "PointEParity", "PointEModels", "PointETensor"]),
        .testTarget(name: "PointEEngineTests", dependencies: ["PointETestSupport", "PointECloud", "PointEEngine", "PointECheckpoint", "PointEDiffusion", "PointEModels", "PointEParity", "PointEMesh"]),
        .testTarget(name: "PointEDiffusionTests", dependencies: ["PointETestSupport", "PointEDiffusion", "PointEMesh", "PointEModels", "PointEParity", "PointETensor"]),
        .testTarget(name: "PointEClusterTests", dependencies: ["PointETestSupport", "PointECloud", "PointEClusterBase", "PointEJob", "PointEWire", "PointECluster", "PointEEngine", "PointEDiffusion", "PointEModels", "PointECheckpoint", "PointEMesh", "PointETensor", "CZeroMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf"), .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PointEJobTests", dependencies: ["PointETestSupport", "PointEClusterBase", "PointEJob", "PointEEngine", "PointECloud", "PointEMesh", "PointETensor", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PointEWireTests", dependencies: ["PointETestSupport", "PointEClusterBase", "PointEWire", "CZeroMQ", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "PointEParityTests", dependencies: ["PointETestSupport", "PointEParity"]),
        .testTarget(name: "PointEEvalTests", dependencies: ["PointETestSupport", "PointECloud", "PointEEval", "PointEModels", "PointEMesh", "PointECheckpoint", "PointETensor", "PointEParity"]),
    ]
)
