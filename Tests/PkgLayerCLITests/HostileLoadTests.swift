import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer load` against a hostile corpus of docker- and oci-archives (issue 21), each run as a
/// child process with its own TMPDIR and cache: a clear error naming the archive (and the member), a
/// non-zero exit, no hang (a bounded wait that kills the child), a bounded peak RSS (the child's
/// ru_maxrss from wait4), nothing stored (no blob, no temporary file, no tag), nothing left in TMPDIR,
/// a canary tree beside the work directories unchanged, and `pkglayer store verify` clean afterwards.
/// Good archives built the same way load, so the refusals are the hostile parts' doing.
final class HostileLoadTests: XCTestCase {
    /// Writes the corpus into argv[1]; argv[2] is the canary directory (absolute) that links aim at.
    /// Each archive is a tar (gzip'd when its name ends .gz) built member by member with tarfile, so
    /// links, hardlinks, fifos and forged names are exactly as written.
    static let generator = #"""
import tarfile, io, json, hashlib, sys, os, gzip
out, canary = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
def sha(b): return hashlib.sha256(b).hexdigest()
def tar_bytes(files):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.PAX_FORMAT) as t:
        for name, data in files:
            ti = tarfile.TarInfo(name); ti.size = len(data); ti.mtime = 1600000000; ti.mode = 0o644
            t.addfile(ti, io.BytesIO(data))
    return b.getvalue()
LAYER = tar_bytes([('etc/app', b'app\n')])
DIFF = 'sha256:' + sha(LAYER)
def config(diff_ids=None, pad=b''):
    c = {"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [DIFF] if diff_ids is None else diff_ids}}
    return json.dumps(c).encode() + pad
def write(name, members):
    mode = 'w:gz' if name.endswith('.gz') else 'w'
    kw = {'compresslevel': 1} if mode == 'w:gz' else {}
    with tarfile.open(os.path.join(out, name), mode, format=tarfile.PAX_FORMAT, **kw) as t:
        for m in members:
            kind, path = m[0], m[1]
            ti = tarfile.TarInfo(path); ti.mtime = 1600000000; ti.mode = 0o644
            if kind == 'file':
                ti.size = len(m[2]); t.addfile(ti, io.BytesIO(m[2]))
            elif kind == 'dir':
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
            elif kind == 'symlink':
                ti.type = tarfile.SYMTYPE; ti.linkname = m[2]; ti.mode = 0o777; t.addfile(ti)
            elif kind == 'hardlink':
                ti.type = tarfile.LNKTYPE; ti.linkname = m[2]; t.addfile(ti)
            elif kind == 'fifo':
                ti.type = tarfile.FIFOTYPE; t.addfile(ti)
def manifest(layers=('L/layer.tar',), cfg='C.json', tags=('hostile/docker:1',)):
    return json.dumps([{"Config": cfg, "RepoTags": list(tags), "Layers": list(layers)}]).encode()
def docker(name, layer_member=None, cfg=None, man=None, extra=()):
    members = [('file', 'C.json', cfg if cfg is not None else config()), ('dir', 'L/')]
    members.append(layer_member or ('file', 'L/layer.tar', LAYER))
    members += list(extra)
    members.append(('file', 'manifest.json', man if man is not None else manifest()))
    write(name, members)

# Good archives: the same builders, nothing hostile. They must load.
docker('good-docker.tar')
docker('good-docker-abs-link-in-root.tar', layer_member=('symlink', 'L/layer.tar', '/inner/layer.tar'),
       extra=[('dir', 'inner/'), ('file', 'inner/layer.tar', LAYER)])
# docker-archive: a member read through a link that leads to a host file.
docker('docker-layer-link-etc-shadow.tar', layer_member=('symlink', 'L/layer.tar', '/etc/shadow'))
docker('docker-layer-link-canary.tar', layer_member=('symlink', 'L/layer.tar', canary + '/secret'))
docker('docker-layer-link-dotdot.tar', layer_member=('symlink', 'L/layer.tar', '../../../../../../etc/passwd'))
write('docker-config-link.tar', [('symlink', 'C.json', '/etc/passwd'), ('dir', 'L/'), ('file', 'L/layer.tar', LAYER), ('file', 'manifest.json', manifest())])
write('docker-dir-link.tar', [('file', 'C.json', config()), ('symlink', 'L', canary), ('file', 'manifest.json', manifest(layers=('L/secret',)))])
write('docker-write-through-dir-link.tar', [('symlink', 'L', canary), ('file', 'L/planted', b'planted'), ('file', 'manifest.json', manifest())])
write('docker-member-dotdot.tar', [('file', '../../canary-escape', b'x'), ('file', 'manifest.json', manifest())])
write('docker-hardlink-host.tar', [('hardlink', 'L/layer.tar', '/etc/passwd'), ('file', 'manifest.json', manifest())])
docker('docker-link-loop.tar', layer_member=('symlink', 'L/layer.tar', 'other'), extra=[('symlink', 'L/other', 'layer.tar')])
docker('docker-layer-is-dir.tar', man=manifest(layers=('L',)))
write('docker-fifo.tar', [('file', 'C.json', config()), ('fifo', 'L/layer.tar'), ('file', 'manifest.json', manifest())])
docker('docker-manifest-names-dotdot.tar', man=manifest(layers=('L/../../etc/passwd',)))
docker('docker-manifest-names-absolute.tar', man=manifest(layers=('/etc/passwd',)))
docker('docker-manifest-names-missing.tar', man=manifest(layers=('nope/layer.tar',)))
# docker-archive: content that does not match its name.
docker('docker-diff-id-mismatch.tar', cfg=config(diff_ids=['sha256:' + sha(b'other')]))
docker('docker-diff-id-count.tar', cfg=config(diff_ids=[]))
docker('docker-diff-id-missing.tar', cfg=b'{"architecture":"amd64","os":"linux"}')
# docker-archive: limits and malformed JSON.
docker('docker-config-100MB.tar.gz', cfg=config(pad=b' ' * (100 << 20)))
docker('docker-manifest-5MB.tar.gz', man=manifest() + b' ' * (5 << 20))
docker('docker-manifest-deep.tar', man=b'[' * 100000 + b']' * 100000)
docker('docker-config-deep.tar', cfg=b'{"a":' * 100000 + b'1' + b'}' * 100000)
docker('docker-manifest-not-json.tar', man=b'this is not json')
docker('docker-1001-layers.tar', man=manifest(layers=['L/layer.tar'] * 1001))
docker('docker-bad-repotag.tar', man=manifest(tags=('Bad Name!',)))
write('docker-bomb.tar.gz', [('file', 'zeros', b'\0' * (64 << 20)), ('file', 'manifest.json', manifest())])
with open(os.path.join(out, 'good-docker.tar'), 'rb') as f: whole = f.read()
with open(os.path.join(out, 'docker-truncated.tar'), 'wb') as f: f.write(whole[:len(whole) // 2 + 100])
with open(os.path.join(out, 'not-an-archive.tar'), 'wb') as f: f.write(b'\x7fELF' + b'\x01' * 4000)

# oci-archive
LAYER_GZ = gzip.compress(LAYER, mtime=0)
def descriptor(media, data, size=None):
    return {"mediaType": media, "digest": "sha256:" + sha(data), "size": len(data) if size is None else size}
def oci(name, cfg=None, layer=LAYER_GZ, man=None, idx=None, replace=None, links=(), drop=(), layer_size=None):
    cfg = config() if cfg is None else cfg
    if man is None:
        man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                          "config": descriptor("application/vnd.oci.image.config.v1+json", cfg),
                          "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer, layer_size)]}).encode()
    if idx is None:
        d = descriptor("application/vnd.oci.image.manifest.v1+json", man)
        d["annotations"] = {"org.opencontainers.image.ref.name": "hostile-oci:1"}
        idx = json.dumps({"schemaVersion": 2, "manifests": [d]}).encode()
    blobs = {sha(b): b for b in (cfg, layer, man)}
    for key, value in (replace or {}).items(): blobs[key] = value
    members = [('file', 'oci-layout', b'{"imageLayoutVersion":"1.0.0"}'), ('file', 'index.json', idx), ('dir', 'blobs/'), ('dir', 'blobs/sha256/')]
    for hexdigest, data in sorted(blobs.items()):
        if hexdigest in drop: continue
        if hexdigest in dict(links): members.append(('symlink', 'blobs/sha256/' + hexdigest, dict(links)[hexdigest]))
        else: members.append(('file', 'blobs/sha256/' + hexdigest, data))
    write(name, members)
    return blobs
oci('good-oci.tar')
oci('oci-blob-wrong-content.tar', replace={sha(LAYER_GZ): LAYER_GZ[:-1] + bytes([LAYER_GZ[-1] ^ 1])})
oci('oci-blob-link-etc-shadow.tar', links=[(sha(LAYER_GZ), '/etc/shadow')])
oci('oci-blob-link-canary.tar', links=[(sha(LAYER_GZ), canary + '/secret')])
write('oci-index-link.tar', [('file', 'oci-layout', b'{"imageLayoutVersion":"1.0.0"}'), ('symlink', 'index.json', '/etc/passwd')])
write('oci-blobs-dir-link.tar', [('file', 'oci-layout', b'{"imageLayoutVersion":"1.0.0"}'), ('file', 'index.json', b'{"schemaVersion":2,"manifests":[]}'),
                                 ('symlink', 'blobs', canary)])
oci('oci-diff-id-mismatch.tar', cfg=config(diff_ids=['sha256:' + sha(b'other')]))
oci('oci-diff-id-count.tar', cfg=config(diff_ids=[DIFF, DIFF]))
oci('oci-layer-size-mismatch.tar', layer_size=len(LAYER_GZ) + 7)
oci('oci-config-5MB.tar.gz', cfg=config(pad=b' ' * (5 << 20)))
oci('oci-manifest-deep.tar', man=b'[' * 100000 + b']' * 100000)
oci('oci-index-deep.tar', idx=b'{"manifests":' * 100000 + b'1' + b'}' * 100000)
oci('oci-config-deep.tar', cfg=b'{"a":' * 100000 + b'1' + b'}' * 100000)
oci('oci-missing-layer.tar', drop=[sha(LAYER_GZ)])
oci('oci-no-tag.tar', idx=json.dumps({"schemaVersion": 2, "manifests": []}).encode())
"""#

    /// Archive name -> what stderr must say besides the archive's path (and "error").
    static let hostile: [String: [String]] = [
        "docker-layer-link-etc-shadow.tar": ["manifest.json", "the link 'L/layer.tar -> /etc/shadow' leads to nothing in the archive"],
        "docker-layer-link-canary.tar": ["manifest.json", "the link 'L/layer.tar -> /", "/canary/secret' leads to nothing in the archive"],
        "docker-layer-link-dotdot.tar": ["L/layer.tar", "leaves the archive's root"],
        "docker-config-link.tar": ["the link 'C.json -> /etc/passwd' leads to nothing"],
        "docker-dir-link.tar": ["'L/secret'", "the link 'L -> /"],
        "docker-write-through-dir-link.tar": ["L/planted", "not a real directory"],
        "docker-member-dotdot.tar": ["../../canary-escape"],
        "docker-hardlink-host.tar": ["L/layer.tar", "hardlink"],
        "docker-link-loop.tar": ["'L/layer.tar'", "more than 40 links"],
        "docker-layer-is-dir.tar": ["'L'", "not a regular file"],
        "docker-fifo.tar": ["L/layer.tar", "fifo"],
        "docker-manifest-names-dotdot.tar": ["manifest.json", "without '..'"],
        "docker-manifest-names-absolute.tar": ["manifest.json", "'/etc/passwd'"],
        "docker-manifest-names-missing.tar": ["'nope/layer.tar', which the archive does not hold; the archive is incomplete"],
        "docker-diff-id-mismatch.tar": ["L/layer.tar", "rootfs.diff_ids[0]", "docker refuses it too"],
        "docker-diff-id-count.tar": ["C.json", "name 0 layers, but the image has 1"],
        "docker-diff-id-missing.tar": ["C.json", "no rootfs.diff_ids"],
        "docker-config-100MB.tar.gz": ["C.json", "PKGLAYER_MAX_OCI_JSON_BYTES", "past the limit"],
        "docker-manifest-5MB.tar.gz": ["manifest.json", "PKGLAYER_MAX_OCI_JSON_BYTES"],
        "docker-manifest-deep.tar": ["manifest.json", "is not valid JSON"],
        "docker-config-deep.tar": ["C.json", "is not valid JSON"],
        "docker-manifest-not-json.tar": ["manifest.json", "is not valid JSON"],
        "docker-1001-layers.tar": ["manifest.json", "PKGLAYER_MAX_OCI_LAYERS"],
        "docker-bad-repotag.tar": ["Bad Name!"],
        "docker-bomb.tar.gz": ["zeros", "PKGLAYER_MAX_EXTRACTED_BYTES"],
        "docker-truncated.tar": ["trunc"],
        "not-an-archive.tar": [],
        "oci-blob-wrong-content.tar": ["blobs/sha256/", "hashes to", "not to its name"],
        "oci-blob-link-etc-shadow.tar": ["blobs/sha256/", "is a symlink"],
        "oci-blob-link-canary.tar": ["blobs/sha256/", "is a symlink"],
        "oci-index-link.tar": ["'index.json' is a symlink"],
        "oci-blobs-dir-link.tar": ["'blobs' is a symlink"],
        "oci-diff-id-mismatch.tar": ["blobs/sha256/", "rootfs.diff_ids[0]"],
        "oci-diff-id-count.tar": ["blobs/sha256/", "name 2 layers, but the image has 1"],
        "oci-layer-size-mismatch.tar": ["blobs/sha256/", "its descriptor says"],
        "oci-config-5MB.tar.gz": ["blobs/sha256/", "PKGLAYER_MAX_OCI_JSON_BYTES"],
        "oci-manifest-deep.tar": ["blobs/sha256/", "is not valid JSON"],
        "oci-index-deep.tar": ["index.json", "is not valid JSON"],
        "oci-config-deep.tar": ["blobs/sha256/", "is not valid JSON"],
        "oci-missing-layer.tar": ["blobs/sha256/", "missing"],
        "oci-no-tag.tar": ["names no image"],
    ]

    /// The child's peak RSS past which a refusal counts as reading its input into memory: well
    /// below the 100 MB config and the 64 MB bomb on top of pkglayer's own ~40 MB, with room to spare.
    static let rssLimitKiB = 64 * 1024

    func testTheHostileCorpusIsRefusedAndLeavesNothing() throws {
        try requireTool("python3", "/usr/bin/time")
        let scratch = try ScratchDirectory(prefix: "pkglayer-hostile-load")
        let canary = try scratch.makeDirectory("canary")
        _ = try scratch.write("canary/secret", "canary secret\n", mode: 0o600)
        _ = try scratch.write("canary/sub/file", "canary file\n")
        _ = try scratch.symlink("canary/link", to: "secret")
        let corpus = scratch.path("corpus")
        try TestProcess.runChecked("python3", ["-c", Self.generator, corpus, canary])
        let tmp = try scratch.makeDirectory("tmp")
        let cache = scratch.path("cache")
        let env = ["PKGLAYER_CACHE": cache, "TMPDIR": tmp]
        let canaryBefore = try snapshot(canary)
        let besideBefore = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()

        let made = Set(try FileManager.default.contentsOfDirectory(atPath: corpus))
        XCTAssertEqual(made.filter { !$0.hasPrefix("good-") }, Set(Self.hostile.keys), "the generator and the expectations list the same archives")
        var peak = 0, peakCase = ""
        for (name, mentions) in Self.hostile.sorted(by: { $0.key < $1.key }) {
            let archive = "\(corpus)/\(name)"
            // The bomb is refused by a lowered extraction limit (the 100 MB config must reach the JSON limit).
            let caseEnv = name == "docker-bomb.tar.gz" ? env.merging(["PKGLAYER_MAX_EXTRACTED_BYTES": "16M"]) { _, new in new } : env
            let result = try ChildProcess.run([CLI.binary, "load", "-i", archive], environment: caseEnv)
            XCTAssertFalse(result.timedOut, "\(name): pkglayer load did not finish")
            XCTAssertEqual(result.status, 1, "\(name): \(result.stderr)\(result.stdout)")
            XCTAssertEqual(result.stdout, "", name)
            XCTAssertTrue(result.stderr.hasPrefix("pkglayer: error: \(archive)"), "\(name): the error names the archive first: \(result.stderr)")
            for text in mentions {
                XCTAssertTrue(result.stderr.contains(text), "\(name): expected '\(text)' in: \(result.stderr)")
            }
            XCTAssertFalse(result.stderr.contains(tmp), "\(name): the error names the work directory, not the archive: \(result.stderr)")
            XCTAssertLessThan(result.maxRSSKiB, Self.rssLimitKiB, "\(name): peak RSS \(result.maxRSSKiB) KiB")
            if result.maxRSSKiB > peak { (peak, peakCase) = (result.maxRSSKiB, name) }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [], "\(name): left files in TMPDIR")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(cache)/images/blobs/sha256"), [], "\(name): stored a blob")
            XCTAssertEqual(try storedTags(cache), [], "\(name): tagged an image")
        }
        print("hostile corpus: \(Self.hostile.count) archives refused, peak RSS \(peak) KiB (\(peakCase))")
        XCTAssertEqual(try snapshot(canary), canaryBefore, "the canary tree beside the work directories changed")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted(), (besideBefore + ["cache"]).sorted(),
                       "something was created beside the work directories")
        XCTAssertEqual(try CLI.ok(["store", "verify"], environment: env).status, 0)

        // The good archives built the same way load, and the store stays clean.
        for good in ["good-docker.tar", "good-docker-abs-link-in-root.tar", "good-oci.tar"] {
            let result = try ChildProcess.run([CLI.binary, "load", "-i", "\(corpus)/\(good)"], environment: env)
            XCTAssertEqual(result.status, 0, "\(good): \(result.stderr)")
            XCTAssertTrue(result.stdout.hasPrefix("Loaded image: "), result.stdout)
        }
        XCTAssertEqual(try storedTags(cache), ["hostile-oci:1", "hostile/docker:1"].sorted())
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp), [])
        let verified = try CLI.ok(["store", "verify", "--json"], environment: env)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: verified.stdout) as? [String: Any])
        XCTAssertEqual((report["problems"] as? [Any])?.count, 0, "\(report)")
        XCTAssertGreaterThanOrEqual(report["blobs"] as? Int ?? 0, 5, "\(report)")
        // The in-root link loaded the archive's own layer, not anything of the host.
        XCTAssertEqual(try snapshot(canary), canaryBefore)
    }

    /// A flipped byte in a stored blob (same size) is found by `store verify` and stops `save` in both
    /// formats, with nothing written at the output's name.
    func testAFlippedByteInTheStoreIsCaught() throws {
        try requireTool("python3")
        let scratch = try ScratchDirectory(prefix: "pkglayer-store-flip")
        let canary = try scratch.makeDirectory("canary")
        let corpus = scratch.path("corpus")
        try TestProcess.runChecked("python3", ["-c", Self.generator, corpus, canary])
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        try CLI.ok(["load", "-i", "\(corpus)/good-oci.tar"], environment: env)
        try CLI.ok(["store", "verify"], environment: env)
        try CLI.ok(["save", "hostile-oci:1", "--format", "oci-archive", "-o", scratch.path("before.tar")], environment: env)

        // The layer: the one gzip blob.
        let blobs = scratch.path("cache/images/blobs/sha256")
        let layer = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: blobs).first {
            FileManager.default.contents(atPath: "\(blobs)/\($0)")?.prefix(2) == Data([0x1f, 0x8b])
        })
        let path = "\(blobs)/\(layer)"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let size = bytes.count
        bytes[size / 2] ^= 0x01
        chmod(path, 0o644)
        try bytes.write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int, size)

        let verify = try CLI.run(["store", "verify"], environment: env)
        XCTAssertEqual(verify.status, 1, verify.stdoutText)
        XCTAssertTrue(verify.stderrText.contains("\(layer): content hashes to"), verify.stderrText)
        XCTAssertTrue(verify.stdoutText.contains("problem"), verify.stdoutText)

        for format in ["oci-archive", "docker-archive"] {
            let output = scratch.path("after-\(format).tar")
            let save = try CLI.run(["save", "hostile-oci:1", "--format", format, "-o", output], environment: env)
            XCTAssertEqual(save.status, 1, "\(format): \(save.stderrText)")
            XCTAssertTrue(save.stderrText.contains(layer), "\(format): the error names the blob: \(save.stderrText)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: output), format)
        }
        let oci = try CLI.run(["save", "hostile-oci:1", "--format", "oci-archive", "-o", scratch.path("x.tar")], environment: env)
        XCTAssertTrue(oci.stderrText.contains("store verify"), oci.stderrText)
        let left = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix(".") || $0.contains("tmp") }
        XCTAssertEqual(left, [], "temporary files of the refused saves")
    }

    // MARK: - Helpers

    /// Every entry under `root`: type, mode, size, content digest or link target.
    func snapshot(_ root: String) throws -> [String: String] {
        var result: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let relative = enumerator?.nextObject() as? String {
            let path = "\(root)/\(relative)"
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            var value = "\(info.st_mode) \(info.st_size) \(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
            if info.st_mode & S_IFMT == S_IFLNK {
                value += " -> " + ((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")
            } else if info.st_mode & S_IFMT == S_IFREG {
                value += " " + String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)).base64EncodedData(), as: UTF8.self)
            }
            result[relative] = value
        }
        return result
    }

    func storedTags(_ cache: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: "\(cache)/images/index.json") else { return [] }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (object["manifests"] as? [[String: Any]] ?? []).compactMap {
            ($0["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"]
        }.sorted()
    }
}

/// A child process run under GNU time (`/usr/bin/time -f %M`), which reports the child's own peak RSS
/// from wait4. Not ru_maxrss of a child spawned from the test process itself: posix_spawn's child
/// starts in the test process's address space, and Linux folds that address space's high-water mark
/// into the child's maxrss at exec, so the figure would be the test runner's, not pkglayer's. A child
/// still running after `deadline` seconds is killed with its process group and reported as timed out.
enum ChildProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var maxRSSKiB: Int
        var timedOut: Bool
    }

    static func run(_ argv: [String], environment: [String: String], deadline: TimeInterval = 120) throws -> Result {
        let scratch = try ScratchDirectory(prefix: "pkglayer-child")
        let out = scratch.path("stdout"), err = scratch.path("stderr")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let rss = scratch.path("rss")
        let argv = ["/usr/bin/time", "-f", "%M", "-o", rss] + argv
        let env = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }.map { "\($0.key)=\($0.value)" }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EINVAL) }
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        let end = Date().addingTimeInterval(deadline)
        while true {
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0, errno != EINTR { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EINVAL) }
            if Date() > end, !timedOut {
                timedOut = true
                kill(-pid, SIGKILL)
            }
            usleep(5_000)
        }
        let exited = status & 0x7f == 0
        let code = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        // time writes "Command exited with non-zero status N" first when the child failed; %M is last.
        let reported = ((try? String(contentsOfFile: rss, encoding: .utf8)) ?? "").split(separator: "\n").last.flatMap { Int($0) }
        return Result(status: code, stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "", maxRSSKiB: reported ?? Int.max, timedOut: timedOut)
    }
}
