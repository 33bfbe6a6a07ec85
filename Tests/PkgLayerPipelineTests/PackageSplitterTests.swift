import Foundation
import PkgLayerCore
@testable import PkgLayerPipeline
import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

/// `PackageSplitter` over a real staged tree and a real recipe: which package takes each file and
/// directory, what becomes of a hardlink split across packages, and what the real writers then put in
/// each .deb and .rpm.
final class PackageSplitterTests: XCTestCase {
    /// app-doc is listed first, so /opt/app/share/README is its, though app-data's glob matches it too.
    /// Neither glob matches the directory /opt/app/doc itself: only its contents send it to app-doc.
    static let recipe = """
        package:
          name: app
          version: "1.0"
          summary: Split test
          license: MIT
        subpackages:
          - name: app-doc
            files: [/opt/app/doc/*, /opt/app/share/README]
          - name: app-data
            files: [/opt/app/share]
        """
    let epoch = SourceDateEpoch(1_700_000_000)

    /// Owned paths (implicit parents left out), per package, in recipe order.
    static let owned: [String: [String]] = [
        "app": ["/opt/app", "/opt/app/bin", "/opt/app/bin/app", "/opt/app/lib", "/opt/app/lib/big.dat", "/opt/app/var"],
        "app-doc": ["/opt/app/doc", "/opt/app/doc/examples", "/opt/app/doc/examples/ex1.txt", "/opt/app/doc/guide.txt",
                    "/opt/app/share/README"],
        "app-data": ["/opt/app/share", "/opt/app/share/a.txt", "/opt/app/share/b.txt", "/opt/app/share/big.dat",
                     "/opt/app/share/link"],
    ]
    /// The parents each package needs but does not own; a .deb carries them, an .rpm does not.
    static let implicitParents: [String: [String]] = [
        "app": ["/opt"], "app-doc": ["/opt", "/opt/app", "/opt/app/share"], "app-data": ["/opt", "/opt/app"],
    ]

    /// A build's destdir with two hardlink pairs: big.dat across packages (lib → main, share → app-data)
    /// and a.txt/b.txt within app-data. Returns the staged manifest.
    private func stage(_ scratch: ScratchDirectory) throws -> FileManifest {
        try scratch.write("destdir/opt/app/bin/app", "#!/bin/sh\necho app\n", mode: 0o755)
        try scratch.write("destdir/opt/app/lib/big.dat", "shared bytes\n")
        try scratch.write("destdir/opt/app/share/a.txt", "a and b\n")
        try scratch.write("destdir/opt/app/share/README", "readme\n")
        try scratch.symlink("destdir/opt/app/share/link", to: "a.txt")
        try scratch.write("destdir/opt/app/doc/guide.txt", "guide\n")
        try scratch.write("destdir/opt/app/doc/examples/ex1.txt", "example\n")
        try scratch.makeDirectory("destdir/opt/app/var")
        for (existing, new) in [("lib/big.dat", "share/big.dat"), ("share/a.txt", "share/b.txt")] {
            let from = scratch.path("destdir/opt/app/\(existing)"), to = scratch.path("destdir/opt/app/\(new)")
            guard link(from, to) == 0 else { throw PkgLayerError.posix("link", path: to) }
        }
        var builder = ManifestBuilder(inputs: [.init(source: scratch.path("destdir"), destination: "/")])
        builder.sourceDateEpoch = epoch
        return try builder.build().manifest
    }

    private func lowered(_ format: PackageFormat, _ scratch: ScratchDirectory) throws -> [LoweredPackage] {
        let recipe = try Recipe.load(path: try scratch.write("app.yml", Self.recipe))
        return try recipe.packages(for: format, architecture: .native, sourceDateEpoch: epoch)
    }

