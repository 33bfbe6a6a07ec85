import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerRPM

/// Adds packages to a repository directory that a static HTTP server (or `file://`) serves to dnf/yum
/// and apt at once: rpms under `Packages/`, debs under `pool/COMPONENT/…`, yum's metadata in `repodata/`,
/// apt's in `dists/`.
///
/// The layout, and why:
/// ```
/// REPO/Packages/hello-1.0-1.x86_64.rpm          packages: copied in (temp + rename) before any metadata names them
/// REPO/pool/main/h/hello/hello_1.0-1_amd64.deb
/// REPO/repodata -> .pkglayer/current/repodata     fixed symlinks, made once
/// REPO/dists    -> .pkglayer/current/dists
/// REPO/.pkglayer/current -> gen/<id>             the one symlink a publish replaces, by rename(2)
/// REPO/.pkglayer/gen/<id>/{index.json,repodata/,dists/}   one complete metadata generation
/// REPO/.pkglayer/index.json -> current/index.json
/// REPO/.pkglayer/lock                             flock: publishes into one repository take turns
/// ```
/// A generation is written whole in a temporary directory, synced, renamed to `gen/<id>` and only
/// then made current by renaming a new `current` symlink over the old one: one atomic step switches
/// yum's and apt's metadata and the index together. A reader sees the old generation or the new one,
/// never a mix, and never metadata naming a package that is not there yet (packages are copied first;
/// those `keep` drops are deleted only after the switch). A publish killed at any point leaves the
/// previous generation current; its litter (temporary files and directories tagged with the dead
/// run's pid) is swept by the next publish. The previous generation is kept, and the new one also
/// carries the previous one's checksum-named files (`repodata/<sha>-primary.xml.gz`, apt's by-hash
/// indexes), so a client that fetched the old repomd.xml or InRelease just before the switch still
/// finds what it names. Older generations are removed.
///
/// The index (`index.json`) keeps each package's metadata as read when it was added, keyed by its path,
/// sha256 and size, so adding one package to a repository of hundreds reads only the new one (the
/// others are checked with `stat`: one whose size changed on disk is read again).
public enum Publisher {
    static let logger = Logger(label: "pkglayer.publish")

