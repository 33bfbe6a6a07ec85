import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerPipeline

/// Issue 21: `scripts: run` stacks layer blobs into one root (`ImageBuilder.unpack`). A lower layer
/// may plant any symlink; what an upper layer replaces is removed through descriptors, never through
/// a link, so a canary tree beside the root never changes.
final class ImageScriptsUnpackTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var canary: String!
    private var before: [String: String] = [:]

    override func setUpWithError() throws {
        try requireTool("tar")
        scratch = try ScratchDirectory(prefix: "pkglayer-unpack")
        canary = try scratch.makeDirectory("canary")
        _ = try scratch.write("canary/victim", "ORIGINAL\n", mode: 0o600)
        _ = try scratch.write("canary/tree/a", "a\n")
        _ = try scratch.write("canary/tree/sub/b", "b\n", mode: 0o640)
        before = try canarySnapshot(canary)
    }

    override func tearDownWithError() throws {
        XCTAssertEqual(try canarySnapshot(canary), before, "the canary beside the root changed")
        scratch = nil
    }


    /// A tar of `tree`'s entries `names`, each renamed by `transform` (a sed expression for tar).
    private func layer(_ name: String, from tree: String, _ names: [String], transform: String? = nil) throws -> String {
        let path = scratch.path("layers/\(name).tar")
        _ = try scratch.makeDirectory("layers")
        try TestProcess.runChecked("tar", ["--numeric-owner", "-cf", path, "-C", tree] + (transform.map { ["--transform", $0] } ?? []) + names)
        return path
    }

    private func kind(_ path: String) -> mode_t {
        var st = stat()
        return lstat(path, &st) == 0 ? st.st_mode & S_IFMT : 0
    }

    func testAMemberBeneathALowerLayersLinkIsRefusedAndNothingOnTheHostGoes() throws {
        let links = try scratch.makeDirectory("trees/links")
        try FileManager.default.createSymbolicLink(atPath: "\(links)/x", withDestinationPath: "/")
        let lower = try layer("lower", from: links, ["x"])
        _ = try scratch.write("trees/payload/f", "EVIL\n")
        let host = String(canary.dropFirst())
        let rootfs = scratch.path("rootfs")
        try ImageBuilder.unpack(layer: lower, into: rootfs)
        for target in ["victim", "tree"] {
            let upper = try layer("upper-\(target)", from: scratch.path("trees/payload"), ["f"], transform: "s|^f$|x/\(host)/\(target)|")
            XCTAssertThrowsError(try ImageBuilder.unpack(layer: upper, into: rootfs)) { error in
                XCTAssertTrue("\(error)".contains("member 'x/\(host)/\(target)' would be written through 'x', which is not a real directory"), "\(error)")
            }
        }
        XCTAssertEqual(kind("\(rootfs)/x"), S_IFLNK)
    }

    func testAnUpperLayerReplacesLinksAndTreesAsThemselves() throws {
        // Lower: a directory holding a link to the canary's tree, a link to the canary's file, a file.
        let lowerTree = try scratch.makeDirectory("trees/lower")
        _ = try scratch.write("trees/lower/etc/conf/keep", "k\n")
        try FileManager.default.createSymbolicLink(atPath: "\(lowerTree)/etc/conf/out", withDestinationPath: "\(canary!)/tree")
        try FileManager.default.createSymbolicLink(atPath: "\(lowerTree)/etc/file", withDestinationPath: "\(canary!)/victim")
        _ = try scratch.write("trees/lower/etc/plain", "lower\n")
        let lower = try layer("lower", from: lowerTree, ["etc"])
        // Upper: a file where the directory was, a file where the link was, a link where the file was.
        let upperTree = try scratch.makeDirectory("trees/upper")
        _ = try scratch.write("trees/upper/etc/conf", "now a file\n")
        _ = try scratch.write("trees/upper/etc/file", "upper\n")
        try FileManager.default.createSymbolicLink(atPath: "\(upperTree)/etc/plain", withDestinationPath: "file")
        let upper = try layer("upper", from: upperTree, ["etc/conf", "etc/file", "etc/plain"])

        let rootfs = scratch.path("rootfs")
        try ImageBuilder.unpack(layer: lower, into: rootfs)
        try ImageBuilder.unpack(layer: upper, into: rootfs)
        XCTAssertEqual(try String(contentsOfFile: "\(rootfs)/etc/conf", encoding: .utf8), "now a file\n")
        XCTAssertEqual(kind("\(rootfs)/etc/file"), S_IFREG, "the link was replaced, not written through")
        XCTAssertEqual(try String(contentsOfFile: "\(rootfs)/etc/file", encoding: .utf8), "upper\n")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "\(rootfs)/etc/plain"), "file")
    }
}