    func testSplitAssignsFilesDirectoriesAndHardlinks() throws {
        let scratch = try ScratchDirectory()
        let staged = try stage(scratch)
        XCTAssertEqual(staged["/opt/app/share/big.dat"]?.kind, .hardlink, "precondition: the builder kept the hardlink")
        XCTAssertEqual(staged["/opt/app/share/b.txt"]?.kind, .hardlink, "precondition: the builder kept the hardlink")
        let packages = try lowered(.deb, scratch)
        XCTAssertEqual(packages.map(\.spec.name), ["app", "app-doc", "app-data"])

        let split = try PackageSplitter.split(staged, into: packages)
        XCTAssertEqual(split.count, 3)
        for (package, manifest) in zip(packages, split) {
            let name = package.spec.name
            XCTAssertEqual(manifest.entries.filter { !$0.isImplicitDirectory }.map(\.path), Self.owned[name], name)
            XCTAssertEqual(manifest.entries.filter(\.isImplicitDirectory).map(\.path), Self.implicitParents[name], name)
        }

        // The hardlink whose target stayed in the main package is a plain copy of that file in app-data.
        let leader = try XCTUnwrap(staged["/opt/app/lib/big.dat"])
        let copy = try XCTUnwrap(split[2]["/opt/app/share/big.dat"])
        XCTAssertEqual(copy.kind, .file)
        XCTAssertNil(copy.linkTarget)
        XCTAssertEqual(copy.sourcePath, leader.sourcePath)
        XCTAssertEqual(copy.sha256, leader.sha256)
        XCTAssertEqual(copy.size, leader.size)
        XCTAssertEqual(split[0]["/opt/app/lib/big.dat"]?.kind, .file)
        // The hardlink within app-data stays one.
        let within = try XCTUnwrap(split[2]["/opt/app/share/b.txt"])
        XCTAssertEqual(within.kind, .hardlink)
        XCTAssertEqual(within.linkTarget, "/opt/app/share/a.txt")
        XCTAssertEqual(split[2]["/opt/app/share/link"]?.kind, .symlink)
    }

    /// The split packages written by the real writers list exactly their own paths.
    func testWrittenPackagesListExactlyTheirPaths() throws {
        try requireTool("dpkg-deb", "rpm")
        let scratch = try ScratchDirectory()
        let staged = try stage(scratch)
        let out = try scratch.makeDirectory("out")
        for format in [PackageFormat.deb, .rpm] {
            let packages = try lowered(format, scratch)
            let packager = Packagers.packager(for: format, overwrite: true)
            for (package, manifest) in zip(packages, try PackageSplitter.split(staged, into: packages)) {
                let name = package.spec.name
                let path = "\(out)/\(packager.fileName(for: package.spec))"
                _ = try packager.pack(spec: package.spec, manifest: manifest, to: path)
                let owned = try XCTUnwrap(Self.owned[name])
                if format == .rpm {
                    XCTAssertEqual(try rpmPaths(path), owned, name)
                    try checkRPMInodes(path, name: name)
                } else {
                    let members = try debMembers(path)
                    XCTAssertEqual(members.map(\.path).sorted(), (owned + Self.implicitParents[name]!).sorted(), name)
                    try checkDeb(path, members: members, name: name, scratch: scratch)
                }
            }
        }
    }

    /// In the .deb: b.txt a hardlink to a.txt, big.dat a regular file holding the main package's bytes.
    private func checkDeb(_ deb: String, members: [DebMember], name: String, scratch: ScratchDirectory) throws {
        guard name == "app-data" else {
            XCTAssertFalse(members.contains { $0.type == "h" }, "\(name) has no hardlink: \(members)")
            return
        }
        let byPath = Dictionary(uniqueKeysWithValues: members.map { ($0.path, $0) })
        XCTAssertEqual(byPath["/opt/app/share/b.txt"]?.type, "h")
        XCTAssertEqual(byPath["/opt/app/share/b.txt"]?.hardlinkTarget, "/opt/app/share/a.txt")
        XCTAssertEqual(byPath["/opt/app/share/big.dat"]?.type, "-")
        XCTAssertEqual(byPath["/opt/app/share/link"]?.type, "l")
        let root = try scratch.makeDirectory("extracted-\(name)")
        try TestProcess.runChecked("dpkg-deb", ["-x", deb, root])
        XCTAssertEqual(try String(contentsOfFile: "\(root)/opt/app/share/big.dat", encoding: .utf8), "shared bytes\n")
        XCTAssertEqual(try String(contentsOfFile: "\(root)/opt/app/share/b.txt", encoding: .utf8), "a and b\n")
    }

    /// In the .rpm: a.txt and b.txt share an inode (one hardlink set); big.dat has its own.
    private func checkRPMInodes(_ rpm: String, name: String) throws {
        guard name == "app-data" else { return }
        var inodes: [String: String] = [:]
        for line in try rpmQuery(rpm, "[%{FILENAMES} %{FILEINODES}\n]").split(separator: "\n") {
            let parts = line.split(separator: " ")
            inodes[String(parts[0])] = String(parts[1])
        }
        XCTAssertEqual(inodes["/opt/app/share/a.txt"], inodes["/opt/app/share/b.txt"], "\(inodes)")
        XCTAssertNotEqual(inodes["/opt/app/share/big.dat"], inodes["/opt/app/share/a.txt"], "\(inodes)")
        XCTAssertEqual(Set(inodes.values).count, inodes.count - 1, "exactly one hardlink set: \(inodes)")
    }
}
