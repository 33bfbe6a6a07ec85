// swift-tools-version:6.0
import PackageDescription

// The rooms of pkglayer. Each C library is touched by exactly one Swift target:
// libarchive, zlib, liblzma and libzstd only by PkgLayerArchive, librpm only by PkgLayerRPM.
// RPM and Deb never import each other; only the executable knows every room.
let package = Package(
    name: "pkglayer",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pkglayer", targets: ["pkglayer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The registry client's HTTP/1.1 + TLS stack (per-request trust roots, which URLSession on Linux lacks).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", path: "Sources/CArchive", pkgConfig: "libarchive",
                       providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CRPM", path: "Sources/CRPM", pkgConfig: "rpm",
                       providers: [.apt(["librpm-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLZMA", path: "Sources/CLZMA", pkgConfig: "liblzma",
                       providers: [.apt(["liblzma-dev"])]),
        .systemLibrary(name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
                       providers: [.apt(["libzstd-dev"])]),
        // sys/xattr.h, which Glibc does not export (file capabilities are an xattr). Not "CSystem":
        // swift-system (under swift-nio) has a target of that name, and target names are package-global.
        .systemLibrary(name: "CPkgLayerSystem", path: "Sources/CPkgLayerSystem"),
        .target(name: "PkgLayerCore", dependencies: [
            "CPkgLayerSystem",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PkgLayerArchive", dependencies: ["PkgLayerCore", "CArchive", "CZlib", "CLZMA", "CZstd"]),
        .target(name: "PkgLayerRecipe", dependencies: ["PkgLayerCore", "Yams"]),
        .target(name: "PkgLayerBuild", dependencies: ["PkgLayerCore", "PkgLayerArchive"]),
        .target(name: "PkgLayerOCI", dependencies: ["PkgLayerCore", "PkgLayerArchive"]),
        // The registry client: its own room so AsyncHTTPClient and NIO stay out of PkgLayerOCI.
        .target(name: "PkgLayerRegistry", dependencies: [
            "PkgLayerCore", "PkgLayerArchive", "PkgLayerOCI",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PkgLayerRPM", dependencies: ["PkgLayerCore", "PkgLayerArchive", "CRPM"]),
        .target(name: "PkgLayerDeb", dependencies: ["PkgLayerCore", "PkgLayerArchive"]),
        .executableTarget(name: "pkglayer", dependencies: [
            "PkgLayerCore", "PkgLayerArchive", "PkgLayerRPM", "PkgLayerDeb", "PkgLayerRecipe", "PkgLayerBuild", "PkgLayerOCI", "PkgLayerRegistry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PkgLayerTestSupport", dependencies: ["PkgLayerCore"], path: "Tests/PkgLayerTestSupport"),
        .testTarget(name: "PkgLayerCoreTests", dependencies: ["PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerArchiveTests", dependencies: ["PkgLayerArchive", "PkgLayerCore", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRPMTests", dependencies: ["PkgLayerRPM", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerDebTests", dependencies: ["PkgLayerDeb", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRecipeTests", dependencies: ["PkgLayerRecipe", "PkgLayerCore", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerBuildTests", dependencies: ["PkgLayerBuild", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerOCITests", dependencies: ["PkgLayerOCI", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRegistryTests", dependencies: [
            "PkgLayerRegistry", "PkgLayerOCI", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport", "pkglayer",
        ]),
        .testTarget(name: "PkgLayerCLITests", dependencies: ["pkglayer", "PkgLayerTestSupport", "PkgLayerCore"]),
    ],
    swiftLanguageModes: [.v5]
)
