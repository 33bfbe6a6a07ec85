import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerRPM
import PkgLayerSigning
import PkgLayerTestSupport
import XCTest

/// Small rpms written by pkglayer's own RPMWriter, signing keys made by gpg and loaded by
/// SigningKeyLoader, snapshots of a repository tree, and dnf runs into throwaway roots.
enum YumFixtures {
    static let epoch: Int64 = 1_700_000_000

    struct Options {
        var release = "1"
        var arch: Architecture = .noarch
        var files: [(path: String, content: String, mode: UInt32)] = []
        var directories: [String] = []
        var requires: [String] = []
        var provides: [String] = []
        var conflicts: [String] = []
        var obsoletes: [String] = []
        var changelog: [ChangelogEntry] = []
        var scripts: [ScriptHook: String] = [:]
        var summary: String?
        var description: String?
        var buildTime: Int64 = YumFixtures.epoch
        var fileName: String?
    }

    /// Writes `name_version-1_amd64.deb` (one README, whose text `note` changes) into `dir` with pkglayer's
    /// DebWriter and returns its path.
    static func deb(_ name: String, _ version: String, in dir: String, note: String = "") throws -> String {
        let content = dir + "/.tree-\(name)-\(version)/usr/share/\(name)"
        try FileManager.default.createDirectory(atPath: content, withIntermediateDirectories: true)
        try Data("\(name) \(version)\(note)\n".utf8).write(to: URL(fileURLWithPath: content + "/README"))
        var builder = ManifestBuilder(inputs: [.init(source: dir + "/.tree-\(name)-\(version)", destination: "/")])
        builder.sourceDateEpoch = SourceDateEpoch(epoch)
        let built = try builder.build()
        var spec = PackageSpec(name: name, version: version, release: "1", architecture: .x86_64, sourceDateEpoch: built.sourceDateEpoch)
        spec.maintainer = "Test <test@example.invalid>"
        spec.description = "\(name), a test package\nIt has a second line."
        let writer = DebWriter()
        let path = dir + "/" + writer.fileName(for: spec)
        _ = try writer.pack(spec: spec, manifest: built.manifest, to: path)
        return path
    }

    /// Writes `name-version-release.arch.rpm` into `dir` (signed when `signer` is given) and returns its path.
    @discardableResult
    static func rpm(_ name: String, _ version: String, in dir: String, signer: (any PackageSigner)? = nil,
                    _ configure: (inout Options) -> Void = { _ in }) throws -> String {
        var o = Options()
        configure(&o)
        if o.files.isEmpty { o.files = [("/usr/share/\(name)/\(name)-\(version).txt", "\(name) \(version) \(o.release)\n", 0o644)] }
        let source = dir + "/.src-\(name)-\(version)-\(o.release)-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: source) }
        var entries: [ManifestEntry] = []
        for file in o.files {
            let path = source + file.path
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(file.content.utf8).write(to: URL(fileURLWithPath: path))
            entries.append(ManifestEntry(path: file.path, kind: .file, mode: file.mode, mtime: o.buildTime,
                                         size: UInt64(file.content.utf8.count), sha256: try FileDigest.sha256Hex(path: path),
                                         sourcePath: path))
        }
        for directory in o.directories {
            entries.append(ManifestEntry(path: directory, kind: .directory, mode: 0o755, mtime: o.buildTime))
        }
        var spec = PackageSpec(name: name, version: version, release: o.release, architecture: o.arch,
                               sourceDateEpoch: SourceDateEpoch(o.buildTime))
        spec.summary = o.summary ?? "\(name) for publishing tests"
        spec.description = o.description ?? "The \(name) package, \(version)."
        spec.license = "MIT"
        spec.url = "https://example.invalid/\(name)"
        spec.depends = try o.requires.map { try Dependency(parsing: $0, field: "requires") }
        spec.provides = try o.provides.map { try Dependency(parsing: $0, field: "provides") }
        spec.conflicts = try o.conflicts.map { try Dependency(parsing: $0, field: "conflicts") }
        spec.obsoletes = try o.obsoletes.map { try Dependency(parsing: $0, field: "obsoletes") }
        spec.changelog = o.changelog
        spec.scripts = o.scripts
        let manifest = try FileManifest(entries: entries, implicitDirectoryMtime: o.buildTime)
        let writer = RPMWriter(overwrite: true, signer: signer)
        let path = dir + "/" + (o.fileName ?? writer.fileName(for: spec))
        _ = try writer.write(spec: spec, manifest: manifest, to: path)
        return path
    }
}

