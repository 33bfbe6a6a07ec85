import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

/// A throwaway system root for `rpm --root`: /etc/passwd and /etc/group with root and daemon (rpm
/// resolves owners there), and /bin/sh (dash and its libraries), because rpm runs scriptlets
/// chrooted into the root.
final class InstallRoot {
    let dir: TemporaryDirectory
    var path: String { dir.path }

    init() throws {
        dir = try TemporaryDirectory(prefix: "pkglayer-rpm-root")
        let fm = FileManager.default
        try fm.createDirectory(atPath: path + "/etc", withIntermediateDirectories: true)
        try "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
            .write(toFile: path + "/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\ndaemon:x:1:\n".write(toFile: path + "/etc/group", atomically: false, encoding: .utf8)
        let dash = try Tool.locate("dash")
        try copy(dash, to: "/bin/sh")
        // dash's shared libraries, wherever the host keeps them.
        for line in try Tool.check(["ldd", dash]).stdout.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if let arrow = words.firstIndex(of: "=>"), arrow + 1 < words.count, words[arrow + 1].hasPrefix("/") {
                try copy(String(words[arrow + 1]), to: String(words[arrow + 1]))
            } else if let first = words.first, first.hasPrefix("/") {
                try copy(String(first), to: String(first))
            }
        }
    }

    private func copy(_ source: String, to target: String) throws {
        let destination = path + target
        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Tool.check(["cp", "-L", source, destination])
    }

    /// `rpm --root ROOT --dbpath /var/lib/rpm ARGS` (the EL layout; Debian's default is ~/.rpmdb).
    @discardableResult
    func rpm(_ args: [String]) throws -> Tool.Output {
        try Tool.check(["rpm", "--root", path, "--dbpath", "/var/lib/rpm"] + args)
    }

    func stat(_ file: String) throws -> Glibc.stat {
        var st = Glibc.stat()
        guard lstat(path + file, &st) == 0 else { throw PkgLayerError.posix("lstat", path: path + file) }
        return st
    }

    func exists(_ file: String) -> Bool {
        var st = Glibc.stat()
        return lstat(path + file, &st) == 0
    }

    func read(_ file: String) throws -> String {
        try String(contentsOfFile: path + file, encoding: .utf8)
    }
}

final class RPMInstallTests: XCTestCase {
    func testInstallGivesExactModesOwnersLinksAndCapabilities() throws {
        try checkInstall(compression: .gzip(level: 6))
    }

    func testInstallFromStrippedLargeFilePayload() throws {
        try checkInstall(compression: .zstd(level: 3)) { $0.largeFileFormat = .always }
    }

    func testInstallFromUncompressedPayload() throws {
        try checkInstall(compression: .none)
    }

