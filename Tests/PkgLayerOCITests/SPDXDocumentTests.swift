import Foundation
import PkgLayerCore
@testable import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

final class SPDXDocumentTests: XCTestCase {
    /// spdx-tools' validator: `python3 -m venv /opt/pkglayer-spdx && /opt/pkglayer-spdx/bin/pip install spdx-tools`.
    static let validator = ProcessInfo.processInfo.environment["PKGLAYER_PYSPDXTOOLS"] ?? "/opt/pkglayer-spdx/bin/pyspdxtools"

    func testTheSBOMListsEveryPackageAndSPDXToolsAcceptsIt() throws {
        try requireTool("busybox")
        let busybox = try TestPackages.busybox(), app = try TestPackages.app(), top = try TestPackages.imageFiles()
        var request = try TestImage.request(busybox: busybox, app: app, top: top)
        request.layers[0].origin.license = "GPL-2.0-only"
        request.layers[0].origin.packageSHA256 = String(repeating: "ab", count: 32)
        request.layers[1].origin.license = "public domain, see debian/copyright"
        request.layers.append(LayerSource(manifest: try FileManifest(entries: [], implicitDirectoryMtime: 0),
                                          origin: LayerOrigin(name: "oldstyle", version: "2", format: "rpm", license: "GPLv2+ and MIT")))
        let scratch = try ScratchDirectory(prefix: "pkglayer-oci-sbom")
        let image = try ImageAssembler(store: try BlobStore(root: scratch.path("store"))).assemble(request)
        let path = scratch.path("sbom.spdx.json")
        try SPDXDocument.write(name: "pkglayer.test/busybox-app:1.0", image: image, packages: request.layers.map(\.origin),
                               epoch: TestImage.epoch, to: path)
        let again = SPDXDocument.json(name: "pkglayer.test/busybox-app:1.0", image: image, packages: request.layers.map(\.origin),
                                      epoch: TestImage.epoch)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data(again), "the same image gives the same SBOM")

        let object = try JSONSerialization.jsonObject(with: Data(again)) as! [String: Any]
        let packages = object["packages"] as! [[String: Any]]
        XCTAssertEqual(packages.map { $0["name"] as? String }, ["pkglayer.test/busybox-app:1.0", "busybox-static", "app", "oldstyle"])
        XCTAssertEqual(packages.map { $0["versionInfo"] as? String }, [image.manifest.digest.description, "1:1.35.0-4", "1.0-1", "2"])
        XCTAssertEqual(packages.map { $0["licenseDeclared"] as? String },
                       ["NOASSERTION", "GPL-2.0-only", "LicenseRef-pkglayer-1", "LicenseRef-pkglayer-2"])
        let extracted = (object["hasExtractedLicensingInfos"] as? [[String: String]] ?? []).map { $0["extractedText"] }
        XCTAssertEqual(extracted, ["public domain, see debian/copyright", "GPLv2+ and MIT"])
        XCTAssertEqual(((packages[1]["checksums"] as? [[String: String]])?.first)?["checksumValue"], String(repeating: "ab", count: 32))
        XCTAssertEqual(((object["creationInfo"] as? [String: Any])?["created"]) as? String, "2023-11-14T22:13:20Z")

        // Without the validator the SBOM's shape was checked (above), not validated.
        try requireTool(Self.validator)
        let result = try TestProcess.run(Self.validator, ["-i", path])
        XCTAssertEqual(result.status, 0, result.stdoutText + result.stderrText)
        XCTAssertFalse((result.stdoutText + result.stderrText).lowercased().contains("invalid"), result.stdoutText + result.stderrText)
    }

    func testLicenseExpressionShape() {
        for good in ["MIT", "GPL-2.0-or-later OR BSD-2-Clause", "(MIT AND Apache-2.0) OR GPL-3.0+", "Apache-2.0 WITH LLVM-exception"] {
            XCTAssertTrue(SPDXDocument.isLicenseExpression(good), good)
        }
        for bad in ["", "public domain", "MIT AND", "(MIT", "GPL, see copyright"] {
            XCTAssertFalse(SPDXDocument.isLicenseExpression(bad), bad)
        }
        XCTAssertEqual(SPDXDocument.sanitize("libc6:amd64+x"), "libc6-amd64-x")
    }
}
