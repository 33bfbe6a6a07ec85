import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer import`, `images`, `inspect`, `df` and `prune` against a private cache ($PKGLAYER_CACHE).
final class StoreCommandTests: XCTestCase {
    func json(_ output: ProcessOutput) throws -> Any {
        try JSONSerialization.jsonObject(with: output.stdout)
    }

    /// A busybox rootfs tarball: /bin/busybox with applet symlinks and an /etc.
    func rootfs(_ scratch: ScratchDirectory) throws -> String {
        let root = try scratch.makeDirectory("tree")
        try FileManager.default.createDirectory(atPath: "\(root)/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: "\(root)/bin/busybox")
        _ = try scratch.symlink("tree/bin/sh", to: "busybox")
        _ = try scratch.write("tree/etc/hostname", "pkglayer\n")
        let tarball = scratch.path("rootfs.tar.xz")
        try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "--numeric-owner",
                                           "-cJf", tarball, "-C", root, "."])
        return tarball
    }

    func testImportListInspectDfAndPrune() throws {
        try requireTool("busybox", "tar", "xz", "skopeo", "oci-image-tool")
        let scratch = try ScratchDirectory(prefix: "pkglayer-cli-store")
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        let tarball = try rootfs(scratch)

        XCTAssertEqual(try CLI.ok(["images"], environment: env).stdoutText, "REPOSITORY   TAG   DIGEST   CREATED   SIZE\n")
        let imported = try json(try CLI.ok(["import", tarball, "example.org/busybox:1.36", "--change", "ENV PATH=/bin",
                                            "--change", "CMD [\"/bin/sh\"]", "--json"], environment: env)) as! [String: Any]
        let digest = try XCTUnwrap(imported["digest"] as? String)
        let plain = try CLI.ok(["import", tarball, "busybox"], environment: env).stdoutText
        XCTAssertTrue(plain.hasPrefix("busybox:latest sha256:"), plain)
        let listed = try json(try CLI.ok(["images", "--json"], environment: env)) as! [[String: Any]]
        XCTAssertEqual(listed.map { $0["reference"] as? String }, ["busybox:latest", "example.org/busybox:1.36"])
        XCTAssertEqual(listed[1]["digest"] as? String, digest)
        XCTAssertEqual(listed[1]["created"] as? String, "2020-09-13T12:26:40Z", "created is the newest mtime in the tarball")
        let table = try CLI.ok(["images"], environment: env).stdoutText
        XCTAssertTrue(table.contains("example.org/busybox   1.36"), table)
        XCTAssertTrue(table.contains(String(digest.dropFirst("sha256:".count).prefix(12))), table)

        // skopeo reads the store as an OCI layout, under the name:tag reference.
        let store = scratch.path("cache/images")
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", store])
        let config = try json(try TestProcess.runChecked("skopeo", ["inspect", "--config", "oci:\(store):example.org/busybox:1.36"])) as! [String: Any]
        let runConfig = config["config"] as? [String: Any]
        XCTAssertEqual(runConfig?["Env"] as? [String], ["PATH=/bin"])
        XCTAssertEqual(runConfig?["Cmd"] as? [String], ["/bin/sh"])

        let inspected = try json(try CLI.ok(["inspect", "example.org/busybox:1.36", "--json"], environment: env)) as! [String: Any]
        let layers = try XCTUnwrap(inspected["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.count, 1)
        XCTAssertEqual(layers[0]["package"] as? String, "rootfs")
        XCTAssertEqual(layers[0]["format"] as? String, "tar")
        XCTAssertGreaterThan(layers[0]["uncompressedSize"] as? Int ?? 0, layers[0]["size"] as? Int ?? 0)
        let text = try CLI.ok(["inspect", String(digest.dropFirst("sha256:".count).prefix(8))], environment: env).stdoutText
        XCTAssertTrue(text.contains("rootfs") && text.contains("Cmd          /bin/sh"), text)

        let missing = try CLI.run(["inspect", "nope:1"], environment: env)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderrText.contains("nope:1") && missing.stderrText.contains("busybox:latest"), missing.stderrText)

        // Re-importing under the same tag with another config leaves the first image unreachable.
        try CLI.ok(["import", tarball, "example.org/busybox:1.36", "--change", "ENV PATH=/usr/bin"], environment: env)
        let df = try json(try CLI.ok(["df", "--json"], environment: env)) as! [String: Any]
        let images = (df["items"] as! [[String: Any]]).first { $0["name"] as? String == "images" }!
        XCTAssertGreaterThan(images["reclaimable"] as? Int ?? 0, 0, "the replaced image's config and manifest")
        let dry = try json(try CLI.ok(["prune", "--dry-run", "--json"], environment: env)) as! [String: Any]
        XCTAssertEqual((dry["blobs"] as? [Any])?.count, 2, "config and manifest; the layer is shared")
        let pruned = try CLI.ok(["prune"], environment: env).stdoutText
        XCTAssertTrue(pruned.contains("Total reclaimed space"), pruned)
        XCTAssertTrue(pruned.contains(digest), "the old manifest is removed: \(pruned)")
        try TestProcess.runChecked("oci-image-tool", ["validate", "--type", "image", store])
        for tag in ["busybox:latest", "example.org/busybox:1.36"] {
            try TestProcess.runChecked("skopeo", ["inspect", "oci:\(store):\(tag)"])
        }
        let after = try json(try CLI.ok(["prune", "--json"], environment: env)) as! [String: Any]
        XCTAssertEqual(after["freedBytes"] as? Int, 0)
    }

    func testAHostileTarballIsRefusedAndNothingIsStored() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-cli-store")
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        let script = """
        import io, sys, tarfile
        with tarfile.open(sys.argv[1], "w:gz") as t:
            for name in ["bin/ok", "bin/../../../etc/cron.d/evil"]:
                info = tarfile.TarInfo(name); data = b"x"; info.size = 1; t.addfile(info, io.BytesIO(data))
        """
        try TestProcess.runChecked("python3", ["-c", script, scratch.path("evil.tar.gz")])
        let out = try CLI.run(["import", scratch.path("evil.tar.gz"), "evil"], environment: env)
        XCTAssertEqual(out.status, 1)
        XCTAssertTrue(out.stderrText.contains("bin/../../../etc/cron.d/evil"), "the error names the entry: \(out.stderrText)")
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("cache/images/blobs/sha256"))) ?? []
        XCTAssertEqual(blobs, [], "no blob written")
        XCTAssertEqual(try CLI.ok(["images", "--json"], environment: env).stdoutText.filter { !$0.isWhitespace }, "[]")

        let badName = try CLI.run(["import", scratch.path("evil.tar.gz"), "Bad:Name!"], environment: env)
        XCTAssertEqual(badName.status, 1)
        XCTAssertTrue(badName.stderrText.contains("Bad:Name!"), badName.stderrText)
        let badChange = try CLI.run(["import", scratch.path("evil.tar.gz"), "x", "--change", "RUN rm -rf /"], environment: env)
        XCTAssertEqual(badChange.status, 1)
        XCTAssertTrue(badChange.stderrText.contains("RUN"), badChange.stderrText)
    }

    /// `tag`, `history` and `rmi` as docker users type them: another name for an image, one row per
    /// layer naming what made it, and names removed by name or digest with docker's refusals.
    func testTagHistoryAndRmi() throws {
        try requireTool("busybox", "tar", "xz")
        let scratch = try ScratchDirectory(prefix: "pkglayer-cli-tags")
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        let tarball = try rootfs(scratch)
        let imported = try json(try CLI.ok(["import", tarball, "busybox:1", "--json"], environment: env)) as! [String: Any]
        let digest = try XCTUnwrap(imported["digest"] as? String)
        let short = String(digest.dropFirst("sha256:".count).prefix(12))

        try CLI.ok(["tag", "busybox:1", "127.0.0.1:5000/base/busybox:1"], environment: env)
        let listed = try json(try CLI.ok(["images", "--json"], environment: env)) as! [[String: Any]]
        XCTAssertEqual(listed.map { $0["reference"] as? String }, ["127.0.0.1:5000/base/busybox:1", "busybox:1"])
        XCTAssertEqual(Set(listed.compactMap { $0["digest"] as? String }), [digest], "both names are the same image")
        let missing = try CLI.run(["tag", "nope:1", "x:1"], environment: env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderrText.contains("nope:1"), missing.stderrText)

        let history = try json(try CLI.ok(["history", "busybox:1", "--json"], environment: env)) as! [[String: Any]]
        XCTAssertEqual(history.count, 1)
        XCTAssertTrue((history[0]["createdBy"] as? String ?? "").contains("rootfs"), "\(history)")
        XCTAssertTrue(try CLI.ok(["history", "busybox:1"], environment: env).stdoutText.hasPrefix("LAYER"), "a table by default")

        // By digest with two names: refused unless -f; by name: just that name.
        let refused = try CLI.run(["rmi", short], environment: env)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("has 2 names") && refused.stderrText.contains("-f"), refused.stderrText)
        XCTAssertEqual(try CLI.ok(["rmi", "127.0.0.1:5000/base/busybox:1"], environment: env).stdoutText, "Untagged: 127.0.0.1:5000/base/busybox:1\n")
        XCTAssertEqual(try CLI.ok(["rmi", short], environment: env).stdoutText, "Untagged: busybox:1\n")
        XCTAssertEqual(try CLI.ok(["images"], environment: env).stdoutText, "REPOSITORY   TAG   DIGEST   CREATED   SIZE\n")
        // The blobs stay until prune.
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path("cache/images/blobs/sha256/\(digest.dropFirst("sha256:".count))")))
    }

    /// `images --filter` and `-q`, as docker's.
    func testImagesFilters() throws {
        try requireTool("tar")
        let scratch = try ScratchDirectory(prefix: "pkglayer-cli-filters")
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        func image(_ name: String, mtime: Int, label: String) throws -> String {
            _ = try scratch.write("\(name)/etc/\(name)", "\(name)\n")
            let tarball = scratch.path("\(name).tar")
            try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@\(mtime)", "--owner=0", "--group=0", "-cf", tarball, "-C", scratch.path(name), "."])
            let out = try CLI.ok(["import", tarball, name, "--change", "LABEL team=\(label)", "--json"], environment: env)
            return try XCTUnwrap((try JSONSerialization.jsonObject(with: out.stdout) as? [String: Any])?["digest"] as? String)
        }
        _ = try image("web/old:1", mtime: 1_600_000_000, label: "web")
        _ = try image("web/new:2", mtime: 1_700_000_000, label: "web")
        let db = try image("db/main:1", mtime: 1_650_000_000, label: "data")
        func refs(_ filters: [String]) throws -> [String] {
            let out = try CLI.ok(["images", "--json"] + filters.flatMap { ["--filter", $0] }, environment: env)
            return (try JSONSerialization.jsonObject(with: out.stdout) as? [[String: Any]] ?? []).compactMap { $0["reference"] as? String }
        }
        XCTAssertEqual(try refs(["reference=web/*"]), ["web/new:2", "web/old:1"])
        XCTAssertEqual(try refs(["label=team=data"]), ["db/main:1"])
        XCTAssertEqual(try refs(["label=team"]).count, 3)
        XCTAssertEqual(try refs(["since=db/main:1"]), ["web/new:2"])
        XCTAssertEqual(try refs(["before=db/main:1"]), ["web/old:1"])
        XCTAssertEqual(try refs(["dangling=true"]), [])
        XCTAssertEqual(try refs(["reference=web/*", "label=team=data"]), [])
        XCTAssertEqual(try CLI.ok(["images", "-q", "--filter", "label=team=data"], environment: env).stdoutText,
                       String(db.dropFirst("sha256:".count).prefix(12)) + "\n")
        let bad = try CLI.run(["images", "--filter", "colour=red"], environment: env)
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderrText.contains("unknown filter 'colour'"), bad.stderrText)
    }

    /// `save` writes archives skopeo reads with the store's digests; `load` takes skopeo-written
    /// docker- and oci-archives (gzip'd too) back into a store; a hostile archive is refused.
    func testSaveAndLoad() throws {
        try requireTool("skopeo", "tar", "gzip")
        let scratch = try ScratchDirectory(prefix: "pkglayer-cli-save")
        let env = ["PKGLAYER_CACHE": scratch.path("cache")]
        _ = try scratch.write("tree/etc/app", "app\n")
        try TestProcess.runChecked("tar", ["--sort=name", "--mtime=@1600000000", "--owner=0", "--group=0", "-cf", scratch.path("root.tar"),
                                           "-C", scratch.path("tree"), "."])
        let digest = try XCTUnwrap((try json(try CLI.ok(["import", scratch.path("root.tar"), "app:1", "--json"], environment: env)) as? [String: Any])?["digest"] as? String)
        try CLI.ok(["tag", "app:1", "app:latest"], environment: env)
        let config = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(scratch.path("cache/images")):app:1"])
        XCTAssertEqual(config.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), digest)
        func configDigest(_ reference: String) throws -> String {
            let raw = try TestProcess.runChecked("skopeo", ["inspect", "--raw", reference]).stdout
            return try XCTUnwrap(((try JSONSerialization.jsonObject(with: raw) as? [String: Any])?["config"] as? [String: Any])?["digest"] as? String)
        }
        let storeConfig = try configDigest("oci:\(scratch.path("cache/images")):app:1")

        try CLI.ok(["save", "app:1", "app:latest", "-o", scratch.path("both.tar")], environment: env)
        XCTAssertEqual(try configDigest("docker-archive:\(scratch.path("both.tar")):app:1"), storeConfig)
        XCTAssertEqual(try configDigest("docker-archive:\(scratch.path("both.tar")):app:latest"), storeConfig, "two images in one archive")
        try CLI.ok(["save", "app:1", "-o", scratch.path("one.oci.tar"), "--format", "oci-archive"], environment: env)
        XCTAssertEqual(try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci-archive:\(scratch.path("one.oci.tar")):app:1"])
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), digest)

        // skopeo-written archives into a fresh store.
        let fresh = ["PKGLAYER_CACHE": scratch.path("cache2")]
        try TestProcess.runChecked("skopeo", ["copy", "oci:\(scratch.path("cache/images")):app:1", "docker-archive:\(scratch.path("sk.docker.tar")):team/app:2"])
        try TestProcess.runChecked("gzip", ["-k", scratch.path("sk.docker.tar")])
        try TestProcess.runChecked("skopeo", ["copy", "oci:\(scratch.path("cache/images")):app:1", "oci-archive:\(scratch.path("sk.oci.tar")):app:3"])
        XCTAssertTrue(try CLI.ok(["load", "-i", scratch.path("sk.docker.tar.gz")], environment: fresh).stdoutText.contains("Loaded image: docker.io/team/app:2"))
        XCTAssertEqual(try CLI.ok(["load", "-i", scratch.path("sk.oci.tar")], environment: fresh).stdoutText, "Loaded image: app:3\n")
        XCTAssertEqual(try configDigest("oci:\(scratch.path("cache2/images")):docker.io/team/app:2"), storeConfig, "the image ID (config) is kept")
        XCTAssertEqual(try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "oci:\(scratch.path("cache2/images")):app:3"])
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), digest, "an oci-archive keeps its digest")

        // A hostile archive is refused and stores nothing.
        _ = try scratch.write("evil/manifest.json", "[]")
        try TestProcess.runChecked("tar", ["-cf", scratch.path("evil.tar"), "-C", scratch.path("evil"), "--transform", "s,^manifest.json,../../escape.json,", "manifest.json"])
        let refused = try CLI.run(["load", "-i", scratch.path("evil.tar")], environment: fresh)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stderrText.contains("evil.tar"), refused.stderrText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("escape.json")))
    }
}
