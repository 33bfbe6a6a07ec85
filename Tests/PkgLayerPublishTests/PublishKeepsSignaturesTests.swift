import Foundation
import PkgLayerCore
@testable import PkgLayerPublish
import PkgLayerTestSupport
import XCTest

/// A signed repository stays signed (issue 22): a publish without a key into it is refused, naming the
/// key that signed it, and leaves every byte as it was, so dnf (repo_gpgcheck) and apt (signed-by) still
/// verify it; only `allowUnsigned` (`--unsigned`) removes the signatures, on purpose.
final class PublishKeepsSignaturesTests: XCTestCase {
    func testAPublishWithoutAKeyIntoASignedRepositoryIsRefusedAndChangesNothing() throws {
        let scratch = try ScratchDirectory()
        let key = try TestKey(directory: scratch.path("key"), name: "kept signed key")
        let built = try scratch.makeDirectory("built")
        let rpm = try YumFixtures.rpm("kept-rpm", "1.0", in: built, signer: key.signer)
        let deb = try YumFixtures.deb("libkept", "1.0", in: built)
        let repo = scratch.path("repo")
        let signed = PublishOptions(signer: key.signer, suite: "stable", sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch))
        try Publisher.publish(packages: [URL(fileURLWithPath: rpm), URL(fileURLWithPath: deb)], into: URL(fileURLWithPath: repo), options: signed)
        let before = try RepositoryTree.snapshot(repo)
        func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: repo + "/" + relative) }
        XCTAssertTrue(exists("repodata/repomd.xml.asc") && exists("dists/stable/InRelease"), "\(before.keys.sorted())")

        // A newcomer adds one package and forgets the key.
        let rpm2 = try YumFixtures.rpm("kept-rpm", "1.1", in: built, signer: key.signer)
        let unsigned = PublishOptions(suite: "stable", sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch))
        XCTAssertThrowsError(try Publisher.publish(packages: [URL(fileURLWithPath: rpm2)], into: URL(fileURLWithPath: repo), options: unsigned)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("signed repository") && text.contains(key.signer.fingerprint) && text.contains("--unsigned"), text)
            XCTAssertEqual((error as? PkgLayerError)?.code, .usage, text)
        }
        XCTAssertEqual(try RepositoryTree.snapshot(repo), before, "a refused publish changed the repository")

        // Both clients still verify the repository.
        let (installed, root) = try DNF.install("kept-rpm", baseURL: "file://\(repo)", key: key.armoredPath, in: scratch, name: "kept")
        XCTAssertTrue(installed.succeeded, installed.stdoutText + installed.stderrText)
        XCTAssertEqual(try DNF.installed("kept-rpm", root: root), "kept-rpm-1.0-1")
        let apt = try AptRepositoryWriterTests.PrivateApt(root: scratch.path("apt"), sources: ["deb [signed-by=\(key.gpg.keyring)] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertTrue(update.succeeded, AptRepositoryWriterTests.PrivateApt.text(update))
        XCTAssertFalse(AptRepositoryWriterTests.PrivateApt.text(update).contains("NO_PUBKEY"))

        // On purpose, the signatures go.
        var explicit = unsigned
        explicit.allowUnsigned = true
        try Publisher.publish(packages: [URL(fileURLWithPath: rpm2)], into: URL(fileURLWithPath: repo), options: explicit)
        XCTAssertFalse(exists("repodata/repomd.xml.asc"))
        XCTAssertFalse(exists("dists/stable/InRelease"))
        XCTAssertTrue(exists("dists/stable/Release") && exists("repodata/repomd.xml"))
    }
}
