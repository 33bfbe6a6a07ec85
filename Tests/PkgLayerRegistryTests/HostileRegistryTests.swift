import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerOCI
@testable import PkgLayerRegistry
import PkgLayerTestSupport
import XCTest

/// `pkglayer pull` and registry bases against a registry that is hostile (issue 21): layers with
/// `../` names, device nodes, a file beneath a symlink or a dangling hardlink; answers that drip or
/// stall; redirect loops; redirects and token realms that would take credentials to plain HTTP.
/// Each refusal: a clear error naming the reference, layer digest, member or URL, exit 1, within a
/// bounded time, nothing under the output's final names, nothing left in TMPDIR, and none of the
/// image's blobs in the store.
final class HostileRegistryTests: XCTestCase {
    typealias Member = HostileImage.Member

    /// What one bounded run of the CLI did.
    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
        var seconds: Double
    }

    /// Runs pkglayer and kills it (failing the test) if it runs past `seconds`: a hang fails, it does not block CI.
    func pkglayer(_ arguments: [String], environment: [String: String], seconds: Double = 120,
                  file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RegistryCLITests.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        let started = Date()
        try process.run()
        final class Box: @unchecked Sendable { var out = Data(), err = Data() }   // each field written by one thread, read after both finish
        let box = Box(), group = DispatchGroup()
        DispatchQueue.global().async(group: group) { box.out = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { box.err = err.fileHandleForReading.readDataToEndOfFile() }
        if exited.wait(timeout: .now() + seconds) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            exited.wait()
            XCTFail("pkglayer \(arguments.joined(separator: " ")) still ran after \(seconds) s: it hangs", file: file, line: line)
        }
        group.wait()
        return Run(status: process.terminationStatus, stdout: String(decoding: box.out, as: UTF8.self),
                   stderr: String(decoding: box.err, as: UTF8.self), seconds: Date().timeIntervalSince(started))
    }

    /// A scratch with a docker config (no credentials), a store, and a fresh TMPDIR per run.
    final class Workspace {
        let scratch: ScratchDirectory
        var cache: String { scratch.path("cache") }
        private var runs = 0

        init() throws { scratch = try ScratchDirectory(prefix: "pkglayer-hostile") }

        /// The environment of one run, with its own empty TMPDIR (returned so the test can check it stays empty).
        func environment(_ extra: [String: String] = [:]) throws -> (environment: [String: String], tmp: String) {
            runs += 1
            let tmp = try scratch.makeDirectory("tmp-\(runs)")
            let base = ["TMPDIR": tmp, "PKGLAYER_CACHE": cache, "DOCKER_CONFIG": try scratch.makeDirectory("docker-\(runs)")]
            return (base.merging(extra) { _, new in new }, tmp)
        }

        /// Files under the cache whose names are blobs of `image`: what the store holds of it.
        func stored(_ digests: [Digest]) -> [String] {
            let hexes = Set(digests.map(\.hex))
            return filesUnder(cache).filter { hexes.contains(($0 as NSString).lastPathComponent) }
        }
    }

    static let plain = ["--insecure", "--retries", "1"]

    func assertRefused(_ run: Run, mentions: [String], tmp: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(run.status, 1, "exit status; stderr: \(run.stderr)", file: file, line: line)
        for mention in mentions {
            XCTAssertTrue(run.stderr.contains(mention), "'\(mention)' missing from: \(run.stderr)", file: file, line: line)
        }
        XCTAssertEqual(contentsUnder(tmp), [], "TMPDIR keeps litter", file: file, line: line)
        XCTAssertEqual(run.stdout, "", "a refused pull prints no result", file: file, line: line)
    }

    // MARK: - Layers

    /// The hostile layers: (name, layers bottom first, the member named in the error, the rule's words).
    static let hostileLayers: [(String, [[Member]], String, String)] = [
        ("dotdot", [[.dir("etc"), .file("../escape")]], "'../escape'", "'..'"),
        ("absolute", [[.file("/etc/cron.d/evil")]], "'/etc/cron.d/evil'", "absolute"),
        ("device", [[.dir("dev"), .node("dev/mem", "char")]], "'dev/mem'", "character device"),
        ("blockdevice", [[.node("sda", "block")]], "'sda'", "block device"),
        ("fifo", [[.node("run.pipe", "fifo")]], "'run.pipe'", "fifo"),
        ("symlink-then-file", [[.symlink("etc", to: "/tmp/host-etc"), .file("etc/passwd", "root::0:0::/:/bin/sh\n")]],
         "'etc/passwd'", "beneath 'etc'"),
        ("symlink-in-a-lower-layer", [[.symlink("app", to: "../../../host")], [.file("app/payload")]],
         "'app/payload'", "beneath 'app'"),
        ("hardlink-outside", [[.file("etc/hosts"), .hardlink("etc/shadow", to: "../../etc/shadow")]], "'../../etc/shadow'", "'..'"),
        ("hardlink-to-nothing", [[.hardlink("bin/sh", to: "etc/shadow")]], "'bin/sh'", "no earlier member"),
    ]

    /// Each hostile layer, pulled into the store and into a layout: refused, naming the reference,
    /// the layer digest and the member; nothing stored, no layout, TMPDIR empty.
    func testPullRefusesHostileLayersAndStoresNothing() throws {
        let server = try HostileRegistry()
        let work = try Workspace()
        var routes: [HostileRegistry.Route] = [HostileRegistry.Route(path: "/v2/")]
        var images: [String: HostileImage] = [:]
        for (name, layers, _, _) in Self.hostileLayers {
            let image = try HostileImage(layers: layers, at: work.scratch.path("images/\(name)"))
            images[name] = image
            routes += HostileRegistry.routes(serving: image, as: "hostile/\(name)", tag: "1")
        }
        try server.set(routes)

        for (name, layers, member, rule) in Self.hostileLayers {
            let image = images[name]!
            let reference = "\(server.host)/hostile/\(name):1"
            // The member's layer: the topmost one (every case's culprit is in its last layer).
            let layer = image.layerDigests[layers.count - 1].description
            let (env, tmp) = try work.environment()
            let pulled = try pkglayer(["pull", reference] + Self.plain, environment: env)
            assertRefused(pulled, mentions: [reference, layer, member, rule], tmp: tmp)
            let layout = work.scratch.path("out-\(name)/layout")
            try FileManager.default.createDirectory(atPath: (layout as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let (env2, tmp2) = try work.environment()
            let toLayout = try pkglayer(["pull", reference, "-o", "oci:\(layout):x"] + Self.plain, environment: env2)
            assertRefused(toLayout, mentions: [reference, layer, member], tmp: tmp2)
            XCTAssertEqual(contentsUnder((layout as NSString).deletingLastPathComponent), [], "\(name): the pull left files beside the layout")
            XCTAssertEqual(work.stored(image.blobDigests + [image.manifestDigest]), [], "\(name): the store holds blobs of the refused image")
        }
        let images_ = try pkglayer(["images"], environment: try work.environment().environment)
        XCTAssertFalse(images_.stdout.contains("hostile/"), images_.stdout)
        // Every blob was served: the refusals came from reading the layers, not from a failed download.
        XCTAssertTrue(server.requests.contains { $0.path.contains("/blobs/\(images["hardlink-to-nothing"]!.layerDigests[0])") })
    }

    /// The same rules let real images through: a symlink replaced by a directory or whited out, a
    /// hardlink to a lower layer's file, an opaque directory, absolute and `..` symlink targets. The
    /// pulled image is stored, and an image builds on it as a registry base.
    func testPullAndBaseAcceptWellFormedLayersWithSymlinksWhiteoutsAndHardlinks() throws {
        let server = try HostileRegistry()
        let work = try Workspace()
        let image = try HostileImage(layers: [
            [.dir("etc"), .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"), .symlink("lib", to: "usr/lib"), .dir("usr"), .dir("usr/lib"),
             .file("usr/lib/libc.so", "elf"), .hardlink("usr/lib/libc.so.6", to: "usr/lib/libc.so"), .symlink("bin", to: "/usr/bin"),
             .symlink("usr/lib/up", to: "../../../../.."), .dir("var"), .dir("var/cache"), .symlink("var/cache/link", to: "/"), .dir("usr/bin")],
            [.file(".wh.lib", ""), .dir("lib"), .file("lib/fresh"), .hardlink("usr/bin/libc-copy", to: "usr/lib/libc.so"),
             .file("var/cache/.wh..wh..opq", ""), .dir("var/cache/link"), .file("var/cache/link/inside")],
        ], at: work.scratch.path("images/good"))
        try server.set([HostileRegistry.Route(path: "/v2/")] + HostileRegistry.routes(serving: image, as: "good/os", tag: "1"))
        let reference = "\(server.host)/good/os:1"
        let (env, _) = try work.environment()
        let pulled = try pkglayer(["pull", reference] + Self.plain, environment: env)
        XCTAssertEqual(pulled.status, 0, pulled.stderr)
        XCTAssertEqual(pulled.stdout, "\(reference) \(image.manifestDigest)\n")

        // An image on it as `base:` (from the store, as pulled).
        try requireTool("dpkg-deb")
        let (buildEnv, buildTmp) = try work.environment()
        _ = try work.scratch.write("tree/usr/share/app/readme", "app\n")
        try TestProcess.runChecked(RegistryCLITests.binary, ["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "-C", work.scratch.path("tree"),
                                                             "-p", work.scratch.path("img/"), "."], environment: buildEnv)
        let arch = Architecture.native.deb
        _ = try work.scratch.write("img/app.yml", "name: app\ntag: \"1\"\nbase: \(reference)\npackages: [./app_1.0_\(arch).deb]\n")
        let built = try pkglayer(["image", work.scratch.path("img/app.yml"), "-o", work.scratch.path("out")] + Self.plain, environment: buildEnv)
        XCTAssertEqual(built.status, 0, built.stderr)
        XCTAssertEqual(contentsUnder(buildTmp), [], "TMPDIR keeps litter")
    }

    /// A hostile image as a registry `base:`: the build fails naming the base, layer and member; no
    /// image under the output folder's names, none of its blobs in the store, TMPDIR empty.
    func testARegistryBaseWithHostileLayersFailsTheBuild() throws {
        try requireTool("dpkg-deb")
        let server = try HostileRegistry()
        let work = try Workspace()
        let cases = Self.hostileLayers.filter { ["dotdot", "device", "symlink-in-a-lower-layer", "hardlink-to-nothing"].contains($0.0) }
        var routes: [HostileRegistry.Route] = [HostileRegistry.Route(path: "/v2/")]
        var images: [String: HostileImage] = [:]
        for (name, layers, _, _) in cases {
            images[name] = try HostileImage(layers: layers, at: work.scratch.path("images/\(name)"))
            routes += HostileRegistry.routes(serving: images[name]!, as: "base/\(name)", tag: "1")
        }
        try server.set(routes)
        let (packEnv, _) = try work.environment()
        _ = try work.scratch.write("tree/usr/share/app/readme", "app\n")
        try TestProcess.runChecked(RegistryCLITests.binary, ["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "-C", work.scratch.path("tree"),
                                                             "-p", work.scratch.path("img/"), "."], environment: packEnv)
        let arch = Architecture.native.deb
        for (name, layers, member, rule) in cases {
            let image = images[name]!
            let reference = "\(server.host)/base/\(name):1"
            _ = try work.scratch.write("img/\(name).yml", "name: app\ntag: \"1\"\nbase: \(reference)\npackages: [./app_1.0_\(arch).deb]\n")
            let out = work.scratch.path("out-\(name)")
            let (env, tmp) = try work.environment()
            let built = try pkglayer(["image", work.scratch.path("img/\(name).yml"), "-o", out] + Self.plain, environment: env)
            assertRefused(built, mentions: [reference, image.layerDigests[layers.count - 1].description, member, rule], tmp: tmp)
            XCTAssertEqual((contentsUnder(out) ?? []).filter { !$0.hasSuffix(".lock.json") }, [], "\(name): the build wrote outputs")
            XCTAssertEqual(work.stored(image.blobDigests + [image.manifestDigest]), [], "\(name): the store holds blobs of the refused base")
        }
    }

    /// A lockfile that pins a registry base at a digest whose layers are hostile: pulled by digest and
    /// refused with the layer's error (not "could not be pulled; make the registry reachable").
    func testAPinnedRegistryBaseWithHostileLayersIsRefusedAsSuch() throws {
        try requireTool("dpkg-deb")
        let server = try HostileRegistry()
        let work = try Workspace()
        let good = try HostileImage(layers: [[.dir("etc"), .file("etc/os-release", "ID=test\n")]], at: work.scratch.path("images/good"))
        let evil = try HostileImage(layers: [[.symlink("etc", to: "/etc")], [.file("etc/cron.d/job", "* * * * * root sh\n")]],
                                    at: work.scratch.path("images/evil"))
        try server.set([HostileRegistry.Route(path: "/v2/")] + HostileRegistry.routes(serving: good, as: "pin/os", tag: "1")
                       + HostileRegistry.routes(serving: evil, as: "pin/os", tag: "unused"))
        let (env, tmp) = try work.environment()
        _ = try work.scratch.write("tree/usr/share/app/readme", "app\n")
        try TestProcess.runChecked(RegistryCLITests.binary, ["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "-C", work.scratch.path("tree"),
                                                             "-p", work.scratch.path("img/"), "."], environment: env)
        let reference = "\(server.host)/pin/os:1"
        _ = try work.scratch.write("img/app.yml", "name: app\ntag: \"1\"\nbase: \(reference)\npackages: [./app_1.0_\(Architecture.native.deb).deb]\n")
        let first = try pkglayer(["image", work.scratch.path("img/app.yml"), "-o", work.scratch.path("out")] + Self.plain, environment: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        // The lockfile now pins the good digest; a tampered one pins the hostile image's.
        let locked = try String(contentsOfFile: work.scratch.path("out/app.lock.json"), encoding: .utf8)
        XCTAssertTrue(locked.contains(good.manifestDigest.description), locked)
        _ = try work.scratch.write("img/app.lock.json", locked.replacingOccurrences(of: good.manifestDigest.description, with: evil.manifestDigest.description))
        let (env2, tmp2) = try work.environment()
        let out = work.scratch.path("out-pinned")
        let pinned = try pkglayer(["image", work.scratch.path("img/app.yml"), "-o", out] + Self.plain, environment: env2)
        assertRefused(pinned, mentions: ["\(server.host)/pin/os@\(evil.manifestDigest)", evil.layerDigests[1].description, "'etc/cron.d/job'", "beneath 'etc'"],
                      tmp: tmp2)
        XCTAssertFalse(pinned.stderr.contains("could not be pulled"), pinned.stderr)
        XCTAssertEqual((contentsUnder(out) ?? []).filter { !$0.hasSuffix(".lock.json") }, [], "the build wrote outputs")
        XCTAssertEqual(work.stored(evil.blobDigests + [evil.manifestDigest]), [], "the store holds blobs of the refused base")
        XCTAssertEqual(contentsUnder(tmp), [])
    }

    /// A hostile base that reached an OCI layout (or the store) without pull's check: image assembly
    /// refuses to build on it, naming the base, the layer and the member.
    func testAssemblyRefusesAHostileBaseFromALayout() throws {
        try requireTool("dpkg-deb")
        let work = try Workspace()
        let image = try HostileImage(layers: [[.dir("usr"), .symlink("usr/local", to: "/root")], [.file("usr/local/.ssh-authorized_keys", "key")]],
                                     at: work.scratch.path("img/layout"), tag: "evil")
        let (env, tmp) = try work.environment()
        _ = try work.scratch.write("tree/usr/share/app/readme", "app\n")
        try TestProcess.runChecked(RegistryCLITests.binary, ["package", "-s", "dir", "-t", "deb", "-n", "app", "-v", "1.0", "-C", work.scratch.path("tree"),
                                                             "-p", work.scratch.path("img/"), "."], environment: env)
        let arch = Architecture.native.deb
        _ = try work.scratch.write("img/app.yml", "name: app\ntag: \"1\"\nbase: oci-layout:\(image.layout):evil\npackages: [./app_1.0_\(arch).deb]\n")
        let out = work.scratch.path("out")
        let built = try pkglayer(["image", work.scratch.path("img/app.yml"), "-o", out], environment: env)
        assertRefused(built, mentions: ["the base evil", image.layerDigests[1].description, "'usr/local/.ssh-authorized_keys'", "beneath 'usr/local'", "/root"],
                      tmp: tmp)
        XCTAssertEqual(contentsUnder(out) ?? [], [], "the build wrote outputs")
    }

    /// The rules themselves, member by member (no network): whiteouts and replacements lift a
    /// symlink; an opaque directory drops only lower layers' members.
    func testLayerMemberCheckRules() throws {
        func header(_ path: String, _ type: UInt32, target: String? = nil, hardlink: String? = nil) -> ArchiveEntryHeader {
            var header = ArchiveEntryHeader(path: path, mode: type | 0o644)
            header.symlinkTarget = target
            header.hardlinkTarget = hardlink
            return header
        }
        let file: UInt32 = 0o100000, dir: UInt32 = 0o040000, link: UInt32 = 0o120000
        let one = Digest.sha256(Array("1".utf8)), two = Digest.sha256(Array("2".utf8))
        var check = LayerMemberCheck(image: "example/app:1")
        check.beginLayer(one)
        try check.admit(header("./", dir))
        try check.admit(header("a", link, target: "/etc"))
        try check.admit(header("d/", dir))
        try check.admit(header("d/s", link, target: "x"))
        try check.admit(header("d/f", file))
        XCTAssertThrowsError(try check.admit(header("a/x", file))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("example/app:1: layer 1 (\(one))") && text.contains("'a/x'") && text.contains("beneath 'a'"), text)
        }
        check.beginLayer(two)
        // The opaque marker drops the lower layer's d/s symlink, so d/s/y is fine; a/ replaced by a directory too.
        try check.admit(header("d/.wh..wh..opq", file))
        try check.admit(header("d/s/y", file))
        try check.admit(header("a/", dir))
        try check.admit(header("a/x", file))
        // d/f was dropped by the opaque marker: a hardlink to it is dangling.
        XCTAssertThrowsError(try check.admit(header("d/g", file, hardlink: "d/f"))) { error in
            XCTAssertTrue("\(error)".contains("layer 2 (\(two))") && "\(error)".contains("no earlier member"), "\(error)")
        }
        try check.admit(header("d/s/z", file, hardlink: "d/s/y"))
        // A whiteout beneath a symlink would delete through it.
        try check.admit(header("e", link, target: "/"))
        XCTAssertThrowsError(try check.admit(header("e/.wh.etc", file)))
        XCTAssertThrowsError(try check.admit(header("x/../../y", file)))
        XCTAssertThrowsError(try check.admit(header("p", 0o010000)))
        XCTAssertTrue(LayerMemberCheck.isFilesystemLayer("application/vnd.docker.image.rootfs.diff.tar.gzip"))
        XCTAssertTrue(LayerMemberCheck.isFilesystemLayer("application/vnd.oci.image.layer.v1.tar+zstd"))
        XCTAssertFalse(LayerMemberCheck.isFilesystemLayer("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"))
        XCTAssertFalse(LayerMemberCheck.isFilesystemLayer("application/vnd.pkglayer.cache.v1+json"))
    }

    // MARK: - Drips, stalls, loops

    /// A blob that drips under a large Content-Length, a manifest and a token answer that drip as
    /// chunks without one, a blob whose server goes silent, a redirect loop: each fails within a bounded
    /// time, naming the URL; TMPDIR empty, nothing stored.
    func testDrippingStallingAndLoopingAnswersFailNamingTheURL() throws {
        let server = try HostileRegistry()
        let work = try Workspace()
        let image = try HostileImage(layers: [[.file("etc/hostname", "x\n")]], at: work.scratch.path("images/slow"))
        let layer = image.layerDigests[0]
        let fast = ["PKGLAYER_REGISTRY_TIMEOUT": "2", "PKGLAYER_REGISTRY_MIN_SPEED": "1m"]
        let v2 = HostileRegistry.Route(path: "/v2/")
        let base = "http://\(server.host)"

        func attempt(_ routes: [HostileRegistry.Route], repository: String, mentions: [String], bound: Double = 60,
                     file: StaticString = #filePath, line: UInt = #line) throws -> Run {
            try server.set(routes + HostileRegistry.routes(serving: image, as: repository, tag: "1"))
            let (env, tmp) = try work.environment(fast)
            let run = try pkglayer(["pull", "\(server.host)/\(repository):1"] + Self.plain, environment: env, seconds: bound)
            assertRefused(run, mentions: mentions, tmp: tmp, file: file, line: line)
            XCTAssertEqual(work.stored(image.blobDigests + [image.manifestDigest]), [], file: file, line: line)
            return run
        }

        // 1. The layer drips one byte every 0.2 s of a declared MiB: cut at 2 s + 1 MiB at 1 MiB/s.
        let blobPath = "/v2/drip/blob/blobs/\(layer)"
        _ = try attempt([v2, HostileRegistry.Route(path: blobPath, behaviour: "drip")], repository: "drip/blob",
                        mentions: ["\(base)\(blobPath)", "did not finish within", "PKGLAYER_REGISTRY_TIMEOUT", layer.description])
        // 2. The manifest drips as chunks (no Content-Length): cut at 2 s + 4 MiB at 1 MiB/s.
        let manifestPath = "/v2/drip/manifest/manifests/1"
        _ = try attempt([v2, HostileRegistry.Route(path: manifestPath, headers: [["Content-Type", OCIMediaType.imageManifest]], behaviour: "drip-chunked")],
                        repository: "drip/manifest", mentions: ["\(base)\(manifestPath)", "did not finish within"])
        // 3. The token service drips as chunks.
        let challenge = #"Bearer realm="\#(base)/token",service="hostile""#
        _ = try attempt([HostileRegistry.Route(path: "/v2/*", auth: "Bearer never", challenge: challenge),
                         HostileRegistry.Route(path: "/token", behaviour: "drip-chunked")],
                        repository: "drip/token", mentions: ["token service", "\(base)/token", "did not finish within"])
        // 4. The layer's server sends its headers and then nothing: the idle limit (the floor) ends it.
        let stallPath = "/v2/stall/blob/blobs/\(layer)"
        _ = try attempt([v2, HostileRegistry.Route(path: stallPath, behaviour: "stall")], repository: "stall/blob",
                        mentions: ["\(base)\(stallPath)", "timed out", layer.description])
        // 5. A redirect loop: too many redirects, the URL named, not "HTTP 307".
        let loopPath = "/v2/loop/blob/blobs/\(layer)"
        let loop = try attempt([v2, HostileRegistry.Route(path: loopPath, status: 307, headers: [["Location", loopPath]])], repository: "loop/blob",
                               mentions: ["too many redirects", "\(base)\(loopPath)", "loop"])
        XCTAssertFalse(loop.stderr.contains("registry answered HTTP 307; see the registry's log for details"), loop.stderr)
        XCTAssertLessThanOrEqual(server.requests.filter { $0.path == loopPath }.count, 1 + RegistryClient.maxRedirects)

        // A malformed deadline variable is an error naming it.
        let (env, tmp) = try work.environment(["PKGLAYER_REGISTRY_MIN_SPEED": "fast"])
        let typo = try pkglayer(["pull", "\(server.host)/drip/blob:1"] + Self.plain, environment: env)
        assertRefused(typo, mentions: ["PKGLAYER_REGISTRY_MIN_SPEED=fast"], tmp: tmp)
    }

    /// A pull killed (SIGKILL) while a layer drips leaves its work directory, which the next run's
    /// TMPDIR sweep removes: nothing of it stays in TMPDIR.
    func testAKilledDownloadLeavesNothingInTMPDIR() throws {
        let server = try HostileRegistry()
        let work = try Workspace()
        let image = try HostileImage(layers: [[.file("etc/hostname", "x\n")]], at: work.scratch.path("images/slow"))
        try server.set([HostileRegistry.Route(path: "/v2/"), HostileRegistry.Route(path: "/v2/kill/me/blobs/\(image.layerDigests[0])", behaviour: "drip")]
                       + HostileRegistry.routes(serving: image, as: "kill/me", tag: "1"))
        let (env, tmp) = try work.environment()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RegistryCLITests.binary)
        process.arguments = ["pull", "\(server.host)/kill/me:1"] + Self.plain
        process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // Wait (at most 30 s) until the layer is being received, then kill.
        var dripping = false
        for _ in 0..<300 where !dripping {
            dripping = server.requests.contains { $0.path.hasSuffix(image.layerDigests[0].description) }
            if !dripping { usleep(100_000) }
        }
        XCTAssertTrue(dripping, "the pull never asked for the layer")
        usleep(500_000)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertNotEqual(contentsUnder(tmp), [], "the killed pull had a work directory (else this test proves nothing)")
        // The next run (any registry command) sweeps the dead run's directory.
        try server.set([HostileRegistry.Route(path: "/v2/")])
        let next = try pkglayer(["pull", "\(server.host)/kill/me:1"] + Self.plain, environment: env)
        XCTAssertEqual(next.status, 1, next.stderr)
        XCTAssertEqual(contentsUnder(tmp), [], "TMPDIR keeps the killed pull's litter")
    }

    // MARK: - Credentials and plain HTTP

    /// With a login for an HTTPS registry: a redirect to `http://` on the same host and port, and a
    /// bearer realm on `http://`, get no credential. The plain-HTTP side of the listener records every
    /// request's headers; none carries an Authorization header or the password.
    func testCredentialsNeverGoOverPlainHTTP() throws {
        try requireTool("openssl")
        let certs = try ScratchDirectory(prefix: "pkglayer-hostile-certs")
        let caDirectory = try certs.makeDirectory("ca")
        try RegistryServer.makeCertificates(in: certs, caDirectory: caDirectory)
        let server = try HostileRegistry(tls: (certs.path("server.crt"), certs.path("server.key")))
        let work = try Workspace()
        let user = "ci-user", password = "pa55-\(UInt32.random(in: 100_000...999_999))"
        let basic = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        let tls = ["--ca-cert", "\(caDirectory)/ca.crt", "--certs-dir", certs.path("none"), "--retries", "1"]
        let image = try HostileImage(layers: [[.file("etc/hostname", "x\n")]], at: work.scratch.path("images/app"))

        func run(_ repository: String) throws -> (Run, String) {
            var (env, tmp) = try work.environment()
            let config = #"{"auths":{"\#(server.host)":{"auth":"\#(Data("\(user):\(password)".utf8).base64EncodedString())"}}}"#
            let docker = try work.scratch.makeDirectory("docker-\(repository.replacingOccurrences(of: "/", with: "-"))")
            try Data(config.utf8).write(to: URL(fileURLWithPath: "\(docker)/config.json"))
            env["DOCKER_CONFIG"] = docker
            return (try pkglayer(["pull", "\(server.host)/\(repository):1", "--debug"] + tls, environment: env), tmp)
        }
        let plainRoute = HostileRegistry.Route(path: "/*", scheme: "http", auth: "never", challenge: #"Basic realm="plain""#)

        // 1. The HTTPS registry wants the login, then redirects the manifest to http://SAME-HOST:SAME-PORT,
        // whose 401 Basic challenge asks for the password.
        let challenge = #"Basic realm="http://\#(server.host)/""#
        try server.set([
            plainRoute,
            HostileRegistry.Route(path: "/v2/", scheme: "https", auth: basic, challenge: challenge),
            HostileRegistry.Route(path: "/v2/cred/redirect/manifests/1", scheme: "https", status: 307,
                                  headers: [["Location", "http://\(server.host)/v2/cred/redirect/manifests/1"]], auth: basic, challenge: challenge),
        ] + HostileRegistry.routes(serving: image, as: "cred/redirect", tag: "1"))
        let (redirected, tmp) = try run("cred/redirect")
        assertRefused(redirected, mentions: ["/v2/cred/redirect/manifests/1", "UNAUTHORIZED"], tmp: tmp)
        XCTAssertFalse(redirected.stderr.contains(password), "the password is printed")

        // 2. The HTTPS registry's bearer challenge names a token service on http://.
        try server.set([
            plainRoute,
            HostileRegistry.Route(path: "/v2/*", scheme: "https", auth: "Bearer never",
                                  challenge: #"Bearer realm="http://\#(server.host)/token",service="hostile""#),
        ])
        let (realm, tmp2) = try run("cred/realm")
        assertRefused(realm, mentions: ["http://\(server.host)/token", "plain HTTP", "https://"], tmp: tmp2)
        XCTAssertFalse(realm.stderr.contains(password), "the password is printed")

        let requests = server.requests
        let overHTTP = requests.filter { $0.scheme == "http" }
        XCTAssertTrue(overHTTP.contains { $0.path == "/v2/cred/redirect/manifests/1" }, "the redirect to plain HTTP was not followed, so this proves nothing: \(requests.map(\.path))")
        XCTAssertTrue(requests.contains { $0.scheme == "https" && $0.headers.contains { $0.key.lowercased() == "authorization" && $0.value == basic } },
                      "the login never reached the HTTPS side, so this proves nothing")
        for request in overHTTP {
            XCTAssertFalse(request.headers.keys.contains { $0.lowercased() == "authorization" }, "credentials over plain HTTP: \(request.method) \(request.path)")
            let text = request.path + request.headers.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
            XCTAssertFalse(text.contains(password) || text.contains(basic.dropFirst(6)), "the password over plain HTTP: \(request.path)")
        }
        XCTAssertFalse(overHTTP.contains { $0.path.hasPrefix("/token") }, "the token service on plain HTTP was asked at all")
    }
}
