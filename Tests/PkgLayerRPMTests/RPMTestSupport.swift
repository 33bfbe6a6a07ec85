import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import PkgLayerTestSupport
import XCTest

/// Runs a real program (rpm, rpm2cpio, cpio, rpmlint, stat) through the shared `TestProcess` with a
/// UTF-8 locale. A missing program is a failure, not a skip: these tests exist to be judged by the
/// real consumers.
enum Tool {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var command: String
        var text: String { stdout + stderr }
    }

    static func locate(_ name: String) throws -> String {
        if let found = TestProcess.which(name) { return found }
        throw PkgLayerError(.toolMissing, "\(name) is not installed; the rpm tests need rpm, rpm2cpio, cpio and rpmlint")
    }

    @discardableResult
    static func run(_ args: [String], stdinFile: String? = nil, environment: [String: String] = [:]) throws -> Output {
        let program = try locate(args[0])
        let stdin = try stdinFile.map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
        let output = try TestProcess.run(program, Array(args.dropFirst()),
                                         environment: ["LC_ALL": "C.UTF-8"].merging(environment) { $1 }, stdin: stdin)
        return Output(status: output.status, stdout: output.stdoutText, stderr: output.stderrText, command: args.joined(separator: " "))
    }

    /// Runs and throws unless the exit status is 0; the error carries the command and its output.
    @discardableResult
    static func check(_ args: [String], stdinFile: String? = nil, environment: [String: String] = [:]) throws -> Output {
        let result = try run(args, stdinFile: stdinFile, environment: environment)
        guard result.status == 0 else {
            throw PkgLayerError(.io, "`\(result.command)` exited \(result.status)\nstdout:\n\(result.stdout)\nstderr:\n\(result.stderr)")
        }
        return result
    }

    /// `rpm -qp --queryformat FORMAT pkg`.
    static func query(_ package: String, _ format: String) throws -> String {
        try check(["rpm", "-qp", "--nosignature", "--queryformat", format, package]).stdout
    }
}

/// Builds test inputs by hand: files on disk under a scratch directory and the manifest entries
/// describing them, the way the manifest builder would.
final class Fixture {
    let dir: TemporaryDirectory
    var entries: [ManifestEntry] = []
    let mtime: Int64 = 1_700_000_000

    init() throws { dir = try TemporaryDirectory(prefix: "pkglayer-rpm-fixture") }

    var path: String { dir.path }

