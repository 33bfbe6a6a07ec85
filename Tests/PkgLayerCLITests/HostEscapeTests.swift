import Foundation
import PkgLayerTestSupport
import XCTest

/// Issue 21: nothing pkglayer writes into a tree that untrusted content shaped (an image's unpacked
/// root, a build's dependency sysroot, its work directory) reaches the host. Each test is a finding's
/// reproduction, run with the real binary: a canary tree beside the work directories is compared
/// before and after (existence, type, mode, content, link target).
final class HostEscapeTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var env: [String: String] = [:]
    private var tmp: String!

    override func setUpWithError() throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-host-escape")
        tmp = try scratch.makeDirectory("tmp")
        env = ["PKGLAYER_CACHE": scratch.path("cache"), "SOURCE_DATE_EPOCH": "1700000000", "TMPDIR": tmp]
    }

    override func tearDown() { scratch = nil }

    // MARK: - The canary

    /// A host tree that hostile content aims at: a file (0600, "ORIGINAL"), a directory tree, a
    /// shell profile. Returned with its snapshot.
    private func makeCanary() throws -> (path: String, before: [String: String]) {
        let canary = try scratch.makeDirectory("canary")
        _ = try scratch.write("canary/victim", "ORIGINAL\n", mode: 0o600)
        _ = try scratch.write("canary/profile", "ORIGINAL\n", mode: 0o600)
        _ = try scratch.write("canary/tree/a", "a\n", mode: 0o644)
        _ = try scratch.write("canary/tree/sub/b", "b\n", mode: 0o640)
        _ = try scratch.symlink("canary/tree/link", to: "a")
        return (canary, try canarySnapshot(canary))
    }


    private func assertCanaryUntouched(_ canary: (path: String, before: [String: String]), file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try canarySnapshot(canary.path), canary.before, "the host canary changed", file: file, line: line)
    }

    private func assertTemporaryDirectoryEmpty(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? ["?"], [], "pkglayer left files in TMPDIR", file: file, line: line)
    }

    // MARK: - Packages

    private func package(_ name: String, format: String, tree: String, extra: [String] = []) throws -> String {
        let out = try scratch.makeDirectory("pkgs")
        let made = try CLI.ok(["package", "-s", "dir", "-t", format, "-n", name, "-v", "1.0", "--license", "MIT", "-C", tree,
                               "-p", out, "-f"] + extra + ["."], environment: env)
        let line = made.stdoutText.split(separator: "\n").map(String.init).last { $0.hasSuffix(".\(format)") }
        return try XCTUnwrap(line?.components(separatedBy: ": ").last, made.stderrText)
    }

    /// The host's static busybox as /bin/sh (and a few applets), packaged in `format`.
    private func busybox(_ format: String) throws -> String {
        let root = try scratch.makeDirectory("trees/busybox-\(format)/bin")
        try FileManager.default.copyItem(atPath: try XCTUnwrap(TestProcess.which("busybox")), toPath: "\(root)/busybox")
        for applet in ["sh", "mkdir", "echo", "cat"] { _ = try scratch.symlink("trees/busybox-\(format)/bin/\(applet)", to: "busybox") }
        return try package("busybox-static", format: format, tree: scratch.path("trees/busybox-\(format)"))
    }

    // MARK: - Image scripts over a hostile base

    /// A base (an OCI layout made with umoci) whose lower layer holds `x -> /` and whose upper layer
    /// has a member `x/<canary>/…`: a regular file over the canary's file, or over its directory.
    /// Unpacking the layers for `scripts: run` once removed the host file (or the whole host tree)
    /// through the link before the extractor refused the member. The base's own layer check refuses
    /// such a layer first now; `ImageScriptsUnpackTests` drives the unpacking itself.
    func testScriptsRunUnpackingAHostileBaseRemovesNothingOnTheHost() throws {
        try requireTool("umoci", "tar", "bwrap", "busybox")
        let canary = try makeCanary()
        let layout = scratch.path("base-layout")
        try TestProcess.runChecked("umoci", ["init", "--layout", layout])
        let link = try scratch.makeDirectory("layers/link")
        try FileManager.default.createSymbolicLink(atPath: "\(link)/x", withDestinationPath: "/")
        try TestProcess.runChecked("tar", ["--numeric-owner", "-cf", scratch.path("layers/link.tar"), "-C", link, "x"])
        _ = try scratch.write("layers/payload/f", "EVIL\n")
        let shell = try busybox("deb")
        let hostPath = String(canary.path.dropFirst())
        for (tag, target) in [("file", "victim"), ("tree", "tree")] {
            try TestProcess.runChecked("tar", ["--numeric-owner", "-cf", scratch.path("layers/\(tag).tar"), "-C", scratch.path("layers/payload"),
                                               "--transform", "s|^f$|x/\(hostPath)/\(target)|", "f"])
            try TestProcess.runChecked("umoci", ["new", "--image", "\(layout):\(tag)"])
            try TestProcess.runChecked("umoci", ["raw", "add-layer", "--image", "\(layout):\(tag)", scratch.path("layers/link.tar")])
            try TestProcess.runChecked("umoci", ["raw", "add-layer", "--image", "\(layout):\(tag)", scratch.path("layers/\(tag).tar")])
            let file = try scratch.write("images/\(tag).yml", """
                name: hostile
                tag: \(tag)
                base: oci-layout:\(layout):\(tag)
                scripts: run
                packages: [\(shell)]
                """)
            let out = scratch.path("out-\(tag)")
            let started = Date()
            let result = try CLI.run(["image", "--context", scratch.path, file, "-o", out], environment: env)
            XCTAssertLessThan(Date().timeIntervalSince(started), 300, "bounded")
            XCTAssertEqual(result.status, 1, result.stderrText)
            // Refused by the base's layer check, or (were it to pass) by the scripts' unpacking: either
            // way the member is named with the link it would pass through, before anything is removed.
            XCTAssertTrue(result.stderrText.contains("member 'x/\(hostPath)/\(target)'"), result.stderrText)
            XCTAssertTrue(result.stderrText.contains("made a symlink to '/'") || result.stderrText.contains("'x', which is not a real directory"),
                          result.stderrText)
            XCTAssertTrue(result.stderrText.contains("layer 2 of"), result.stderrText)
            XCTAssertFalse(FileManager.default.fileExists(atPath: "\(out)/hostile-\(tag).oci"), "nothing under the output's final name")
            try assertCanaryUntouched(canary)
            assertTemporaryDirectoryEmpty()
        }
    }

    /// An rpm that ships `/.pkglayer-postinst -> <canary>/profile`: writing each rpm script to that
    /// path (and its chmod 0755) once followed the link and made the host file the package's script.
    /// Now the link is replaced inside the root, the script runs in the sandbox, the host is untouched.
    func testAnRpmSymlinkAtTheScriptPathDoesNotRedirectTheScriptOntoTheHost() throws {
        try requireTool("bwrap", "busybox", "umoci", "rpm")
        let canary = try makeCanary()
        let shell = try busybox("rpm")
        let tree = try scratch.makeDirectory("trees/evil")
        _ = try scratch.write("trees/evil/usr/share/evil/readme", "evil\n")
        try FileManager.default.createSymbolicLink(atPath: "\(tree)/.pkglayer-postinst", withDestinationPath: "\(canary.path)/profile")
        let hook = try scratch.write("hooks/postinst", "#!/bin/sh\nmkdir -p /var/lib/evil\necho \"ran with $1\" > /var/lib/evil/state\n")
        let evil = try package("evil", format: "rpm", tree: tree, extra: ["--after-install", hook])
        let listed = try TestProcess.runChecked("rpm", ["-qlp", evil]).stdoutText
        XCTAssertTrue(listed.contains("/.pkglayer-postinst"), "the package really ships the link: \(listed)")

        let file = try scratch.write("images/evil.yml", "name: evil\ntag: t\nformat: rpm\nscripts: run\npackages: [\(shell), \(evil)]\n")
        let result = try CLI.run(["image", "--context", scratch.path, file, "-o", scratch.path("out")], environment: env)
        XCTAssertEqual(result.status, 0, result.stderrText)
        try assertCanaryUntouched(canary)
        assertTemporaryDirectoryEmpty()

        // The script did run, inside the image.
        let bundle = try RuncBundle.unpack(layout: scratch.path("out/evil-t.oci"), tag: "t", into: scratch.path("bundle"))
        XCTAssertEqual(try String(contentsOfFile: "\(bundle.rootfs)/var/lib/evil/state", encoding: .utf8), "ran with 1\n")
    }

    // MARK: - Merging build dependencies

    private func recipe(_ name: String, requires: [String] = [], run: String) throws -> String {
        _ = try scratch.write("recipes/files/data.txt", "payload\n")
        let needs = requires.isEmpty ? "" : "  requires:\n    recipes: [\(requires.joined(separator: ", "))]\n"
        return try scratch.write("recipes/\(name).yml", """
            package:
              name: \(name)
              version: "1.0"
              summary: \(name) of the host-escape test
              arch: noarch
              source-date-epoch: 1700000000
            sources:
              - path: files/data.txt
            build:
            \(needs)  steps:
                - run: |
            \(run.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))

            """)
    }

    /// Recipe dep-a ships `/usr/share/x/conf -> <canary>/victim` (and an absolute library link), dep-b
    /// ships a regular file at the same path; app-c builds against both. `cp -a` once wrote b's bytes through a's
    /// link onto the host file. Now b's file replaces the link in the sysroot, and a's absolute link
    /// resolves inside the sysroot.
    func testMergingBuildDependenciesNeverWritesThroughAPackagesSymlink() throws {
        try requireTool("bwrap", "rpm")
        let canary = try makeCanary()
        _ = try recipe("dep-a", run: """
            mkdir -p ${{targets.destdir}}/usr/share/x ${{targets.destdir}}/usr/lib
            ln -s \(canary.path)/victim ${{targets.destdir}}/usr/share/x/conf
            echo lib-a > ${{targets.destdir}}/usr/lib/liba.so.1
            ln -s /usr/lib/liba.so.1 ${{targets.destdir}}/usr/lib/liba.so
            """)
        _ = try recipe("dep-b", run: """
            mkdir -p ${{targets.destdir}}/usr/share/x
            echo from-b > ${{targets.destdir}}/usr/share/x/conf
            """)
        let c = try recipe("app-c", requires: ["dep-a.yml", "dep-b.yml"], run: """
            test "$(cat /build/deps/usr/share/x/conf)" = from-b
            test "$(cat /build/deps/usr/lib/liba.so)" = lib-a
            test "$(readlink /build/deps/usr/lib/liba.so)" = liba.so.1
            mkdir -p ${{targets.destdir}}/usr/share/c && echo ok > ${{targets.destdir}}/usr/share/c/ok
            """)
        let result = try CLI.run(["build", c, "-o", scratch.path("out"), "--offline", "--no-image"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderrText)
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path("out/app-c-1.0-1.noarch.rpm")), "c built: its checks of the sysroot held")
        try assertCanaryUntouched(canary)
        assertTemporaryDirectoryEmpty()
    }

    /// A package's symlink to a host directory where a later dependency has a directory: merged, it
    /// would have put files into the host directory. It is refused, naming both sides.
    func testADependencyDirectoryOverAnotherDependencysSymlinkIsRefused() throws {
        try requireTool("bwrap", "rpm")
        let canary = try makeCanary()
        _ = try recipe("linker", run: """
            mkdir -p ${{targets.destdir}}/usr/share
            ln -s \(canary.path)/tree ${{targets.destdir}}/usr/share/y
            """)
        _ = try recipe("filler", run: """
            mkdir -p ${{targets.destdir}}/usr/share/y
            echo planted > ${{targets.destdir}}/usr/share/y/planted
            """)
        let user = try recipe("user", requires: ["linker.yml", "filler.yml"], run: "true")
        let result = try CLI.run(["build", user, "-o", scratch.path("out"), "--offline", "--no-image"], environment: env)
        XCTAssertEqual(result.status, 1, result.stderrText)
        XCTAssertTrue(result.stderrText.contains("filler-1.0-1.noarch.rpm has a directory at /usr/share/y, where a build dependency merged before it has a symlink"),
                      result.stderrText)
        XCTAssertTrue(result.stderrText.contains("Make the packages agree on /usr/share/y"), result.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out/user-1.0-1.noarch.rpm")))
        try assertCanaryUntouched(canary)
        assertTemporaryDirectoryEmpty()
    }

    // MARK: - The work directory

    /// A source tarball with a setuid-root file and a setgid directory; a step installs a setuid
    /// program into DESTDIR. The kept work directory is private (0700 at every level pkglayer makes),
    /// the source tree has no special bits, and the package keeps the mode its install declared.
    func testTheBuildWorkspaceIsPrivateAndTheSourceTreeHasNoSetuidFiles() throws {
        try requireTool("bwrap", "rpm", "tar")
        let staged = try scratch.makeDirectory("tarball/tool-1.0/bin")
        try scratch.makeDirectory("recipes/files")
        _ = try scratch.write("tarball/tool-1.0/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o4755)
        try FileManager.default.setAttributes([.posixPermissions: 0o2755], ofItemAtPath: staged)
        try TestProcess.runChecked("tar", ["--numeric-owner", "-czf", scratch.path("recipes/files/tool-1.0.tar.gz"), "-C", scratch.path("tarball"), "tool-1.0"])
        let recipe = try scratch.write("recipes/tool.yml", """
            package:
              name: tool
              version: "1.0"
              summary: a setuid tool
              arch: noarch
              source-date-epoch: 1700000000
            sources:
              - path: files/tool-1.0.tar.gz
            build:
              steps:
                - run: |
                    install -D -m 4755 bin/tool ${{targets.destdir}}/usr/bin/tool

            """)
        let result = try CLI.run(["build", recipe, "-o", scratch.path("out"), "--offline", "--no-image", "--keep-work-dir"], environment: env)
        XCTAssertEqual(result.status, 0, result.stderrText)
        let note = try XCTUnwrap(result.stderrText.split(separator: "\n").first { $0.contains("build directory: ") }, result.stderrText)
        let workdir = String(note[note.range(of: "build directory: ")!.upperBound...]).trimmingCharacters(in: .whitespaces)
        XCTAssertTrue(workdir.hasPrefix(tmp), workdir)
        defer { try? FileManager.default.removeItem(atPath: workdir) }
        func mode(_ path: String) -> mode_t {
            var st = stat()
            return lstat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o17777
        }
        for dir in ["", "/src", "/destdir", "/home"] { XCTAssertEqual(mode(workdir + dir), 0o700, "\(workdir)\(dir) is private") }
        XCTAssertEqual(mode("\(workdir)/src/bin/tool"), 0o755, "no setuid in the source tree")
        XCTAssertEqual(mode("\(workdir)/src/bin") & 0o7000, 0, "no setgid in the source tree")
        XCTAssertEqual(mode("\(workdir)/destdir/usr/bin/tool"), 0o4755, "DESTDIR keeps what the install declared")
        let dump = try TestProcess.runChecked("rpm", ["-qp", "--dump", scratch.path("out/tool-1.0-1.noarch.rpm")]).stdoutText
        XCTAssertTrue(dump.contains("/usr/bin/tool ") && dump.contains(" 0104755 "), dump)
    }
}
