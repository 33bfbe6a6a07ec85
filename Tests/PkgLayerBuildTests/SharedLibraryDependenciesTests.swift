import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerBuild

final class SharedLibraryDependenciesTests: XCTestCase {
    private var scratch: TemporaryDirectory!

    override func setUpWithError() throws {
        #if !arch(x86_64)
        throw XCTSkip("the expectations below are spelled for x86_64 Debian")
        #endif
        try requireTool("dpkg-query")
        scratch = try TemporaryDirectory(prefix: "pkglayer-shlib-test")
    }

    override func tearDown() { scratch = nil }

    /// Stages copies of host files at package paths and returns the manifest over them.
    private func stage(_ files: [(hostPath: String, packagePath: String)]) throws -> FileManifest {
        var entries: [ManifestEntry] = []
        for file in files {
            let staged = "\(scratch.path)/stage\(file.packagePath)"
            try FileManager.default.createDirectory(atPath: (staged as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: staged)
            let real = try XCTUnwrap(realpath(file.hostPath, nil))
            defer { free(real) }
            try FileManager.default.copyItem(atPath: String(cString: real), toPath: staged)
            entries.append(ManifestEntry(path: file.packagePath, kind: .file, mode: 0o755, mtime: 0, sourcePath: staged))
        }
        return try FileManifest(entries: entries, implicitDirectoryMtime: 0)
    }

    private func installedUpstreamVersion(_ package: String) throws -> String {
        let result = try Subprocess.run("dpkg-query", ["-W", "-f", "${Version}", package])
        return DebianVersionOrder.withoutRevision(result.text)
    }

    func testStagedLsNeedsLibcForRpmAndDeb() throws {
        let deps = try SharedLibraryDependencies.scan(manifest: try stage([("/usr/bin/ls", "/usr/bin/ls")]))
        XCTAssertTrue(deps.rpmRequires.contains("libc.so.6()(64bit)"), "\(deps.rpmRequires)")
        XCTAssertTrue(deps.rpmRequires.contains("libc.so.6(GLIBC_2.34)(64bit)"), "symbol-version requires: \(deps.rpmRequires)")
        XCTAssertTrue(deps.rpmRequires.contains("libselinux.so.1()(64bit)"))
        XCTAssertTrue(deps.rpmRequires.contains("rtld(GNU_HASH)"))
        XCTAssertFalse(deps.rpmRequires.contains { $0.contains("GLIBC_PRIVATE") })
        XCTAssertEqual(deps.rpmProvides, [], "an executable provides no soname")
        XCTAssertEqual(deps.needed["libc.so.6"], ["/usr/bin/ls"])

        // deb: the owners of the libraries, with the floor their shlibs files declare.
        let strings = deps.debDependsStrings
        let libcFloor = try XCTUnwrap(Self.shlibsFloor(package: "libc6:amd64", library: "libc 6"))
        XCTAssertTrue(strings.contains("libc6 (>= \(libcFloor))"), "\(strings)")
        XCTAssertTrue(strings.contains { $0.hasPrefix("libselinux1 (>= ") }, "\(strings)")
        XCTAssertEqual(strings, strings.sorted())
        XCTAssertEqual(deps.warnings, [])
    }

    func testAgreesWithDpkgShlibdeps() throws {
        try requireTool("dpkg-shlibdeps")
        let deps = try SharedLibraryDependencies.scan(manifest: try stage([("/usr/bin/ls", "/usr/bin/ls"), ("/usr/bin/grep", "/usr/bin/grep")]))
        // dpkg-shlibdeps wants a debian/control; give it a minimal one in a scratch package directory.
        let pkg = "\(scratch.path)/pkg"
        try BuildFixtures.write("Source: x\n\nPackage: x\nArchitecture: any\n", to: "\(pkg)/debian/control")
        let result = try Subprocess.run("/bin/sh", ["-c", "cd \(pkg) && dpkg-shlibdeps -O \(scratch.path)/stage/usr/bin/ls \(scratch.path)/stage/usr/bin/grep"])
        let depends = result.status.succeeded ? result.text.split(separator: "\n").first(where: { $0.hasPrefix("shlibs:Depends=") }) : nil
        try requireCondition(depends != nil, "dpkg-shlibdeps did not run here: \(result.text)")
        let line = depends!
        let theirPackages = Set(line.dropFirst("shlibs:Depends=".count).split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces).split(separator: " ")[0]
        }.map(String.init))
        XCTAssertEqual(Set(deps.debDepends.map(\.name)), theirPackages, "same packages as dpkg-shlibdeps (\(line))")
    }

    func testPackagedLibraryIsProvidedAndNotRequired() throws {
        // grep needs libpcre2-8.so.0; this package ships that library itself.
        let library = "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0"
        try requireFixture(library, what: "libpcre2-8-0's library", fix: "apt-get install libpcre2-8-0 (scripts/install-deps.sh installs it with libpcre2-dev)")
        let deps = try SharedLibraryDependencies.scan(manifest: try stage([
            ("/usr/bin/grep", "/usr/bin/grep"),
            (library, "/usr/lib/x86_64-linux-gnu/libpcre2-8.so.0.11.2"),
        ]))
        XCTAssertEqual(deps.providedSonames, ["libpcre2-8.so.0"])
        XCTAssertTrue(deps.rpmProvides.contains("libpcre2-8.so.0()(64bit)"), "\(deps.rpmProvides)")
        XCTAssertFalse(deps.rpmRequires.contains { $0.hasPrefix("libpcre2-8.so.0") }, "no self-requires: \(deps.rpmRequires)")
        XCTAssertTrue(deps.rpmRequires.contains("libc.so.6()(64bit)"))
        XCTAssertFalse(deps.debDepends.contains { $0.name.hasPrefix("libpcre2") }, "\(deps.debDependsStrings)")
        XCTAssertTrue(deps.debDepends.contains { $0.name == "libc6" })
        XCTAssertNil(deps.needed["libpcre2-8.so.0"])
    }

    func testGrepGetsThePcre2FloorFromShlibs() throws {
        let shlibsFloor = Self.shlibsFloor(package: "libpcre2-8-0:amd64", library: "libpcre2-8 0")
        try requireCondition(shlibsFloor != nil, "libpcre2-8-0 has no shlibs file here: apt-get install libpcre2-8-0 (scripts/install-deps.sh installs it with libpcre2-dev)")
        let floor = shlibsFloor!
        let deps = try SharedLibraryDependencies.scan(manifest: try stage([("/usr/bin/grep", "/usr/bin/grep")]))
        XCTAssertTrue(deps.rpmRequires.contains("libpcre2-8.so.0()(64bit)"))
        XCTAssertTrue(deps.debDependsStrings.contains("libpcre2-8-0 (>= \(floor))"), "\(deps.debDependsStrings)")
    }

    func testUnknownLibraryIsAWarningAndKnownProvidersWin() throws {
        let path = "\(scratch.path)/tool"
        try SyntheticELF.write(SyntheticELF.make(is64: true, littleEndian: true, type: 3,
                                                 needed: ["libdoes-not-exist.so.7", "libpcre2-8.so.0", "libc.so.6"], soname: nil), to: path)
        let manifest = try FileManifest(entries: [ManifestEntry(path: "/usr/bin/tool", kind: .file, mode: 0o755, mtime: 0, sourcePath: path)],
                                        implicitDirectoryMtime: 0)
        let ours = Dependency(name: "pcre2-pkglayer", versionOperator: .greaterOrEqual, version: "10.42-1")
        let deps = try SharedLibraryDependencies.scan(manifest: manifest, knownProviders: ["libpcre2-8.so.0": ours])
        XCTAssertTrue(deps.rpmRequires.contains("libdoes-not-exist.so.7()(64bit)"))
        XCTAssertEqual(deps.warnings.count, 1)
        XCTAssertTrue(deps.warnings[0].contains("libdoes-not-exist.so.7") && deps.warnings[0].contains("/usr/bin/tool"), deps.warnings[0])
        XCTAssertTrue(deps.debDependsStrings.contains("pcre2-pkglayer (>= 10.42-1)"), "\(deps.debDependsStrings)")
        XCTAssertFalse(deps.debDepends.contains { $0.name == "libpcre2-8-0" })
        XCTAssertTrue(deps.debDepends.contains { $0.name == "libc6" })
    }

    func testThirtyTwoBitObjectsHaveNoMarker() throws {
        let path = "\(scratch.path)/lib32.so"
        try SyntheticELF.write(SyntheticELF.make(is64: false, littleEndian: true, machine: 3, needed: ["libm.so.6"], soname: "libthing.so.2"), to: path)
        let manifest = try FileManifest(entries: [ManifestEntry(path: "/usr/lib/i386-linux-gnu/libthing.so.2", kind: .file, mode: 0o644, mtime: 0, sourcePath: path)],
                                        implicitDirectoryMtime: 0)
        let deps = try SharedLibraryDependencies(symbolVersions: true).scan(manifest: manifest)
        XCTAssertEqual(deps.rpmProvides, ["libthing.so.2"])
        XCTAssertEqual(deps.rpmRequires, ["libm.so.6"])
    }

    func testNonELFFilesAreIgnored() throws {
        try BuildFixtures.write("#!/bin/sh\n", to: "\(scratch.path)/script")
        let manifest = try FileManifest(entries: [
            ManifestEntry(path: "/usr/bin/script", kind: .file, mode: 0o755, mtime: 0, sourcePath: "\(scratch.path)/script"),
            ManifestEntry(path: "/usr/share/doc/x", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: "y"),
        ], implicitDirectoryMtime: 0)
        let deps = try SharedLibraryDependencies.scan(manifest: manifest)
        XCTAssertEqual(deps, SharedLibraryRequirements(rpmRequires: [], rpmProvides: [], debDepends: [], needed: [:], providedSonames: [], warnings: []))
    }

    func testShlibsParsingAndVersionOrder() {
        let shlibs = "libpcre2-8 0 libpcre2-8-0 (>= 10.42)\nudeb: libpcre2-8 0 libpcre2-8-0-udeb (>= 10.42)\nlibfoo 1.2 libfoo1.2 (>= 1.2.3), libbar\n"
        XCTAssertEqual(SharedLibraryDependencies.shlibsDependencies(shlibs, soname: "libpcre2-8.so.0")?.map(SharedLibraryDependencies.debString),
                       ["libpcre2-8-0 (>= 10.42)"])
        XCTAssertEqual(SharedLibraryDependencies.shlibsDependencies(shlibs, soname: "libfoo-1.2.so")?.map(SharedLibraryDependencies.debString),
                       ["libfoo1.2 (>= 1.2.3)", "libbar"])
        XCTAssertNil(SharedLibraryDependencies.shlibsDependencies(shlibs, soname: "libpcre2-8.so.1"))
        XCTAssertEqual(DebianVersionOrder.withoutRevision("2.36-9+deb12u4"), "2.36")
        XCTAssertEqual(DebianVersionOrder.withoutRevision("1:3.4-1+b5"), "1:3.4")
        XCTAssertLessThan(DebianVersionOrder.compare("1.0~rc1", "1.0"), 0)
        XCTAssertLessThan(DebianVersionOrder.compare("2.9", "2.10"), 0)
        XCTAssertGreaterThan(DebianVersionOrder.compare("1:0.1", "9.9"), 0)
        XCTAssertLessThan(DebianVersionOrder.compare("1.0-1", "1.0-1+b1"), 0)
        XCTAssertEqual(DebianVersionOrder.compare("1.002", "1.2"), 0)
        XCTAssertLessThan(DebianVersionOrder.compare("1.0a", "1.0+"), 0, "letters sort before other symbols")

        let merged = SharedLibraryDependencies().merge([
            Dependency(name: "libc6", versionOperator: .greaterOrEqual, version: "2.34"),
            Dependency(name: "libc6", versionOperator: .greaterOrEqual, version: "2.36"),
            Dependency(name: "libc6", versionOperator: .greaterOrEqual, version: "2.4"),
            Dependency(name: "zlib1g"),
        ])
        XCTAssertEqual(merged.map(SharedLibraryDependencies.debString), ["libc6 (>= 2.36)", "zlib1g"])
    }

    /// The floor a package's shlibs file declares for `library` ("libc 6").
    static func shlibsFloor(package: String, library: String) -> String? {
        guard let text = try? String(contentsOfFile: "/var/lib/dpkg/info/\(package).shlibs", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(library + " ") {
            if let open = line.range(of: "(>= "), let close = line.range(of: ")", range: open.upperBound..<line.endIndex) {
                return String(line[open.upperBound..<close.lowerBound])
            }
        }
        return nil
    }
}

