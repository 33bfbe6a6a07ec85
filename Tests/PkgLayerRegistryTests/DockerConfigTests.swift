import Foundation
import PkgLayerCore
import PkgLayerRegistry
import PkgLayerTestSupport
import XCTest

final class DockerConfigTests: XCTestCase {
    func testStoreKeepsOtherKeysWritesMode0600AndReadsBack() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-docker-config")
        let path = try scratch.write("cfg/config.json", #"{"auths":{"other.example":{"auth":"dTpw"}},"psFormat":"table"}"#)
        let config = DockerConfig(path: path)
        try config.store(RegistryCredential(username: "alice", password: "pa:ss"), for: "127.0.0.1:5000")
        var info = stat()
        XCTAssertEqual(stat(path, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        XCTAssertEqual(object["psFormat"] as? String, "table")
        let auths = object["auths"] as! [String: [String: String]]
        XCTAssertEqual(auths["other.example"]?["auth"], "dTpw")
        XCTAssertEqual(auths["127.0.0.1:5000"]?["auth"], Data("alice:pa:ss".utf8).base64EncodedString())
        XCTAssertEqual(try config.credential(for: "127.0.0.1:5000"), RegistryCredential(username: "alice", password: "pa:ss"))
        XCTAssertEqual(try config.credential(for: "other.example"), RegistryCredential(username: "u", password: "p"))
        XCTAssertNil(try config.credential(for: "nowhere.example"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path("cfg")), ["config.json"], "a temporary file was left")
        XCTAssertFalse("\(RegistryCredential(username: "alice", password: "pa:ss"))".contains("pa:ss"))
    }

    func testDockerConfigEnvironmentAndCredentialHelper() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-docker-config")
        XCTAssertEqual(DockerConfig(environment: ["DOCKER_CONFIG": scratch.path, "HOME": "/nonexistent"]).path, "\(scratch.path)/config.json")
        XCTAssertEqual(DockerConfig(environment: ["HOME": "/home/x"]).path, "/home/x/.docker/config.json")
        // A helper that answers one server and records what it was asked to store.
        let bin = try scratch.makeDirectory("bin")
        try scratch.write("bin/docker-credential-pkgtest", """
        #!/bin/sh
        read -r server
        case "$1" in
          get) if [ "$server" = "reg.example:5000" ]; then printf '{"ServerURL":"%s","Username":"bot","Secret":"from-helper"}' "$server"; else echo "credentials not found in native keychain"; exit 1; fi ;;
          store) printf '%s' "$server" > "\(scratch.path("stored.json"))" ;;
        esac
        """, mode: 0o755)
        let path = try scratch.write("config.json", #"{"credHelpers":{"reg.example:5000":"pkgtest"},"credsStore":"pkgtest"}"#)
        let oldPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        setenv("PATH", "\(bin):\(oldPath)", 1)
        defer { setenv("PATH", oldPath, 1) }
        let config = DockerConfig(path: path)
        XCTAssertEqual(try config.credential(for: "reg.example:5000"), RegistryCredential(username: "bot", password: "from-helper"))
        XCTAssertNil(try config.credential(for: "other.example"))
        try config.store(RegistryCredential(username: "carol", password: "pw"), for: "other.example")
        let stored = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.path("stored.json")))) as! [String: String]
        XCTAssertEqual(stored, ["ServerURL": "other.example", "Username": "carol", "Secret": "pw"])
        XCTAssertFalse(try String(contentsOfFile: path).contains("carol"), "with a credsStore the secret must not land in config.json")
    }

    func testChallengeParsing() throws {
        let bearer = try XCTUnwrap(AuthChallenge(header: #"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#))
        XCTAssertEqual(bearer.scheme, "bearer")
        XCTAssertEqual(bearer.realm, "https://auth.example/token")
        XCTAssertEqual(bearer.service, "registry.example")
        XCTAssertEqual(bearer.scope, "repository:a/b:pull,push")
        XCTAssertEqual(AuthChallenge(header: #"Basic realm="pkglayer test""#)?.realm, "pkglayer test")
    }
}
