import PkgLayerRegistry
import XCTest

final class RegistryReferenceTests: XCTestCase {
    func testParsesHostPortRepositoryAndTag() throws {
        let ref = try RegistryReference(parsing: "127.0.0.1:5000/team/nginx:1.22")
        XCTAssertEqual(ref.registry, "127.0.0.1:5000")
        XCTAssertEqual(ref.repository, "team/nginx")
        XCTAssertEqual(ref.tag, "1.22")
        XCTAssertEqual(ref.reference, "1.22")
    }

    func testDockerHubShortNameAndDigest() throws {
        let digest = "sha256:" + String(repeating: "a", count: 64)
        let ref = try RegistryReference(parsing: "nginx@\(digest)")
        XCTAssertEqual(ref.registry, "docker.io")
        XCTAssertEqual(ref.repository, "library/nginx")
        XCTAssertEqual(ref.reference, digest)
    }

    func testRejectsUppercaseRepository() {
        XCTAssertThrowsError(try RegistryReference(parsing: "localhost:5000/Nginx:1")) { error in
            XCTAssertTrue("\(error)".contains("lowercase"), "\(error)")
        }
    }
}
