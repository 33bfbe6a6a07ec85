import Foundation
import PkgLayerCore
import PkgLayerOCI
import PkgLayerTestSupport
import XCTest

/// Builds manifests by hand from files written into a scratch directory, as the build room would hand
/// them over: every entry carries its size, sha256 and source path.
final class ManifestFixture {
    let scratch: ScratchDirectory
    var entries: [ManifestEntry] = []
    /// The manifest's own clock; deliberately not the files' on-disk mtimes.
    let mtime: Int64

    init(mtime: Int64 = 1_700_000_000) throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-oci-src")
        self.mtime = mtime
    }

    /// Adds a regular file whose content is `data`, stored under a scratch name.
    func file(_ path: String, _ data: Data, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
              user: String = "root", group: String = "root", capabilities: String? = nil) throws {
        let source = try scratch.write("content/\(entries.count)", data)
        try add(path, source: source, mode: mode, uid: uid, gid: gid, user: user, group: group, capabilities: capabilities)
    }

    func file(_ path: String, _ text: String, mode: UInt32 = 0o644) throws {
        try file(path, Data(text.utf8), mode: mode)
    }

    /// Adds a regular file copied from the host (the copy gets a fresh on-disk mtime every run).
    func copy(_ path: String, from host: String, mode: UInt32 = 0o755, capabilities: String? = nil) throws {
        let source = scratch.path("content/\(entries.count)")
        try FileManager.default.createDirectory(atPath: scratch.path("content"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: host, toPath: source)
        try add(path, source: source, mode: mode, capabilities: capabilities)
    }

    private func add(_ path: String, source: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0,
                     user: String = "root", group: String = "root", capabilities: String?) throws {
        let size = try FileManager.default.attributesOfItem(atPath: source)[.size] as! UInt64
        entries.append(ManifestEntry(path: path, kind: .file, mode: mode, uid: uid, gid: gid, user: user, group: group,
                                     mtime: mtime, size: size, sha256: try FileDigest.sha256Hex(path: source),
                                     capabilities: capabilities, sourcePath: source))
    }

    func symlink(_ path: String, to target: String) {
        entries.append(ManifestEntry(path: path, kind: .symlink, mode: 0o777, mtime: mtime, linkTarget: target))
    }

    func directory(_ path: String, mode: UInt32 = 0o755) {
        entries.append(ManifestEntry(path: path, kind: .directory, mode: mode, mtime: mtime))
    }

    func hardlink(_ path: String, to target: String) {
        let file = entries.first { $0.path == target }!
        entries.append(ManifestEntry(path: path, kind: .hardlink, mode: file.mode, mtime: mtime, size: file.size,
                                     sha256: file.sha256, linkTarget: target))
    }

    func manifest() throws -> FileManifest {
        try FileManifest(entries: entries, implicitDirectoryMtime: mtime)
    }
}

/// The packages of the test images, each a hand-made manifest.
enum TestPackages {
    static let busyboxPath = "/bin/busybox"

    /// busybox-static's binary with /bin/sh and /bin/echo pointing at it.
    static func busybox() throws -> ManifestFixture {
        let fixture = try ManifestFixture()
        try fixture.copy("/bin/busybox", from: busyboxPath)
        fixture.symlink("/bin/sh", to: "busybox")
        fixture.symlink("/bin/echo", to: "busybox")
        return fixture
    }

    /// A package with the special cases: setuid, a capability, a hardlink, a non-root owner, an
    /// absolute symlink and a name long enough to need a pax header.
    static func app() throws -> ManifestFixture {
        let fixture = try ManifestFixture()
        try fixture.file("/usr/bin/app", "#!/bin/sh\necho app\n", mode: 0o755)
        try fixture.file("/usr/bin/pinger", Data("pinger\n".utf8), mode: 0o755, capabilities: "cap_net_raw=ep")
        try fixture.file("/usr/bin/suid-helper", Data("suid\n".utf8), mode: 0o4755)
        fixture.hardlink("/usr/bin/app-link", to: "/usr/bin/app")
        try fixture.file("/var/lib/app/state", Data("owned\n".utf8), mode: 0o640, uid: 101, gid: 102, user: "app", group: "app")
        fixture.symlink("/usr/bin/app-abs", to: "/usr/bin/app")
        try fixture.file("/usr/share/app/" + String(repeating: "long-directory-name/", count: 6) + "file.txt", "deep\n")
        return fixture
    }

    static func imageFiles() throws -> ManifestFixture {
        let fixture = try ManifestFixture()
        try fixture.file("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:101:102::/var/lib/app:/bin/sh\n")
        try fixture.file("/etc/group", "root:x:0:\napp:x:102:\n")
        fixture.directory("/tmp", mode: 0o1777)
        return fixture
    }
}

/// The image the integration tests build, bottom to top: busybox, app, then the image's own files.
struct TestImage {
    static let epoch = SourceDateEpoch(1_700_000_000)

    static func request(busybox: ManifestFixture, app: ManifestFixture?, top: ManifestFixture) throws -> ImageRequest {
        var layers = [LayerSource(manifest: try busybox.manifest(), origin: LayerOrigin(name: "busybox-static", version: "1:1.35.0-4", format: "deb"),
                                  comment: "busybox with sh and echo")]
        if let app {
            layers.append(LayerSource(manifest: try app.manifest(), origin: LayerOrigin(name: "app", version: "1.0-1", format: "rpm")))
        }
        let config = ContainerConfig(entrypoint: nil, cmd: ["/bin/echo", "hello-from-pkglayer"], env: ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"],
                                     workingDir: "/", user: "0:0", exposedPorts: ["8080", "53/udp"], volumes: ["/var/lib/app"],
                                     labels: ["org.example.purpose": "test"], stopSignal: "SIGTERM",
                                     healthcheck: Healthcheck(test: ["CMD", "/bin/echo", "ok"], intervalSeconds: 30, timeoutSeconds: 5, retries: 3))
        return ImageRequest(layers: layers, topLayer: try top.manifest(), config: config, author: "pkglayer tests",
                            annotations: [OCIAnnotation.title: "pkglayer-test", OCIAnnotation.version: "1.0"],
                            epoch: epoch, architecture: .native)
    }
}

extension XCTestCase {
    func jsonObject(_ output: ProcessOutput) throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: output.stdout) as? [String: Any] else {
            XCTFail("not a JSON object: \(output.stdoutText)")
            return [:]
        }
        return object
    }
}
