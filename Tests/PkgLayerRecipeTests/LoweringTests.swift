import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

final class LoweringTests: XCTestCase {
    func testLoweringPerFormat() throws {
        let fx = try makeFullFixture()
        let r = try fx.load(fullRecipe)
        let sde = SourceDateEpoch(1_666_137_600)
        let rpm = try r.packages(for: .rpm, architecture: .x86_64, sourceDateEpoch: sde)
        let deb = try r.packages(for: .deb, architecture: .x86_64, sourceDateEpoch: sde)
        XCTAssertEqual(rpm.map(\.spec.name), ["nginx", "nginx-doc", "nginx-dev"])
        XCTAssertEqual(deb.map(\.spec.name), ["nginx", "nginx-doc", "nginx-dev"])

        let main = rpm[0].spec
        XCTAssertEqual(main.version, "1.22.1")
        XCTAssertEqual(main.release, "2")
        XCTAssertEqual(main.epoch, 1)
        XCTAssertEqual(main.architecture, .x86_64)
        XCTAssertEqual(main.summary, "Web server 1.22.1")
        XCTAssertEqual(main.license, "BSD-2-Clause")
        XCTAssertEqual(main.url, "https://nginx.org")
        XCTAssertEqual(main.maintainer, "Jane Doe <jane@example.org>")
        XCTAssertEqual(main.vendor, "Example")
        XCTAssertEqual(main.section, "httpd")
        XCTAssertEqual(main.priority, "optional")
        XCTAssertEqual(main.sourceDateEpoch, sde)

        // runtime plus the format's own list
        XCTAssertEqual(rpm[0].spec.depends.map(\.description), ["libfoo >= 1.2", "libc6 | glibc", "openssl-libs"])
        XCTAssertEqual(deb[0].spec.depends.map(\.description), ["libfoo >= 1.2", "libc6 | glibc", "libssl3 >= 3.0"])
        XCTAssertEqual(main.provides, [Dependency(name: "httpd", versionOperator: .equal, version: "1.22.1")])
        XCTAssertEqual(main.conflicts.map(\.name), ["apache2"])
        XCTAssertEqual(main.replaces.map(\.name), ["nginx-light"])
        XCTAssertEqual(main.recommends.map(\.name), ["logrotate"])
        XCTAssertEqual(main.suggests.map(\.name), ["nginx-doc"])
        XCTAssertFalse(rpm[0].automaticSharedLibraryDependencies)

        // scripts map onto Core's hooks; the accounts go first in pre-install and pre-upgrade
        XCTAssertEqual(Set(main.scripts.keys), [.beforeInstall, .afterInstall, .beforeRemove, .afterRemove, .beforeUpgrade, .afterUpgrade])
        let accounts = try XCTUnwrap(r.package.accounts.script())
        let lines = accounts.components(separatedBy: "\n")
        XCTAssertTrue(lines.contains("pkglayer_exists group 'nginx' || groupadd ${DPKG_ROOT:+--prefix \"$DPKG_ROOT\"} --system --gid 102 'nginx'"), accounts)
        XCTAssertTrue(lines.contains("pkglayer_exists passwd 'nginx' || useradd ${DPKG_ROOT:+--prefix \"$DPKG_ROOT\"} --system --uid 101 --gid 'nginx' --home-dir '/var/lib/nginx' --no-create-home --shell '/usr/sbin/nologin' --comment 'nginx user' 'nginx'"), accounts)
        XCTAssertEqual(main.scripts[.beforeInstall], accounts + "echo pre $1\n")
        XCTAssertEqual(main.scripts[.beforeUpgrade], accounts + "echo preup")
        XCTAssertEqual(main.scripts[.afterInstall], "#!/bin/sh\necho configured\n")
        XCTAssertEqual(main.scripts[.beforeRemove], "echo prerm")

        // subpackages inherit, override and pin to the main package
        let doc = rpm[1]
        XCTAssertEqual(doc.spec.architecture, .noarch)
        XCTAssertEqual(doc.spec.version, "1.22.1")
        XCTAssertEqual(doc.spec.release, "2")
        XCTAssertEqual(doc.spec.epoch, 1)
        XCTAssertEqual(doc.spec.summary, "Documentation")
        XCTAssertEqual(doc.spec.license, "BSD-2-Clause")
        XCTAssertEqual(doc.spec.maintainer, "Jane Doe <jane@example.org>")
        XCTAssertEqual(doc.spec.depends, [Dependency(name: "nginx", versionOperator: .equal, version: "1:1.22.1-2")])
        XCTAssertEqual(doc.spec.scripts, [.afterInstall: "echo doc"])
        XCTAssertEqual(doc.subpackageIndex, 0)
        XCTAssertTrue(doc.automaticSharedLibraryDependencies)
        let dev = rpm[2]
        XCTAssertEqual(dev.spec.architecture, .x86_64, "no arch: follows the main package")
        XCTAssertEqual(dev.spec.summary, "Web server 1.22.1", "no summary: the main package's")

        // who takes which file
        XCTAssertFalse(rpm[0].isSubpackage)
        XCTAssertTrue(rpm[0].owns("/usr/sbin/nginx"))
        XCTAssertFalse(rpm[0].owns("/usr/share/man/man8/nginx.8.gz"))
        XCTAssertTrue(doc.owns("/usr/share/man/man8/nginx.8.gz"))
        XCTAssertFalse(doc.owns("/usr/sbin/nginx"))
        XCTAssertTrue(dev.owns("/usr/include/nginx.h"))
        XCTAssertEqual(rpm[0].configFiles.map(\.pattern), ["/etc/nginx/*.conf"])
        XCTAssertEqual(rpm[2].attributes, r.package.attributes)
    }

