import Foundation
import PkgLayerCore

/// The paths of a published repository and the steps that change its metadata: writing a generation,
/// switching to it, removing old ones (see `Publisher` for the layout and why).
struct RepositoryLayout {
    let root: String
    var stateDir: String { root + "/.pkglayer" }
    var generationsDir: String { stateDir + "/gen" }
    var currentLink: String { stateDir + "/current" }
    var lockPath: String { stateDir + "/lock" }

    /// The fixed symlinks a client's paths go through, and what they point at.
    static let links: [(name: String, target: String)] = [
        ("repodata", ".pkglayer/current/repodata"), ("dists", ".pkglayer/current/dists"),
    ]

    init(root: String) throws {
        self.root = root
        for dir in [root, stateDir, generationsDir] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        for link in Self.links {
            var st = stat()
            if lstat(root + "/" + link.name, &st) == 0, st.st_mode & S_IFMT != S_IFLNK {
                throw PkgLayerError(.fileExists, "is a \(st.st_mode & S_IFMT == S_IFDIR ? "directory" : "file") pkglayer did not write (createrepo_c or apt-ftparchive output?); pkglayer publishes its metadata as a symlink there: move it away, then publish all the packages again",
                                    at: root + "/" + link.name)
            }
        }
    }

    /// The generation `current` points at, if any.
    func currentGeneration() -> String? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: currentLink),
              target.hasPrefix("gen/") else { return nil }
        let id = String(target.dropFirst(4))
        return FileManager.default.fileExists(atPath: generationsDir + "/" + id + "/index.json") ? id : nil
    }

    func currentIndex() throws -> RepositoryIndex? {
        guard let id = currentGeneration() else { return nil }
        let path = generationsDir + "/" + id + "/index.json"
        guard let data = FileManager.default.contents(atPath: path) else { throw PkgLayerError.posix("reading the index", path: path) }
        return try RepositoryIndex.decode(data, at: path)
    }

    /// A generation is named after its index, which determines everything in it.
    static func generationID(_ indexBytes: Data) -> String {
        String(Digest.sha256(indexBytes).hex.prefix(32))
    }

    /// Writes generation `id`: `index.json`, whatever `body` writes into the directory it is given, the
    /// previous generation's checksum-named files it does not have, then syncs it and renames it into
    /// `gen/<id>`. A failure removes the partial directory.
    func writeGeneration(_ id: String, indexBytes: Data, _ body: (String) throws -> Void) throws {
        let temporary = try WorkOwnership.makeDirectory(in: generationsDir, prefix: ".new")
        var done = false
        defer { if !done { try? FileManager.default.removeItem(atPath: temporary) } }
        guard chmod(temporary, 0o755) == 0 else { throw PkgLayerError.posix("chmod", path: temporary) }
        try PublishFiles.write(indexBytes, to: temporary + "/index.json")
        try body(temporary)
        if let previous = currentGeneration() {
            try carryOver(from: generationsDir + "/" + previous, to: temporary)
        }
        try Durable.syncTree(temporary)
        let final = generationsDir + "/" + id
        if FileManager.default.fileExists(atPath: final) {
            // An earlier generation with the same content that is not current (the repository went back
            // to an earlier state, or a publish died between this rename and the switch): replace it.
            try FileManager.default.removeItem(atPath: final)
        }
        guard rename(temporary, final) == 0 else { throw PkgLayerError.posix("renaming the new metadata into place", path: final) }
        done = true
        try Durable.syncDirectory(generationsDir)
    }

    /// Hard-links into the new generation the files the previous repomd.xml and Release name by
    /// checksum, so a client that read them just before the switch can still fetch what they name.
    private func carryOver(from previous: String, to next: String) throws {
        var names: [String] = []
        if let repomd = try? String(contentsOfFile: previous + "/repodata/repomd.xml", encoding: .utf8) {
            for part in repomd.components(separatedBy: "<location href=\"").dropFirst() {
                if let end = part.firstIndex(of: "\"") { names.append(String(part[..<end])) }
            }
        }
        if let suites = try? FileManager.default.contentsOfDirectory(atPath: previous + "/dists") {
            for suite in suites {
                guard let release = try? String(contentsOfFile: "\(previous)/dists/\(suite)/Release", encoding: .utf8) else { continue }
                var inSHA256 = false
                for line in release.split(separator: "\n", omittingEmptySubsequences: false) {
                    if !line.hasPrefix(" ") { inSHA256 = line == "SHA256:"; continue }
                    guard inSHA256 else { continue }
                    let fields = line.split(separator: " ")
                    guard fields.count == 3 else { continue }
                    let dir = (String(fields[2]) as NSString).deletingLastPathComponent
                    names.append("dists/\(suite)/\(dir.isEmpty ? "" : dir + "/")by-hash/SHA256/\(fields[0])")
                }
            }
        }
        for name in names {
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else { continue }
            let source = previous + "/" + name
            let target = next + "/" + name
            guard FileManager.default.fileExists(atPath: source), !FileManager.default.fileExists(atPath: target) else { continue }
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if link(source, target) != 0 {
                try FileManager.default.copyItem(atPath: source, toPath: target)
            }
        }
    }

    /// Makes generation `id` current with one rename(2) of a new `current` symlink, then makes sure the
    /// fixed links (`repodata`, `dists`, `.pkglayer/index.json`) exist.
    func switchTo(_ id: String, hasRPM: Bool, hasDeb: Bool) throws {
        try Self.replaceSymlink(at: currentLink, target: "gen/" + id, in: stateDir)
        try Durable.syncDirectory(stateDir)
        try Self.ensureSymlink(at: stateDir + "/index.json", target: "current/index.json", in: stateDir)
        for (link, wanted) in zip(Self.links, [hasRPM, hasDeb]) where wanted {
            try Self.ensureSymlink(at: root + "/" + link.name, target: link.target, in: root)
        }
        try Durable.syncDirectory(root)
    }

    /// Removes every generation but `keep` (and temporary directories of live runs, which start with a dot).
    func removeGenerations(except keep: [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: generationsDir) else { return }
        for name in names where !name.hasPrefix(".") && !keep.contains(name) {
            try? FileManager.default.removeItem(atPath: generationsDir + "/" + name)
        }
    }

    static func ensureSymlink(at path: String, target: String, in dir: String) throws {
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == target { return }
        try replaceSymlink(at: path, target: target, in: dir)
    }

    /// A new symlink under a temporary name, renamed over `path`: readers see the old link or the new one.
    static func replaceSymlink(at path: String, target: String, in dir: String) throws {
        let temporary = "\(dir)/.\((path as NSString).lastPathComponent)-\(WorkOwnership.tag)-\(randomSuffix())"
        guard symlink(target, temporary) == 0 else { throw PkgLayerError.posix("creating a symlink", path: temporary) }
        guard rename(temporary, path) == 0 else {
            let error = PkgLayerError.posix("switching the symlink", path: path)
            unlink(temporary)
            throw error
        }
    }

    private static func randomSuffix() -> String {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<6).map { _ in letters.randomElement()! })
    }
}

