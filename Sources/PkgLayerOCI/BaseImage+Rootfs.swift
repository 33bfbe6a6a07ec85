import Foundation
import PkgLayerArchive
import PkgLayerCore

/// `pkglayer import rootfs.tar NAME`, like `docker import`: a root file system tarball (plain, gzip,
/// xz, zstd, bzip2 — whatever libarchive reads) becomes a one-layer image.
///
/// The tarball is untrusted. Member names are normalised the way Docker does (`./usr`, `usr/` and
/// `/usr` are all `/usr`: an absolute name is taken relative to the image root, never the host's),
/// and any name or hardlink target with a `..` component is refused with an error naming the member.
/// Symlink targets are kept as written: they resolve inside the container. Owners, modes (setuid
/// included) and mtimes are kept as the tarball has them, so the same tarball always gives the same
/// layer. Device nodes, fifos and sockets cannot be carried by pkglayer's manifest; they are skipped
/// and reported. A member given twice keeps its last version, as extracting the tarball would.
///
/// The whole tarball is read (file contents into a scratch directory, hashed on the way) before any
/// blob is written, so a refused tarball leaves nothing in the store.
public enum RootfsImporter {
    public struct Result {
        public var image: AssembledImage
        /// Members skipped (device nodes, fifos, sockets), with their type.
        public var skipped: [String]
        /// The sha256 of the tarball file.
        public var tarballSHA256: String
    }

    /// Reads the tarball into a manifest whose files live in `scratch`. Returns the manifest, the
    /// skipped members and the newest mtime.
    public static func readManifest(tarball: String, scratch: String) throws -> (manifest: FileManifest, skipped: [String], newestMtime: Int64) {
        let reader = try ArchiveReader(path: tarball)
        var byPath: [String: ManifestEntry] = [:]
        var skipped: [String] = []
        var newest: Int64 = 0
        var counter = 0
        func normalized(_ raw: String, what: String) throws -> String {
            do {
                return try ManifestPath.normalize(raw, field: tarball)
            } catch let error as PkgLayerError {
                throw PkgLayerError(error.code, "\(what) '\(raw)' has a '..' component or a NUL byte and could point outside the image root; docker import would refuse it too. Rebuild the tarball with paths relative to its root",
                                    at: tarball)
            }
        }
        while let header = try reader.next() {
            let path = try normalized(header.path, what: "member")
            if path == "/" { continue }
            newest = max(newest, header.mtime)
            var entry = ManifestEntry(path: path, kind: .file, mode: header.mode & 0o7777, uid: header.uid, gid: header.gid,
                                      user: header.userName ?? "", group: header.groupName ?? "", mtime: header.mtime)
            if let capability = header.xattrs.first(where: { $0.name == FileCapabilities.xattrName }) {
                entry.capabilities = try? FileCapabilities.text(fromXattr: capability.value, path: "\(tarball): \(header.path)")
            }
            if let target = header.hardlinkTarget {
                let targetPath = try normalized(target, what: "hardlink target of '\(header.path)':")
                guard let linked = byPath[targetPath], linked.kind == .file || linked.kind == .hardlink else {
                    throw PkgLayerError(.invalidInput, "member '\(header.path)' is a hardlink to '\(target)', which is not a regular file earlier in the tarball",
                                        at: tarball)
                }
                entry.kind = .hardlink
                entry.linkTarget = linked.kind == .hardlink ? linked.linkTarget : targetPath
                entry.size = linked.size
                entry.sha256 = linked.sha256
                entry.mode = linked.mode
            } else {
                switch header.mode & 0o170000 {
                case 0o100000:
                    counter += 1
                    let source = "\(scratch)/\(counter)"
                    let (size, sha) = try copyData(reader, to: source)
                    entry.size = size
                    entry.sha256 = sha
                    entry.sourcePath = source
                case 0o040000:
                    entry.kind = .directory
                case 0o120000:
                    entry.kind = .symlink
                    entry.linkTarget = header.symlinkTarget
                    entry.mode = 0o777
                default:
                    skipped.append("\(path) (\(LayerMemberCheck.kindName(header.mode)))")
                    continue
                }
            }
            byPath[path] = entry
        }
        return (try FileManifest(entries: resolveHardlinks(Array(byPath.values)), implicitDirectoryMtime: newest), skipped, newest)
    }

    /// Hardlinks in a layer must follow their target in path order; the tarball's order can differ.
    /// Each group of linked names becomes one file (the first name in path order) and links to it.
    static func resolveHardlinks(_ entries: [ManifestEntry]) -> [ManifestEntry] {
        let byPath = Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0) })
        var groups: [String: [String]] = [:]
        for entry in entries where entry.kind == .hardlink {
            guard let target = entry.linkTarget, byPath[target]?.kind == .file else { continue }
            groups[target, default: [target]].append(entry.path)
        }
        var result = byPath
        for (target, members) in groups {
            let file = byPath[target]!
            let first = members.min { $0.utf8.lexicographicallyPrecedes($1.utf8) }!
            for member in members {
                var entry = byPath[member]!
                if member == first {
                    entry.kind = .file
                    entry.sourcePath = file.sourcePath
                    entry.linkTarget = nil
                } else {
                    entry.kind = .hardlink
                    entry.sourcePath = nil
                    entry.linkTarget = first
                }
                entry.size = file.size
                entry.sha256 = file.sha256
                entry.mode = file.mode
                result[member] = entry
            }
        }
        // A link whose target was replaced later by something else is left to the manifest's checks.
        return Array(result.values)
    }

    static func copyData(_ reader: ArchiveReader, to path: String) throws -> (UInt64, String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PkgLayerError.posix("creating", path: path) }
        defer { close(fd) }
        var hasher = StreamingHasher([.sha256])
        var size: UInt64 = 0
        try reader.readData { block in
            hasher.update(block)
            size += UInt64(block.count)
            try FileWriter.writeAll(fd, block, path: path)
        }
        return (size, hasher.finalizeSHA256().hexString)
    }


    /// Imports the tarball as a one-layer image into `store`. The image's `created` (and its history
    /// entry's) is `epoch` when given (SOURCE_DATE_EPOCH), else the newest mtime in the tarball, so
    /// the same tarball always gives the same image.
    public static func importImage(tarball: String, into store: BlobStore, layerWriter: LayerWriter, architecture: Architecture,
                                   os: String = "linux", config: ContainerConfig = ContainerConfig(), epoch: SourceDateEpoch? = nil,
                                   scratchParent: String? = nil) throws -> Result {
        guard FileManager.default.isReadableFile(atPath: tarball) else {
            throw PkgLayerError(.invalidInput, "cannot read the rootfs tarball; give the path of a .tar, .tar.gz, .tar.xz or .tar.zst file", at: tarball)
        }
        let scratch = try TemporaryDirectory(parent: scratchParent, prefix: "pkglayer-import")
        let (manifest, skipped, newest) = try readManifest(tarball: tarball, scratch: scratch.path)
        let sha = try FileDigest.sha256Hex(path: tarball)
        let origin = LayerOrigin(name: "rootfs", format: "tar", packageSHA256: sha)
        let request = ImageRequest(layers: [LayerSource(manifest: manifest, origin: origin, comment: "imported from a rootfs tarball, sha256:\(sha)")],
                                   config: config, epoch: epoch ?? SourceDateEpoch(max(0, newest)), architecture: architecture, os: os)
        let image = try ImageAssembler(store: store, layerWriter: layerWriter).assemble(request)
        return Result(image: image, skipped: skipped, tarballSHA256: sha)
    }
}
