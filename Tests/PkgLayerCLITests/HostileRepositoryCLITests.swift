import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Issue 21: `pkglayer image` against apt and yum repositories on a loopback server that misbehaves
/// (drips, stalls, lies about sizes, serves decompression bombs) or that serves packages which are
/// refused. Every case ends, well within a bounded time, in a non-zero exit and an error naming the URL
/// or package, with nothing under the output folder (no lockfile: the next build must not reuse the
/// resolution), nothing left in the child's TMPDIR, no partial file in the cache and, for a bomb, a
/// peak RSS far below what the index expands to. Downloads get small deadlines
/// (PKGLAYER_DOWNLOAD_FLOOR_SECONDS, PKGLAYER_DOWNLOAD_IDLE_SECONDS) so a hang shows as a failure.
final class HostileRepositoryCLITests: XCTestCase {
    var scratch: ScratchDirectory!
    var key: TestSigningKey!
    var servers: [MisbehavingRepositoryServer] = []
    var runs = 0

    override func setUpWithError() throws {
        try requireTool("python3", "gpg", "gpgv", "timeout")
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw requirementNotMet("/usr/bin/time (package time) is needed to measure the child's peak memory")
        }
        scratch = try ScratchDirectory()
        key = try TestSigningKey(directory: try scratch.makeDirectory("key"))
    }

    override func tearDown() {
        servers.forEach { $0.stop() }
        servers = []
        scratch = nil
    }

    // MARK: misbehaving apt servers

    /// InRelease one byte every half second: the idle timeout never fires, the deadline does.
    func testAnAptServerThatDripsInReleaseFailsAtTheDeadline() throws {
        let repo = try aptRepository(["good": try goodDeb("good")])
        let server = try serve(repo, rules: ["/dists/stable/InRelease": ["drip": 0.5]])
        let run = try image(apt: server.baseURL, packages: ["good"])
        run.assertRefused(naming: ["\(server.baseURL)/dists/stable/InRelease", "too slow", "PKGLAYER_DOWNLOAD_FLOOR_SECONDS"])
    }

    /// A package download that stops halfway: the idle timeout, naming the URL.
    func testAStalledPackageDownloadFailsAtTheIdleTimeout() throws {
        let deb = try goodDeb("good")
        let repo = try aptRepository(["good": deb])
        let server = try serve(repo, rules: ["/pool/good.deb": ["stall_after": 200]])
        let run = try image(apt: server.baseURL, packages: ["good"])
        run.assertRefused(naming: ["\(server.baseURL)/pool/good.deb", "sent nothing", "PKGLAYER_DOWNLOAD_IDLE_SECONDS"])
        run.assertNothingCached()
    }

    /// A package served without end (no Content-Length): cut off past the index's `Size`, quickly.
    func testAServerSendingMoreThanTheIndexSizeIsCutOff() throws {
        let repo = try aptRepository(["good": try goodDeb("good")])
        let server = try serve(repo, rules: ["/pool/good.deb": ["endless": true]])
        let run = try image(apt: server.baseURL, packages: ["good"])
        run.assertRefused(naming: ["good 1.0", "\(server.baseURL)/pool/good.deb", "more than"])
        run.assertNothingCached()
    }

    /// A Content-Length other than the index's `Size`: refused before the body is read.
    func testAContentLengthOtherThanTheIndexSizeIsRefused() throws {
        let deb = try goodDeb("good")
        let repo = try aptRepository(["good": deb])
        let size = try fileSize(deb)
        let server = try serve(repo, rules: ["/pool/good.deb": ["length": size + 4096]])
        let run = try image(apt: server.baseURL, packages: ["good"])
        run.assertRefused(naming: ["good 1.0", "\(server.baseURL)/pool/good.deb", "announces \(size + 4096) bytes", "size as \(size)"])
        run.assertNothingCached()
    }

    /// The index's `Size` is not the file's (apt checks it, so does pkglayer), the server honest.
    func testAnIndexSizeThatIsNotTheFilesIsRefused() throws {
        let deb = try goodDeb("good")
        let size = try fileSize(deb)
        let repo = try aptRepository(["good": deb], sizes: ["good": size - 1])
        let server = try serve(repo)
        let run = try image(apt: server.baseURL, packages: ["good"])
        run.assertRefused(naming: ["good 1.0", "\(server.baseURL)/pool/good.deb", "size as \(size - 1)"])
        run.assertNothingCached()
    }

    /// A Packages.gz that expands to 640 MiB of blank lines (signed, digest right): refused at
    /// PKGLAYER_MAX_INDEX_BYTES (512 MiB here), read as a stream in a small fraction of that memory.
    func testAnAptIndexBombIsRefusedInBoundedMemory() throws {
        let repo = try aptRepository(["good": try goodDeb("good")], bomb: 640)
        let server = try serve(repo)
        let run = try image(apt: server.baseURL, packages: ["good"], environment: ["PKGLAYER_MAX_INDEX_BYTES": "512M"])
        run.assertRefused(naming: ["\(server.baseURL)/dists/stable/main/binary-amd64/Packages.gz", "PKGLAYER_MAX_INDEX_BYTES"])
        run.assertPeakMemory(below: 200 << 20)
    }

    // MARK: misbehaving yum servers

    /// primary.xml.gz expanding to 640 MiB of whitespace (repomd signed, digest right): refused at the
    /// index limit in bounded memory.
    func testAYumPrimaryBombIsRefusedInBoundedMemory() throws {
        let repo = try yumRepository(bombMegabytes: 640)
        let server = try serve(repo)
        let run = try image(yum: server.baseURL, packages: ["anything"], environment: ["PKGLAYER_MAX_INDEX_BYTES": "512M"])
        run.assertRefused(naming: ["\(server.baseURL)/repodata/primary.xml.gz", "PKGLAYER_MAX_INDEX_BYTES"])
        run.assertPeakMemory(below: 200 << 20)
    }

    /// repomd.xml dripped: the deadline, naming the URL.
    func testAYumServerThatDripsRepomdFailsAtTheDeadline() throws {
        let repo = try yumRepository(bombMegabytes: 1)
        let server = try serve(repo, rules: ["/repodata/repomd.xml": ["drip": 0.5]])
        let run = try image(yum: server.baseURL, packages: ["anything"])
        run.assertRefused(naming: ["\(server.baseURL)/repodata/repomd.xml", "too slow"])
    }

    /// An rpm served without end: cut off past primary.xml's `<size package>`, naming the package.
    func testAYumServerSendingMoreThanThePackageSizeIsCutOff() throws {
        let tree = try scratch.makeDirectory("tree-rpm")
        _ = try scratch.write("tree-rpm/usr/share/good/README", "good\n")
        let rpms = try scratch.makeDirectory("rpms")
        try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", "good", "-v", "1.0", "-a", "noarch", "-C", tree, "-p", rpms, "-f", "."],
                   environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        let rpm = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: rpms).first { $0.hasSuffix(".rpm") })
        let root = try scratch.makeDirectory("yum-real")
        try YumRepositoryFixture.build(root: root, rpms: ["\(rpms)/\(rpm)"], key: key)
        let server = try serve(root, rules: ["/Packages/\(rpm)": ["endless": true]])
        let run = try image(yum: server.baseURL, packages: ["good"])
        run.assertRefused(naming: ["good 1.0", "\(server.baseURL)/Packages/\(rpm)", "more than"])
        run.assertNothingCached()
    }

    // MARK: refused packages leave no lockfile

    /// A package from the repository that layering refuses fails the image and writes no lockfile, so
    /// the next build resolves (and refuses) again instead of reusing the resolution.
    func testARefusedPackageLeavesNoLockfile() throws {
        let cases: [(kind: String, mention: String)] = [
            ("dotdot", "'./usr/../../escape.txt'"),
            ("absolute", "'/tmp/pkglayer-absolute-escape.txt' has an absolute path"),
            ("symlink", "/usr/link"),
            ("hardlink", "'/etc/passwd'"),
            ("control", "PKGLAYER_MAX_DEB_CONTROL_BYTES"),
        ]
        for (kind, mention) in cases {
            let evil = try hostileDeb(kind)
            let repo = try aptRepository(["good": try goodDeb("good"), "evil": evil])
            let server = try serve(repo)
            for attempt in 1...2 {
                let run = try image(apt: server.baseURL, packages: ["good", "evil"], name: "img-\(kind)", keepOutput: true)
                run.assertRefused(naming: ["package evil 1.0 (all) from \(server.baseURL)/pool/evil.deb: refused, nothing was written", mention],
                                  context: "\(kind), build \(attempt)")
            }
        }
    }

    // MARK: the fixtures

    /// The result of one `pkglayer image` run and the folders it was given.
    struct Run {
        let output: ProcessOutput
        let out: String
        let lockfile: String
        let tmp: String
        let cache: String
        let rss: Int?

        func assertRefused(naming mentions: [String], context: String = "", file: StaticString = #filePath, line: UInt = #line) {
            let text = output.stderrText
            let label = context.isEmpty ? "" : "[\(context)] "
            XCTAssertNotEqual(output.status, 0, "\(label)the image was built:\n\(text)", file: file, line: line)
            XCTAssertFalse([124, 137].contains(output.status), "\(label)pkglayer did not end within 60 s (killed by timeout):\n\(text)", file: file, line: line)
            for mention in mentions {
                XCTAssertTrue(text.contains(mention), "\(label)the error does not name '\(mention)':\n\(text)", file: file, line: line)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: lockfile), "\(label)a lockfile was written for a refused build", file: file, line: line)
            XCTAssertEqual(filesUnder(out), [], "\(label)the output folder has files", file: file, line: line)
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? ["<missing>"], [], "\(label)TMPDIR was left with files",
                           file: file, line: line)
            XCTAssertEqual(filesUnder(cache).filter { $0.contains(".tmp") }, [], "\(label)a partial download was left in the cache",
                           file: file, line: line)
        }

        func assertNothingCached(file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertEqual(filesUnder(cache + "/packages"), [], "a package file was cached", file: file, line: line)
        }

        func assertPeakMemory(below bytes: Int, file: StaticString = #filePath, line: UInt = #line) {
            guard let rss else { return XCTFail("no peak RSS was measured", file: file, line: line) }
            XCTAssertLessThan(rss, bytes, "peak RSS \(rss >> 20) MiB", file: file, line: line)
        }
    }

    /// `pkglayer image` of an image file installing `packages` from one repository, with small download
    /// deadlines, its own cache and TMPDIR, killed after 60 s (a hang fails the test), its peak RSS
    /// measured by /usr/bin/time.
    func image(apt: String? = nil, yum: String? = nil, packages: [String], name: String = "img",
               environment: [String: String] = [:], keepOutput: Bool = false) throws -> Run {
        runs += 1
        let repository = apt.map { "apt: \($0)\n    suites: [stable]" } ?? "yum: \(yum!)"
        let file = try scratch.write("\(name)-\(runs)/\(name).yml", """
            name: \(name)
            tag: "1"
            format: \(apt == nil ? "rpm" : "deb")
            packages: [\(packages.joined(separator: ", "))]
            repositories:
              - \(repository)
                keyring: \(key.keyring)
            outputs: [oci-layout]

            """)
        let out = keepOutput ? scratch.path("\(name)-out") : scratch.path("\(name)-\(runs)/out")
        let tmp = try scratch.makeDirectory("\(name)-\(runs)/tmp")
        let cache = scratch.path("\(name)-\(runs)/cache")
        let rssFile = scratch.path("\(name)-\(runs)/rss")
        let env = ["PKGLAYER_CACHE": cache, "TMPDIR": tmp, "SOURCE_DATE_EPOCH": "1700000000",
                   "PKGLAYER_DOWNLOAD_FLOOR_SECONDS": "4", "PKGLAYER_DOWNLOAD_IDLE_SECONDS": "2"].merging(environment) { $1 }
        let output = try TestProcess.run("timeout", ["-k", "5", "60", "/usr/bin/time", "-f", "%M", "-o", rssFile,
                                                     CLI.binary, "image", "--context", "/", file, "-o", out], environment: env)
        let rss = (try? String(contentsOfFile: rssFile, encoding: .utf8))?.split(separator: "\n").last.flatMap { Int($0) }.map { $0 * 1024 }
        return Run(output: output, out: out, lockfile: "\(out)/\(name).lock.json", tmp: tmp, cache: cache, rss: rss)
    }

    func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).intValue
    }

    /// A small real deb made by pkglayer itself.
    func goodDeb(_ name: String) throws -> String {
        let tree = try scratch.makeDirectory("tree-\(name)")
        _ = try scratch.write("tree-\(name)/usr/share/\(name)/README", "\(name)\n")
        let out = try scratch.makeDirectory("debs-\(name)")
        try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", name, "-v", "1.0", "-a", "all", "-C", tree, "-p", out, "-f", "."],
                   environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        let debs = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasSuffix(".deb") }
        return "\(out)/\(try XCTUnwrap(debs.first))"
    }

    /// A deb named `evil` that layering must refuse: a `../` member, an absolute member, a file through
    /// a symlink that leaves the tree, a hardlink to a file outside it, or a 5 MB control field.
    func hostileDeb(_ kind: String) throws -> String {
        let path = scratch.path("evil-\(kind).deb")
        try generateWithPython("""
            import io, sys, tarfile
            kind, path = sys.argv[1], sys.argv[2]
            def tar(members):
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode='w:gz', format=tarfile.GNU_FORMAT) as t:
                    for name, type_, value in members:
                        info = tarfile.TarInfo(name)
                        info.mtime = 1700000000
                        if type_ == 'dir':
                            info.type = tarfile.DIRTYPE; info.mode = 0o755; t.addfile(info)
                        elif type_ == 'symlink':
                            info.type = tarfile.SYMTYPE; info.linkname = value; t.addfile(info)
                        elif type_ == 'hardlink':
                            info.type = tarfile.LNKTYPE; info.linkname = value; t.addfile(info)
                        else:
                            info.size = len(value); info.mode = 0o644; t.addfile(info, io.BytesIO(value))
                return buf.getvalue()
            control = 'Package: evil\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: x <x@example.invalid>\\nDescription: evil\\n'
            if kind == 'control':
                control += ''.join(' ' + 'x' * 99 + '\\n' for _ in range(50000))
            data = [('./', 'dir', None), ('./usr/', 'dir', None)]
            data += {
                'dotdot': [('./usr/../../escape.txt', 'file', b'out\\n')],
                'absolute': [('/tmp/pkglayer-absolute-escape.txt', 'file', b'out\\n')],
                'symlink': [('./usr/link', 'symlink', '/tmp'), ('./usr/link/pkglayer-symlink-escape.txt', 'file', b'out\\n')],
                'hardlink': [('./usr/passwd', 'hardlink', '/etc/passwd')],
                'control': [('./usr/ok.txt', 'file', b'ok\\n')],
            }[kind]
            members = [('debian-binary', b'2.0\\n'), ('control.tar.gz', tar([('./', 'dir', None), ('./control', 'file', control.encode())])),
                       ('data.tar.gz', tar(data))]
            with open(path, 'wb') as out:
                out.write(b'!<arch>\\n')
                for name, body in members:
                    out.write(('%-16s%-12d%-6d%-6d%-8s%-10d`\\n' % (name, 1700000000, 0, 0, '100644', len(body))).encode())
                    out.write(body)
                    if len(body) % 2:
                        out.write(b'\\n')
            """, [kind, path])
        return path
    }

    /// An apt archive (suite `stable`, component main, amd64) in a fresh directory: `pool/NAME.deb`,
    /// a Packages index written here (with `sizes` overriding the true sizes), InRelease signed with
    /// the test key. `bomb`: Packages.gz instead, expanding to that many MiB of blank lines.
    func aptRepository(_ debs: [String: String], sizes: [String: Int] = [:], bomb: Int? = nil) throws -> String {
        runs += 1
        let root = try scratch.makeDirectory("apt-\(runs)")
        let binary = try scratch.makeDirectory("apt-\(runs)/dists/stable/main/binary-amd64")
        _ = try scratch.makeDirectory("apt-\(runs)/pool")
        var paragraphs: [String] = []
        for (name, deb) in debs.sorted(by: { $0.key < $1.key }) {
            try FileManager.default.copyItem(atPath: deb, toPath: "\(root)/pool/\(name).deb")
            let size = try sizes[name] ?? fileSize(deb)
            paragraphs.append("""
                Package: \(name)
                Version: 1.0
                Architecture: all
                Maintainer: x <x@example.invalid>
                Filename: pool/\(name).deb
                Size: \(size)
                SHA256: \(try FileDigest.sha256Hex(path: deb))
                Description: \(name)

                """)
        }
        let index: String
        if let bomb {
            index = "main/binary-amd64/Packages.gz"
            try generateWithPython("""
                import sys, zlib
                out = open(sys.argv[1], 'wb')
                z = zlib.compressobj(1, zlib.DEFLATED, 31)
                block = b'\\n' * (1 << 20)
                for _ in range(int(sys.argv[2])):
                    out.write(z.compress(block))
                out.write(z.flush())
                """, ["\(binary)/Packages.gz", String(bomb)])
        } else {
            index = "main/binary-amd64/Packages"
            try paragraphs.joined(separator: "\n").write(toFile: "\(binary)/Packages", atomically: true, encoding: .utf8)
        }
        let indexPath = "\(root)/dists/stable/\(index)"
        let release = """
            Origin: pkglayer-test
            Suite: stable
            Codename: stable
            Date: Thu, 01 Jan 2026 00:00:00 UTC
            Architectures: amd64
            Components: main
            SHA256:
             \(try FileDigest.sha256Hex(path: indexPath)) \(try fileSize(indexPath)) \(index)

            """
        let releasePath = try scratch.write("apt-\(runs)/dists/stable/Release", release)
        try key.clearsign(releasePath, to: "\(root)/dists/stable/InRelease")
        return root
    }

    /// A yum repository whose primary.xml.gz expands to `bombMegabytes` MiB of whitespace inside
    /// `<metadata>`; repomd.xml gives its true digest and size and is signed with the test key.
    func yumRepository(bombMegabytes: Int) throws -> String {
        runs += 1
        let root = try scratch.makeDirectory("yum-\(runs)")
        let repodata = try scratch.makeDirectory("yum-\(runs)/repodata")
        let primary = "\(repodata)/primary.xml.gz"
        try generateWithPython("""
            import sys, zlib
            out = open(sys.argv[1], 'wb')
            z = zlib.compressobj(1, zlib.DEFLATED, 31)
            out.write(z.compress(b'<?xml version="1.0" encoding="UTF-8"?>\\n<metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">'))
            block = b' ' * (1 << 20)
            for _ in range(int(sys.argv[2])):
                out.write(z.compress(block))
            out.write(z.flush())
            """, [primary, String(bombMegabytes)])
        let repomd = """
            <?xml version="1.0" encoding="UTF-8"?>
            <repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
              <revision>1700000000</revision>
              <data type="primary">
                <checksum type="sha256">\(try FileDigest.sha256Hex(path: primary))</checksum>
                <location href="repodata/primary.xml.gz"/>
                <timestamp>1700000000</timestamp>
                <size>\(try fileSize(primary))</size>
              </data>
            </repomd>

            """
        let repomdPath = try scratch.write("yum-\(runs)/repodata/repomd.xml", repomd)
        try key.detachSign(repomdPath, to: repomdPath + ".asc")
        return root
    }

    /// Starts a hostile server over `root`; `rules` by path: `drip` (seconds between bytes), `stall_after`
    /// (bytes, then silence), `endless` (bytes without end, no Content-Length), `length` (a false
    /// Content-Length).
    func serve(_ root: String, rules: [String: [String: Any]] = [:]) throws -> MisbehavingRepositoryServer {
        let server = try MisbehavingRepositoryServer(root: root, rules: rules, scratch: scratch)
        servers.append(server)
        return server
    }
}

