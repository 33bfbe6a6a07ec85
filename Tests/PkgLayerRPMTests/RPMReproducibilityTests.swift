import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

final class RPMReproducibilityTests: XCTestCase {
    /// Two builds from two copies of the input, in two directories, at two times, with different
    /// thread counts: the same bytes.
    func testTwoWritesGiveIdenticalBytes() throws {
        for compression in [Compression.gzip(level: 6), .xz(level: 6), .zstd(level: 3), .none] {
            let first = try Fixture.standard()
            let outA = try TemporaryDirectory(prefix: "pkglayer-rpm-a")
            let a = try writePackage(Specs.hello(), try first.manifest(), in: outA.path, compression: compression) { $0.threads = 1 }
            Thread.sleep(forTimeInterval: 1.1)
            let second = try Fixture.standard()
            XCTAssertNotEqual(first.path, second.path)
            let outB = try TemporaryDirectory(prefix: "pkglayer-rpm-b")
            let b = try writePackage(Specs.hello(), try second.manifest(), in: outB.path, compression: compression) { $0.threads = 2 }
            let bytesA = try XCTUnwrap(FileManager.default.contents(atPath: a))
            let bytesB = try XCTUnwrap(FileManager.default.contents(atPath: b))
            XCTAssertEqual(bytesA.count, bytesB.count, "\(compression)")
            XCTAssertTrue(bytesA == bytesB, "\(compression): two writes differ")
        }
    }

    func testNothingFromTheMachineLeaksIntoThePackage() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, compression: .none)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: pkg))
        var name = [CChar](repeating: 0, count: 256)
        gethostname(&name, name.count)
        let host = String(cString: name)
        if !host.isEmpty && host != "pkglayer" {
            XCTAssertNil(bytes.range(of: Data(host.utf8)), "the host name \(host) is in the package")
        }
        XCTAssertNil(bytes.range(of: Data(fixture.path.utf8)), "the source directory is in the package")
        XCTAssertEqual(try Tool.query(pkg, "%{BUILDHOST} %{BUILDTIME} %{RPMVERSION} %{CHANGELOGTIME}"),
                       "pkglayer 1700000000 4.18.0 1700000000")
    }

    func testExistingOutputIsKeptUnlessOverwriteIsAllowed() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let path = out.path + "/hello.rpm"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RPMWriter().write(spec: Specs.hello(), manifest: try fixture.manifest(), to: path)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .fileExists)
        }
        XCTAssertEqual(FileManager.default.contents(atPath: path), Data("keep me".utf8))
        _ = try RPMWriter(overwrite: true).write(spec: Specs.hello(), manifest: try fixture.manifest(), to: path)
        XCTAssertEqual(try Tool.run(["rpm", "-K", path]).status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), ["hello.rpm"], "no scratch files are left behind")
    }

    func testAFileThatChangedSinceTheManifestFailsTheWrite() throws {
        let fixture = try Fixture.standard()
        let manifest = try fixture.manifest()
        try Data("grown since\n".utf8).write(to: URL(fileURLWithPath: manifest["/usr/bin/hello"]!.sourcePath!))
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        XCTAssertThrowsError(try RPMWriter().write(spec: Specs.hello(), manifest: manifest, to: out.path + "/hello.rpm"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [], "nothing is left behind")
    }
}
