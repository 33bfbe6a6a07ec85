import Foundation
import PkgLayerTestSupport
import XCTest

/// Two runs at different times, in different directories, with different umasks give the same bytes.
final class PackageReproducibilityTests: XCTestCase {
    func testSameBytesAcrossTimeDirectoryAndUmask() throws {
        var digests: [[String]] = []
        for (index, mask) in ["022", "077"].enumerated() {
            if index > 0 { Thread.sleep(forTimeInterval: 1.2) }  // new mtimes on the fresh tree
            let scratch = try ScratchDirectory(prefix: "pkglayer-repro-\(index)")
            let root = try makeSampleTree(in: scratch)
            let out = try scratch.makeDirectory("out-\(index)")
            for compression in [["--rpm-compression", "gzip", "--deb-compression", "gz"],
                                ["--rpm-compression", "xz", "--deb-compression", "xz"],
                                ["--rpm-compression", "zstd", "--deb-compression", "zst"]] {
                let dir = try scratch.makeDirectory("out-\(index)/\(compression[1])")
                try CLI.ok(["package", "-t", "rpm", "-t", "deb", "-n", "repro", "-v", "1.0", "-a", "x86_64",
                            "-C", root, "-p", dir + "/", "."] + compression,
                           in: scratch.path(""), environment: fixedEpoch, umask: mask)
            }
            let sums = try TestProcess.runChecked("/bin/sh", ["-c", "cd '\(out)' && find . -type f | sort | xargs sha256sum"]).stdoutText
            digests.append(sums.split(separator: "\n").map(String.init))
        }
        XCTAssertEqual(digests[0].count, 6)
        XCTAssertEqual(digests[0], digests[1])
    }
}