    /// Publishes `packages` (.rpm and .deb files, recognised by their content) into the repository at
    /// `repo` (created when missing).
    ///
    /// - Throws: `.invalidInput` when a package with the same name, version, release and architecture is
    ///   already there with different bytes (naming both files), `.rpm`/`.deb` for a damaged package,
    ///   `.usage` for a bad option. Nothing in the repository changes when a package cannot be read.
    @discardableResult
    public static func publish(packages: [URL], into repo: URL, options: PublishOptions = PublishOptions()) throws -> PublishResult {
        if let validFor = options.validFor, validFor < 1 {
            throw PkgLayerError(.usage, "Valid-Until must lie after the Release date (give 1 day or more)", at: "--valid-for")
        }
        if let keep = options.keep, keep < 1 {
            throw PkgLayerError(.usage, "--keep must be at least 1 (the number of newest versions of each package to keep)", at: "--keep")
        }
        try AptPackageEntry.validateComponent(options.component, at: "--component")
        let layout = try RepositoryLayout(root: repo.standardizedFileURL.path)
        let lock = try RepositoryLock(path: layout.lockPath)
        defer { lock.release() }

        // 1. What the repository holds now (the current generation's index).
        let previous = try layout.currentIndex()
        if let signedBy = previous?.settings.signer, !options.signs, !options.allowUnsigned {
            // A signed repository stays signed: dnf's repo_gpgcheck and apt's signed-by would refuse it unsigned.
            let fingerprint = String(signedBy.split(separator: "@").first ?? Substring(signedBy))
            throw PkgLayerError(.usage,
                                "\(layout.root) is a signed repository (key \(fingerprint)); publishing without a key would remove its signatures and break every client that checks them. Give --sign-key with that key (or PKGLAYER_SIGN_KEY), or --unsigned to publish it unsigned on purpose",
                                at: "--sign-key")
        }
        var kept: [PublishedPackage] = []
        var reread: [String] = []
        for package in previous?.packages ?? [] {
            var st = stat()
            guard lstat(layout.root + "/" + package.path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
                logger.warning("\(package.path) is listed in the repository's index but missing on disk; it is dropped from the metadata")
                reread.append(package.path)
                continue
            }
            if UInt64(st.st_size) != package.size {
                logger.warning("\(package.path) changed on disk since it was published (size \(st.st_size), was \(package.size)); reading it again")
                kept.append(try read(URL(fileURLWithPath: layout.root + "/" + package.path), component: options.component, at: package.path))
                reread.append(package.path)
                continue
            }
            kept.append(package)
        }

        // 2. Read every input before anything is written: a damaged package changes nothing.
        let incoming: [(source: String, package: PublishedPackage)] = try Progress.stage(Stage.publish, "read \(packages.count) package(s)") {
            try packages.map { url in (url.standardizedFileURL.path, try read(url, component: options.component, at: nil)) }
        }

        // 3. Merge: identical bytes are no-ops, the same package with other bytes is refused.
        var byPath: [String: PublishedPackage] = [:]
        var byIdentity: [String: PublishedPackage] = [:]
        var sourceOf: [String: String] = [:]
        for package in kept {
            byPath[package.path] = package
            byIdentity[package.identity] = package
        }
        var added: [String] = []
        var unchanged: [String] = []
        for (source, package) in incoming {
            if let old = byPath[package.path] ?? byIdentity[package.identity] {
                if old.sha256 == package.sha256, old.path == package.path {
                    if sourceOf[package.path] == nil, !unchanged.contains(package.path) { unchanged.append(package.path) }
                    continue
                }
                let where_ = sourceOf[old.path].map { "another input, \($0)" } ?? "the repository as \(layout.root)/\(old.path)"
                throw PkgLayerError(.invalidInput,
                                    "is \(package.identity), which is already in \(where_) with different bytes (sha256 \(old.sha256.prefix(16))… there, \(package.sha256.prefix(16))… here); a published package never changes: give the new build a new release or version",
                                    at: source)
            }
            byPath[package.path] = package
            byIdentity[package.identity] = package
            sourceOf[package.path] = source
            added.append(package.path)
        }

        // 4. --keep: the N newest of each name and architecture stay.
        var final = Array(byPath.values)
        var removed: [String] = []
        if let keep = options.keep {
            let (stay, drop) = applyKeep(final, keep: keep)
            final = stay
            removed = drop.map(\.path).sorted()
            added.removeAll { removed.contains($0) }
        }
        final.sort { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }

        let settings = try RepositoryIndex.Settings(options: options, packages: final)
        let index = RepositoryIndex(settings: settings, packages: final)
        let indexBytes = try index.encoded()
        let generation = RepositoryLayout.generationID(indexBytes)
        let rpmCount = final.filter { $0.rpm != nil }.count
        let debCount = final.filter { $0.deb != nil }.count
        let entryPoints = (rpmCount > 0 ? ["repodata/repomd.xml"] : []) + (debCount > 0 ? ["dists/\(options.suite)/\(options.signs ? "InRelease" : "Release")"] : [])
        let previousGeneration = layout.currentGeneration()
        if previousGeneration == generation, removed.isEmpty, reread.isEmpty {
            logger.debug("nothing changed in \(layout.root): generation \(generation) is current")
            return PublishResult(added: [], unchanged: unchanged.sorted(), removed: [], metadataChanged: false, generation: generation,
                                 rpmCount: rpmCount, debCount: debCount, entryPoints: entryPoints)
        }

        // 5. Packages in first.
        try Progress.stage(Stage.publish, "copy \(added.count) package(s) into \(layout.root)") {
            var swept = Set<String>()
            var toSync = Set<String>()   // parents of directories made now
            for path in added.sorted() {
                guard let source = sourceOf[path], let package = byPath[path] else { continue }
                try copyIn(source: source, package: package, layout: layout, swept: &swept, toSync: &toSync)
            }
            // The renames themselves, then the new directories' entries; each directory once.
            for dir in swept.union(toSync).sorted(by: { $0.count > $1.count || ($0.count == $1.count && $0 < $1) }) {
                try Durable.syncDirectory(dir)
            }
        }

        // 6. The new generation, whole, then one rename makes it current.
        let timestamp = settings.timestamp
        let signer = try options.signerAt.map { try $0(timestamp) } ?? options.signer
        try Progress.stage(Stage.publish, "metadata of \(rpmCount) rpm(s) and \(debCount) deb(s)") {
            try layout.writeGeneration(generation, indexBytes: indexBytes) { dir in
                if rpmCount > 0 {
                    try YumRepositoryWriter(timestamp: timestamp, compression: options.yumCompression, signer: signer)
                        .write(packages: final, into: dir)
                }
                if debCount > 0 {
                    let aptOptions = AptRepositoryOptions(suite: options.suite, origin: options.origin, label: options.label,
                                                          date: SourceDateEpoch(timestamp), validFor: options.validFor,
                                                          components: [options.component], byHash: true)
                    try AptRepositoryWriter.write(entries: final.compactMap(\.deb), into: URL(fileURLWithPath: dir + "/dists"),
                                                  options: aptOptions, signer: signer)
                }
            }
        }
        try layout.switchTo(generation, hasRPM: rpmCount > 0, hasDeb: debCount > 0)

        // 7. Only now: what keep dropped, and generations older than the previous one.
        for path in removed where sourceOf[path] == nil {
            if unlink(layout.root + "/" + path) != 0 && errno != ENOENT {
                logger.warning("could not remove \(path), which --keep dropped: \(String(cString: strerror(errno)))")
            }
        }
        layout.removeGenerations(except: [generation, previousGeneration].compactMap { $0 })
        logger.debug("published \(layout.root): generation \(generation), \(added.count) added, \(unchanged.count) unchanged, \(removed.count) removed")
        return PublishResult(added: added.sorted(), unchanged: unchanged.sorted(), removed: removed, metadataChanged: true,
                             generation: generation, rpmCount: rpmCount, debCount: debCount, entryPoints: entryPoints)
    }

