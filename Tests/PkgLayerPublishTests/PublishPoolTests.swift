import Foundation
import PkgLayerCore
import PkgLayerDeb
@testable import PkgLayerPublish
import PkgLayerTestSupport
import XCTest

/// The apt pool as `Publisher` fills it: one directory per source package, made on demand (parents too),
/// litter of a killed publish swept from a directory that already existed, a wrong copy at a package's
/// place replaced, and each .deb's time and digests read in the same pass that reads its control file.
final class PublishPoolTests: XCTestCase {
    func testPoolDirectoriesLitterAndWrongCopies() throws {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let repo = scratch.path("repo")
        let options = PublishOptions(suite: "stable", sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch))
        let first = try YumFixtures.deb("pooltest", "1.0", in: built)
        let other = try YumFixtures.deb("libother", "2.0", in: built)
        let result = try Publisher.publish(packages: [URL(fileURLWithPath: first), URL(fileURLWithPath: other)],
                                           into: URL(fileURLWithPath: repo), options: options)
        XCTAssertEqual(result.added, ["pool/main/libo/libother/libother_2.0-1_amd64.deb", "pool/main/p/pooltest/pooltest_1.0-1_amd64.deb"])
        for path in result.added {
            XCTAssertEqual(FileManager.default.contents(atPath: repo + "/" + path),
                           FileManager.default.contents(atPath: path.hasSuffix("libother_2.0-1_amd64.deb") ? other : first))
            let attributes = try FileManager.default.attributesOfItem(atPath: repo + "/" + path)
            XCTAssertEqual((attributes[.modificationDate] as! Date).timeIntervalSince1970, Double(YumFixtures.epoch))
            XCTAssertEqual((attributes[.posixPermissions] as! NSNumber).intValue, 0o644)
        }
        // The index keeps each deb's build time (its first ar member's time) and its digests.
        let index = try XCTUnwrap(try RepositoryLayout(root: repo).currentIndex())
        for package in index.packages {
            XCTAssertEqual(package.buildTime, YumFixtures.epoch)
            let source = package.path.hasSuffix("libother_2.0-1_amd64.deb") ? other : first
            XCTAssertEqual(package.sha256, try FileDigest.sha256Hex(path: source))
            XCTAssertEqual(package.deb?.md5sum, try FileDigest.compute(path: source, algorithms: [.md5]).finalizeMD5().hexString)
            XCTAssertEqual(package.size, UInt64(try Data(contentsOf: URL(fileURLWithPath: source)).count))
        }

        // A killed publish left a temporary copy in an existing pool directory, and a wrong file where the
        // next version goes: the next publish sweeps the one and replaces the other.
        let second = try YumFixtures.deb("pooltest", "1.1", in: built)
        let dir = repo + "/pool/main/p/pooltest"
        let deadTag = "pkl999999.1"
        _ = try scratch.write("repo/pool/main/p/pooltest/.pooltest_1.1-1_amd64.deb.tmp-\(deadTag)-ghijkl", "partial")
        _ = try scratch.write("repo/pool/main/p/pooltest/pooltest_1.1-1_amd64.deb", "not the package")
        let again = try Publisher.publish(packages: [URL(fileURLWithPath: second)], into: URL(fileURLWithPath: repo), options: options)
        XCTAssertEqual(again.added, ["pool/main/p/pooltest/pooltest_1.1-1_amd64.deb"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).sorted(),
                       ["pooltest_1.0-1_amd64.deb", "pooltest_1.1-1_amd64.deb"])
        XCTAssertEqual(FileManager.default.contents(atPath: dir + "/pooltest_1.1-1_amd64.deb"), FileManager.default.contents(atPath: second))

        // Something that is not a directory where a pool directory belongs is refused, and nothing changes.
        let blocked = try YumFixtures.deb("blocked", "1.0", in: built)
        try FileManager.default.createDirectory(atPath: repo + "/pool/main/b", withIntermediateDirectories: true)
        _ = try scratch.write("repo/pool/main/b/blocked", "a file in the way")
        let before = try RepositoryTree.snapshot(repo)
        XCTAssertThrowsError(try Publisher.publish(packages: [URL(fileURLWithPath: blocked)], into: URL(fileURLWithPath: repo), options: options)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .fileExists, "\(error)")
        }
        XCTAssertEqual(try RepositoryTree.snapshot(repo), before)
    }
}
