import Foundation
import Logging

/// Builds the normalised manifest from staged files on disk: the one place that walks a tree.
///
/// It never follows symlinks, keeps hardlinks (by device and inode) as hardlinks, keeps setuid,
/// setgid and sticky bits, reads file capabilities, clamps mtimes to the clock, and assigns owners
/// (root:root unless a rule says otherwise). Sockets, fifos and device nodes are refused.
public struct ManifestBuilder {
    /// A file or directory on disk and the package path it lands at.
    public struct Input: Sendable, Equatable {
        public var source: String
        public var destination: String
        public init(source: String, destination: String) { self.source = source; self.destination = destination }

        /// fpm's `-s dir` arguments: `path` lands at `prefix/path`; `src=dst` puts src at dst, or inside
        /// dst when dst ends with `/`. Relative sources are taken from `chdir` (`-C`).
        public static func fromArgument(_ argument: String, chdir: String, prefix: String?) -> Input {
            let prefix = prefix ?? "/"
            func onDisk(_ p: String) -> String { p.hasPrefix("/") ? p : (chdir as NSString).appendingPathComponent(p) }
            if let eq = argument.firstIndex(of: "="), eq != argument.startIndex {
                let src = String(argument[..<eq])
                var dst = String(argument[argument.index(after: eq)...])
                if dst.hasSuffix("/") {
                    var base = src
                    while base.hasSuffix("/") && base.count > 1 { base.removeLast() }
                    base = (base as NSString).lastPathComponent
                    dst += (base == "." ? "" : base)
                }
                if !dst.hasPrefix("/") { dst = (prefix as NSString).appendingPathComponent(dst) }
                return Input(source: onDisk(src), destination: dst)
            }
            return Input(source: onDisk(argument), destination: (prefix as NSString).appendingPathComponent(argument))
        }
    }

    public var inputs: [Input]
    /// fpm's `-x`: matching paths (and everything below them) are left out.
    public var excludes: [Glob] = []
    public var defaultUser: Owner = .root
    public var defaultGroup: Owner = .root
    /// Applied in order; a later rule wins.
    public var attributes: [AttributeRule] = []
    /// fpm's `--config-files`: marked config + noreplace.
    public var configFiles: [Glob] = []
    /// fpm's `--directories`: directories the package owns even when they are standard ones.
    public var directories: [Glob] = []
    /// Regular files under /etc become config files (as Debian and fpm's deb output expect).
    public var autoConfigUnderEtc = true
    /// The clock. nil: the newest mtime among the inputs (a property of the input, not of the day).
    public var sourceDateEpoch: SourceDateEpoch?
    /// Keep the owners on disk (numeric) instead of `defaultUser`/`defaultGroup`: a snapshot of a root
    /// file system, not a package's normalised view.
    public var ownersFromDisk = false
    /// Compute each regular file's sha256 (packages and layers need it; a snapshot compares sizes and mtimes).
    public var hashContents = true
    /// Turn files that share an inode into hardlinks to the first of them.
    public var detectHardlinks = true
    /// Leave out fifos, sockets and device nodes instead of refusing them.
    public var skipSpecialFiles = false

    public init(inputs: [Input]) { self.inputs = inputs }

    static let logger = Logger(label: "pkglayer.manifest")

    /// What a root file system holds, as it is on disk: owners, modes and mtimes kept, no digests, no
    /// hardlink grouping, special files left out. Two snapshots taken before and after some work differ
    /// exactly where the work changed something (the image's `scripts: run` layer).
    public static func snapshot(of root: String, excluding excludes: [Glob] = []) throws -> FileManifest {
        var builder = ManifestBuilder(inputs: [Input(source: root, destination: "/")])
        builder.excludes = excludes
        builder.autoConfigUnderEtc = false
        builder.ownersFromDisk = true
        builder.hashContents = false
        builder.detectHardlinks = false
        builder.skipSpecialFiles = true
        return try builder.build().manifest
    }

    public struct Result {
        public var manifest: FileManifest
        public var sourceDateEpoch: SourceDateEpoch
    }

