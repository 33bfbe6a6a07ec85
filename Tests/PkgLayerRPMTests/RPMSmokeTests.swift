import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

final class RPMSmokeTests: XCTestCase {
    func testUncompressedPackageVerifies() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, compression: .none)
        let k = try Tool.run(["rpm", "-Kv", pkg])
        print(k.text)
        XCTAssertEqual(k.status, 0)
        print(try Tool.run(["rpm", "-qplv", pkg]).text)
        print(try Tool.run(["rpm", "-qpi", pkg]).text)
    }
}
