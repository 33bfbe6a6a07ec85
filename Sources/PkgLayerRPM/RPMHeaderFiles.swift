import CRPM
import Foundation
import PkgLayerCore

/// The file list of a main header, read back into per-file records with checked array lengths and
/// paths that stay inside the root.
struct RPMHeaderFiles {
    struct File {
        var index: Int
        var path: String
        /// st_mode: type and permission bits.
        var mode: UInt32
        var size: UInt64
        var digest: String
        var flags: UInt32
        var user: String
        var group: String
        var mtime: UInt32
        var linkTarget: String
        var inode: UInt32
        var device: UInt32
        var capabilities: String

        var type: UInt32 { mode & 0o170000 }
        var isRegular: Bool { type == 0o100000 }
        var isGhost: Bool { flags & FileFlags.ghost.rawValue != 0 }
    }

    private(set) var files: [File] = []
    private(set) var indexByPath: [String: Int] = [:]
    /// Hardlink sets (header indexes, in order), as rpm forms them: regular, non-ghost files sharing
    /// a device and inode number.
    private(set) var hardlinkSets: [[Int]] = []
    /// FILEDIGESTALGO (PGPHASHALGO_*): 8 is sha256; absent means md5 (1), as in packages before rpm 4.6.
    let digestAlgorithm: UInt64
    var digestsAreSHA256: Bool { digestAlgorithm == UInt64(RPMWriter.sha256Algorithm) }
    var hasMD5Digests: Bool { digestAlgorithm == 1 }
    /// rpm's stripped cpio is in use exactly when the header has 64-bit file sizes.
    let usesStrippedPayload: Bool

    init(header h: RPMHeader, path rpmPath: String) throws {
        var paths: [String]
        let baseNames = h.strings(tag(RPMTAG_BASENAMES))
        if !baseNames.isEmpty {
            let dirNames = h.strings(tag(RPMTAG_DIRNAMES))
            let dirIndexes = h.numbers(tag(RPMTAG_DIRINDEXES))
            guard dirIndexes.count == baseNames.count, dirIndexes.allSatisfy({ $0 < UInt64(dirNames.count) }) else {
                throw PkgLayerError(.rpm, "the header's file name arrays disagree (BASENAMES, DIRNAMES, DIRINDEXES); the package is malformed", at: rpmPath)
            }
            paths = zip(dirIndexes, baseNames).map { dirNames[Int($0)] + $1 }
        } else {
            paths = h.strings(tag(RPMTAG_OLDFILENAMES))
        }
        let count = paths.count
        func column<T>(_ values: [T], _ name: String, default value: T? = nil) throws -> [T] {
            if values.isEmpty, let value { return Array(repeating: value, count: count) }
            guard values.count == count else {
                throw PkgLayerError(.rpm, "the header lists \(count) files but \(values.count) entries in \(name); the package is malformed", at: rpmPath)
            }
            return values
        }
        let longSizes = h.numbers(tag(RPMTAG_LONGFILESIZES))
        usesStrippedPayload = !longSizes.isEmpty
        let sizes = try column(usesStrippedPayload ? longSizes : h.numbers(tag(RPMTAG_FILESIZES)), "FILESIZES", default: 0)
        let modes = try column(h.numbers(tag(RPMTAG_FILEMODES)), "FILEMODES")
        let digests = try column(h.strings(tag(RPMTAG_FILEDIGESTS)), "FILEDIGESTS", default: "")
        let flags = try column(h.numbers(tag(RPMTAG_FILEFLAGS)), "FILEFLAGS", default: 0)
        let users = try column(h.strings(tag(RPMTAG_FILEUSERNAME)), "FILEUSERNAME", default: "root")
        let groups = try column(h.strings(tag(RPMTAG_FILEGROUPNAME)), "FILEGROUPNAME", default: "root")
        let mtimes = try column(h.numbers(tag(RPMTAG_FILEMTIMES)), "FILEMTIMES", default: 0)
        let links = try column(h.strings(tag(RPMTAG_FILELINKTOS)), "FILELINKTOS", default: "")
        let inodes = try column(h.numbers(tag(RPMTAG_FILEINODES)), "FILEINODES", default: 0)
        let devices = try column(h.numbers(tag(RPMTAG_FILEDEVICES)), "FILEDEVICES", default: 0)
        let caps = try column(h.strings(tag(RPMTAG_FILECAPS)), "FILECAPS", default: "")
        digestAlgorithm = h.number(tag(RPMTAG_FILEDIGESTALGO)) ?? 1

        var setsByInode: [UInt64: [Int]] = [:]
        for i in 0..<count {
            let normalized: String
            do {
                normalized = try ManifestPath.normalize(paths[i], field: rpmPath)
            } catch var error as PkgLayerError {
                error.message = "the header lists '\(paths[i])': " + error.message
                throw error
            }
            guard normalized != "/", indexByPath[normalized] == nil else {
                throw PkgLayerError(.rpm, "the header lists '\(paths[i])' more than once or as the root itself; the package is malformed", at: rpmPath)
            }
            let file = File(index: i, path: normalized, mode: UInt32(truncatingIfNeeded: modes[i]), size: sizes[i], digest: digests[i],
                            flags: UInt32(truncatingIfNeeded: flags[i]), user: users[i], group: groups[i],
                            mtime: UInt32(truncatingIfNeeded: mtimes[i]), linkTarget: links[i],
                            inode: UInt32(truncatingIfNeeded: inodes[i]), device: UInt32(truncatingIfNeeded: devices[i]),
                            capabilities: caps[i])
            indexByPath[normalized] = i
            files.append(file)
            if file.isRegular, !file.isGhost, file.inode > 0 {
                setsByInode[UInt64(file.device) << 32 | UInt64(file.inode), default: []].append(i)
            }
        }
        hardlinkSets = setsByInode.values.filter { $0.count > 1 }.sorted { $0[0] < $1[0] }
    }

