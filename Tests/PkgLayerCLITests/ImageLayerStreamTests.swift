import Foundation
import PkgLayerTestSupport
import XCTest

/// Package layers written without staging the packages on disk, several packages at a time: the image
/// must be the same bytes as the staged, one-at-a-time path gives, and dpkg and umoci must find in it
/// exactly what dpkg-deb packed.
final class ImageLayerStreamTests: XCTestCase {
    var scratch: ScratchDirectory!
    let epoch = "1700000000"

    override func setUpWithError() throws {
        try requireTool("dpkg-deb", "dpkg", "umoci", "skopeo", "diff")
        scratch = try ScratchDirectory(prefix: "pkglayer-image-stream")
    }

    /// A .deb built by dpkg-deb from a tree: its data.tar lists symlinks last and keeps hardlinks, as
    /// Debian's own packages do.
    func dpkgDeb(_ name: String, files: [String: Data], symlinks: [String: String] = [:], hardlinks: [String: String] = [:],
                 conffiles: [String] = [], md5sums: String? = nil) throws -> String {
        let root = try scratch.makeDirectory("trees/\(name)")
        for (path, content) in files { _ = try scratch.write("trees/\(name)\(path)", content, mode: path.contains("/bin/") ? 0o755 : 0o644) }
        for (path, target) in symlinks {
            try FileManager.default.createDirectory(atPath: ((root + path) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: root + path, withDestinationPath: target)
        }
        for (path, target) in hardlinks { try FileManager.default.linkItem(atPath: root + target, toPath: root + path) }
        var control = "Package: \(name)\nVersion: 1.0-1\nArchitecture: all\nMaintainer: Test <t@example.com>\nDescription: stream test\n test package\n"
        if name.hasPrefix("dep-") { control += "Depends: base-\(name.dropFirst(4))\n" }
        _ = try scratch.write("trees/\(name)/DEBIAN/control", control)
        if !conffiles.isEmpty { _ = try scratch.write("trees/\(name)/DEBIAN/conffiles", conffiles.map { $0 + "\n" }.joined()) }
        if let md5sums { _ = try scratch.write("trees/\(name)/DEBIAN/md5sums", md5sums) }
        let out = scratch.path("debs/\(name)_1.0-1_all.deb")
        _ = try scratch.makeDirectory("debs")
        try TestProcess.runChecked("dpkg-deb", ["--root-owner-group", "-Zxz", "-b", root, out], environment: ["SOURCE_DATE_EPOCH": epoch])
        return out
    }

    func randomBytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for i in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    func md5(_ data: Data) throws -> String {
        let file = try scratch.write("md5-input", data)
        return String(try TestProcess.runChecked("md5sum", [file]).stdoutText.prefix(32))
    }

    func image(_ debs: [String], jobs: Int, stream: Bool, cache: String, out: String) throws -> (manifest: String, layers: [String]) {
        let file = try scratch.write("images/\(cache).yml", "name: stream\ntag: t\nformat: deb\noutputs: [oci-layout]\npackages: [\(debs.joined(separator: ", "))]\n")
        _ = try CLI.ok(["image", "--context", scratch.path, file, "-o", scratch.path(out)],
                       environment: ["PKGLAYER_CACHE": scratch.path(cache), "SOURCE_DATE_EPOCH": epoch, "PKGLAYER_JOBS": String(jobs),
                                     "PKGLAYER_LAYER_STREAM": stream ? "1" : "0"])
        let inspect = try TestProcess.runChecked("skopeo", ["inspect", "oci:\(scratch.path(out))/stream-t.oci:t"])
        let json = try JSONSerialization.jsonObject(with: inspect.stdout) as! [String: Any]
        return (json["Digest"] as! String, json["Layers"] as! [String])
    }

    func testStreamedLayersAreTheStagedLayersWhateverTheJobsAndDpkgVerifiesThem() throws {
        let big = randomBytes(3 << 20, seed: 7)   // more than one 1 MiB gzip block
        let copyright = """
            Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

            Files: *
            Copyright: 2024 Test
            License: MIT
            """
        let base = try dpkgDeb("base-a", files: [
            "/usr/lib/base/big.bin": big,
            "/usr/lib/base/same-1.txt": Data("same content\n".utf8),
            "/usr/lib/base/same-2.txt": Data("same content\n".utf8),
            "/usr/lib/base/empty": Data(),
            "/etc/base.conf": Data("setting=1\n".utf8),
            "/var/lib/zzz/state": Data("sorts after dpkg's info files\n".utf8),
            "/usr/share/doc/base-a/copyright": Data(copyright.utf8),
        ], symlinks: ["/lib64": "usr/lib", "/usr/lib/base/link.bin": "big.bin"],
           hardlinks: ["/usr/lib/base/aa-hardlink.bin": "/usr/lib/base/big.bin"],
           conffiles: ["/etc/base.conf"])
        let dependent = try dpkgDeb("dep-a", files: [
            "/usr/bin/dep": Data("#!/bin/sh\necho dep\n".utf8),
            "/usr/share/dep/data": randomBytes(200_000, seed: 9),
        ], md5sums: "\(try md5(Data("#!/bin/sh\necho dep\n".utf8)))  usr/bin/dep\n\(try md5(randomBytes(200_000, seed: 9)))  usr/share/dep/data\n")
        let debs = [dependent, base]

        let streamed2 = try image(debs, jobs: 2, stream: true, cache: "c1", out: "o1")
        let streamed1 = try image(debs, jobs: 1, stream: true, cache: "c2", out: "o2")
        let staged = try image(debs, jobs: 1, stream: false, cache: "c3", out: "o3")
        XCTAssertEqual(streamed2.layers.count, 3, "one layer per package and the image's own files")
        XCTAssertEqual(streamed2.layers, streamed1.layers, "1 and 2 jobs give the same layers")
        XCTAssertEqual(streamed2.layers, staged.layers, "streamed and staged packages give the same layers")
        XCTAssertEqual(streamed2.manifest, staged.manifest)
        XCTAssertEqual(streamed2.manifest, streamed1.manifest)

        // umoci unpacks what dpkg-deb packed, hardlinks as hardlinks; dpkg verifies every file's md5.
        let bundle = try RuncBundle.unpack(layout: scratch.path("o1/stream-t.oci"), tag: "t", into: scratch.path("bundle"))
        for deb in debs {
            let name = ((deb as NSString).lastPathComponent as NSString).deletingPathExtension
            let extracted = try scratch.makeDirectory("x/\(name)")
            try TestProcess.runChecked("dpkg-deb", ["-x", deb, extracted])
            let paths = try TestProcess.runChecked("/bin/sh", ["-c", "cd '\(extracted)' && find . ! -type d | sort"]).stdoutText
            for path in paths.split(separator: "\n") {
                let a = "\(extracted)/\(path.dropFirst(2))", b = "\(bundle.rootfs)/\(path.dropFirst(2))"
                let cmp = try TestProcess.run("diff", ["--no-dereference", a, b])
                XCTAssertTrue(cmp.succeeded, "\(path) differs: \(cmp.stdoutText)")
            }
        }
        var big1 = stat(), big2 = stat()
        XCTAssertEqual(lstat("\(bundle.rootfs)/usr/lib/base/big.bin", &big1), 0)
        XCTAssertEqual(lstat("\(bundle.rootfs)/usr/lib/base/aa-hardlink.bin", &big2), 0)
        XCTAssertEqual(big1.st_ino, big2.st_ino, "the hardlink is a hardlink in the image")
        let verify = try TestProcess.run("dpkg", ["--root=\(bundle.rootfs)", "--admindir=\(bundle.rootfs)/var/lib/dpkg", "--verify"])
        XCTAssertTrue(verify.succeeded && verify.stdoutText.isEmpty, "dpkg --verify: \(verify.stdoutText) \(verify.stderrText)")
        let status = try TestProcess.runChecked("dpkg-query", ["--admindir=\(bundle.rootfs)/var/lib/dpkg", "-W", "-f", "${Package} ${Conffiles}\n", "base-a"])
        XCTAssertEqual(status.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines),
                       "base-a  /etc/base.conf \(try md5(Data("setting=1\n".utf8)))", "the conffile's md5 comes from the streamed read")
        let list = try String(contentsOfFile: "\(bundle.rootfs)/var/lib/dpkg/info/base-a.list", encoding: .utf8)
        XCTAssertTrue(list.contains("/var/lib/zzz/state\n") && list.contains("/lib64\n") && list.contains("/usr/lib/base/aa-hardlink.bin\n"), list)

        // A warm cache writes nothing new and gives the same image.
        let again = try image(debs, jobs: 2, stream: true, cache: "c1", out: "o4")
        XCTAssertEqual(again.manifest, streamed2.manifest)
    }

    func testACorruptPackageIsRefusedAndLeavesNoLayer() throws {
        let deb = try dpkgDeb("broken", files: ["/usr/share/broken/file": Data("content\n".utf8)],
                              md5sums: "0123456789abcdef0123456789abcdef  usr/share/broken/file\n")
        let file = try scratch.write("images/broken.yml", "name: broken\ntag: t\nformat: deb\noutputs: [oci-layout]\npackages: [\(deb)]\n")
        let result = try CLI.run(["image", "--context", scratch.path, file, "-o", scratch.path("out")],
                                 environment: ["PKGLAYER_CACHE": scratch.path("cache"), "SOURCE_DATE_EPOCH": epoch])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderrText.contains("does not match its md5sums entry"), result.stderrText)
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: scratch.path("cache/images/blobs/sha256"))) ?? []
        XCTAssertEqual(blobs.filter { !$0.hasPrefix(".") }, [], "no layer blob for a refused package")
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out/broken-t.oci")))
    }
}
