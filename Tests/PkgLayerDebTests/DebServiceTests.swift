import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerDeb
import XCTest

/// `ServiceIntegration` in a .deb, run by the real dpkg: install, upgrade, remove and purge call
/// `deb-systemd-helper`, `deb-systemd-invoke` and `systemctl` stubs on PATH that record their calls,
/// with /run/systemd/system present (a tmpfs in a private mount namespace) or absent.
final class DebServiceTests: XCTestCase {
    /// A dpkg root plus a directory of recording stubs.
    final class ServiceRoot {
        let dpkgRoot: DpkgInstallTests.DpkgRoot
        let stubs: String
        var calls: String { dpkgRoot.dir.path + "/calls.log" }

        init() throws {
            dpkgRoot = try DpkgInstallTests.DpkgRoot()
            stubs = dpkgRoot.dir.path + "/stubs"
            try FileManager.default.createDirectory(atPath: stubs, withIntermediateDirectories: true)
            for tool in ["systemctl", "deb-systemd-helper", "deb-systemd-invoke", "update-rc.d", "invoke-rc.d"] {
                let path = stubs + "/" + tool
                try "#!/bin/sh\necho \"\(tool) $*\" >> '\(dpkgRoot.dir.path)/calls.log'\nexit 0\n"
                    .write(toFile: path, atomically: false, encoding: .utf8)
                chmod(path, 0o755)
            }
            _ = FileManager.default.createFile(atPath: calls, contents: Data())
        }

        /// dpkg in a private mount namespace whose /run is a fresh tmpfs, with /run/systemd/system when
        /// `systemd` (so the host's own /run never decides the outcome).
        @discardableResult
        func dpkg(_ args: [String], systemd: Bool, file: StaticString = #filePath, line: UInt = #line) throws -> Tool.Output {
            let setup = "mount -t tmpfs pkglayer-run /run" + (systemd ? " && mkdir -p /run/systemd/system" : "") + " && exec \"$@\""
            let unshare = geteuid() == 0 ? ["unshare", "-m"] : ["unshare", "-r", "-m"]
            let dpkg = ["dpkg", "--root=\(dpkgRoot.root)", "--force-script-chrootless", "--force-not-root", "--force-depends",
                        "--force-confdef", "--force-confold", "--no-debsig", "--log=\(dpkgRoot.dir.path)/dpkg.log"] + args
            let path = stubs + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
            return try Tool.check(unshare + ["sh", "-c", setup, "sh"] + dpkg, environment: ["PATH": path], file: file, line: line)
        }

        func takeCalls() throws -> [String] {
            let lines = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").map(String.init)
            _ = FileManager.default.createFile(atPath: calls, contents: Data())
            return lines
        }
    }

    private var keep: [Fixture] = []

    private func package(version: String, units: [ServiceUnit], root: ServiceRoot, userScripts: [ScriptHook: String] = [:]) throws -> String {
        let fx = try Fixture()
        keep.append(fx)
        try fx.file("/usr/sbin/hellod", "#!/bin/sh\necho \(version)\n", mode: 0o755)
        var spec = fx.spec(version: version)
        spec.architecture = .noarch
        spec.scripts = userScripts
        var resolved: [ServiceUnit] = []
        for unit in units {
            var u = unit
            let source = fx.path(ManifestPath.basename(of: unit.source))
            try "# \(unit.kind.rawValue) \(version)\n".write(toFile: source, atomically: false, encoding: .utf8)
            u.source = source
            resolved.append(u)
        }
        let manifest = try ServiceIntegration.apply(resolved, format: .deb, to: &spec, manifest: try fx.manifest())
        let out = root.dpkgRoot.dir.path + "/hello-\(version).deb"
        _ = try DebWriter().write(spec: spec, manifest: manifest, to: out)
        return out
    }