    /// How many payload bytes a file has: rpm puts a hardlink set's content on its last member only.
    func payloadSize(of index: Int, lastOfSet: [Int: Bool]) -> UInt64 {
        let file = files[index]
        if file.isRegular { return lastOfSet[index] == false ? 0 : file.size }
        if file.type == 0o120000 { return UInt64(file.linkTarget.utf8.count) }
        return 0
    }

    /// For members of hardlink sets: whether each carries the set's content.
    var lastOfSet: [Int: Bool] {
        var out: [Int: Bool] = [:]
        for set in hardlinkSets {
            for index in set { out[index] = index == set.last }
        }
        return out
    }

    /// The manifest entries. Owners are rpm's names; the numeric ids are 0 unless `ids` supplies the
    /// payload's (rpm itself resolves names on the installing machine). In a hardlink set the path
    /// that sorts first is the `.file` and the others are `.hardlink`s to it.
    func manifestEntries(sha256: [Int: String], sourcePaths: [Int: String], ids: [Int: (uid: UInt32, gid: UInt32)],
                         rpmPath: String) throws -> [ManifestEntry] {
        var linkTargetOf: [Int: String] = [:]
        for set in hardlinkSets {
            let first = set.min { files[$0].path.utf8.lexicographicallyPrecedes(files[$1].path.utf8) }!
            for index in set where index != first { linkTargetOf[index] = files[first].path }
        }
        return try files.map { file in
            let kind: FileKind
            switch file.type {
            case 0o100000: kind = linkTargetOf[file.index] == nil ? .file : .hardlink
            case 0o040000: kind = .directory
            case 0o120000: kind = .symlink
            default:
                throw PkgLayerError(.unsupportedFileType, "'\(file.path)' is a device, fifo or socket (mode \(String(file.mode, radix: 8))), which a pkglayer manifest cannot hold",
                                    at: rpmPath)
            }
            let digest = sha256[file.index] ?? (digestsAreSHA256 && !file.digest.isEmpty ? file.digest : nil)
            return ManifestEntry(path: file.path, kind: kind, mode: file.mode & 0o7777,
                                 uid: ids[file.index]?.uid ?? 0, gid: ids[file.index]?.gid ?? 0,
                                 user: file.user, group: file.group, mtime: Int64(file.mtime),
                                 size: file.isRegular ? file.size : 0,
                                 sha256: file.isRegular ? digest : nil,
                                 linkTarget: kind == .symlink ? file.linkTarget : linkTargetOf[file.index],
                                 flags: FileFlags(rawValue: file.flags),
                                 capabilities: file.capabilities.isEmpty ? nil : file.capabilities,
                                 sourcePath: kind == .file ? sourcePaths[file.index] : nil)
        }
    }
}
