// swift-tools-version:6.0
import PackageDescription

// Layers point downward only: Tensor <- Checkpoint <- Models <- (Diffusion, Mesh, Eval) <- Engine
// <- Cluster <- pointe. See ../shared/DESIGN.md and README.md.
let package = Package(
    name: "pointe",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pointe", targets: ["pointe"]),
        .library(name: "PointEModels", targets: ["PointEModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // System libraries (Debian packages installed by scripts/install-deps.sh).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),

        // Hot loops compiled per instruction set (target_clones), for portable binaries.
        // Reassociation lets the max/sum reductions vectorise; inputs are finite scores.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fassociative-math",
                                                             "-fno-signed-zeros", "-fno-trapping-math", "-ffinite-math-only"])]),
        .target(name: "PointETensor", dependencies: ["CBLAS", "CKernels"]),
        .target(name: "PointECheckpoint", dependencies: ["PointETensor", "CZlib"]),
        .target(name: "PointEModels", dependencies: ["PointETensor", "PointECheckpoint"]),
        .target(name: "PointEMesh", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "CZlib"]),
        .target(name: "PointEDiffusion", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "PointEMesh"]),
        .target(name: "PointEEngine", dependencies: ["PointETensor", "PointECheckpoint", "PointEModels", "PointEMesh", "PointEDiffusion"]),
        .executableTarget(
            name: "pointe",
            dependencies: [
                "PointETensor", "PointECheckpoint", "PointEModels", "PointEMesh", "PointEDiffusion", "PointEEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "PointETensorTests", dependencies: ["PointETensor", "CKernels"]),
        .testTarget(name: "PointECheckpointTests", dependencies: ["PointECheckpoint"]),
        .testTarget(name: "PointEModelsTests", dependencies: ["PointEModels", "PointECheckpoint"]),
        .testTarget(name: "PointEMeshTests", dependencies: ["PointEMesh", "PointECheckpoint", "CZlib"]),
        .testTarget(name: "PointEEngineTests", dependencies: ["PointEEngine", "PointECheckpoint"]),
        .testTarget(name: "PointEDiffusionTests", dependencies: ["PointEDiffusion", "PointEMesh", "PointEModels", "PointECheckpoint"]),
    ]
)
