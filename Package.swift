// swift-tools-version:6.0
// btxpipe: Branch-Train-MiX as a file-based batch pipeline (see ../shared/DESIGN.md §4 for the module table).
import PackageDescription

/// Hot numeric modules are built with bounds checks off in release; correctness is proven by the
/// finite-difference and round-trip tests, which run in the same configuration.
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    // NOTE: Linux only (Glibc, /proc, Debian system libraries): no `platforms:` entry claims macOS.
    name: "btxpipe",
    products: [
        .executable(name: "btxpipe", targets: ["btxpipe"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // System-library shims (DESIGN.md §4, first row).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        // Hand-vectorised C kernels (fused attention, SwiGLU, RMSNorm, softmax), AVX-512 (attention), AVX2 + FMA or
        // baseline, the build picked at run time.
        .target(name: "CBTXKernels"),
        .target(name: "BTXTensor", dependencies: ["CBLAS", "CBTXKernels"], swiftSettings: fastMath),
        .target(name: "BTXModel", dependencies: ["BTXTensor"], swiftSettings: fastMath),
        .target(name: "BTXStore", dependencies: [
            "CZstd", "CCurl", .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: fastMath),
        .target(name: "BTXData", dependencies: ["BTXStore", "CCurl", "CZlib"], swiftSettings: fastMath),
        .target(name: "BTXPipeline", dependencies: ["BTXStore", .product(name: "Yams", package: "Yams")]),
        .target(name: "BTXStages", dependencies: ["BTXTensor", "BTXModel", "BTXStore", "BTXData", "BTXPipeline"],
                swiftSettings: fastMath),
        .executableTarget(name: "btxpipe", dependencies: [
            "BTXStages", "BTXPipeline", "BTXStore", "BTXTensor",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .target(name: "TestSupport", dependencies: ["BTXTensor", "BTXStore", "BTXData"], path: "Tests/TestSupport"),
        .testTarget(name: "BTXTensorTests", dependencies: ["BTXTensor", "TestSupport"]),
        .testTarget(name: "BTXModelTests", dependencies: ["BTXModel", "TestSupport"]),
        .testTarget(name: "BTXStoreTests", dependencies: ["BTXStore", "TestSupport"]),
        .testTarget(name: "BTXDataTests", dependencies: ["BTXData", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "BTXPipelineTests", dependencies: ["BTXPipeline", "BTXStore", "TestSupport"]),
        .testTarget(name: "BTXStagesTests", dependencies: ["BTXStages", "BTXPipeline", "BTXStore", "TestSupport"]),
        .testTarget(name: "btxpipeTests", dependencies: ["TestSupport", "BTXStore"], exclude: ["Fixtures"]),
    ],
    // NOTE: Swift 5 mode: the numeric code shares raw buffers across threads on purpose, which
    // Swift 6's strict checking would force through `@unchecked Sendable` wrappers everywhere.
    swiftLanguageModes: [.v5]
)