    private func checkInstall(compression: Compression, configure: (inout RPMWriter) -> Void = { _ in }) throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let pkg = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, compression: compression, configure: configure)
        let root = try InstallRoot()
        try root.rpm(["-i", "--nodeps", pkg])

        func mode(_ file: String) throws -> UInt32 { UInt32(try root.stat(file).st_mode) }
        XCTAssertEqual(try mode("/usr/bin/hello"), 0o100755)
        XCTAssertEqual(try mode("/usr/bin/suid-tool"), 0o104755)
        XCTAssertEqual(try mode("/usr/bin/sgid-tool"), 0o102755)
        XCTAssertEqual(try mode("/var/tmp/hello-shared"), 0o041777)
        XCTAssertEqual(try mode("/var/lib/hello"), 0o040750)
        XCTAssertEqual(try mode("/var/lib/hello/state"), 0o100640)
        XCTAssertEqual(try mode("/etc/hello/hello.conf"), 0o100644)
        for file in ["/usr/bin/hello", "/usr/bin/suid-tool", "/etc/hello/hello.conf"] {
            XCTAssertEqual(try root.stat(file).st_uid, 0, file)
            XCTAssertEqual(try root.stat(file).st_gid, 0, file)
        }
        for file in ["/var/lib/hello", "/var/lib/hello/state"] {
            XCTAssertEqual(try root.stat(file).st_uid, 1, "\(file) belongs to daemon")
            XCTAssertEqual(try root.stat(file).st_gid, 1, "\(file) belongs to daemon")
        }
        XCTAssertEqual(Int64(try root.stat("/usr/bin/hello").st_mtim.tv_sec), fixture.mtime)

        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root.path + "/usr/bin/hello-link"), "hello")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root.path + "/usr/share/hello/abs-link"), "/etc/hello/hello.conf")

        let original = try root.stat("/usr/lib/hello/a-original")
        for link in ["/usr/lib/hello/b-link", "/usr/lib/hello/c-link"] {
            XCTAssertEqual(try root.stat(link).st_ino, original.st_ino, "\(link) is a hardlink")
        }
        XCTAssertEqual(original.st_nlink, 3)
        XCTAssertNotEqual(try root.stat("/usr/lib/hello/between").st_ino, original.st_ino)
        XCTAssertEqual(try root.read("/usr/lib/hello/c-link"), "shared content\n")
        XCTAssertEqual(try root.read("/usr/lib/hello/between"), "between\n")

        XCTAssertEqual(try root.read("/usr/share/hello/data file with spaces.txt"), "spaces\n")
        XCTAssertEqual(try root.read("/usr/share/hello/grüße-日本.txt"), "non-ascii\n")
        XCTAssertEqual(try root.stat("/usr/share/hello/empty").st_size, 0)
        XCTAssertEqual(try root.read("/usr/bin/hello"), "#!/bin/sh\necho hello\n")
        XCTAssertEqual(try FileCapabilities.read(path: root.path + "/usr/bin/bind-tool"), "cap_net_bind_service=ep")
        XCTAssertFalse(root.exists("/var/log/hello.log"), "a ghost is owned but not installed")

        // rpm's own verification of every installed file against the header: digests, sizes, modes,
        // owners, mtimes, link targets, capabilities.
        let verify = try Tool.run(["rpm", "--root", root.path, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "hello"])
        XCTAssertEqual(verify.status, 0, verify.text)
        XCTAssertEqual(verify.stdout, "", verify.text)
        XCTAssertEqual(try root.rpm(["-q", "hello"]).stdout, "hello-1.2.3-4.x86_64\n")

        // Erase removes what the package owns and leaves directories it does not own.
        try root.rpm(["-e", "--nodeps", "hello"])
        XCTAssertFalse(root.exists("/usr/bin/hello"))
        XCTAssertFalse(root.exists("/usr/lib/hello"))
        XCTAssertFalse(root.exists("/etc/hello/plain.conf"))
        XCTAssertTrue(root.exists("/usr/bin"), "/usr/bin is not the package's to remove")
    }

    /// Scriptlets run in rpm's order with rpm's `$1`, and the upgrade-aware composition keeps the old
    /// package's removal hooks from running during an upgrade.
    func testUpgradeAndEraseRunHooksInOrderWithRpmArguments() throws {
        let root = try InstallRoot()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        func hooks(_ version: String, upgradeHooks: Bool) -> [ScriptHook: String] {
            var hooks: [ScriptHook: String] = [:]
            for hook in ScriptHook.allCases where upgradeHooks || (hook != .beforeUpgrade && hook != .afterUpgrade) {
                hooks[hook] = "echo \"\(version) \(hook.rawValue) $1\" >> /scripts.log\n"
            }
            return hooks
        }
        let fixture = try Fixture()
        try fixture.file("/usr/share/scripted/file", "v\n")
        var v1 = PackageSpec(name: "scripted", version: "1.0", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        v1.scripts = hooks("v1", upgradeHooks: false)
        var v2 = v1
        v2.version = "2.0"
        v2.scripts = hooks("v2", upgradeHooks: true)
        let pkg1 = try writePackage(v1, try fixture.manifest(), in: out.path)
        let pkg2 = try writePackage(v2, try fixture.manifest(), in: out.path)

        // --nodeps: the test root has a /bin/sh but no package providing it.
        try root.rpm(["-i", "--nodeps", pkg1])
        let afterInstall = try logLines(root)
        XCTAssertEqual(afterInstall.map(\.hookAndArg), [
            "v1 before-transaction", "v1 before-install 1", "v1 after-install 1", "v1 after-transaction",
        ])

        try root.rpm(["-U", "--nodeps", pkg2])
        XCTAssertEqual(try logLines(root).dropFirst(4).map(\.hookAndArg), [
            "v2 before-transaction", "v2 before-upgrade 2", "v2 after-upgrade 2", "v2 after-transaction",
        ], "the old package's before/after-remove must not run on upgrade")

        try root.rpm(["-e", "--nodeps", "scripted"])
        XCTAssertEqual(try logLines(root).dropFirst(8).map(\.hookAndArg), ["v2 before-remove 0", "v2 after-remove 0"])
        XCTAssertFalse(root.exists("/usr/share/scripted/file"))
    }

    private struct LogLine { var hookAndArg: String }

    /// The script log, with the argument dropped for transaction hooks (rpm passes none worth
    /// asserting there).
    private func logLines(_ root: InstallRoot) throws -> [LogLine] {
        try root.read("/scripts.log").split(separator: "\n").map { line in
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            let text = words[1].hasSuffix("-transaction") ? words[0...1].joined(separator: " ") : words.joined(separator: " ")
            return LogLine(hookAndArg: text)
        }
    }
}