    // MARK: - Reading one package

    /// Reads one package's index record. `at` is its repository path when it is already in the
    /// repository; otherwise the path follows from its metadata.
    static func read(_ url: URL, component: String, at existingPath: String?) throws -> PublishedPackage {
        let path = url.standardizedFileURL.path
        var st = stat()
        guard stat(path, &st) == 0 else { throw PkgLayerError.posix("reading the package", path: path) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw PkgLayerError(.invalidInput, "is not a regular file; publish takes .rpm and .deb files", at: path)
        }
        switch try PackageKind.sniff(path) {
        case .rpm:
            let entry = try RPMReader.repositoryEntry(path: path)
            let name = "\(entry.name)-\(entry.version)-\(entry.release).\(entry.arch).rpm"
            try requireSafeName(name, of: path)
            let sha256 = try FileDigest.sha256Hex(path: path)
            return PublishedPackage(path: existingPath ?? "Packages/\(name)", sha256: sha256, size: UInt64(st.st_size),
                                    buildTime: entry.buildTime, rpm: entry)
        case .deb:
            var (entry, buildTime) = try AptPackageEntry.read(debAt: path, poolPath: existingPath ?? "pool/placeholder.deb", component: component)
            let poolPath = try existingPath ?? debPoolPath(entry, component: component, source: path)
            entry.filename = poolPath
            return PublishedPackage(path: poolPath, sha256: entry.sha256, size: entry.size, buildTime: buildTime, deb: entry)
        }
    }

    /// `pool/COMPONENT/<h or libh>/<source>/<package>_<version without epoch>_<arch>.deb`, as Debian lays out its pool.
    static func debPoolPath(_ entry: AptPackageEntry, component: String, source path: String) throws -> String {
        let source = entry[field: "Source"].flatMap { $0.split(separator: " ").first.map(String.init) } ?? entry.package
        let prefix = source.hasPrefix("lib") && source.count > 3 ? String(source.prefix(4)) : String(source.prefix(1))
        var version = entry.version
        if let colon = version.firstIndex(of: ":") { version = String(version[version.index(after: colon)...]) }
        let file = "\(entry.package)_\(version)_\(entry.architecture).deb"
        for part in [source, prefix, file] { try requireSafeName(part, of: path) }
        return "pool/\(component)/\(prefix)/\(source)/\(file)"
    }

    /// A name from a package's metadata becomes one path segment: no `/`, no leading `.`, nothing that
    /// cannot stand in a URL path unescaped.
    static func requireSafeName(_ name: String, of path: String) throws {
        guard !name.isEmpty, !name.hasPrefix("."), name.unicodeScalars.allSatisfy({
            $0.value > 32 && $0.value < 127 && !"/\\?#%\"<>".unicodeScalars.contains($0)
        }) else {
            throw PkgLayerError(.invalidInput, "its metadata gives the file name '\(name.prefix(120))', which cannot be a path segment of a repository (no '/', leading '.', spaces or URL-special characters)",
                                at: path)
        }
    }

    // MARK: - Keep

    static func applyKeep(_ packages: [PublishedPackage], keep: Int) -> (stay: [PublishedPackage], drop: [PublishedPackage]) {
        var groups: [String: [PublishedPackage]] = [:]
        for package in packages { groups[package.keepGroup, default: []].append(package) }
        var stay: [PublishedPackage] = []
        var drop: [PublishedPackage] = []
        for (_, members) in groups {
            let newestFirst = members.sorted { a, b in
                let c = compareVersions(a, b)
                return c != 0 ? c > 0 : a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
            }
            stay += newestFirst.prefix(keep)
            drop += newestFirst.dropFirst(keep)
        }
        return (stay, drop)
    }

    static func compareVersions(_ a: PublishedPackage, _ b: PublishedPackage) -> Int {
        if let x = a.rpm, let y = b.rpm {
            return RPMVersionOrder.compare("\(x.epoch):\(x.version)-\(x.release)", "\(y.epoch):\(y.version)-\(y.release)")
        }
        if let x = a.deb, let y = b.deb { return DebianVersionOrder.compare(x.version, y.version) }
        return 0
    }

    // MARK: - Copying in

