import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer image FILE`: images stacked from packages, judged by oci-image-tool, skopeo, umoci, runc,
/// dpkg-query and rpm.
final class ImageCommandTests: XCTestCase {
    var scratch: ScratchDirectory!
    var env: [String: String] = [:]

    override func setUpWithError() throws {
        try requireTool("umoci", "skopeo", "oci-image-tool", "dpkg-query", "jq")
        scratch = try ScratchDirectory(prefix: "pkglayer-image-cli")
        env = ["PKGLAYER_CACHE": scratch.path("cache"), "SOURCE_DATE_EPOCH": "1700000000"]
    }

    /// A .deb from a staged tree, made by `pkglayer package`.
    func makePackage(_ name: String, version: String = "1.0", format: String = "deb", files: [String: String],
                     extra: [String] = []) throws -> String {
        let root = try scratch.makeDirectory("trees/\(name)-\(version)-\(format)")
        for (path, content) in files {
            _ = try scratch.write("trees/\(name)-\(version)-\(format)\(path)", content, mode: path.contains("/bin/") ? 0o755 : 0o644)
        }
        let out = try scratch.makeDirectory("pkgs")
        let result = try CLI.ok(["package", "-s", "dir", "-t", format, "-n", name, "-v", version, "--license", "MIT", "-C", root,
                                 "-p", out, "-f"] + extra + ["."], environment: env)
        return try XCTUnwrap(Self.packagePath(result.stdoutText, format), result.stderrText)
    }

    /// The path in `pkglayer package`'s "Created deb package: PATH" line.
    static func packagePath(_ stdout: String, _ format: String) -> String? {
        stdout.split(separator: "\n").map(String.init).last { $0.hasSuffix(".\(format)") }
            .map { $0.components(separatedBy: ": ").last! }
    }

    func writeImageFile(_ name: String, _ text: String) throws -> String {
        try scratch.write("images/\(name)", text)
    }

    func manifestDigest(_ layout: String, tag: String) throws -> String {
        let out = try TestProcess.runChecked("skopeo", ["inspect", "oci:\(layout):\(tag)"])
        let json = try JSONSerialization.jsonObject(with: out.stdout) as! [String: Any]
        return json["Digest"] as! String
    }

    func layerDigests(_ layout: String, tag: String) throws -> [String] {
        let out = try TestProcess.runChecked("skopeo", ["inspect", "oci:\(layout):\(tag)"])
        let json = try JSONSerialization.jsonObject(with: out.stdout) as! [String: Any]
        return json["Layers"] as! [String]
    }

    func testADebImageIsValidAndEveryToolSeesItsPackages() throws {
        let demo = try makePackage("demo", files: ["/usr/bin/demo": "#!/bin/sh\necho demo\n", "/etc/demo.conf": "k=v\n"])
        let data = try makePackage("demo-data", version: "2.1", files: [
            "/usr/share/demo/data.txt": "data\n",
            "/usr/share/doc/demo-data/copyright": """
                Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
                Upstream-Name: demo-data

                Files: *
                Copyright: 2024 Demo
                License: MIT

                Files: data/*
                Copyright: 2024 Other
                License: CC0-1.0

                License: MIT
                 Permission is hereby granted...
                """,
        ])
        _ = try scratch.write("images/site/index.html", "<h1>hello</h1>\n")
        let file = try writeImageFile("demo.yml", """
            name: example/demo
            tag: "1.0"
            packages: [\(demo), \(data)]
            accounts:
              users: [{name: svc, uid: 1234, comment: "demo service"}]
            files:
              - {src: site, dest: /srv/www, owner: svc}
              - {src: site/index.html, dest: /srv/index.html, mode: "0600", owner: svc, group: svc}
            config:
              entrypoint: [/usr/bin/demo]
              env: {DEMO_MODE: production}
              workdir: /srv
              user: svc
              ports: [8080/tcp]
              stop-signal: SIGTERM
              labels: {team: demo}
              healthcheck: {test: [CMD, /usr/bin/demo], interval: 30s, retries: 3}
              author: Demo Team
            annotations: {org.opencontainers.image.source: "https://example.com/demo"}
            """)
        let out = scratch.path("out")
        let result = try CLI.ok(["image", "--context", scratch.path, file, "-o", out], environment: env)
        let layout = "\(out)/demo-1.0.oci"
        XCTAssertEqual(result.stdoutText.split(separator: "\n").map(String.init).sorted(),
                       ["\(out)/demo-1.0.docker.tar", "\(out)/demo-1.0.oci", "\(out)/demo-1.0.oci.tar", "\(out)/demo-1.0.spdx.json"])

        // The real consumers read all three outputs.
        let validate = try TestProcess.run("oci-image-tool", ["validate", "--type", "image", layout])
        XCTAssertTrue(validate.succeeded, validate.stderrText + validate.stdoutText)
        let digest = try manifestDigest(layout, tag: "1.0")
        let archive = try TestProcess.runChecked("skopeo", ["inspect", "oci-archive:\(out)/demo-1.0.oci.tar:1.0"])
        XCTAssertEqual((try JSONSerialization.jsonObject(with: archive.stdout) as! [String: Any])["Digest"] as? String, digest)
        let docker = try TestProcess.runChecked("skopeo", ["inspect", "--config", "docker-archive:\(out)/demo-1.0.docker.tar"])
        let dockerConfig = try JSONSerialization.jsonObject(with: docker.stdout) as! [String: Any]
        let history = (dockerConfig["history"] as! [[String: Any]]).compactMap { $0["created_by"] as? String }
        XCTAssertEqual(history, ["pkglayer: demo 1.0 (deb)", "pkglayer: demo-data 2.1 (deb)", "pkglayer: image files"])
        let config = dockerConfig["config"] as! [String: Any]
        XCTAssertEqual(config["Entrypoint"] as? [String], ["/usr/bin/demo"])
        XCTAssertEqual(config["User"] as? String, "svc")
        XCTAssertEqual(config["WorkingDir"] as? String, "/srv")
        XCTAssertEqual(config["StopSignal"] as? String, "SIGTERM")
        XCTAssertEqual((config["Env"] as? [String])?.last, "DEMO_MODE=production")
        XCTAssertNotNil((config["ExposedPorts"] as? [String: Any])?["8080/tcp"])
        let raw = try TestProcess.runChecked("skopeo", ["inspect", "--config", "--raw", "oci:\(layout):1.0"])
        let rawConfig = (try JSONSerialization.jsonObject(with: raw.stdout) as! [String: Any])["config"] as! [String: Any]
        XCTAssertEqual((rawConfig["Healthcheck"] as? [String: Any])?["Interval"] as? Int, 30_000_000_000, "docker's healthcheck is kept")
        XCTAssertEqual(dockerConfig["created"] as? String, "2023-11-14T22:13:20Z", "created comes from SOURCE_DATE_EPOCH")
        XCTAssertEqual(dockerConfig["author"] as? String, "Demo Team")

        // Inside: dpkg sees the packages; the accounts and files are there with their owners.
        let bundle = try RuncBundle.unpack(layout: layout, tag: "1.0", into: scratch.path("bundle"))
        let rootfs = bundle.rootfs
        let listed = try TestProcess.runChecked("dpkg-query", ["--admindir=\(rootfs)/var/lib/dpkg", "-W", "-f", "${Package} ${Version} ${Status}\n"])
        XCTAssertEqual(listed.stdoutText, "demo 1.0 install ok installed\ndemo-data 2.1 install ok installed\n")
        let owned = try TestProcess.runChecked("dpkg-query", ["--admindir=\(rootfs)/var/lib/dpkg", "-S", "/usr/share/demo/data.txt"])
        XCTAssertEqual(owned.stdoutText, "demo-data: /usr/share/demo/data.txt\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(rootfs)/var/lib/dpkg/status.d/demo"), "the distroless status.d fragment")
        let passwd = try String(contentsOfFile: "\(rootfs)/etc/passwd", encoding: .utf8)
        XCTAssertEqual(passwd, "root:x:0:0:root:/root:/bin/sh\nsvc:x:1234:1234:demo service:/nonexistent:/usr/sbin/nologin\n")
        XCTAssertEqual(try String(contentsOfFile: "\(rootfs)/etc/group", encoding: .utf8), "root:x:0:\nsvc:x:1234:\n")
        var st = stat()
        XCTAssertEqual(lstat("\(rootfs)/srv/index.html", &st), 0)
        XCTAssertEqual(st.st_uid, 1234)
        XCTAssertEqual(st.st_gid, 1234)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
        XCTAssertEqual(lstat("\(rootfs)/srv/www/index.html", &st), 0)
        XCTAssertEqual(st.st_uid, 1234)
        XCTAssertEqual(lstat("\(rootfs)/tmp", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o1777)

        // The SBOM lists each package with its version, license and the package file's digest.
        let sbom = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(out)/demo-1.0.spdx.json"))) as! [String: Any]
        XCTAssertEqual(sbom["spdxVersion"] as? String, "SPDX-2.3")
        let packages = (sbom["packages"] as! [[String: Any]]).filter { ($0["name"] as? String)?.hasPrefix("demo") == true }
        XCTAssertEqual(Set(packages.compactMap { $0["name"] as? String }), ["demo", "demo-data"])
        let licenses = Dictionary(uniqueKeysWithValues: packages.map { ($0["name"] as! String, $0["licenseDeclared"] as? String) })
        XCTAssertEqual(licenses["demo-data"], "MIT AND CC0-1.0", "from the machine-readable copyright file")
        XCTAssertEqual(licenses["demo"], "NOASSERTION", "no copyright file: nothing is guessed")
        let demoSHA = try TestProcess.runChecked("sha256sum", [demo]).stdoutText.prefix(64)
        let checksums = packages.flatMap { ($0["checksums"] as? [[String: Any]]) ?? [] }.compactMap { $0["checksumValue"] as? String }
        XCTAssertTrue(checksums.contains(String(demoSHA)), "\(checksums)")
    }

    func testTheSameInputsGiveTheSameDigestAndASharedPackageSharesItsLayer() throws {
        let common = try makePackage("common", files: ["/usr/share/common/a.txt": "shared\n"])
        let first = try makePackage("first", files: ["/usr/share/first/b.txt": "one\n"])
        let second = try makePackage("second", files: ["/usr/share/second/c.txt": "two\n"])
        let a = try writeImageFile("a.yml", "name: a\ntag: t\npackages: [\(common), \(first)]\n")
        let b = try writeImageFile("b.yml", "name: b\ntag: t\npackages: [\(common), \(second)]\n")

        _ = try CLI.ok(["image", "--context", scratch.path, a, "-o", scratch.path("out1")], environment: env)
        sleep(1)
        // Another directory, another cache, another time, another umask: the same image.
        var otherEnv = env
        otherEnv["PKGLAYER_CACHE"] = scratch.path("cache2")
        let elsewhere = try scratch.makeDirectory("elsewhere")
        _ = try CLI.ok(["image", "--context", scratch.path, a, "-o", scratch.path("out2")], in: elsewhere, environment: otherEnv, umask: "077")
        let d1 = try manifestDigest(scratch.path("out1/a-t.oci"), tag: "t")
        let d2 = try manifestDigest(scratch.path("out2/a-t.oci"), tag: "t")
        XCTAssertEqual(d1, d2)
        XCTAssertEqual(try TestProcess.runChecked("sha256sum", [scratch.path("out1/a-t.oci.tar")]).stdoutText.prefix(64),
                       try TestProcess.runChecked("sha256sum", [scratch.path("out2/a-t.oci.tar")]).stdoutText.prefix(64))
        XCTAssertEqual(try TestProcess.runChecked("sha256sum", [scratch.path("out1/a-t.docker.tar")]).stdoutText.prefix(64),
                       try TestProcess.runChecked("sha256sum", [scratch.path("out2/a-t.docker.tar")]).stdoutText.prefix(64))

        _ = try CLI.ok(["image", "--context", scratch.path, b, "-o", scratch.path("out3")], environment: env)
        let layersA = try layerDigests(scratch.path("out1/a-t.oci"), tag: "t")
        let layersB = try layerDigests(scratch.path("out3/b-t.oci"), tag: "t")
        XCTAssertEqual(layersA.count, 3)
        XCTAssertEqual(layersA[0], layersB[0], "the common package's layer is the same blob in both images")
        XCTAssertNotEqual(layersA[1], layersB[1])

        // A squashed image is one layer; a budget of 1 merges the packages and keeps the top layer apart.
        let squash = try writeImageFile("s.yml", "name: s\ntag: t\nlayering: squash\npackages: [\(common), \(first)]\n")
        _ = try CLI.ok(["image", "--context", scratch.path, squash, "-o", scratch.path("out4")], environment: env)
        XCTAssertEqual(try layerDigests(scratch.path("out4/s-t.oci"), tag: "t").count, 1)
        let budget = try writeImageFile("g.yml", "name: g\ntag: t\nlayering: {budget: 1}\npackages: [\(common), \(first), \(second)]\n")
        _ = try CLI.ok(["image", "--context", scratch.path, budget, "-o", scratch.path("out5")], environment: env)
        XCTAssertEqual(try layerDigests(scratch.path("out5/g-t.oci"), tag: "t").count, 2)
        let bundle = try RuncBundle.unpack(layout: scratch.path("out5/g-t.oci"), tag: "t", into: scratch.path("bundle5"))
        let listed = try TestProcess.runChecked("dpkg-query", ["--admindir=\(bundle.rootfs)/var/lib/dpkg", "-W", "-f", "${Package}\n"])
        XCTAssertEqual(listed.stdoutText, "common\nfirst\nsecond\n")
    }

    func testAnRPMImageHasAnRPMDatabaseThatRpmReads() throws {
        try requireTool("rpm")
        let own = try makePackage("tool", format: "rpm", files: ["/usr/bin/tool": "#!/bin/sh\necho tool\n"])
        // A .deb converted to .rpm with the fpm-style front door joins our own rpm.
        let deb = try makePackage("converted", version: "3.2", files: ["/usr/share/converted/readme": "from a deb\n"])
        let converted = try CLI.ok(["package", "-s", "deb", "-t", "rpm", "-p", scratch.path("pkgs"), "-f", deb], environment: env)
        let rpm = try XCTUnwrap(Self.packagePath(converted.stdoutText, "rpm"))
        let file = try writeImageFile("rpm.yml", "name: rpmimage\ntag: t\nformat: rpm\npackages: [\(own), \(rpm)]\n")
        _ = try CLI.ok(["image", "--context", scratch.path, file, "-o", scratch.path("out")], environment: env)
        let layout = scratch.path("out/rpmimage-t.oci")
        let validate = try TestProcess.run("oci-image-tool", ["validate", "--type", "image", layout])
        XCTAssertTrue(validate.succeeded, validate.stderrText + validate.stdoutText)
        let bundle = try RuncBundle.unpack(layout: layout, tag: "t", into: scratch.path("bundle"))
        let qa = try TestProcess.runChecked("rpm", ["--root", bundle.rootfs, "--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n"])
        XCTAssertEqual(qa.stdoutText.split(separator: "\n").sorted(), ["converted 3.2-1", "tool 1.0-1"])
        let owner = try TestProcess.runChecked("rpm", ["--root", bundle.rootfs, "--dbpath", "/var/lib/rpm", "-qf", "/usr/bin/tool", "--qf", "%{NAME}\n"])
        XCTAssertEqual(owner.stdoutText, "tool\n")
        let verify = try TestProcess.run("rpm", ["--root", bundle.rootfs, "--dbpath", "/var/lib/rpm", "-V", "tool"])
        XCTAssertEqual(verify.status, 0, "the unpacked files match the database: \(verify.stdoutText)\(verify.stderrText)")
    }

    func testAnImageOfAStaticBinaryRunsUnderRunc() throws {
        try requireTool("runc", "busybox")
        let busybox = try XCTUnwrap(TestProcess.which("busybox"))
        let root = try scratch.makeDirectory("trees/busybox")
        _ = try scratch.makeDirectory("trees/busybox/bin")
        try FileManager.default.copyItem(atPath: busybox, toPath: "\(root)/bin/busybox")
        _ = try scratch.symlink("trees/busybox/bin/sh", to: "busybox")
        let out = try scratch.makeDirectory("pkgs")
        let made = try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "busybox-static", "-v", "1.35.0", "-C", root,
                               "-p", out, "-f", "."], environment: env)
        let deb = try XCTUnwrap(Self.packagePath(made.stdoutText, "deb"))
        let file = try writeImageFile("bb.yml", """
            name: bb
            tag: t
            packages: [\(deb)]
            config: {entrypoint: [/bin/sh, -c], cmd: ["echo hello from $(cat /etc/hostname 2>/dev/null || echo the image)"]}
            """)
        _ = try CLI.ok(["image", "--context", scratch.path, file, "-o", scratch.path("out")], environment: env)
        let bundle = try RuncBundle.unpack(layout: scratch.path("out/bb-t.oci"), tag: "t", into: scratch.path("bundle"))
        try bundle.configure(args: ["/bin/sh", "-c", "echo hello from the image; ls /var/lib/dpkg/status.d"])
        let run = try bundle.run()
        XCTAssertEqual(run.status, 0, run.stderrText)
        XCTAssertEqual(run.stdoutText, "hello from the image\nbusybox-static\n")
    }

    /// A .deb of the host's static busybox, with /bin/sh: a shell for images that run scripts.
    func makeBusyboxPackage() throws -> String {
        let busybox = try XCTUnwrap(TestProcess.which("busybox"))
        let root = try scratch.makeDirectory("trees/busybox")
        _ = try scratch.makeDirectory("trees/busybox/bin")
        try FileManager.default.copyItem(atPath: busybox, toPath: "\(root)/bin/busybox")
        for applet in ["sh", "mkdir", "echo", "cat"] { _ = try scratch.symlink("trees/busybox/bin/\(applet)", to: "busybox") }
        let made = try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "busybox-static", "-v", "1.35.0", "-C", root,
                               "-p", try scratch.makeDirectory("pkgs"), "-f", "."], environment: env)
        return try XCTUnwrap(Self.packagePath(made.stdoutText, "deb"))
    }

    func testScriptsRunInASandboxOverTheImageAndBecomeOneLayer() throws {
        try requireTool("bwrap", "busybox")
        let shell = try makeBusyboxPackage()
        let hook = try scratch.write("hooks/postinst", "#!/bin/sh\nset -e\nmkdir -p /var/lib/app\necho \"configured with $1\" > /var/lib/app/state\n")
        let app = try makePackage("app", files: ["/usr/share/app/readme": "app\n"], extra: ["--after-install", hook])
        let file = try writeImageFile("scripts.yml", "name: withscripts\ntag: t\nscripts: run\npackages: [\(shell), \(app)]\n")
        let run = try CLI.ok(["image", "--context", scratch.path, file, "-o", scratch.path("out")], environment: env)
        XCTAssertFalse(run.stderrText.contains("warning"), run.stderrText)
        let layout = scratch.path("out/withscripts-t.oci")
        let config = try TestProcess.runChecked("skopeo", ["inspect", "--config", "oci:\(layout):t"])
        let history = ((try JSONSerialization.jsonObject(with: config.stdout) as! [String: Any])["history"] as! [[String: Any]])
            .compactMap { $0["created_by"] as? String }
        XCTAssertEqual(history.suffix(2), ["pkglayer: image files", "pkglayer: post-install scripts"])
        let bundle = try RuncBundle.unpack(layout: layout, tag: "t", into: scratch.path("bundle"))
        XCTAssertEqual(try String(contentsOfFile: "\(bundle.rootfs)/var/lib/app/state", encoding: .utf8), "configured with configure\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(bundle.rootfs)/.pkglayer-postinst"))
        // The host was not touched.
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/var/lib/app/state"))

        // Again: the same digest. A script that writes the time is reported.
        _ = try CLI.ok(["image", "--context", scratch.path, file, "-o", scratch.path("out2")], environment: env)
        XCTAssertEqual(try manifestDigest(layout, tag: "t"), try manifestDigest(scratch.path("out2/withscripts-t.oci"), tag: "t"))
        let clock = try scratch.write("hooks/clock", "#!/bin/sh\ncat /proc/sys/kernel/random/uuid > /var/lib/clock\n")
        let noisy = try makePackage("noisy", files: ["/usr/share/noisy/x": "x\n"], extra: ["--after-install", clock])
        let noisyFile = try writeImageFile("noisy.yml", "name: noisy\ntag: t\nscripts: run\npackages: [\(shell), \(noisy)]\n")
        let warned = try CLI.ok(["image", "--context", scratch.path, noisyFile, "-o", scratch.path("out3")], environment: env)
        XCTAssertTrue(warned.stderrText.contains("different things on a second run") && warned.stderrText.contains("/var/lib/clock"), warned.stderrText)

        // Without a shell, a script cannot run: a clear error.
        let shellless = try writeImageFile("noshell.yml", "name: noshell\ntag: t\nscripts: run\npackages: [\(app)]\n")
        let refused = try CLI.run(["image", "--context", scratch.path, shellless, "-o", scratch.path("out4")], environment: env)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderrText.contains("no /bin/sh"), refused.stderrText)
    }

    func testAnImageOnAnImportedRootfsExtendsItsAccountsAndPackageDatabase() throws {
        try requireTool("runc", "busybox", "tar")
        // A rootfs with a shell, an /etc/passwd and a dpkg status of its own, imported like `docker import`.
        let rootfs = try scratch.makeDirectory("rootfs")
        _ = try scratch.makeDirectory("rootfs/bin")
        try FileManager.default.copyItem(atPath: try XCTUnwrap(TestProcess.which("busybox")), toPath: "\(rootfs)/bin/busybox")
        for applet in ["sh", "cat", "id"] { _ = try scratch.symlink("rootfs/bin/\(applet)", to: "busybox") }
        _ = try scratch.write("rootfs/etc/passwd", "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n")
        _ = try scratch.write("rootfs/etc/group", "root:x:0:\ndaemon:x:1:\n")
        _ = try scratch.write("rootfs/var/lib/dpkg/status", """
            Package: base-files
            Status: install ok installed
            Priority: required
            Maintainer: Base <base@example.com>
            Architecture: amd64
            Version: 12.4
            Description: Debian base system miscellaneous files

            """)
        try TestProcess.runChecked("tar", ["-cf", scratch.path("rootfs.tar"), "-C", rootfs, "."])
        _ = try CLI.ok(["import", scratch.path("rootfs.tar"), "mybase:1"], environment: env)

        let app = try makePackage("app", files: ["/usr/share/app/readme": "app\n"])
        let file = try writeImageFile("onbase.yml", """
            name: onbase
            tag: t
            base: mybase:1
            packages: [\(app)]
            accounts: {users: [{name: svc}]}
            config: {cmd: [/bin/sh, -c, "id svc"]}
            """)
        _ = try CLI.ok(["image", "--context", scratch.path, file, "-o", scratch.path("out")], environment: env)
        let layout = scratch.path("out/onbase-t.oci")
        let validate = try TestProcess.run("oci-image-tool", ["validate", "--type", "image", layout])
        XCTAssertTrue(validate.succeeded, validate.stderrText + validate.stdoutText)
        let bundle = try RuncBundle.unpack(layout: layout, tag: "t", into: scratch.path("bundle"))
        let passwd = try String(contentsOfFile: "\(bundle.rootfs)/etc/passwd", encoding: .utf8)
        XCTAssertEqual(passwd, "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nsvc:x:999:999::/nonexistent:/usr/sbin/nologin\n")
        let listed = try TestProcess.runChecked("dpkg-query", ["--admindir=\(bundle.rootfs)/var/lib/dpkg", "-W", "-f", "${Package} ${Version}\n"])
        XCTAssertEqual(listed.stdoutText, "app 1.0\nbase-files 12.4\n", "the base's packages stay listed")
        try bundle.configure()
        let run = try bundle.run()
        XCTAssertEqual(run.status, 0, run.stderrText)
        XCTAssertEqual(run.stdoutText, "uid=999(svc) gid=999(svc) groups=999(svc)\n")
    }

    func testHostileAndWrongInputIsRefusedWithNothingWritten() throws {
        // A .deb whose data.tar climbs out of the root.
        let work = try scratch.makeDirectory("evil")
        _ = try scratch.write("evil/debian-binary", "2.0\n")
        _ = try scratch.write("evil/control/control", "Package: evil\nVersion: 1\nArchitecture: all\nMaintainer: x <x@y>\nDescription: evil\n")
        _ = try scratch.write("evil/payload/x", "boom\n")
        try TestProcess.runChecked("tar", ["-czf", "\(work)/control.tar.gz", "-C", "\(work)/control", "./control"])
        try TestProcess.runChecked("tar", ["-czf", "\(work)/data.tar.gz", "-C", "\(work)/payload", "--transform", "s,^x,../../escaped,", "x"])
        try TestProcess.runChecked("ar", ["rc", "\(work)/evil_1_all.deb", "\(work)/debian-binary", "\(work)/control.tar.gz", "\(work)/data.tar.gz"],
                                   in: work)
        let file = try writeImageFile("evil.yml", "name: evil\ntag: t\npackages: [\(work)/evil_1_all.deb]\n")
        let out = scratch.path("out")
        let refused = try CLI.run(["image", "--context", scratch.path, file, "-o", out], environment: env)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderrText.contains("evil_1_all.deb"), refused.stderrText)
        XCTAssertTrue(refused.stderrText.contains("escaped"), refused.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/evil-t.oci"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("escaped")))

        // A misspelled key: file:line:col and a suggestion.
        let typo = try writeImageFile("typo.yml", "name: t\npackges: [a.deb]\n")
        let bad = try CLI.run(["image", "--context", scratch.path, typo, "-o", out], environment: env)
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderrText.contains("typo.yml:2:1"), bad.stderrText)
        XCTAssertTrue(bad.stderrText.contains("did you mean 'packages'"), bad.stderrText)

        // An rpm in a deb image, a missing file, an unknown package without repositories.
        let rpm = try makePackage("tool", format: "rpm", files: ["/usr/bin/tool": "x"])
        let mixed = try writeImageFile("mixed.yml", "name: m\ntag: t\npackages: [\(rpm)]\n")
        let mix = try CLI.run(["image", "--context", scratch.path, mixed, "-o", out], environment: env)
        XCTAssertNotEqual(mix.status, 0)
        XCTAssertTrue(mix.stderrText.contains("image.packages[0]") && mix.stderrText.contains("format"), mix.stderrText)
        let missing = try writeImageFile("missing.yml", "name: m\ntag: t\npackages: [./nope.deb]\n")
        let miss = try CLI.run(["image", "--context", scratch.path, missing, "-o", out], environment: env)
        XCTAssertTrue(miss.stderrText.contains("missing.yml:3") && miss.stderrText.contains("does not exist"), miss.stderrText)
        let unknown = try writeImageFile("unknown.yml", "name: m\ntag: t\npackages: [libc6]\n")
        let unk = try CLI.run(["image", "--context", scratch.path, unknown, "-o", out], environment: env)
        XCTAssertTrue(unk.stderrText.contains("'libc6'") && unk.stderrText.contains("repositories"), unk.stderrText)
        // Without --context the image file's own directory is the context: the sibling rpm is refused.
        let confined = try CLI.run(["image", mixed, "-o", out], environment: env)
        XCTAssertEqual(confined.status, 1)
        XCTAssertTrue(confined.stderrText.contains("packages[0]: '\(rpm)' is outside the build context"),
                      confined.stderrText)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? [], [], "nothing is written for bad input")
    }
}