    func testNativeArchitectureAndFixedArchitectureMismatch() throws {
        let fx = try RecipeFixture()
        let native = try fx.load("package: { name: aa, version: '1', summary: s }\n")
        XCTAssertEqual(try native.packages(for: .deb, architecture: .aarch64, sourceDateEpoch: SourceDateEpoch(0))[0].spec.architecture, .aarch64)
        let noarch = try fx.load("package: { name: aa, version: '1', summary: s, arch: all }\n")
        XCTAssertEqual(try noarch.packages(for: .deb, sourceDateEpoch: SourceDateEpoch(0))[0].spec.architecture, .noarch)
        let fixed = try fx.load("package: { name: aa, version: '1', summary: s, arch: amd64 }\n")
        XCTAssertEqual(try fixed.packages(for: .rpm, architecture: .x86_64, sourceDateEpoch: SourceDateEpoch(0))[0].spec.architecture, .x86_64)
        XCTAssertThrowsError(try fixed.packages(for: .rpm, architecture: .aarch64, sourceDateEpoch: SourceDateEpoch(0))) { error in
            XCTAssertTrue("\(error)".contains("is for x86_64 (package.arch) and cannot be built for aarch64"), "\(error)")
        }
    }

    func testDependenciesUseTheTargetArchitecture() throws {
        let fx = try RecipeFixture()
        let r = try fx.load("package: { name: aa, version: '1', summary: s, dependencies: { deb: [ \"libfoo-${{build.deb-arch}}\" ], rpm: [ \"libfoo(${{build.arch}})\" ] } }\n")
        XCTAssertEqual(try r.packages(for: .deb, architecture: .aarch64, sourceDateEpoch: SourceDateEpoch(0))[0].spec.depends.map(\.name), ["libfoo-arm64"])
        XCTAssertEqual(try r.packages(for: .rpm, architecture: .aarch64, sourceDateEpoch: SourceDateEpoch(0))[0].spec.depends.map(\.name), ["libfoo(aarch64)"])
    }

