import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

final class RPMReaderTests: XCTestCase {
    private func withoutSources(_ manifest: FileManifest) -> [ManifestEntry] {
        manifest.entries.map { var e = $0; e.sourcePath = nil; return e }
    }

    private func sortedDescriptions(_ deps: [Dependency]) -> [String] { deps.map(\.description).sorted() }

    func testRoundTripGivesBackSpecAndManifest() throws {
        for (compression, stripped) in [(Compression.gzip(level: 6), false), (.zstd(level: 3), true), (.none, false)] {
            let fixture = try Fixture.standard()
            let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
            var spec = Specs.hello()
            spec.preDepends = [try Dependency(parsing: "shadow-utils", field: "t")]
            spec.scripts = [.beforeInstall: "echo pre\n", .beforeUpgrade: "echo upgrading\n", .afterInstall: "echo post\n",
                            .beforeRemove: "echo preun\n", .afterRemove: "echo postun\n", .afterTransaction: "echo posttrans\n"]
            let manifest = try fixture.manifest()
            let pkg = try writePackage(spec, manifest, in: out.path, compression: compression) { $0.largeFileFormat = stripped ? .always : .automatic }

            let staging = out.path + "/staging"
            let read = try RPMReader().read(path: pkg, extractTo: staging)
            let got = read.spec
            XCTAssertEqual(got.name, spec.name)
            XCTAssertEqual(got.version, spec.version)
            XCTAssertEqual(got.release, spec.release)
            XCTAssertEqual(got.epoch, spec.epoch)
            XCTAssertEqual(got.architecture, spec.architecture)
            XCTAssertEqual(got.summary, spec.summary)
            XCTAssertEqual(got.description, spec.description)
            XCTAssertEqual(got.license, spec.license)
            XCTAssertEqual(got.vendor, spec.vendor)
            XCTAssertEqual(got.url, spec.url)
            XCTAssertEqual(got.maintainer, spec.maintainer)
            XCTAssertEqual(got.section, spec.section)
            XCTAssertEqual(got.sourceDateEpoch, spec.sourceDateEpoch)
            XCTAssertEqual(sortedDescriptions(got.depends), sortedDescriptions(spec.depends))
            XCTAssertEqual(sortedDescriptions(got.preDepends), sortedDescriptions(spec.preDepends))
            XCTAssertEqual(sortedDescriptions(got.provides), sortedDescriptions(spec.provides))
            XCTAssertEqual(sortedDescriptions(got.conflicts), sortedDescriptions(spec.conflicts))
            XCTAssertEqual(sortedDescriptions(got.obsoletes), sortedDescriptions(spec.obsoletes))
            XCTAssertEqual(sortedDescriptions(got.recommends), sortedDescriptions(spec.recommends))
            XCTAssertEqual(sortedDescriptions(got.suggests), sortedDescriptions(spec.suggests))
            XCTAssertEqual(got.scripts, spec.scripts)

            // The stripped payload has no cpio headers, so only names are left for owners other than root.
            let expected = stripped ? withoutSources(manifest).map { var e = $0; e.uid = 0; e.gid = 0; return e } : withoutSources(manifest)
            XCTAssertEqual(withoutSources(read.manifest), expected, "\(compression) stripped=\(stripped)")
            for entry in read.manifest.entries where entry.kind == .file && !entry.flags.contains(.ghost) {
                let source = try XCTUnwrap(entry.sourcePath, entry.path)
                XCTAssertEqual(source, staging + entry.path)
                XCTAssertEqual(FileManager.default.contents(atPath: source), FileManager.default.contents(atPath: manifest[entry.path]!.sourcePath!))
            }
            var a = Glibc.stat(), b = Glibc.stat(), c = Glibc.stat()
            XCTAssertEqual(lstat(staging + "/usr/lib/hello/a-original", &a), 0)
            XCTAssertEqual(lstat(staging + "/usr/lib/hello/b-link", &b), 0)
            XCTAssertEqual(lstat(staging + "/usr/lib/hello/c-link", &c), 0)
            XCTAssertEqual(a.st_ino, b.st_ino)
            XCTAssertEqual(a.st_ino, c.st_ino)
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: staging + "/usr/bin/hello-link"), "hello")