    public func build() throws -> Result {
        var collected: [ManifestEntry] = []
        var inodes: [String: [Int]] = [:]   // "dev:ino" → indices of regular files
        var destinations: [String: String] = [:]  // package path → source, to name both in a collision
        for input in inputs {
            let destination = try ManifestPath.normalize(input.destination, field: input.source)
            try walk(disk: input.source, package: destination, into: &collected, inodes: &inodes, seen: &destinations)
        }

        // Hardlinks: the first path (in sort order) of each inode group stays a file; the rest link to it.
        for (_, indices) in inodes where detectHardlinks && indices.count > 1 {
            let sorted = indices.sorted { collected[$0].path.utf8.lexicographicallyPrecedes(collected[$1].path.utf8) }
            let leader = collected[sorted[0]].path
            for index in sorted.dropFirst() {
                collected[index].kind = .hardlink
                collected[index].linkTarget = leader
            }
        }

        if hashContents { try hashFiles(&collected) }
        if Self.logger.logLevel <= .trace {
            for entry in collected {
                Self.logger.trace("\(entry.path)", metadata: ["kind": "\(entry.kind.rawValue)", "mode": "\(String(entry.mode, radix: 8))",
                                                              "size": "\(entry.size)", "sha256": "\(entry.sha256 ?? "-")"])
            }
        }

        let newest = collected.map(\.mtime).max() ?? 0
        let clock = sourceDateEpoch ?? SourceDateEpoch(newest)
        for index in collected.indices {
            collected[index].mtime = clock.clamp(collected[index].mtime)
            applyRules(to: &collected[index])
        }
        var manifest = try FileManifest(entries: collected, implicitDirectoryMtime: clock.seconds)
        // Parents the manifest added are on no disk, so the rules above never saw them. `--directories`
        // still claims them (an rpm must own /opt/app even when only /opt/app/bin/x was staged), and a
        // claimed directory takes the attribute rules like any owned one. Unclaimed ones stay root's 0755.
        if !directories.isEmpty {
            let walked = Set(collected.map(\.path))
            manifest = manifest.mapEntries { entry in
                guard entry.kind == .directory, !walked.contains(entry.path),
                      directories.contains(where: { $0.matches(entry.path) }) else { return }
                entry.isImplicitDirectory = false
                for rule in attributes { entry.apply(rule) }
            }
        }
        return Result(manifest: manifest, sourceDateEpoch: clock)
    }

    private func excluded(_ path: String) -> Bool { excludes.contains { $0.matches(path) } }

    private func walk(disk: String, package: String, into entries: inout [ManifestEntry],
                      inodes: inout [String: [Int]], seen: inout [String: String]) throws {
        if package != "/" && excluded(package) {
            Self.logger.trace("excluded \(package)", metadata: ["source": "\(disk)"])
            return
        }
        var st = stat()
        guard lstat(disk, &st) == 0 else {
            if errno == ENOENT {
                throw PkgLayerError(.invalidInput, "no such file or directory; check the path and -C", at: disk)
            }
            throw PkgLayerError.posix("lstat", path: disk)
        }
        let type = st.st_mode & S_IFMT
        // A path seen before is only allowed as a directory merging into a directory (two inputs filling
        // one tree). Knowing it from `seen` keeps the walk linear: no scan of `entries` per directory.
        let seenBefore = package != "/" && seen[package] != nil
        if package != "/" {
            if let other = seen[package], type != S_IFDIR || entries.first(where: { $0.path == package })?.kind != .directory {
                throw PkgLayerError(.duplicatePath, "both '\(other)' and '\(disk)' map to this path; remove one mapping or exclude one with -x",
                                    at: package)
            }
            seen[package] = disk
        }
        var entry = ManifestEntry(path: package, kind: .file, mode: UInt32(st.st_mode) & 0o7777,
                                  uid: defaultUser.id, gid: defaultGroup.id, user: defaultUser.name, group: defaultGroup.name,
                                  mtime: Int64(st.st_mtim.tv_sec))
        if ownersFromDisk {
            entry.uid = st.st_uid; entry.gid = st.st_gid
        }
        switch type {
        case S_IFREG:
            entry.size = UInt64(st.st_size)
            entry.sourcePath = disk
            entry.capabilities = try FileCapabilities.read(path: disk)
            if st.st_nlink > 1 { inodes["\(st.st_dev):\(st.st_ino)", default: []].append(entries.count) }
            entries.append(entry)
        case S_IFLNK:
            entry.kind = .symlink
            entry.mode = 0o777
            entry.linkTarget = try readLink(disk)
            entries.append(entry)
        case S_IFDIR:
            entry.kind = .directory
            if package != "/", !seenBefore {
                entries.append(entry)
            }
            for name in try listDirectory(disk) {
                try walk(disk: (disk as NSString).appendingPathComponent(name),
                         package: package == "/" ? "/" + name : package + "/" + name,
                         into: &entries, inodes: &inodes, seen: &seen)
            }
        default:
            if skipSpecialFiles { return }
            let what = type == S_IFIFO ? "a fifo" : type == S_IFSOCK ? "a socket" : type == S_IFCHR ? "a character device" : "a block device"
            throw PkgLayerError(.unsupportedFileType, "is \(what), which packages here cannot carry; exclude it with -x", at: disk)
        }
    }