    func testAccountsWithoutScriptsAndWithAShebang() throws {
        let fx = try RecipeFixture()
        let r = try fx.load("""
            package:
              name: aa
              version: '1'
              summary: s
              accounts: { users: [ { name: svc, groups: [adm] } ] }
            """)
        let spec = try r.packages(for: .deb, sourceDateEpoch: SourceDateEpoch(0))[0].spec
        let script = try XCTUnwrap(spec.scripts[.beforeInstall])
        let lines = script.components(separatedBy: "\n").filter { $0.hasPrefix("pkglayer_exists ") }
        XCTAssertEqual(lines, [
            "pkglayer_exists group 'svc' || groupadd ${DPKG_ROOT:+--prefix \"$DPKG_ROOT\"} --system 'svc'",
            "pkglayer_exists group 'adm' || groupadd ${DPKG_ROOT:+--prefix \"$DPKG_ROOT\"} --system 'adm'",
            "pkglayer_exists passwd 'svc' || useradd ${DPKG_ROOT:+--prefix \"$DPKG_ROOT\"} --system --gid 'svc' --groups 'adm' --home-dir '/nonexistent' --no-create-home --shell '/usr/sbin/nologin' 'svc'",
        ])
        XCTAssertNil(spec.scripts[.beforeUpgrade], "without a pre-upgrade script, pre-install runs on upgrade too")
        XCTAssertEqual(Recipe.prepend("A\n", to: "#!/bin/bash -e\necho hi\n"), "#!/bin/bash -e\nA\necho hi\n")
        XCTAssertNil(Recipe.prepend("A\n", to: "#!/usr/bin/perl\nprint 1;\n"))
        let perl = try fx.load("""
            package:
              name: aa
              version: '1'
              summary: s
              accounts: { users: [ { name: svc } ] }
              scripts: { pre-install: "#!/usr/bin/perl\\nprint 1;\\n" }
            """)
        XCTAssertThrowsError(try perl.packages(for: .rpm, sourceDateEpoch: SourceDateEpoch(0))) { error in
            XCTAssertEqual((error as? PkgLayerError)?.location, "\(fx.path("recipe.yml")):6:27")
        }
    }

    /// The account lines really create users and groups, inside `$DPKG_ROOT` only, and run twice without harm.
    func testAccountScriptCreatesAccountsInsideDPKGRoot() throws {
        try requireCondition(getuid() == 0, "needs root (useradd writes the accounts into $DPKG_ROOT): run the tests as root")
        try requireTool("/usr/sbin/useradd")
        let fx = try RecipeFixture()
        let r = try fx.load("""
            package:
              name: aa
              version: '1'
              summary: s
              accounts:
                groups: [ { name: pkgl-grp, gid: 4242 } ]
                users: [ { name: pkgl-usr, uid: 4243, group: pkgl-grp, comment: "it's me" } ]
            """)
        let script = try XCTUnwrap(r.packages(for: .deb, sourceDateEpoch: SourceDateEpoch(0))[0].spec.scripts[.beforeInstall])
        try fx.write("root/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n")
        try fx.write("root/etc/group", "root:x:0:\n")
        try fx.write("root/etc/shadow", "root:*:19000:0:99999:7:::\n")
        try fx.write("root/etc/gshadow", "root:*::\n")
        let scriptPath = try fx.write("preinst", script)
        func run(root: String) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-e", scriptPath]
            p.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DPKG_ROOT": root]
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        XCTAssertEqual(try run(root: fx.path("root")), 0)
        XCTAssertEqual(try run(root: fx.path("root")), 0, "idempotent")
        let passwd = try String(contentsOfFile: fx.path("root/etc/passwd"), encoding: .utf8)
        XCTAssertTrue(passwd.contains("pkgl-usr:x:4243:4242:it's me:/nonexistent:/usr/sbin/nologin\n"), passwd)
        XCTAssertEqual(passwd.components(separatedBy: "pkgl-usr:").count, 2, "created once")
        XCTAssertTrue(try String(contentsOfFile: fx.path("root/etc/group"), encoding: .utf8).contains("pkgl-grp:x:4242:"))
        XCTAssertEqual(try run(root: fx.path("no-such-root")), 0, "a root without /etc/passwd is skipped")
        XCTAssertFalse(try String(contentsOfFile: "/etc/passwd", encoding: .utf8).contains("pkgl-usr:"), "the host is untouched")
    }
}