            // Without extraction: same manifest except that the numeric owner of daemon's files is unknown.
            let headerOnly = try RPMReader().read(path: pkg)
            XCTAssertEqual(headerOnly.manifest.entries.map(\.path), manifest.entries.map(\.path))
            XCTAssertNil(headerOnly.manifest.entries.first { $0.sourcePath != nil })
            XCTAssertEqual(headerOnly.manifest["/var/lib/hello/state"]?.user, "daemon")
        }
    }

    func testWritingWhatWasReadGivesTheSamePackage() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        var spec = Specs.hello()
        spec.scripts = [.afterInstall: "echo post\n", .beforeRemove: "echo preun\n"]
        let first = try writePackage(spec, try fixture.manifest(), in: out.path, name: "first.rpm")
        let read = try RPMReader().read(path: first, extractTo: out.path + "/staging")
        let second = try writePackage(read.spec, read.manifest, in: out.path, name: "second.rpm")
        XCTAssertEqual(FileManager.default.contents(atPath: first), FileManager.default.contents(atPath: second))
    }

    // MARK: Damaged and hostile packages

    func testCorruptedPackagesFailNamingTheFile() throws {
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let good = try writePackage(Specs.hello(), try fixture.manifest(), in: out.path, name: "good.rpm")
        let bytes = [UInt8](FileManager.default.contents(atPath: good)!)
        let package = try RPMPackageFile(path: good)

        func damaged(_ name: String, _ change: (inout [UInt8]) -> Void) throws -> String {
            var copy = bytes
            change(&copy)
            let path = out.path + "/" + name
            try Data(copy).write(to: URL(fileURLWithPath: path))
            return path
        }
        let cases = [
            try damaged("payload-flip.rpm") { $0[$0.count - 10] ^= 0x01 },
            try damaged("header-flip.rpm") { $0[Int(package.payloadOffset) - 40] ^= 0x01 },
            try damaged("truncated.rpm") { $0.removeLast(100) },
            try damaged("no-lead.rpm") { $0[0] = 0 },
            try damaged("headers-cut.rpm") { $0.removeLast($0.count - 200) },
        ]
        for path in cases {
            XCTAssertThrowsError(try RPMReader().read(path: path, extractTo: out.path + "/staging-x"), path) { error in
                let e = error as? PkgLayerError
                XCTAssertEqual(e?.code, .rpm, "\(path): \(error)")
                XCTAssertEqual(e?.location, path, "\(error)")
            }
            XCTAssertNotEqual(try Tool.run(["rpm", "-K", path]).status, 0, "rpm agrees \(path) is damaged")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + "/staging-x/usr"))
    }

    /// A package assembled by hand around a crafted payload: the header lists `/x` (and the file
    /// digests match), the payload is whatever the test says. Digests are valid, so only the
    /// reader's own checks stand between the payload and the file system.
    private func craftedPackage(members: [(name: String, mode: UInt32, data: [UInt8])], in dir: String,
                                manifest: FileManifest? = nil) throws -> String {
        let fixture = try Fixture()
        try fixture.file("/x", "evil\n")
        let spec = PackageSpec(name: "crafted", version: "1", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        var cpio: [UInt8] = []
        for (index, member) in members.enumerated() {
            cpio += Newc.member(member.name, mode: member.mode, inode: UInt32(index + 1), data: member.data)
        }
        cpio += Newc.trailer
        let payloadPath = dir + "/crafted.cpio"
        try Data(cpio).write(to: URL(fileURLWithPath: payloadPath))
        let sha = Digest.sha256(cpio).hex
        let payload = RPMPayload(path: payloadPath, archiveSize: UInt64(cpio.count), uncompressedSHA256: sha,
                                 compressedSHA256: sha, compressedSize: UInt64(cpio.count))
        let path = dir + "/crafted.rpm"
        _ = try RPMWriter(compression: .none).assemble(spec: spec, files: try RPMFileList(manifest: try manifest ?? fixture.manifest()),
                                                       payload: payload, largeFiles: false, to: path)
        XCTAssertEqual(try Tool.run(["rpm", "-K", path]).status, 0, "the crafted package's digests are valid")
        return path
    }

    func testHostilePayloadsAreRefusedAndLeaveNothingBehind() throws {
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        let evil = Array("evil\n".utf8)
        let cases: [(String, [(String, UInt32, [UInt8])], PkgLayerError.Code)] = [
            ("dot-dot", [("../x", 0o100644, evil)], .pathEscapesRoot),
            ("deep-dot-dot", [("./usr/../../x", 0o100644, evil)], .pathEscapesRoot),
            ("absolute", [("/x", 0o100644, evil)], .pathEscapesRoot),
            ("not-in-header", [("./x", 0o100644, evil), ("./y", 0o100644, evil)], .rpm),
            ("wrong-type", [("./x", 0o120777, Array("/etc/passwd".utf8))], .rpm),
            ("twice", [("./x", 0o100644, evil), ("./x", 0o100644, evil)], .rpm),
            ("missing", [], .rpm),
            ("wrong-content", [("./x", 0o100644, Array("EVIL\n".utf8))], .rpm),
        ]
        for (name, members, code) in cases {
            let dir = out.path + "/" + name
            try FileManager.default.createDirectory(atPath: dir + "/staging", withIntermediateDirectories: true)
            let pkg = try craftedPackage(members: members, in: dir)
            XCTAssertThrowsError(try RPMReader().read(path: pkg, extractTo: dir + "/staging"), name) { error in
                XCTAssertEqual((error as? PkgLayerError)?.code, code, "\(name): \(error)")
            }
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/staging"), [], "\(name) left files behind")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/x"), "\(name) escaped the staging directory")
            XCTAssertFalse(FileManager.default.fileExists(atPath: "/x"))
        }
        // A header that lists a symlink and a file "inside" it (FileManifest's own checks would refuse
        // this, so the manifest is decoded rather than built): the extractor must not write through
        // the link.
        let outside = try TemporaryDirectory(prefix: "pkglayer-rpm-outside")
        let link = ManifestEntry(path: "/lnk", kind: .symlink, mode: 0o777, mtime: 0, linkTarget: outside.path)
        let through = ManifestEntry(path: "/lnk/evil", kind: .file, mode: 0o644, mtime: 0, size: 5, sha256: Digest.sha256(evil).hex)
        let unchecked = try JSONDecoder().decode(FileManifest.self, from: JSONEncoder().encode(["entries": [link, through]]))
        let dir = out.path + "/through-symlink"
        try FileManager.default.createDirectory(atPath: dir + "/staging", withIntermediateDirectories: true)
        let pkg = try craftedPackage(members: [("./lnk", 0o120777, Array(outside.path.utf8)), ("./lnk/evil", 0o100644, evil)],
                                     in: dir, manifest: unchecked)
        XCTAssertThrowsError(try RPMReader().read(path: pkg, extractTo: dir + "/staging")) { error in
            XCTAssertEqual((error as? PkgLayerError)?.code, .pathEscapesRoot, "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside.path), [], "written through the symlink")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir + "/staging"), [])

        // The same crafted assembly with an honest payload is accepted, so the refusals above are
        // about the payloads.
        let honest = try craftedPackage(members: [("./x", 0o100644, evil)], in: out.path)
        let read = try RPMReader().read(path: honest, extractTo: out.path + "/honest")
        XCTAssertEqual(read.manifest.entries.map(\.path), ["/x"])
    }

    /// rpmbuild's packages, not just ours: its payload order (hardlink sets last) and its defaults.
    func testReadsAPackageBuiltByRpmbuild() throws {
        let top = try TemporaryDirectory(prefix: "pkglayer-rpmbuild")
        let spec = """
        Name: built
        Version: 3.1
        Release: 7
        Summary: Built by rpmbuild
        License: GPL-2.0-or-later
        BuildArch: noarch
        Requires: coreutils >= 8

        %description
        Built by rpmbuild for the reader test.

        %install
        mkdir -p %{buildroot}/usr/share/built %{buildroot}/etc
        echo one > %{buildroot}/usr/share/built/one
        ln %{buildroot}/usr/share/built/one %{buildroot}/usr/share/built/two
        echo conf > %{buildroot}/etc/built.conf
        ln -s one %{buildroot}/usr/share/built/link

        %post
        echo installed

        %files
        %config(noreplace) /etc/built.conf
        /usr/share/built
        """
        try spec.write(toFile: top.path + "/built.spec", atomically: false, encoding: .utf8)
        try Tool.check(["rpmbuild", "-bb", "--define", "_topdir \(top.path)", "--define", "_binary_payload w9.gzdio",
                        "--define", "_build_id_links none", top.path + "/built.spec"])
        let pkg = top.path + "/RPMS/noarch/built-3.1-7.noarch.rpm"
        let read = try RPMReader().read(path: pkg, extractTo: top.path + "/staging")
        XCTAssertEqual(read.spec.name, "built")
        XCTAssertEqual(read.spec.release, "7")
        XCTAssertEqual(read.spec.depends.map(\.description), ["coreutils >= 8"])
        XCTAssertEqual(read.spec.scripts, [.afterInstall: "echo installed"])
        let entries = Dictionary(uniqueKeysWithValues: read.manifest.entries.map { ($0.path, $0) })
        XCTAssertEqual(entries["/usr/share/built/one"]?.kind, .file)
        XCTAssertEqual(entries["/usr/share/built/two"]?.kind, .hardlink)
        XCTAssertEqual(entries["/usr/share/built/two"]?.linkTarget, "/usr/share/built/one")
        XCTAssertEqual(entries["/usr/share/built/link"]?.linkTarget, "one")
        XCTAssertEqual(entries["/etc/built.conf"]?.flags, [.config, .noReplace])
        XCTAssertEqual(entries["/usr/share/built"]?.kind, .directory)
        XCTAssertEqual(entries["/usr/share"]?.isImplicitDirectory, true)
        XCTAssertEqual(try String(contentsOfFile: top.path + "/staging/usr/share/built/one", encoding: .utf8), "one\n")
        XCTAssertEqual(entries["/usr/share/built/one"]?.sha256, try FileDigest.sha256Hex(path: top.path + "/staging/usr/share/built/one"))
    }
}

/// newc cpio members written by hand, for crafted payloads.
enum Newc {
    static func member(_ name: String, mode: UInt32, inode: UInt32, nlink: UInt32 = 1, data: [UInt8]) -> [UInt8] {
        let nameBytes = Array(name.utf8) + [0]
        let fields: [UInt32] = [inode, mode, 0, 0, nlink, 0, UInt32(data.count), 0, 0, 0, 0, UInt32(nameBytes.count), 0]
        var out = Array("070701".utf8)
        for field in fields { out += Array(String(format: "%08x", field).utf8) }
        out += nameBytes
        while out.count % 4 != 0 { out.append(0) }
        out += data
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    static var trailer: [UInt8] { member("TRAILER!!!", mode: 0, inode: 0, data: []) }
}
