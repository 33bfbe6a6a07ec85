// swift-tools-version:6.0
import Foundation
import PackageDescription

// The rooms of pkglayer. Each C library is touched by exactly one Swift target:
// libarchive, zlib, liblzma and libzstd only by PkgLayerArchive, librpm only by PkgLayerRPM.
// RPM and Deb never import each other; the pipeline is where the rooms meet, and the executable only
// parses, calls the pipeline and prints. docs/architecture.md draws the graph.
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
        // libdeflate: the gzip engine (block-parallel members, several times faster than zlib).
        .systemLibrary(name: "CDeflate", path: "Sources/CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // sys/xattr.h, which Glibc does not export (file capabilities are an xattr). Not "CSystem":
        // swift-system (under swift-nio) has a target of that name, and target names are package-global.
        .systemLibrary(name: "CPkgLayerSystem", path: "Sources/CPkgLayerSystem"),
        .target(name: "PkgLayerCore", dependencies: [
            "CPkgLayerSystem",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PkgLayerArchive", dependencies: ["PkgLayerCore", "CArchive", "CZlib", "CLZMA", "CZstd", "CDeflate"]),
        .target(name: "PkgLayerRecipe", dependencies: ["PkgLayerCore", "Yams"]),
        // Fetching: HTTP downloads, gpgv signature checks and the content-addressed caches (sources, packages).
        .target(name: "PkgLayerFetch", dependencies: ["PkgLayerCore", .product(name: "Logging", package: "swift-log")]),
        // Build imports Deb for Debian's version ordering (shlibs floors), never RPM.
        .target(name: "PkgLayerBuild", dependencies: [
            "PkgLayerCore", "PkgLayerArchive", "PkgLayerFetch", "PkgLayerDeb", .product(name: "Logging", package: "swift-log"),
        ]),
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
        // OpenPGP: secret keys (armored files or a GnuPG home), V4 signatures, armor, cleartext signatures.
        // The one room that holds key material; everything else signs through Core's PackageSigner.
        .target(name: "PkgLayerSigning", dependencies: [
            "PkgLayerCore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Publishing: writes yum (repodata) and apt (pool, dists) repositories a static HTTP server can serve.
        .target(name: "PkgLayerPublish", dependencies: [
            "PkgLayerCore", "PkgLayerArchive", "PkgLayerRPM", "PkgLayerDeb",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Package repositories: apt and yum clients, the index, the resolver, the lockfile.
        .target(name: "PkgLayerRepositories", dependencies: [
            "PkgLayerCore", "PkgLayerArchive", "PkgLayerFetch", "PkgLayerDeb", "PkgLayerRPM",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The work a command asks for, as a library: where the rooms meet. Never ArgumentParser.
        .target(name: "PkgLayerPipeline", dependencies: [
            "PkgLayerCore", "PkgLayerArchive", "PkgLayerFetch", "PkgLayerRecipe", "PkgLayerBuild", "PkgLayerRPM", "PkgLayerDeb",
            "PkgLayerRepositories", "PkgLayerOCI", "PkgLayerRegistry", "PkgLayerSigning", "PkgLayerPublish",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "pkglayer", dependencies: [
            "PkgLayerPipeline", "PkgLayerCore", "PkgLayerRecipe", "PkgLayerOCI", "PkgLayerRegistry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "PkgLayerTestSupport", dependencies: ["PkgLayerCore", .product(name: "Logging", package: "swift-log")],
                path: "Tests/PkgLayerTestSupport"),
        .testTarget(name: "PkgLayerCoreTests", dependencies: ["PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRepositoriesTests", dependencies: [
            "PkgLayerRepositories", "PkgLayerFetch", "PkgLayerDeb", "PkgLayerRPM", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport",
        ]),
        .testTarget(name: "PkgLayerPipelineTests", dependencies: [
            "PkgLayerPipeline", "PkgLayerRecipe", "PkgLayerRepositories", "PkgLayerCore", "PkgLayerTestSupport",
        ]),
        .testTarget(name: "PkgLayerArchiveTests", dependencies: ["PkgLayerArchive", "PkgLayerCore", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRPMTests", dependencies: ["PkgLayerRPM", "PkgLayerSigning", "PkgLayerRepositories", "PkgLayerFetch", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerDebTests", dependencies: ["PkgLayerDeb", "PkgLayerSigning", "PkgLayerRepositories", "PkgLayerFetch", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRecipeTests", dependencies: ["PkgLayerRecipe", "PkgLayerCore", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerBuildTests", dependencies: ["PkgLayerBuild", "PkgLayerFetch", "PkgLayerDeb", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerOCITests", dependencies: ["PkgLayerOCI", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerRegistryTests", dependencies: [
            "PkgLayerRegistry", "PkgLayerOCI", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport", "pkglayer",
        ]),
        .testTarget(name: "PkgLayerSigningTests", dependencies: ["PkgLayerSigning", "PkgLayerCore", "PkgLayerTestSupport"]),
        .testTarget(name: "PkgLayerPublishTests", dependencies: [
            "PkgLayerPublish", "PkgLayerSigning", "PkgLayerRPM", "PkgLayerDeb", "PkgLayerCore", "PkgLayerArchive", "PkgLayerTestSupport",
        ]),
        .testTarget(name: "PkgLayerCLITests", dependencies: ["pkglayer", "PkgLayerTestSupport", "PkgLayerCore"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// Fuzzing (docs/fuzzing.md): one libFuzzer executable per reader, declared only when PKGLAYER_FUZZ=1, so
// the normal build never sees them. scripts/fuzz.sh builds them with -sanitize=fuzzer,address into
// --scratch-path .build-fuzz and runs them.
if ProcessInfo.processInfo.environment["PKGLAYER_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("FuzzRPM", ["PkgLayerRPM"]),
        ("FuzzDeb", ["PkgLayerDeb"]),
        ("FuzzArchive", ["PkgLayerArchive"]),
        ("FuzzRecipe", ["PkgLayerRecipe"]),
        ("FuzzApt", ["PkgLayerRepositories", "PkgLayerDeb"]),
        ("FuzzYum", ["PkgLayerRepositories"]),
        ("FuzzOCI", ["PkgLayerOCI"]),
        ("FuzzRegistry", ["PkgLayerRegistry", "PkgLayerOCI"]),
        ("FuzzLoad", ["PkgLayerOCI", "PkgLayerArchive"]),
    ]
    package.targets.append(.target(name: "FuzzSupport", dependencies: ["PkgLayerCore"], path: "Fuzz/FuzzSupport"))
    for target in fuzzTargets {
        package.targets.append(.executableTarget(name: target.name, dependencies: ["FuzzSupport", "PkgLayerCore"] + target.dependencies,
                                                 path: "Fuzz/\(target.name)"))
    }
}
