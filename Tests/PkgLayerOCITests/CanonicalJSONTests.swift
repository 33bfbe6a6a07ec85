import Foundation
import PkgLayerCore
@testable import PkgLayerOCI
import XCTest

final class CanonicalJSONTests: XCTestCase {
    func testKeysSortBytewiseAndNothingIsPadded() {
        let value = JSONValue.object([
            "b": .int(1), "B": .int(2), "a": .array([.int(-3), .null, .bool(true)]), "é": .string("x"),
            "Z": .object([:]), "a_": .bool(false), "aa": .string(""),
        ])
        // Uppercase sorts before lowercase, "_" (0x5F) before "a" (0x61), and é's UTF-8 (0xC3 0xA9) last.
        XCTAssertEqual(value.canonical, #"{"B":2,"Z":{},"a":[-3,null,true],"a_":false,"aa":"","b":1,"é":"x"}"#)
    }

    func testStringsEscapeOnlyWhatJSONRequires() {
        let text = "a/b \"q\" \\ \n\t\u{01} ü ✓"
        let bytes = JSONValue.string(text).canonicalBytes
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self), #""a/b \"q\" \\ \n\t\u0001 ü ✓""#)
        // A standard parser reads back the same string.
        let parsed = try! JSONSerialization.jsonObject(with: Data(bytes), options: .fragmentsAllowed) as! String
        XCTAssertEqual(parsed, text)
    }

    func testSameValueSameBytesWhateverTheInsertionOrder() {
        var first: [String: JSONValue] = [:]
        var second: [String: JSONValue] = [:]
        let keys = (0..<200).map { "key\($0 * 7919 % 1000)" }
        for key in keys { first[key] = .string(key) }
        for key in keys.reversed() { second[key] = .string(key) }
        XCTAssertEqual(JSONValue.object(first).canonicalBytes, JSONValue.object(second).canonicalBytes)
    }

    func testRFC3339() {
        XCTAssertEqual(RFC3339.utc(0), "1970-01-01T00:00:00Z")
        XCTAssertEqual(RFC3339.utc(1_700_000_000), "2023-11-14T22:13:20Z")
        XCTAssertEqual(RFC3339.utc(951_782_400), "2000-02-29T00:00:00Z")
        XCTAssertEqual(RFC3339.utc(-1), "1969-12-31T23:59:59Z")
        XCTAssertEqual(RFC3339.utc(4_102_444_799), "2099-12-31T23:59:59Z")
    }

    func testConfigJSONShape() throws {
        let config = OCIImageConfig(
            created: RFC3339.utc(0), author: "me", platform: OCIPlatform(.aarch64),
            config: ContainerConfig(cmd: ["/bin/sh"], env: ["A=1"], exposedPorts: ["80"], volumes: ["/data"],
                                    healthcheck: Healthcheck(test: ["CMD-SHELL", "true"], intervalSeconds: 2)),
            diffIDs: [Digest(hex: String(repeating: "a", count: 64))],
            history: [HistoryEntry(created: RFC3339.utc(0), createdBy: LayerOrigin(name: "nginx", version: "1.22.1-1", format: "rpm").createdBy)])
        let text = config.json.canonical
        XCTAssertEqual(text, #"{"architecture":"arm64","author":"me","config":{"Cmd":["/bin/sh"],"Env":["A=1"],"ExposedPorts":{"80/tcp":{}},"#
            + #""Healthcheck":{"Interval":2000000000,"Test":["CMD-SHELL","true"]},"Volumes":{"/data":{}}},"created":"1970-01-01T00:00:00Z","#
            + #""history":[{"created":"1970-01-01T00:00:00Z","created_by":"pkglayer: nginx 1.22.1-1 (rpm)"}],"os":"linux","#
            + #""rootfs":{"diff_ids":["sha256:\#(String(repeating: "a", count: 64))"],"type":"layers"},"variant":"v8"}"#)
    }

    func testConfigValidationNamesTheField() {
        XCTAssertThrowsError(try ContainerConfig(env: ["NOEQUALS"]).validate()) { error in
            XCTAssertEqual((error as? PkgLayerError)?.location, "config.env")
        }
        XCTAssertThrowsError(try ContainerConfig(exposedPorts: ["80/http"]).validate())
        XCTAssertThrowsError(try ContainerConfig(exposedPorts: ["70000"]).validate())
        XCTAssertThrowsError(try ContainerConfig(workingDir: "relative").validate())
        XCTAssertNoThrow(try ContainerConfig(workingDir: "/srv", exposedPorts: ["80", "53/udp"], volumes: ["/v"]).validate())
    }

    func testTagsAndRepoTags() {
        for good in ["latest", "1.0", "nginx:1.22.1-1", "a--b", "example.org/app:v1"] {
            XCTAssertNoThrow(try OCIReference.validateTag(good), good)
        }
        for bad in ["", "-x", "x-", "a..b", "sp ace", "ünï"] {
            XCTAssertThrowsError(try OCIReference.validateTag(bad), bad)
        }
        for good in ["nginx:1.22", "example.org:5000/team/app:v1.0_rc-1"] {
            XCTAssertNoThrow(try OCIReference.validateRepoTag(good), good)
        }
        for bad in ["nginx", "Nginx:1", "nginx:", "nginx:-x", "example.org:5000/app"] {
            XCTAssertThrowsError(try OCIReference.validateRepoTag(bad), bad)
        }
    }
}
