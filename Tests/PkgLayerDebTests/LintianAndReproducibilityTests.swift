import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

final class LintianTests: XCTestCase {
    /// Errors lintian raises about the *input*, never about how the deb is built: pkglayer does not
    /// invent a copyright file or a changelog inside a user's package, and the standard fixture owns a
    /// file by uid 1234 on purpose (to test owners).
    static let inputErrors: Set<String> = ["no-copyright-file", "no-changelog", "wrong-file-owner-uid-or-gid"]

    /// Errors that follow from an explicit compression choice. lintian 2.116 (Debian 12) predates
    /// zstd in debs, which dpkg reads since 1.21.18 (Debian 12's dpkg), and flags `none` on purpose.
    static func compressionErrors(_ c: Compression) -> Set<String> {
        switch c {
        case .zstd: return ["malformed-deb-archive"]
        case .none: return ["uses-no-compression-for-control-tarball", "uses-no-compression-for-data-tarball"]
        default: return []
        }
    }

    /// `Vendor:` is written on purpose (fpm writes it; dpkg keeps it), and lintian knows no such field.
    static func isVendorField(_ finding: (severity: String, tag: String, line: String)) -> Bool {
        finding.tag == "unknown-field" && finding.line.hasSuffix("unknown-field Vendor")
    }

    private func lintian(_ deb: String) throws -> [(severity: String, tag: String, line: String)] {
        let out = try Tool.run(["lintian", "--allow-root", "--no-tag-display-limit", "--display-info", deb])
        return out.stdout.split(separator: "\n").compactMap { line -> (String, String, String)? in
            // "E: pkg: tag-name extra..."
            let parts = line.split(separator: " ", maxSplits: 3).map(String.init)
            guard parts.count >= 3, parts[0].count == 2, parts[0].hasSuffix(":") else { return nil }
            return (String(parts[0].prefix(1)), parts[2], String(line))
        }
    }

