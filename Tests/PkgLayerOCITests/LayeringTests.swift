import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

final class LayeringTests: XCTestCase {
    /// Four packages of different sizes and the image files.
    func packages() throws -> (fixtures: [ManifestFixture], request: ImageRequest) {
        var fixtures: [ManifestFixture] = []
        var layers: [LayerSource] = []
        for (index, size) in [300, 10, 5000, 20].enumerated() {
            let fixture = try ManifestFixture()
            try fixture.file("/usr/share/p\(index)/data", Data(repeating: UInt8(index), count: size))
            try fixture.file("/etc/shared.conf", "from p\(index)\n")   // every package ships it; the last one wins
            fixtures.append(fixture)
            layers.append(LayerSource(manifest: try fixture.manifest(), origin: LayerOrigin(name: "p\(index)", version: "1", format: "deb")))
        }
        let top = try TestPackages.imageFiles()
        fixtures.append(top)
        return (fixtures, ImageRequest(layers: layers, topLayer: try top.manifest(), epoch: TestImage.epoch, architecture: .x86_64))
    }

    func history(_ image: AssembledImage) -> [String] { image.imageConfig.history.map(\.createdBy) }

    func testBudgetKeepsTheLargestPackagesOwnLayers() throws {
        let (fixtures, request) = try packages()
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-layering")
        let assembler = ImageAssembler(store: try BlobStore(root: scratch.path))
        let perPackage = try assembler.assemble(request)
        XCTAssertEqual(perPackage.layers.count, 5)

        var budget = request
        budget.layering = .budget(3)
        let grouped = try assembler.assemble(budget)
        XCTAssertEqual(history(grouped), ["pkglayer: p0 1 (deb)", "pkglayer: p1 1 (deb), p3 1 (deb)", "pkglayer: p2 1 (deb)", "pkglayer: image files"])
        XCTAssertEqual(grouped.layers[0].descriptor.digest, perPackage.layers[0].descriptor.digest, "p0 keeps its shared layer")
        XCTAssertEqual(grouped.layers[2].descriptor.digest, perPackage.layers[2].descriptor.digest, "p2 keeps its shared layer")

        var roomy = request
        roomy.layering = .budget(10)
        XCTAssertEqual(try assembler.assemble(roomy).manifest.digest, perPackage.manifest.digest, "under budget nothing changes")
        var zero = request
        zero.layering = .budget(0)
        XCTAssertThrowsError(try assembler.assemble(zero))
        withExtendedLifetime(fixtures) {}
    }

    func testSquashGivesOneLayerWithTheLastWriterWinning() throws {
        try requireTool("tar", "gzip")
        let (fixtures, request) = try packages()
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-squash")
        let store = try BlobStore(root: scratch.path("store"))
        var squash = request
        squash.layering = .squash
        let image = try ImageAssembler(store: store).assemble(squash)
        XCTAssertEqual(image.layers.count, 1)
        XCTAssertEqual(image.imageConfig.history.count, 1)
        let rootfs = try scratch.makeDirectory("rootfs")
        let tar = try TestProcess.runChecked("gzip", ["-dc", store.path(for: image.layers[0].descriptor.digest)])
        try TestProcess.runChecked("tar", ["-x", "-C", rootfs], stdin: tar.stdout)
        XCTAssertEqual(try String(contentsOfFile: "\(rootfs)/etc/shared.conf"), "from p3\n")
        for index in 0..<4 { XCTAssertTrue(FileManager.default.fileExists(atPath: "\(rootfs)/usr/share/p\(index)/data")) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(rootfs)/etc/passwd"))
        withExtendedLifetime(fixtures) {}
    }

    func testSquashRefusesAFileWhereAnotherPackageNeedsADirectory() throws {
        let a = try ManifestFixture(), b = try ManifestFixture()
        try a.file("/opt/tool/bin/run", "x\n")
        try b.file("/opt/tool", "i am a file\n")
        let request = ImageRequest(layers: [LayerSource(manifest: try a.manifest(), origin: LayerOrigin(name: "a")),
                                            LayerSource(manifest: try b.manifest(), origin: LayerOrigin(name: "b"))],
                                   epoch: TestImage.epoch, architecture: .x86_64, layering: .squash)
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-squash")
        XCTAssertThrowsError(try ImageAssembler(store: try BlobStore(root: scratch.path)).assemble(request)) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .duplicatePath, "\(error)")
        }
    }
}