    @discardableResult
    func file(_ path: String, _ content: String, mode: UInt32 = 0o644, user: String = "root", group: String = "root",
              uid: UInt32 = 0, gid: UInt32 = 0, flags: FileFlags = [], capabilities: String? = nil) throws -> ManifestEntry {
        let source = dir.path + "/src" + path
        try FileManager.default.createDirectory(atPath: (source as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(content.utf8).write(to: URL(fileURLWithPath: source))
        let entry = ManifestEntry(path: path, kind: .file, mode: mode, uid: uid, gid: gid, user: user, group: group, mtime: mtime,
                                  size: UInt64(content.utf8.count), sha256: try FileDigest.sha256Hex(path: source), flags: flags,
                                  capabilities: capabilities, sourcePath: source)
        entries.append(entry)
        return entry
    }

    func directory(_ path: String, mode: UInt32 = 0o755, user: String = "root", group: String = "root", implicit: Bool = false) {
        entries.append(ManifestEntry(path: path, kind: .directory, mode: mode, user: user, group: group, mtime: mtime,
                                     isImplicitDirectory: implicit))
    }

    func symlink(_ path: String, to target: String) {
        entries.append(ManifestEntry(path: path, kind: .symlink, mode: 0o777, mtime: mtime, linkTarget: target))
    }

    func hardlink(_ path: String, to target: String) {
        let file = entries.first { $0.path == target }!
        entries.append(ManifestEntry(path: path, kind: .hardlink, mode: file.mode, uid: file.uid, gid: file.gid, user: file.user,
                                     group: file.group, mtime: mtime, size: file.size, sha256: file.sha256, linkTarget: target))
    }

    func ghost(_ path: String, mode: UInt32 = 0o644) {
        entries.append(ManifestEntry(path: path, kind: .file, mode: mode, mtime: mtime, sha256: nil, flags: [.ghost]))
    }

    func manifest() throws -> FileManifest {
        try FileManifest(entries: entries, implicitDirectoryMtime: mtime)
    }

    /// The standard test package: one of every kind of entry pkglayer writes.
    static func standard() throws -> Fixture {
        let f = try Fixture()
        try f.file("/usr/bin/hello", "#!/bin/sh\necho hello\n", mode: 0o755)
        try f.file("/usr/bin/suid-tool", "setuid\n", mode: 0o4755)
        try f.file("/usr/bin/sgid-tool", "setgid\n", mode: 0o2755)
        try f.file("/usr/bin/bind-tool", "caps\n", mode: 0o755, capabilities: "cap_net_bind_service=ep")
        f.directory("/usr/bin", implicit: true)
        f.directory("/var/lib/hello", mode: 0o750, user: "daemon", group: "daemon")
        f.directory("/var/tmp/hello-shared", mode: 0o1777)
        try f.file("/var/lib/hello/state", "state\n", mode: 0o640, user: "daemon", group: "daemon", uid: 1, gid: 1)
        try f.file("/etc/hello/hello.conf", "greeting = hello\n", flags: [.config, .noReplace])
        try f.file("/etc/hello/plain.conf", "plain = yes\n", flags: [.config])
        f.directory("/etc/hello")
        try f.file("/usr/share/hello/data file with spaces.txt", "spaces\n")
        try f.file("/usr/share/hello/grüße-日本.txt", "non-ascii\n")
        try f.file("/usr/share/hello/empty", "")
        f.directory("/usr/share/hello")
        f.symlink("/usr/bin/hello-link", to: "hello")
        f.symlink("/usr/share/hello/abs-link", to: "/etc/hello/hello.conf")
        try f.file("/usr/lib/hello/a-original", "shared content\n", mode: 0o755)
        f.hardlink("/usr/lib/hello/b-link", to: "/usr/lib/hello/a-original")
        try f.file("/usr/lib/hello/between", "between\n")
        f.hardlink("/usr/lib/hello/c-link", to: "/usr/lib/hello/a-original")
        f.directory("/usr/lib/hello")
        f.ghost("/var/log/hello.log")
        return f
    }
}

enum Specs {
    static let epoch = SourceDateEpoch(1_700_000_000)

    static func hello(version: String = "1.2.3", release: String? = "4", epoch: UInt32? = 2,
                      arch: Architecture = .x86_64) -> PackageSpec {
        var spec = PackageSpec(name: "hello", version: version, release: release, epoch: epoch, architecture: arch,
                               sourceDateEpoch: Self.epoch)
        spec.summary = "Says hello"
        spec.description = "A friendly program.\nIt says hello."
        spec.license = "MIT"
        spec.vendor = "Example Vendor"
        spec.url = "https://example.org/hello"
        spec.maintainer = "Jane Packager <jane@example.org>"
        spec.section = "Applications/System"
        spec.depends = [try! Dependency(parsing: "bash >= 4.0", field: "t"), try! Dependency(parsing: "coreutils", field: "t"),
                        try! Dependency(parsing: "glibc | musl", field: "t")]
        spec.provides = [try! Dependency(parsing: "greeter = 1.0", field: "t")]
        spec.conflicts = [try! Dependency(parsing: "goodbye < 2", field: "t")]
        spec.obsoletes = [try! Dependency(parsing: "hello-old", field: "t")]
        spec.recommends = [try! Dependency(parsing: "hello-doc", field: "t")]
        spec.suggests = [try! Dependency(parsing: "hello-extras >= 1", field: "t")]
        return spec
    }
}

extension XCTestCase {
    /// Writes a package into `dir` and returns its path.
    func writePackage(_ spec: PackageSpec, _ manifest: FileManifest, in dir: String,
                      compression: Compression = .gzip(level: 6), name: String? = nil,
                      configure: (inout RPMWriter) -> Void = { _ in }) throws -> String {
        var writer = RPMWriter(compression: compression)
        configure(&writer)
        let path = dir + "/" + (name ?? writer.fileName(for: spec))
        let output = try writer.write(spec: spec, manifest: manifest, to: path)
        XCTAssertEqual(output.path, path)
        XCTAssertEqual(output.format, .rpm)
        XCTAssertEqual(output.sha256, try FileDigest.sha256Hex(path: path))
        return path
    }
}
