// swift-tools-version: 6.0
import PackageDescription

// Heavy dependencies stay in the targets that need them, so the core library and
// its tests build in seconds: ReconCore has none (only the one-line C prefetch hint).
let package = Package(
    name: "Recon",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "recon", targets: ["recon"]),
        .library(name: "ReconCore", targets: ["ReconCore"]),
        .library(name: "ReconStore", targets: ["ReconStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The live service only (ReconService): HTTP, alerts, metrics, lifecycle.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(name: "CCRC32C"),
        .target(name: "CPrefetch"),
        .target(name: "ReconCore", dependencies: ["CPrefetch", "CCRC32C"]),
        .target(
            name: "ReconStore",
            dependencies: ["CLMDB", "ReconCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "ReconService",
            dependencies: [
                "ReconCore", "ReconStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "recon",
            dependencies: [
                "ReconCore", "ReconStore", "ReconService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What several test targets share: temporary folders, the built binary.
        .target(name: "ReconTestSupport", path: "Tests/ReconTestSupport"),
        .testTarget(name: "ReconCoreTests", dependencies: ["ReconCore"]),
        .testTarget(name: "ReconStoreTests", dependencies: ["ReconStore", "ReconCore", "ReconTestSupport"]),
        .testTarget(name: "ReconCLITests", dependencies: ["recon", "ReconCore", "ReconStore", "ReconTestSupport"]),
        .testTarget(
            name: "ReconServiceTests",
            dependencies: [
                "ReconService", "ReconStore", "ReconCore", "ReconTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)

// Swift targets only (the C ones, CLMDB, CCRC32C and CPrefetch, take no Swift settings).
for target in package.targets where target.type != .system && !["CCRC32C", "CPrefetch"].contains(target.name) {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