/// A python3 HTTP server on 127.0.0.1 that misbehaves on the paths its rules name.
final class MisbehavingRepositoryServer {
    let process = Process()
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }

    static let script = """
        import http.server, json, os, sys, time
        root, rules = sys.argv[1], json.load(open(sys.argv[2]))
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'
            def log_message(self, *args):
                pass
            def do_GET(self):
                path = self.path.split('?')[0]
                rule = rules.get(path, {})
                file = os.path.join(root, path.lstrip('/'))
                try:
                    if rule.get('endless'):
                        self.send_response(200)
                        self.send_header('Connection', 'close')
                        self.end_headers()
                        block = b'\\0' * 65536
                        while True:
                            self.wfile.write(block)
                    if not os.path.isfile(file):
                        self.send_error(404)
                        return
                    body = open(file, 'rb').read()
                    self.send_response(200)
                    self.send_header('Content-Length', str(rule.get('length', len(body))))
                    self.end_headers()
                    if 'drip' in rule:
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(rule['drip'])
                    elif 'stall_after' in rule:
                        self.wfile.write(body[:rule['stall_after']])
                        self.wfile.flush()
                        time.sleep(3600)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        server.daemon_threads = True
        with open(sys.argv[3] + '.tmp', 'w') as f:
            f.write(str(server.server_address[1]))
        os.rename(sys.argv[3] + '.tmp', sys.argv[3])
        server.serve_forever()
        """

    init(root: String, rules: [String: [String: Any]], scratch: ScratchDirectory) throws {
        let id = UUID().uuidString
        let script = try scratch.write("server-\(id).py", Self.script)
        let rulesFile = scratch.path("server-\(id).json")
        try JSONSerialization.data(withJSONObject: rules).write(to: URL(fileURLWithPath: rulesFile))
        let portFile = scratch.path("server-\(id).port")
        process.executableURL = URL(fileURLWithPath: try XCTUnwrap(TestProcess.which("python3")))
        process.arguments = [script, root, rulesFile, portFile]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(20)
        var found: Int?
        while found == nil && Date() < deadline && process.isRunning {
            found = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
            if found == nil { Thread.sleep(forTimeInterval: 0.05) }
        }
        guard let found else {
            if process.isRunning { process.terminate() }
            throw PkgLayerError(.io, "the hostile test server did not start")
        }
        port = found
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