    /// A complete package (with its own copyright file and changelog, as a real package ships them)
    /// draws no lintian error at all.
    func testCompletePackageHasNoErrors() throws {
        let fx = try Fixture()
        try fx.file("/usr/bin/hello-pkglayer", "#!/bin/sh\necho hello\n", mode: 0o755)
        try fx.file("/usr/share/doc/hello-pkglayer/copyright",
                    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: hello-pkglayer\n\nFiles: *\nCopyright: 2024 Pkglayer Tests\nLicense: MIT\n Permission is hereby granted, free of charge, to any person.\n")
        let changelog = fx.path("changelog")
        try "hello-pkglayer (1.0-1) unstable; urgency=medium\n\n  * Initial release. (Closes: #999999)\n\n -- Pkglayer Tests <tests@pkglayer.example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n"
            .write(toFile: changelog, atomically: false, encoding: .utf8)
        let manpage = fx.path("hello-pkglayer.1")
        try ".TH HELLO-PKGLAYER 1\n.SH NAME\nhello-pkglayer \\- greets the world\n.SH SYNOPSIS\n.B hello-pkglayer\n.SH DESCRIPTION\nGreets.\n"
            .write(toFile: manpage, atomically: false, encoding: .utf8)
        for (source, path) in [(changelog, "/usr/share/doc/hello-pkglayer/changelog.Debian.gz"), (manpage, "/usr/share/man/man1/hello-pkglayer.1.gz")] {
            try Tool.check(["gzip", "-9n", source])
            let gz = try bytes(of: source + ".gz")
            fx.entries.append(ManifestEntry(path: path, kind: .file, mode: 0o644, mtime: fx.epoch, size: UInt64(gz.count),
                                            sourcePath: source + ".gz"))
        }
        try fx.file("/etc/hello-pkglayer.conf", "x = 1\n", flags: [.config])
        var spec = fx.spec()
        spec.architecture = .noarch
        spec.vendor = "Pkglayer Test Vendor"
        spec.scripts = [.afterInstall: "echo hi\n"]
        for compression in [Compression.gzip(level: 9), .xz(level: 6), .zstd(level: 3), .none] {
            let deb = fx.path("complete-\(compression).deb")
            _ = try DebWriter(dataCompression: compression).write(spec: spec, manifest: try fx.manifest(), to: deb)
            let findings = try lintian(deb)
            let errors = findings.filter { $0.severity == "E" && !Self.compressionErrors(compression).contains($0.tag) }
            XCTAssertEqual(errors.map(\.line), [], "\(compression): lintian errors")
            let warnings = findings.filter { $0.severity == "W" && !Self.isVendorField($0) }
            XCTAssertTrue(findings.contains(where: Self.isVendorField), "the Vendor field is there and lintian sees it")
            XCTAssertEqual(warnings.map(\.line), [], "\(compression): lintian warnings")
            // Print what remains (info and pedantic tags) so the report can cite it.
            for f in findings { print("lintian \(compression): \(f.line)") }
        }
    }

    /// A bare package (no copyright, no changelog, no extended description) draws only errors about
    /// the missing input.
    func testBarePackageOnlyLacksInput() throws {
        let fx = try Fixture()
        try fx.populateStandard()
        var spec = fx.spec()
        spec.maintainer = nil
        let deb = fx.path("bare.deb")
        _ = try DebWriter().write(spec: spec, manifest: try fx.manifest(), to: deb)
        let findings = try lintian(deb)
        let unexpected = findings.filter { $0.severity == "E" && !Self.inputErrors.contains($0.tag) }
        XCTAssertEqual(unexpected.map(\.line), [], "lintian errors beyond the justified list")
        for f in findings { print("lintian bare: \(f.line)") }
    }
}

final class ReproducibilityTests: XCTestCase {
    /// Builds the same package content in a fresh directory, with the given umask.
    private func build(umaskValue: mode_t, compression: Compression) throws -> [UInt8] {
        let old = umask(umaskValue)
        defer { umask(old) }
        let fx = try Fixture()
        try fx.populateStandard()
        var spec = fx.spec()
        spec.scripts = [.afterInstall: "echo hi\n", .beforeRemove: "echo bye\n"]
        let out = fx.path("sub/dir")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let deb = out + "/" + DebWriter().fileName(for: spec)
        _ = try DebWriter(dataCompression: compression, threads: umaskValue == 0o022 ? 2 : 1).write(spec: spec, manifest: try fx.manifest(), to: deb)
        let st = try XCTUnwrap(lstatOf(deb))
        XCTAssertEqual(st.st_mode & 0o777, 0o644, "the package's mode does not follow the umask")
        return try bytes(of: deb)
    }

    func testSameInputSameBytes() throws {
        for compression in DpkgDebTests.compressions {
            let first = try build(umaskValue: 0o022, compression: compression)
            Thread.sleep(forTimeInterval: 1.1)
            let second = try build(umaskValue: 0o077, compression: compression)
            XCTAssertEqual(first.count, second.count, "\(compression)")
            XCTAssertTrue(first == second, "\(compression): two builds differ")
        }
    }

    /// The bytes depend on what the manifest says, so a different mtime must change them (the test
    /// above cannot pass by accident, for example by writing an empty archive).
    func testDifferentInputDifferentBytes() throws {
        let a = try Fixture(epoch: 1_700_000_000)
        try a.file("/usr/bin/x", "x")
        let b = try Fixture(epoch: 1_700_000_001)
        try b.file("/usr/bin/x", "x")
        _ = try DebWriter().write(spec: a.spec(), manifest: try a.manifest(), to: a.path("a.deb"))
        _ = try DebWriter().write(spec: b.spec(), manifest: try b.manifest(), to: b.path("b.deb"))
        XCTAssertNotEqual(try bytes(of: a.path("a.deb")), try bytes(of: b.path("b.deb")))
    }
}