final class HostRequirementsTests: XCTestCase {
    func testPresentRequirementsGiveTheToolchainIdentity() throws {
        try requireTool("dpkg-query", "bwrap")
        let identity = try HostRequirements.check(commands: ["sh", "make"], packages: ["libc6", "dpkg"])
        XCTAssertFalse(identity.packages["libc6", default: ""].isEmpty)
        XCTAssertFalse(identity.packages["dpkg", default: ""].isEmpty)
        if Subprocess.which("cc", path: Sandbox.defaultPath) != nil {
            XCTAssertTrue(identity.compiler?.contains("cc") ?? false, identity.compiler ?? "nil")
        }
        XCTAssertTrue(identity.sandbox?.hasPrefix("bubblewrap") ?? false)
        XCTAssertTrue(identity.canonicalText.contains("package:libc6=\(identity.packages["libc6"]!)\n"))
        XCTAssertEqual(identity.canonicalText, try HostRequirements.check(commands: [], packages: ["dpkg", "libc6"]).canonicalText, "stable")
    }

    func testMissingRequirementsAreReportedTogetherWithTheFix() throws {
        try requireTool("dpkg-query")
        let error = expectPkgLayerError {
            try HostRequirements.check(commands: ["sh", "pkglayer-no-such-tool"], packages: ["libc6", "pkglayer-no-such-package-dev"])
        }
        XCTAssertEqual(error?.code, .toolMissing)
        let text = error?.description ?? ""
        XCTAssertTrue(text.contains("pkglayer-no-such-tool"), text)
        XCTAssertTrue(text.contains("apt-get install -y pkglayer-no-such-package-dev"), text)
        XCTAssertFalse(text.contains("libc6"), "installed packages are not listed: \(text)")
    }

    func testFixCommandMapsCommandsToPackages() {
        let error = HostRequirements.missingError(commands: ["make", "patch", "pkg-config", "weird-tool"], packages: ["libpcre2-dev", "make"],
                                                  sandboxPath: Sandbox.defaultPath)
        XCTAssertTrue(error.description.contains("apt-get install -y make patch pkgconf libpcre2-dev\n"), error.description)
        XCTAssertTrue(error.description.contains("weird-tool"), error.description)
    }
}