/// A throwaway gpg key and the pkglayer signer loaded from it.
struct TestKey {
    let gpg: TestSigningKey
    let signer: OpenPGPSigner

    init(directory: String, name: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        gpg = try TestSigningKey(directory: directory, name: name)
        signer = try SigningKeyLoader.load(reference: name, passphrase: nil, gnupgHome: gpg.home, creationTime: YumFixtures.epoch)
    }

    /// The armored public key, as dnf's `gpgkey=` takes it.
    var armoredPath: String { gpg.armored }
}

enum RepositoryTree {
    /// Every entry under `root` (hidden ones too): files by sha256, symlinks by target, directories by name.
    static func snapshot(_ root: String) throws -> [String: String] {
        var out: [String: String] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return out }
        while let relative = enumerator.nextObject() as? String {
            let path = root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFLNK: out[relative] = "link:" + (try FileManager.default.destinationOfSymbolicLink(atPath: path))
            case S_IFDIR: out[relative] = "dir"
            default: out[relative] = "file:" + (try FileDigest.sha256Hex(path: path)) + ":\(st.st_mtim.tv_sec)"
            }
        }
        return out
    }

    /// The files repomd.xml names, with repomd.xml itself (and its signature when there is one).
    static func yumMetadata(_ repo: String) throws -> [String: Data] {
        let repomd = try Data(contentsOf: URL(fileURLWithPath: repo + "/repodata/repomd.xml"))
        var out = ["repodata/repomd.xml": repomd]
        for part in String(decoding: repomd, as: UTF8.self).components(separatedBy: "<location href=\"").dropFirst() {
            let href = String(part[..<part.firstIndex(of: "\"")!])
            out[href] = try Data(contentsOf: URL(fileURLWithPath: repo + "/" + href))
        }
        for extra in ["repodata/repomd.xml.asc", "repodata/repomd.xml.key"] {
            if let data = FileManager.default.contents(atPath: repo + "/" + extra) { out[extra] = data }
        }
        return out
    }
}

/// dnf exactly as FACTS.md runs it: a .repo file in its own reposdir, an empty install root.
enum DNF {
    static func install(_ package: String, baseURL: String, key: String?, in scratch: ScratchDirectory, name: String) throws -> (ProcessOutput, String) {
        try requireTool("dnf", "rpm")
        let root = try scratch.makeDirectory("root-\(name)")
        let reposDir = try scratch.makeDirectory("repos-\(name)")
        var lines = ["[\(name)]", "name=\(name)", "baseurl=\(baseURL)", "enabled=1", "metadata_expire=0"]
        if let key {
            lines += ["gpgcheck=1", "repo_gpgcheck=1", "gpgkey=file://\(key)"]
        } else {
            lines += ["gpgcheck=0", "repo_gpgcheck=0"]
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: reposDir + "/\(name).repo", atomically: true, encoding: .utf8)
        let output = try TestProcess.run("dnf", ["-y", "--installroot=\(root)", "--setopt=reposdir=\(reposDir)", "--releasever=1",
                                                 "--disablerepo=*", "--enablerepo=\(name)", "install", package])
        return (output, root)
    }

    static func installed(_ package: String, root: String) throws -> String? {
        let output = try TestProcess.run("rpm", ["--root", root, "-q", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}", package])
        return output.succeeded ? output.stdoutText : nil
    }
}