    func testSystemdInstallUpgradeRemovePurge() throws {
        let root = try ServiceRoot()
        let unit = ServiceUnit(kind: .systemd, source: "hellod.service")
        let user = [ScriptHook.afterInstall: "echo \"user after-install $1 $2\" >> '\(root.calls)'\n"]
        let v1 = try package(version: "1.0", units: [unit], root: root, userScripts: user)
        let v2 = try package(version: "2.0", units: [unit], root: root, userScripts: user)

        try root.dpkg(["-i", v1], systemd: true)
        XCTAssertEqual(try root.takeCalls(), [
            "user after-install configure ",
            "deb-systemd-helper unmask hellod.service",
            "deb-systemd-helper --quiet was-enabled hellod.service",
            "deb-systemd-helper enable hellod.service",
            "systemctl --system daemon-reload",
            "deb-systemd-invoke start hellod.service",
        ])
        XCTAssertEqual(try String(contentsOfFile: root.dpkgRoot.root + "/lib/systemd/system/hellod.service", encoding: .utf8), "# systemd 1.0\n")

        try root.dpkg(["-i", v2], systemd: true)
        XCTAssertEqual(try root.takeCalls(), [
            "user after-install configure 1.0-1",
            "deb-systemd-helper unmask hellod.service",
            "deb-systemd-helper --quiet was-enabled hellod.service",
            "deb-systemd-helper enable hellod.service",
            "systemctl --system daemon-reload",
            "deb-systemd-invoke restart hellod.service",
        ], "the user's install hook still runs on upgrade; the unit is restarted")

        try root.dpkg(["-r", "hello-pkglayer"], systemd: true)
        XCTAssertEqual(try root.takeCalls(), [
            "deb-systemd-invoke stop hellod.service",
            "deb-systemd-helper disable hellod.service",
            "systemctl --system daemon-reload",
        ])
        try root.dpkg(["-P", "hello-pkglayer"], systemd: true)
        XCTAssertEqual(try root.takeCalls(), ["deb-systemd-helper purge hellod.service", "deb-systemd-helper unmask hellod.service"])
    }