    /// Copies a package to its place (a temporary name tagged with this run, then rename), checking
    /// that the bytes copied are the bytes read, and sets its mtime to its build time. A file already
    /// there with the same bytes (left by a publish killed before its switch) is kept. Synced before the
    /// rename, so no metadata can ever name a copy that a power loss could leave empty.
    static func copyIn(source: String, package: PublishedPackage, layout: RepositoryLayout, swept: inout Set<String>,
                       toSync: inout Set<String>) throws {
        let target = layout.root + "/" + package.path
        let dir = (target as NSString).deletingLastPathComponent
        var st = stat()
        if !swept.contains(dir) {
            // A directory this run creates holds no litter and no earlier copy: nothing to sweep or check.
            if try makeDirectories(dir, toSync: &toSync) {
                swept.insert(dir)
            } else {
                WorkOwnership.sweep(dir)   // copies a killed publish left here
                swept.insert(dir)
                if lstat(target, &st) == 0, st.st_mode & S_IFMT == S_IFREG, UInt64(st.st_size) == package.size,
                   (try? FileDigest.sha256Hex(path: target)) == package.sha256 {
                    return
                }
            }
        } else if lstat(target, &st) == 0, st.st_mode & S_IFMT == S_IFREG, UInt64(st.st_size) == package.size,
                  (try? FileDigest.sha256Hex(path: target)) == package.sha256 {
            return
        }
        // Named as WorkOwnership.makeFile names it (so a later sweep knows whose it is), without its
        // per-call sweep and path standardising: the directory was swept (or made) just above.
        var template = Array("\(dir)/.\((target as NSString).lastPathComponent).tmp-\(WorkOwnership.tag)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw PkgLayerError.posix("creating a temporary file", path: dir) }
        let temporary = String(cString: template)
        var renamed = false
        defer {
            if fd >= 0 { close(fd) }
            if !renamed { unlink(temporary) }
        }
        var hasher = StreamingHasher([.sha256])
        try FileReader.forEachBlock(path: source) { block in
            hasher.update(block)
            try FileWriter.writeAll(fd, block, path: temporary)
        }
        guard hasher.finalizeSHA256().hexString == package.sha256 else {
            throw PkgLayerError(.io, "changed while it was being published; publish it again once nothing writes to it", at: source)
        }
        let times = [timespec(tv_sec: Int(package.buildTime), tv_nsec: 0), timespec(tv_sec: Int(package.buildTime), tv_nsec: 0)]
        guard fchmod(fd, 0o644) == 0, futimens(fd, times) == 0 else { throw PkgLayerError.posix("setting mode and time", path: temporary) }
        guard fsync(fd) == 0 else { throw PkgLayerError.posix("fsync", path: temporary) }
        guard rename(temporary, target) == 0 else { throw PkgLayerError.posix("renaming the package into place", path: target) }
        renamed = true
    }
}

extension Publisher {
    /// Creates `dir` and any missing parents (mode 0777 less the umask, as FileManager makes them), trying `mkdir` first and
    /// looking at parents only when it fails. Returns whether `dir` itself was created now.
    /// The parent of every directory created goes into `toSync`: its new entry is durable once that is synced.
    static func makeDirectories(_ dir: String, toSync: inout Set<String>) throws -> Bool {
        if mkdir(dir, 0o777) == 0 {
            toSync.insert((dir as NSString).deletingLastPathComponent)
            return true
        }
        switch errno {
        case EEXIST:
            var st = stat()
            guard stat(dir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                throw PkgLayerError(.fileExists, "is in the way of a directory the repository needs; move it away", at: dir)
            }
            return false
        case ENOENT:
            let parent = (dir as NSString).deletingLastPathComponent
            guard !parent.isEmpty, parent != dir else { throw PkgLayerError.posix("creating a directory", path: dir) }
            _ = try makeDirectories(parent, toSync: &toSync)
            if mkdir(dir, 0o777) == 0 {
                toSync.insert(parent)
                return true
            }
            if errno == EEXIST { return try makeDirectories(dir, toSync: &toSync) }
            throw PkgLayerError.posix("creating a directory", path: dir)
        default:
            throw PkgLayerError.posix("creating a directory", path: dir)
        }
    }
}

/// What a file is, by its first bytes.
enum PackageKind {
    case rpm, deb

    static func sniff(_ path: String) throws -> PackageKind {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 8)
        let n = magic.withUnsafeMutableBytes { read(fd, $0.baseAddress, 8) }
        if n >= 4, magic[0..<4] == [0xED, 0xAB, 0xEE, 0xDB] { return .rpm }
        if n == 8, magic == Array("!<arch>\n".utf8) { return .deb }
        throw PkgLayerError(.invalidInput, "is neither an .rpm nor a .deb (by its first bytes); publish takes rpm and deb packages", at: path)
    }
}
