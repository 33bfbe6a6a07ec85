import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

final class RPMLargeFileTests: XCTestCase {
    /// An empty package (a metapackage): no file tags, a payload that is only the trailer.
    func testMetapackageWithoutFiles() throws {
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        var spec = PackageSpec(name: "meta", version: "1", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        spec.depends = [try Dependency(parsing: "hello", field: "t")]
        let pkg = try writePackage(spec, try FileManifest(entries: [], implicitDirectoryMtime: 0), in: out.path)
        XCTAssertEqual(try Tool.check(["rpm", "-K", pkg]).status, 0)
        XCTAssertEqual(try Tool.check(["rpm", "-qpl", pkg]).stdout, "(contains no files)\n")
        let root = try InstallRoot()
        try root.rpm(["-i", "--nodeps", pkg])
        let read = try RPMReader().read(path: pkg, extractTo: out.path + "/staging")
        XCTAssertEqual(read.manifest.entries, [])
        XCTAssertEqual(read.spec.depends.map(\.description), ["hello"])
    }

    /// A 4 GiB file: 64-bit size tags, rpmlib(LargeFiles) and the stripped payload. Writes and
    /// installs more than 4 GiB, so it runs only with PKGLAYER_RPM_LARGE_TESTS=1.
    func testFileOfFourGibibytes() throws {
        guard ProcessInfo.processInfo.environment["PKGLAYER_RPM_LARGE_TESTS"] == "1" else {
            throw XCTSkip("set PKGLAYER_RPM_LARGE_TESTS=1 to write and install a 4 GiB file")
        }
        let fixture = try Fixture()
        let big = fixture.path + "/big"
        let size: UInt64 = (1 << 32) + 3
        let fd = open(big, O_CREAT | O_WRONLY, 0o644)
        XCTAssertEqual(ftruncate(fd, off_t(size)), 0)
        XCTAssertEqual(pwrite(fd, "end", 3, off_t(size - 3)), 3)
        close(fd)
        try fixture.file("/usr/share/big/small", "small\n")
        fixture.entries.append(ManifestEntry(path: "/usr/share/big/huge", kind: .file, mode: 0o644, mtime: fixture.mtime, size: size,
                                             sha256: try FileDigest.sha256Hex(path: big), sourcePath: big))
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let spec = PackageSpec(name: "big", version: "1", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        let pkg = try writePackage(spec, try fixture.manifest(), in: out.path, compression: .zstd(level: 1))

        XCTAssertTrue(try Tool.check(["rpm", "-K", pkg]).stdout.hasSuffix("digests OK\n"))
        XCTAssertTrue(try Tool.check(["rpm", "-qpR", pkg]).stdout.contains("rpmlib(LargeFiles) <= 4.12.0-1"))
        XCTAssertEqual(try Tool.query(pkg, "[%{FILENAMES} %{LONGFILESIZES}\n]"),
                       "/usr/share/big/huge \(size)\n/usr/share/big/small 6\n")
        XCTAssertEqual(try Tool.query(pkg, "%{LONGSIZE}"), String(size + 6))

        let root = try InstallRoot()
        try root.rpm(["-i", "--nodeps", pkg])
        XCTAssertEqual(UInt64(try root.stat("/usr/share/big/huge").st_size), size)
        let verify = try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "big"])
        XCTAssertEqual(verify.status, 0, verify.text)
        try FileManager.default.removeItem(atPath: root.path + "/usr/share/big/huge")

        let read = try RPMReader().read(path: pkg, extractTo: out.path + "/staging")
        XCTAssertEqual(read.manifest["/usr/share/big/huge"]?.size, size)
        XCTAssertEqual(read.manifest["/usr/share/big/huge"]?.sha256, fixture.entries.last?.sha256)
    }
}
