import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import PkgLayerTestSupport
import XCTest

/// Runs a program through the shared `TestProcess` with a UTF-8 locale; a missing program is a missing
/// requirement (`requireTool`: a skip, or a failure under PKGLAYER_REQUIRE_ALL=1).
struct Tool {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
        var command: String
    }

    static func path(_ name: String) -> String? { TestProcess.which(name) }

    @discardableResult
    static func run(_ args: [String], cwd: String? = nil, environment: [String: String] = [:],
                    file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        let program = args[0]
        try requireTool(program)
        let output = try TestProcess.run(program, Array(args.dropFirst()), in: cwd,
                                         environment: ["LC_ALL": "C.UTF-8"].merging(environment) { $1 })
        return Output(status: output.status, stdout: output.stdoutText, stderr: output.stderrText, command: args.joined(separator: " "))
    }

    /// Runs and fails the test (throwing) unless the exit status is 0.
    @discardableResult
    static func check(_ args: [String], cwd: String? = nil, environment: [String: String] = [:],
                      file: StaticString = #filePath, line: UInt = #line) throws -> Output {
        let result = try run(args, cwd: cwd, environment: environment)
        guard result.status == 0 else {
            XCTFail("\(result.command) exited \(result.status)\nstdout:\n\(result.stdout)\nstderr:\n\(result.stderr)", file: file, line: line)
            throw PkgLayerError(.io, "command failed: \(result.command)")
        }
        return result
    }
}

/// Builds a package's inputs by hand: files in a temp directory and a manifest pointing at them.
final class Fixture {
    let dir: TemporaryDirectory
    var entries: [ManifestEntry] = []
    let epoch: Int64

    init(epoch: Int64 = 1_700_000_000) throws {
        dir = try TemporaryDirectory(prefix: "pkglayer-debtest")
        self.epoch = epoch
    }

    var root: String { dir.path }

    /// Adds a regular file with the given content (its source is written under the fixture dir).
    @discardableResult
    func file(_ path: String, _ content: String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
              user: String = "root", group: String = "root", flags: FileFlags = [], mtime: Int64? = nil) throws -> ManifestEntry {
        let bytes = Array(content.utf8)
        let source = "\(root)/src-\(entries.count)"
        _ = FileManager.default.createFile(atPath: source, contents: Data(bytes))
        let entry = ManifestEntry(path: path, kind: .file, mode: mode, uid: uid, gid: gid, user: user, group: group,
                                  mtime: mtime ?? epoch, size: UInt64(bytes.count), sha256: Digest.sha256(bytes).hex,
                                  flags: flags, sourcePath: source)
        entries.append(entry)
        return entry
    }

    func directory(_ path: String, mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0, user: String = "root", group: String = "root") {
        entries.append(ManifestEntry(path: path, kind: .directory, mode: mode, uid: uid, gid: gid, user: user, group: group, mtime: epoch))
    }

    func symlink(_ path: String, to target: String) {
        entries.append(ManifestEntry(path: path, kind: .symlink, mode: 0o777, mtime: epoch, linkTarget: target))
    }

    func hardlink(_ path: String, to target: String) {
        let file = entries.first { $0.path == target }!
        entries.append(ManifestEntry(path: path, kind: .hardlink, mode: file.mode, uid: file.uid, gid: file.gid, user: file.user,
                                     group: file.group, mtime: file.mtime, size: file.size, sha256: file.sha256, linkTarget: target))
    }

    func manifest() throws -> FileManifest {
        try FileManifest(entries: entries, implicitDirectoryMtime: epoch)
    }

    func path(_ name: String) -> String { "\(root)/\(name)" }

    func spec(name: String = "hello-pkglayer", version: String = "1.0", release: String? = "1") -> PackageSpec {
        var spec = PackageSpec(name: name, version: version, release: release, architecture: .x86_64,
                               sourceDateEpoch: SourceDateEpoch(epoch))
        spec.summary = "greets the world, the pkglayer way"
        spec.description = "This package exists to test pkglayer's deb writer.\n\nIt has a second paragraph, which\nspans two lines."
        spec.maintainer = "Pkglayer Tests <tests@pkglayer.example.org>"
        spec.url = "https://pkglayer.example.org/"
        spec.section = "utils"
        spec.priority = "optional"
        return spec
    }

    /// The standard content used by most tests: a binary, setuid and setgid/sticky entries, a conffile,
    /// symlinks, a hardlink, odd names and foreign owners.
    func populateStandard(name: String = "hello-pkglayer", marker: String = "1") throws {
        try file("/usr/bin/hello-pkglayer", "#!/bin/sh\necho hello \(marker)\n", mode: 0o755)
        try file("/usr/bin/suid-tool", "#!/bin/sh\nexit 0\n", mode: 0o4755)
        try file("/usr/bin/sgid-tool", "#!/bin/sh\nexit 0\n", mode: 0o2755, gid: 0)
        hardlink("/usr/bin/zz-hello-link", to: "/usr/bin/hello-pkglayer")
        symlink("/usr/bin/hello-alias", to: "hello-pkglayer")
        try file("/etc/\(name).conf", "setting = \(marker)\n", flags: [.config, .noReplace])
        try file("/usr/share/\(name)/with space.txt", "spaces\n")
        try file("/usr/share/\(name)/naïve-ünïcode.txt", "unicode\n")
        try file("/usr/share/\(name)/owned-by-1234", "foreign owner\n", mode: 0o640, uid: 1234, gid: 2345,
                 user: "pkglayer-no-such-user", group: "pkglayer-no-such-group")
        directory("/var/lib/\(name)/spool", mode: 0o1777)
        try file("/usr/share/\(name)/" + String(repeating: "long-name-", count: 12) + "end.txt", "long\n")
        try file("/usr/share/\(name)/empty", "")
        symlink("/usr/share/\(name)/long-link", to: String(repeating: "long-name-", count: 12) + "end.txt")
    }
}

/// Reads the whole file.
func bytes(of path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

func lstatOf(_ path: String) -> stat? {
    var st = stat()
    return lstat(path, &st) == 0 ? st : nil
}