    private func readLink(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n >= 0 else { throw PkgLayerError.posix("readlink", path: path) }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw PkgLayerError.posix("opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafePointer(to: ent.pointee.d_name) {
                $0.withMemoryRebound(to: UInt8.self, capacity: 256) { ptr -> [UInt8] in
                    Array(UnsafeBufferPointer(start: ptr, count: strlen(UnsafeRawPointer(ptr).assumingMemoryBound(to: CChar.self))))
                }
            }
            if name == Array(".".utf8) || name == Array("..".utf8) { continue }
            guard let text = String(validating: name, as: UTF8.self) else {
                throw PkgLayerError(.invalidInput, "contains a file name that is not valid UTF-8 (\(name.hexString)); rename it",
                                    at: path)
            }
            names.append(text)
        }
        return names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// sha256 of every regular file, on all cores, one block at a time.
    private func hashFiles(_ entries: inout [ManifestEntry]) throws {
        let indices = entries.indices.filter { entries[$0].kind == .file }
        let sources = indices.map { entries[$0].sourcePath! }
        let digests = try Parallel.map(sources.count) { i in try FileDigest.sha256Hex(path: sources[i]) }
        var byPath: [String: String] = [:]
        for (n, index) in indices.enumerated() {
            entries[index].sha256 = digests[n]
            byPath[entries[index].path] = digests[n]
        }
        var sizes: [String: UInt64] = [:]
        for entry in entries where entry.kind == .file { sizes[entry.path] = entry.size }
        for index in entries.indices where entries[index].kind == .hardlink {
            let target = entries[index].linkTarget!
            entries[index].sha256 = byPath[target]
            entries[index].size = sizes[target] ?? entries[index].size
            entries[index].sourcePath = nil
        }
    }

    private func applyRules(to entry: inout ManifestEntry) {
        for rule in attributes { entry.apply(rule) }
        let path = entry.path
        if entry.kind == .file || entry.kind == .hardlink {
            if (autoConfigUnderEtc && path.hasPrefix("/etc/")) || configFiles.contains(where: { $0.matches(path) }) {
                entry.flags.formUnion([.config, .noReplace])
            }
            if path.hasPrefix("/usr/share/doc/") || path.hasPrefix("/usr/share/man/") || path.hasPrefix("/usr/share/info/") {
                entry.flags.insert(.doc)
            }
            if path.hasPrefix("/usr/share/licenses/") { entry.flags.insert(.license) }
        }
        if entry.kind == .directory {
            let claimed = directories.contains { $0.matches(path) }
            entry.isImplicitDirectory = StandardDirectories.all.contains(path) && !claimed
        }
    }
}
