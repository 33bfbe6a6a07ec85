import Foundation
import PkgLayerTestSupport
import XCTest

/// What `pkglayer package` compresses with, as rpm and dpkg-deb report it: gzip 6 unless told otherwise.
/// (A `case "gzip", "gz" where level == 0` once made every default rpm uncompressed: Swift's `where` binds
/// only to the last pattern. This checks the result, not the code.)
final class CompressionDefaultsTests: XCTestCase {
    func testDefaultsAndExplicitChoicesReachThePackages() throws {
        try requireTool("rpm", "dpkg-deb", "ar")
        let scratch = try ScratchDirectory(prefix: "pkglayer-compression")
        let tree = try makeSampleTree(in: scratch)
        func rpmCompressor(_ extra: [String]) throws -> String {
            let out = try scratch.makeDirectory("out-\(extra.joined(separator: "_"))")
            try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", "demo", "-v", "1", "-C", tree, "-p", out + "/"] + extra + ["."],
                       environment: fixedEpoch)
            let rpm = out + "/" + (try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasSuffix(".rpm") } ?? "")
            return try TestProcess.run("/usr/bin/rpm", ["-qp", "--nosignature", "--qf", "%{PAYLOADCOMPRESSOR} %{PAYLOADFLAGS}", rpm]).stdoutText
        }
        XCTAssertEqual(try rpmCompressor([]), "gzip 6")
        XCTAssertEqual(try rpmCompressor(["--rpm-compression", "gzip"]), "gzip 6")
        XCTAssertEqual(try rpmCompressor(["--rpm-compression", "xz"]), "xz 6")
        XCTAssertEqual(try rpmCompressor(["--rpm-compression", "gzip", "--rpm-compression-level", "0"]), "(none) (none)")

        let out = try scratch.makeDirectory("deb")
        try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "demo", "-v", "1", "-C", tree, "-p", out + "/", "."], environment: fixedEpoch)
        let deb = out + "/" + (try FileManager.default.contentsOfDirectory(atPath: out).first { $0.hasSuffix(".deb") } ?? "")
        let members = try TestProcess.run("/usr/bin/ar", ["t", deb]).stdoutText.split(separator: "\n")
        XCTAssertEqual(members, ["debian-binary", "control.tar.gz", "data.tar.gz"])
    }
}
