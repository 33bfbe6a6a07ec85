import Foundation
import PkgLayerCore
import PkgLayerDeb
@testable import PkgLayerPublish
import PkgLayerTestSupport
import XCTest

/// One repository directory serving dnf and apt at once: rpms and debs published side by side by
/// `Publisher`, the yum half read by dnf, the apt half by apt-get (in the private root the apt tests use).
final class PublishMixedTests: XCTestCase {
    func testRPMAndDebSideBySideInstallWithDnfAndApt() throws {
        let scratch = try ScratchDirectory()
        let key = try TestKey(directory: scratch.path("key"), name: "mixed repo key")
        let built = try scratch.makeDirectory("built")
        let rpm = try YumFixtures.rpm("mixed-rpm", "1.0", in: built, signer: key.signer)
        let deb1 = try YumFixtures.deb("libmixed", "1.0", in: built)
        let repo = scratch.path("repo")
        let options = PublishOptions(signer: key.signer, suite: "stable", origin: "pkglayer test", label: "mixed",
                                     sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch))
        let first = try Publisher.publish(packages: [URL(fileURLWithPath: rpm), URL(fileURLWithPath: deb1)], into: URL(fileURLWithPath: repo), options: options)
        XCTAssertEqual(first.added, ["Packages/mixed-rpm-1.0-1.noarch.rpm", "pool/main/libm/libmixed/libmixed_1.0-1_amd64.deb"])
        XCTAssertEqual(first.entryPoints, ["repodata/repomd.xml", "dists/stable/InRelease"])
        XCTAssertEqual([first.rpmCount, first.debCount], [1, 1])
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/dists"), ".pkglayer/current/dists")
        let packages = try String(contentsOfFile: repo + "/dists/stable/main/binary-amd64/Packages", encoding: .utf8)
        XCTAssertTrue(packages.contains("Filename: pool/main/libm/libmixed/libmixed_1.0-1_amd64.deb"), packages)

        // dnf reads the yum half.
        let (installed, root) = try DNF.install("mixed-rpm", baseURL: "file://\(repo)", key: key.armoredPath, in: scratch, name: "mixed")
        XCTAssertTrue(installed.succeeded, installed.stdoutText + installed.stderrText)
        XCTAssertEqual(try DNF.installed("mixed-rpm", root: root), "mixed-rpm-1.0-1")

        // apt reads the apt half, signed by the same key; then a second version arrives.
        let deb2 = try YumFixtures.deb("libmixed", "1.1", in: built)
        let apt = try AptRepositoryWriterTests.PrivateApt(root: scratch.path("apt"), sources: ["deb [signed-by=\(key.gpg.keyring)] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertTrue(update.succeeded, AptRepositoryWriterTests.PrivateApt.text(update))
        try Publisher.publish(packages: [URL(fileURLWithPath: deb2)], into: URL(fileURLWithPath: repo), options: options)
        let again = try apt.aptGet(["update"])
        XCTAssertTrue(again.succeeded, AptRepositoryWriterTests.PrivateApt.text(again))
        let download = try apt.aptGet(["download", "libmixed"])
        XCTAssertTrue(download.succeeded, AptRepositoryWriterTests.PrivateApt.text(download))
        let downloaded = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("apt/work"))) ?? []
        XCTAssertTrue(downloaded.contains("libmixed_1.1-1_amd64.deb"), "\(downloaded)")
        // The old Packages indexes stay reachable by hash for a client holding the old InRelease.
        let byHash = try FileManager.default.contentsOfDirectory(atPath: repo + "/dists/stable/main/binary-amd64/by-hash/SHA256")
        XCTAssertGreaterThanOrEqual(byHash.count, 6, "\(byHash)")

        // The same deb with other bytes under the same name, version and architecture is refused.
        let rebuiltDir = try scratch.makeDirectory("rebuilt")
        let rebuilt = try YumFixtures.deb("libmixed", "1.1", in: rebuiltDir, note: " rebuilt")
        XCTAssertThrowsError(try Publisher.publish(packages: [URL(fileURLWithPath: rebuilt)], into: URL(fileURLWithPath: repo), options: options)) { error in
            XCTAssertTrue("\(error)".contains("libmixed_1.1-1_amd64") && "\(error)".contains(rebuilt), "\(error)")
        }
    }
}