/// Serialises publishes into one repository: an exclusive flock on `.pkglayer/lock`, held until
/// `release()` (or the process ends).
final class RepositoryLock {
    private var fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PkgLayerError.posix("opening the repository lock", path: path) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let error = PkgLayerError.posix("locking the repository", path: path)
            close(fd)
            throw error
        }
        // Litter of publishes killed before they finished (tagged with a dead pid) goes now.
        let root = ((path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
        for dir in [root, root + "/.pkglayer", root + "/.pkglayer/gen"] { WorkOwnership.sweep(dir) }
    }

    func release() {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { release() }
}

/// fsync for what a switch relies on being on disk.
enum Durable {
    static func syncTree(_ root: String) throws {
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return }
        var dirs = [root]
        while let relative = enumerator.nextObject() as? String {
            let path = root + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: dirs.append(path)
            case S_IFREG: try sync(path, flags: O_RDONLY)
            default: break
            }
        }
        for dir in dirs { try syncDirectory(dir) }
    }

    static func syncDirectory(_ path: String) throws {
        try sync(path, flags: O_RDONLY | O_DIRECTORY)
    }

    private static func sync(_ path: String, flags: Int32) throws {
        let fd = open(path, flags | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("opening to sync", path: path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw PkgLayerError.posix("fsync", path: path) }
    }
}
