import Foundation
import PkgLayerCore

/// What `prune` removed (or, on a dry run, would remove).
public struct PruneReport: Equatable, Sendable {
    /// Blobs no tagged image reaches, with their sizes.
    public var blobs: [(digest: Digest, size: Int64)] = []
    /// Layer-cache entries whose blob is gone (or goes now).
    public var layerCacheEntries: Int = 0
    /// With `all`: cache directories emptied (`outputs`, `packages`, `indexes`), with the bytes they held.
    public var directories: [(path: String, bytes: Int64)] = []
    public var dryRun: Bool

    public var freedBytes: Int64 { blobs.reduce(0) { $0 + $1.size } + directories.reduce(0) { $0 + $1.bytes } }

    public static func == (a: PruneReport, b: PruneReport) -> Bool {
        a.blobs.map(\.digest) == b.blobs.map(\.digest) && a.layerCacheEntries == b.layerCacheEntries
            && a.directories.map(\.path) == b.directories.map(\.path) && a.dryRun == b.dryRun
    }
}

extension ImageStore {
    /// The digests every tagged image reaches (manifests, configs, layers, nested indexes).
    public func reachableDigests() throws -> Set<Digest> {
        let reader = try OCILayoutReader(path: path)
        var reachable = Set<Digest>()
        for descriptor in try readIndex() {
            for blob in try reader.reachableBlobs(from: descriptor) { reachable.insert(blob.digest) }
        }
        return reachable
    }

    /// Every blob file in the store with its size (temporary `.tmp-*` files left by killed writers
    /// are listed under their own name with a nil digest).
    func blobFiles() throws -> [(name: String, digest: Digest?, size: Int64)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: blobs.blobDirectory)) ?? []
        return names.sorted().map { name in
            var info = stat()
            let size = lstat("\(blobs.blobDirectory)/\(name)", &info) == 0 ? Int64(info.st_size) : 0
            let digest = name.count == 64 && name.allSatisfy(\.isHexDigit) ? Digest(hex: name) : nil
            return (name, digest, size)
        }
    }

    /// Removes blobs that no tagged image reaches, and layer-cache entries whose blob is gone. With
    /// `all`, also empties the `outputs/` (build results), `packages/` and `indexes/` (repository downloads) caches. Nothing reachable is ever removed: the
    /// reachable set is computed under the exclusive lock, so no other pkglayer can be mid-assembly.
    /// Temporary blob files (`.tmp-*`) are removed too: under the exclusive lock no writer owns them.
    public func prune(all: Bool = false, dryRun: Bool = false) throws -> PruneReport {
        try withExclusiveUse {
            var report = PruneReport(dryRun: dryRun)
            let reachable = try withIndexLock { try reachableDigests() }
            for file in try blobFiles() {
                if let digest = file.digest, reachable.contains(digest) { continue }
                if let digest = file.digest { report.blobs.append((digest, file.size)) }
                if !dryRun {
                    let target = "\(blobs.blobDirectory)/\(file.name)"
                    guard unlink(target) == 0 || errno == ENOENT else { throw PkgLayerError.posix("removing", path: target) }
                }
            }
            let removed = Set(report.blobs.map(\.digest))
            report.layerCacheEntries = try pruneLayerCache(removing: removed, dryRun: dryRun)
            if all {
                for name in ["outputs", "packages", "indexes"] {
                    let directory = (cacheRoot as NSString).appendingPathComponent(name)
                    guard FileManager.default.fileExists(atPath: directory) else { continue }
                    report.directories.append((directory, DiskUsage.bytes(under: directory)))
                    if !dryRun {
                        for child in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                            try FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(child))
                        }
                    }
                }
            }
            return report
        }
    }

    /// Removes layer-cache entries pointing at a blob in `removing` or already missing from the store.
    func pruneLayerCache(removing: Set<Digest>, dryRun: Bool) throws -> Int {
        let directory = layerCache.directory
        var count = 0
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted() where name.hasSuffix(".json") {
            let file = (directory as NSString).appendingPathComponent(name)
            let digest = FileManager.default.contents(atPath: file)
                .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
                .flatMap { $0["digest"] as? String }
                .flatMap(Digest.init(parsing:))
            let dangling = digest.map { removing.contains($0) || !blobs.has($0) } ?? true
            guard dangling else { continue }
            count += 1
            if !dryRun { unlink(file) }
        }
        return count
    }
}

/// Disk usage of the cache, in the spirit of `docker system df`.
public struct DiskUsage: Equatable, Sendable {
    public struct Item: Equatable, Sendable {
        /// `sources`, `outputs`, `packages`, `indexes`, `layers`, `images`.
        public var name: String
        public var path: String
        public var bytes: Int64
        /// Bytes `prune` (for images) or `prune --all` (for outputs and packages) would free.
        public var reclaimable: Int64
        /// Entries: files for caches, blobs for images, tagged images in `detail`.
        public var count: Int
    }

    public var items: [Item]
    public var totalBytes: Int64 { items.reduce(0) { $0 + $1.bytes } }
    public var reclaimableBytes: Int64 { items.reduce(0) { $0 + $1.reclaimable } }

    /// Apparent size of every regular file under `path`, each inode counted once (the store and the
    /// outputs share blobs through hard links).
    public static func bytes(under path: String) -> Int64 { walk(path).bytes }

    static func walk(_ path: String) -> (bytes: Int64, files: Int) {
        var seen = Set<UInt64>()
        var bytes: Int64 = 0, files = 0
        guard let enumerator = FileManager.default.enumerator(atPath: path) else { return (0, 0) }
        while let relative = enumerator.nextObject() as? String {
            var info = stat()
            guard lstat((path as NSString).appendingPathComponent(relative), &info) == 0,
                  info.st_mode & S_IFMT == S_IFREG else { continue }
            files += 1
            if seen.insert(UInt64(info.st_ino)).inserted { bytes += Int64(info.st_size) }
        }
        return (bytes, files)
    }
}

extension ImageStore {
    /// Sizes of the cache's parts and what pruning would free.
    public func diskUsage() throws -> DiskUsage {
        var items: [DiskUsage.Item] = []
        for name in ["sources", "outputs", "packages", "indexes"] {
            let directory = (cacheRoot as NSString).appendingPathComponent(name)
            let (bytes, files) = DiskUsage.walk(directory)
            items.append(.init(name: name, path: directory, bytes: bytes, reclaimable: name == "sources" ? 0 : bytes, count: files))
        }
        let (layerBytes, layerFiles) = DiskUsage.walk(layerCache.directory)
        let reachable = try withIndexLock { try reachableDigests() }
        var total: Int64 = 0, unreachable: Int64 = 0
        let files = try blobFiles()
        for file in files {
            total += file.size
            if file.digest.map({ !reachable.contains($0) }) ?? true { unreachable += file.size }
        }
        items.append(.init(name: "layers", path: layerCache.directory, bytes: layerBytes, reclaimable: 0, count: layerFiles))
        items.append(.init(name: "images", path: path, bytes: total, reclaimable: unreachable, count: files.count))
        return DiskUsage(items: items)
    }
}