    func testNoEnableNoStartNoRestart() throws {
        let root = try ServiceRoot()
        let unit = ServiceUnit(kind: .systemd, source: "hellod.service", directory: "/usr/lib/systemd/system",
                               enable: false, start: false, restartAfterUpgrade: false)
        let v1 = try package(version: "1.0", units: [unit], root: root)
        let v2 = try package(version: "2.0", units: [unit], root: root)
        try root.dpkg(["-i", v1], systemd: true)
        XCTAssertEqual(try root.takeCalls(), [
            "deb-systemd-helper unmask hellod.service", "deb-systemd-helper update-state hellod.service",
            "systemctl --system daemon-reload",
        ])
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.dpkgRoot.root + "/usr/lib/systemd/system/hellod.service"))
        try root.dpkg(["-i", v2], systemd: true)
        XCTAssertEqual(try root.takeCalls(), [
            "deb-systemd-invoke stop hellod.service",
            "deb-systemd-helper unmask hellod.service", "deb-systemd-helper update-state hellod.service",
            "systemctl --system daemon-reload",
        ], "stopped before the upgrade, not started after it")
    }

    /// Without /run/systemd/system (an image, a chroot) nothing is called, but the files are installed.
    func testNothingRunsWithoutSystemd() throws {
        let root = try ServiceRoot()
        let v1 = try package(version: "1.0", units: [ServiceUnit(kind: .systemd, source: "hellod.service")], root: root)
        try root.dpkg(["-i", v1], systemd: false)
        try root.dpkg(["-r", "hello-pkglayer"], systemd: false)
        try root.dpkg(["-P", "hello-pkglayer"], systemd: false)
        XCTAssertEqual(try root.takeCalls(), [])
        try root.dpkg(["-i", v1], systemd: false)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.dpkgRoot.root + "/lib/systemd/system/hellod.service"))
        XCTAssertEqual(try root.takeCalls(), [])
    }

    func testSysVInitDefaultAndUpstart() throws {
        let root = try ServiceRoot()
        let units = [ServiceUnit(kind: .sysvInit, source: "hellod.init"), ServiceUnit(kind: .defaults, source: "hellod.default"),
                     ServiceUnit(kind: .upstart, source: "hellod.upstart")]
        let v1 = try package(version: "1.0", units: units, root: root)
        try root.dpkg(["-i", v1], systemd: true)
        XCTAssertEqual(try root.takeCalls(), ["update-rc.d hellod defaults", "invoke-rc.d hellod start"])
        var st = stat()
        XCTAssertEqual(stat(root.dpkgRoot.root + "/etc/init.d/hellod", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o755)
        XCTAssertEqual(try String(contentsOfFile: root.dpkgRoot.root + "/etc/default/hellod", encoding: .utf8), "# default 1.0\n")
        XCTAssertEqual(try String(contentsOfFile: root.dpkgRoot.root + "/etc/init/hellod.conf", encoding: .utf8), "# upstart 1.0\n")
        let conffiles = try Tool.check(["dpkg-query", "--admindir=\(root.dpkgRoot.admin)", "-W", "-f=${Conffiles}", "hello-pkglayer"]).stdout
        for path in ["/etc/init.d/hellod", "/etc/default/hellod", "/etc/init/hellod.conf"] {
            XCTAssertTrue(conffiles.contains(" \(path) "), conffiles)
        }
        try root.dpkg(["-P", "hello-pkglayer"], systemd: false)
        XCTAssertEqual(try root.takeCalls(), ["update-rc.d hellod remove"], "stop is guarded; the links go on purge")
    }

    func testNamesAndPaths() {
        XCTAssertEqual(ServiceUnit(kind: .systemd, source: "/x/hellod.service").installPath(format: .deb), "/lib/systemd/system/hellod.service")
        XCTAssertEqual(ServiceUnit(kind: .systemd, source: "/x/hellod.service").installPath(format: .rpm), "/usr/lib/systemd/system/hellod.service")
        XCTAssertEqual(ServiceUnit(kind: .systemd, source: "/x/hellod.timer").installPath(format: .deb), "/lib/systemd/system/hellod.timer")
        XCTAssertEqual(ServiceUnit(kind: .systemd, source: "/x/unit-file", name: "web").installPath(format: .deb), "/lib/systemd/system/web.service")
        XCTAssertEqual(ServiceUnit(kind: .sysvInit, source: "/x/hellod.init").installPath(format: .deb), "/etc/init.d/hellod")
        XCTAssertEqual(ServiceUnit(kind: .upstart, source: "/x/hellod").installPath(format: .deb), "/etc/init/hellod.conf")
        XCTAssertEqual(ServiceUnit(kind: .defaults, source: "/x/hellod.default").installPath(format: .deb), "/etc/default/hellod")
    }

    /// Every combination's scripts, as each format composes them, are valid shell (`sh -n`).
    func testEverySnippetParses() throws {
        let fx = try Fixture()
        var files: [String] = []
        for kind in ServiceUnit.Kind.allCases {
            let source = fx.path("svc-\(kind.rawValue)")
            try "x\n".write(toFile: source, atomically: false, encoding: .utf8)
            for flags in 0..<8 {
                for format in PackageFormat.allCases {
                    var spec = fx.spec()
                    spec.scripts = [.afterInstall: "#!/bin/bash\necho user\n", .beforeRemove: "echo user"]
                    let unit = ServiceUnit(kind: kind, source: source, name: "svc", enable: flags & 1 != 0, start: flags & 2 != 0,
                                           restartAfterUpgrade: flags & 4 != 0)
                    _ = try ServiceIntegration.apply([unit], format: format, to: &spec, manifest: try fx.manifest())
                    var texts = format == .deb ? Array(MaintainerScripts.deb(spec.scripts).values) : Array(MaintainerScripts.rpm(spec.scripts).values)
                    texts += spec.scripts.values
                    if let purge = spec.extras.debAfterPurge { texts.append(DebWriter.withPurge(nil, purge: purge)) }
                    for text in texts {
                        let file = fx.path("check-\(files.count).sh")
                        try text.write(toFile: file, atomically: false, encoding: .utf8)
                        files.append(file)
                    }
                }
            }
        }
        // One shell checks them all: it names each file that does not parse.
        let result = try Tool.run(["sh", "-c", "for f; do sh -n \"$f\" 2>&1 || echo \"BAD $f\"; done", "sh"] + files)
        XCTAssertFalse(result.stdout.contains("BAD"), result.stdout)
        XCTAssertGreaterThan(files.count, 200)
    }

    func testClashAndBadHook() throws {
        let fx = try Fixture()
        try fx.file("/lib/systemd/system/hellod.service", "mine\n")
        let source = fx.path("hellod.service")
        try "x\n".write(toFile: source, atomically: false, encoding: .utf8)
        var spec = fx.spec()
        XCTAssertThrowsError(try ServiceIntegration.apply([ServiceUnit(kind: .systemd, source: source)], format: .deb, to: &spec,
                                                          manifest: try fx.manifest())) { error in
            XCTAssertTrue("\(error)".contains("/lib/systemd/system/hellod.service"), "\(error)")
        }
        spec.scripts = [.afterInstall: "#!/usr/bin/perl\nprint 1;\n"]
        XCTAssertThrowsError(try ServiceIntegration.apply([ServiceUnit(kind: .systemd, source: source, directory: "/etc/systemd/system")],
                                                          format: .deb, to: &spec, manifest: try fx.manifest())) { error in
            XCTAssertTrue("\(error)".contains("after-install"), "\(error)")
        }
    }
}
