// swift-tools-version: 6.0
import PackageDescription

// Heavy dependencies stay in the targets that need them, so the core library and
// its tests build in seconds: ReconCore has none at all.
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
    ],
    targets: [
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .target(name: "ReconCore"),
        .target(
            name: "ReconStore",
            dependencies: ["CLMDB", "ReconCore", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .executableTarget(
            name: "recon",
            dependencies: [
                "ReconCore", "ReconStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ReconCoreTests", dependencies: ["ReconCore"]),
        .testTarget(name: "ReconStoreTests", dependencies: ["ReconStore", "ReconCore"]),
        .testTarget(name: "ReconCLITests", dependencies: ["recon", "ReconCore", "ReconStore"]),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}
