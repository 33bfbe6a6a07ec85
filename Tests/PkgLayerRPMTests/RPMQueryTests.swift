import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

/// The written packages as rpm itself sees them: `rpm -K`, `rpm -qp`, `rpm2cpio | cpio -t`.
final class RPMQueryTests: XCTestCase {
    static let compressions: [Compression] = [.gzip(level: 6), .xz(level: 6), .zstd(level: 3), .none]

    private func scripted() -> PackageSpec {
        var spec = Specs.hello()
        spec.scripts = [.beforeInstall: "echo pre-install\n", .afterInstall: "echo post-install\n",
                        .beforeRemove: "echo pre-remove\n", .afterRemove: "echo post-remove\n",
                        .beforeTransaction: "echo pretrans\n", .afterTransaction: "echo posttrans\n"]
        return spec
    }

    func testDigestsVerifyForEveryCompression() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        for compression in Self.compressions {
            let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, compression: compression,
                                       name: "hello-\(compression).rpm")
            let result = try Tool.check(["rpm", "-Kv", "--nosignature", pkg])
            XCTAssertTrue(result.stdout.contains("Header SHA256 digest: OK"), "\(compression): \(result.stdout)")
            XCTAssertTrue(result.stdout.contains("Payload SHA256 digest: OK"), "\(compression): \(result.stdout)")
            XCTAssertTrue(result.stdout.contains("MD5 digest: OK"), "\(compression): \(result.stdout)")
            XCTAssertFalse(result.stdout.contains("BAD"), "\(compression): \(result.stdout)")
            let plain = try Tool.check(["rpm", "-K", pkg])
            XCTAssertTrue(plain.stdout.hasSuffix("digests OK\n"), "\(compression): \(plain.stdout)")
        }
    }

    func testQueryFormatReturnsEveryField() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        for compression in Self.compressions {
            let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, compression: compression,
                                       name: "hello-\(compression).rpm")
            let fields = ["NAME", "VERSION", "RELEASE", "EPOCH", "ARCH", "SUMMARY", "DESCRIPTION", "LICENSE", "VENDOR", "URL",
                          "PACKAGER", "GROUP", "BUILDTIME", "BUILDHOST", "SOURCERPM", "PAYLOADCOMPRESSOR", "PAYLOADFLAGS",
                          "PAYLOADFORMAT", "OS", "PLATFORM", "ENCODING", "PAYLOADDIGESTALGO", "FILEDIGESTALGO", "SIZE"]
            let format = fields.map { "%{\($0)}" }.joined(separator: "|~|")
            let values = try Tool.query(pkg, format).components(separatedBy: "|~|")
            let got = Dictionary(uniqueKeysWithValues: zip(fields, values))
            let expected: [String: String] = [
                "NAME": "hello", "VERSION": "1.2.3", "RELEASE": "4", "EPOCH": "2", "ARCH": "x86_64",
                "SUMMARY": "Says hello", "DESCRIPTION": "A friendly program.\nIt says hello.", "LICENSE": "MIT",
                "VENDOR": "Example Vendor", "URL": "https://example.org/hello", "PACKAGER": "Jane Packager <jane@example.org>",
                "GROUP": "Applications/System", "BUILDTIME": "1700000000", "BUILDHOST": "pkglayer",
                "SOURCERPM": "hello-1.2.3-4.src.rpm",
                // rpmbuild's uncompressed payloads (w.ufdio) carry no compressor tag either.
                "PAYLOADCOMPRESSOR": compression == .none ? "(none)" : compression.description,
                "PAYLOADFLAGS": compression.level.map(String.init) ?? "(none)",
                "PAYLOADFORMAT": "cpio", "OS": "linux", "PLATFORM": "x86_64-pc-linux-gnu", "ENCODING": "utf-8",
                "PAYLOADDIGESTALGO": "8", "FILEDIGESTALGO": "8", "SIZE": String(try fixture.manifest().installedSize),
            ]
            for field in fields {
                XCTAssertEqual(got[field], expected[field], "\(compression): %{\(field)}")
            }
        }
    }

    func testDefaultsWhenTheSpecLeavesFieldsOut() throws {
        let fixture = try Fixture()
        try fixture.file("/opt/minimal/file", "x\n")
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let spec = PackageSpec(name: "minimal", version: "1.0", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        let pkg = try writePackage(spec, try fixture.manifest(), in: out.path)
        XCTAssertEqual((pkg as NSString).lastPathComponent, "minimal-1.0-1.noarch.rpm")
        XCTAssertEqual(try Tool.query(pkg, "%{RELEASE}|%{EPOCH}|%{LICENSE}|%{GROUP}|%{SUMMARY}|%{DESCRIPTION}|%{ARCH}"),
                       "1|(none)|unknown|Unspecified|minimal|minimal|noarch")
        let provides = try Tool.check(["rpm", "-qp", "--provides", pkg]).stdout
        XCTAssertEqual(provides, "minimal = 1.0-1\n", "noarch has no isa provide")
    }

    func testScriptsAreUpgradeAwareSlotsUnderBinSh() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let pkg = try writePackage(scripted(), try fixture.manifest(), in: out.path)
        let scripts = try Tool.check(["rpm", "-qp", "--scripts", pkg]).stdout
        for slot in ["pretrans", "preinstall", "postinstall", "preuninstall", "postuninstall", "posttrans"] {
            XCTAssertTrue(scripts.contains("\(slot) scriptlet (using /bin/sh):"), "missing \(slot):\n\(scripts)")
        }
        XCTAssertTrue(scripts.contains("echo pre-install"))
        XCTAssertTrue(scripts.contains("if [ \"$1\" -eq 1 ]; then pkglayer_before_install"))
        XCTAssertTrue(scripts.contains("if [ \"$1\" -eq 0 ]; then pkglayer_before_remove"))
    }

    func testRequiresIncludeVersionedRichInterpreterAndRpmlib() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        for compression in Self.compressions {
            let pkg = try writePackage(scripted(), try fixture.manifest(), in: out.path, compression: compression,
                                       name: "hello-\(compression).rpm")
            let requires = Set(try Tool.check(["rpm", "-qp", "-R", pkg]).stdout.split(separator: "\n").map(String.init))
            var expected: Set<String> = [
                "bash >= 4.0", "coreutils", "(glibc or musl)", "/bin/sh", "config(hello) = 2:1.2.3-4",
                "rpmlib(CompressedFileNames) <= 3.0.4-1", "rpmlib(FileDigests) <= 4.6.0-1",
                "rpmlib(PayloadFilesHavePrefix) <= 4.0-1", "rpmlib(FileCaps) <= 4.6.1-1",
                "rpmlib(RichDependencies) <= 4.12.0-1",
            ]
            if compression == .xz(level: 6) { expected.insert("rpmlib(PayloadIsXz) <= 5.2-1") }
            if compression == .zstd(level: 3) { expected.insert("rpmlib(PayloadIsZstd) <= 5.4.18-1") }
            XCTAssertEqual(requires, expected, "\(compression)")
            // One interpreter requirement per scriptlet, each with its slot's sense flag.
            let flags = try Tool.query(pkg, "[%{REQUIRENAME} %{REQUIREFLAGS}\\n]").split(separator: "\n").filter { $0.hasPrefix("/bin/sh ") }
            XCTAssertEqual(Set(flags.map { UInt32($0.split(separator: " ")[1])! }),
                           [RPMSense.interp | RPMSense.scriptPre, RPMSense.interp | RPMSense.scriptPost,
                            RPMSense.interp | RPMSense.scriptPreun, RPMSense.interp | RPMSense.scriptPostun,
                            RPMSense.interp | RPMSense.pretrans, RPMSense.interp | RPMSense.posttrans])
        }
    }

    func testProvidesConflictsObsoletesAndWeakDependencies() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        var spec = Specs.hello()
        spec.replaces = [try Dependency(parsing: "hello-legacy < 1", field: "t")]
        spec.breaks = [try Dependency(parsing: "hello-plugin < 1.2", field: "t")]
        let pkg = try writePackage(spec, try fixture.manifest(), in: out.path)
        func lines(_ option: String) throws -> [String] {
            try Tool.check(["rpm", "-qp", option, pkg]).stdout.split(separator: "\n").map(String.init)
        }
        XCTAssertEqual(try lines("--provides"), ["config(hello) = 2:1.2.3-4", "greeter = 1.0", "hello = 2:1.2.3-4", "hello(x86-64) = 2:1.2.3-4"])
        XCTAssertEqual(try lines("--conflicts"), ["goodbye < 2", "hello-plugin < 1.2"])
        XCTAssertEqual(try lines("--obsoletes"), ["hello-legacy < 1", "hello-old"])
        XCTAssertEqual(try lines("--recommends"), ["hello-doc"])
        XCTAssertEqual(try lines("--suggests"), ["hello-extras >= 1"])
    }

    func testConfigFlagsCapabilitiesAndFileList() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path)
        XCTAssertEqual(try Tool.check(["rpm", "-qp", "--configfiles", pkg]).stdout, "/etc/hello/hello.conf\n/etc/hello/plain.conf\n")
        let flags = try Tool.query(pkg, "[%{FILENAMES}|%{FILEFLAGS:fflags}\\n]")
        XCTAssertTrue(flags.contains("/etc/hello/hello.conf|cn\n"), flags)
        XCTAssertTrue(flags.contains("/etc/hello/plain.conf|c\n"), flags)
        XCTAssertTrue(flags.contains("/var/log/hello.log|g\n"), flags)
        let caps = try Tool.check(["rpm", "-qp", "--filecaps", pkg]).stdout
        XCTAssertTrue(caps.contains("/usr/bin/bind-tool\tcap_net_bind_service=ep"), caps)

        // Implicit directories are not owned; everything else is, in path order.
        let owned = try Tool.check(["rpm", "-qpl", pkg]).stdout.split(separator: "\n").map(String.init)
        XCTAssertFalse(owned.contains("/usr/bin"))
        XCTAssertFalse(owned.contains("/usr"))
        XCTAssertEqual(owned, try fixture.manifest().entries.filter { !$0.isImplicitDirectory }.map(\.path))
        XCTAssertEqual(owned, owned.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })

        // Hardlinks share an inode number in the header; other files have their own.
        let inodes = try Tool.query(pkg, "[%{FILENAMES} %{FILEINODES}\\n]").split(separator: "\n").map { line -> (String, String) in
            let parts = line.split(separator: " ")
            return (parts.dropLast().joined(separator: " "), String(parts.last!))
        }
        let byPath = Dictionary(uniqueKeysWithValues: inodes)
        XCTAssertEqual(byPath["/usr/lib/hello/a-original"], byPath["/usr/lib/hello/b-link"])
        XCTAssertEqual(byPath["/usr/lib/hello/a-original"], byPath["/usr/lib/hello/c-link"])
        XCTAssertEqual(Set(inodes.map(\.1)).count, inodes.count - 2)
    }

    func testRpm2cpioPayloadListsTheFiles() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        for compression in Self.compressions {
            let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, compression: compression,
                                       name: "hello-\(compression).rpm")
            let cpioPath = out.path + "/payload-\(compression).cpio"
            try Tool.check(["sh", "-c", "rpm2cpio \"$1\" > \"$2\"", "sh", pkg, cpioPath])
            // PAYLOADDIGESTALT is the uncompressed payload's digest (rpm -K checks it only for
            // uncompressed payloads), and the signature's PAYLOADSIZE its size.
            XCTAssertEqual(try Tool.query(pkg, "%{PAYLOADDIGESTALT}"), try FileDigest.sha256Hex(path: cpioPath), "\(compression)")
            let cpioSize = try FileManager.default.attributesOfItem(atPath: cpioPath)[.size] as? NSNumber
            XCTAssertEqual(try Tool.query(pkg, "%{ARCHIVESIZE}"), cpioSize?.stringValue, "\(compression)")
            let listing = try Tool.check(["cpio", "-t", "--quiet"], stdinFile: cpioPath).stdout
            let names = Set(listing.split(separator: "\n").map(String.init))
            XCTAssertTrue(names.contains("./usr/share/hello/data file with spaces.txt"), listing)
            XCTAssertTrue(names.contains("./usr/share/hello/grüße-日本.txt"), listing)
            XCTAssertTrue(names.contains("./usr/lib/hello/c-link"), listing)
            XCTAssertFalse(names.contains("./var/log/hello.log"), "ghosts have no payload")
            XCTAssertFalse(names.contains("./usr/bin"), "implicit directories are not in the payload")
        }
    }
}
