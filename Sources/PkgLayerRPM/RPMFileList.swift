import Foundation
import PkgLayerCore

/// The files an rpm owns, derived once from the manifest and shared by the header and the payload.
///
/// - Implicit directories (parents added by the manifest and the standard system directories) are
///   not owned: they appear neither in the header nor in the payload, so removing the package never
///   removes `/usr/bin`.
/// - Order is the manifest's (bytewise by path), which is what rpm expects: it bisects the file list.
/// - A hardlink set (a `.file` and the `.hardlink`s naming it) shares one inode number and the file's
///   mode, owner, mtime and capabilities, as the members of a set on disk necessarily do.
/// - Ghost files are listed in the header but carry no payload and no digest.
/// - As rpmbuild does, files under the documentation directories (`/usr/share/doc`, `/usr/share/man`,
///   `/usr/share/info`, … rpm's `%__docdir_path`) are flagged %doc, so `rpm --excludedocs` and
///   rpmlint treat them as documentation; directories lose config/doc/license flags.
struct RPMFileList {
    struct File {
        /// Position in the header's file arrays (the stripped cpio's file index).
        var index: Int
        var path: String
        /// The entry with a hardlink's attributes replaced by its set's file's.
        var entry: ManifestEntry
        var size: UInt64
        var digest: String
        var inode: UInt32
        /// Members of this file's hardlink set (1 when it has none).
        var linkCount: UInt32
        /// Where the content comes from (the set's file for a hardlink).
        var contentPath: String?
        var isGhost: Bool { entry.flags.contains(.ghost) }
        var isRegular: Bool { entry.kind == .file || entry.kind == .hardlink }
    }

    private(set) var files: [File] = []
    /// For each hardlink set with more than one payload member: the header indexes, in order.
    private(set) var hardlinkSets: [[Int]] = []
    let installedSize: UInt64
    /// FILEDIGESTALGO: the algorithm of every `digest` (sha256 unless the spec asks for another).
    let digestAlgorithm: FileDigestAlgorithm

    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// rpm's cpio header stores sizes in 8 hex digits; from UINT32_MAX on rpm switches to 64-bit
    /// size tags and its stripped payload format.
    static let largeFileThreshold: UInt64 = UInt64(UInt32.max)

    var needsLargeFiles: Bool { files.contains { $0.size >= Self.largeFileThreshold } }
    var hasCapabilities: Bool { files.contains { $0.entry.capabilities?.isEmpty == false } }
    var hasConfigFiles: Bool { files.contains { $0.entry.kind != .directory && $0.entry.flags.contains(.config) } }

    init(manifest: FileManifest, digestAlgorithm: FileDigestAlgorithm = .sha256) throws {
        self.digestAlgorithm = digestAlgorithm
        let owned = manifest.entries.filter { !$0.isImplicitDirectory }
        var byPath: [String: Int] = [:]
        for (index, entry) in owned.enumerated() { byPath[entry.path] = index }

        var setMembers: [String: [Int]] = [:]   // file path -> payload members of its set
        for (index, entry) in owned.enumerated() where entry.kind == .hardlink {
            guard let target = entry.linkTarget, let targetIndex = byPath[target], owned[targetIndex].kind == .file else {
                throw PkgLayerError(.invalidInput, "hardlink target '\(entry.linkTarget ?? "")' is not a regular file in the package", at: entry.path)
            }
            if owned[targetIndex].flags.contains(.ghost) && !entry.flags.contains(.ghost) {
                throw PkgLayerError(.invalidInput, "is a hardlink to the ghost file '\(target)', which has no content in an rpm; make both ghosts or neither",
                                    at: entry.path)
            }
            if !entry.flags.contains(.ghost) {
                setMembers[target, default: [targetIndex]].append(index)
            }
        }

        for (index, original) in owned.enumerated() {
            var entry = original
            var contentPath = entry.sourcePath
            var linkCount: UInt32 = 1
            var inode = UInt32(index + 1)
            if entry.kind == .hardlink, let target = entry.linkTarget, let targetIndex = byPath[target] {
                let file = owned[targetIndex]
                entry.mode = file.mode; entry.uid = file.uid; entry.gid = file.gid
                entry.user = file.user; entry.group = file.group; entry.mtime = file.mtime
                entry.capabilities = file.capabilities; entry.size = file.size
                entry.sha256 = file.sha256
                contentPath = file.sourcePath
                if !entry.flags.contains(.ghost) {
                    inode = UInt32(targetIndex + 1)
                    linkCount = UInt32(setMembers[target]?.count ?? 1)
                }
            } else if entry.kind == .file, let members = setMembers[entry.path], !entry.flags.contains(.ghost) {
                linkCount = UInt32(members.count)
            }

            var size: UInt64 = 0
            var digest = ""
            switch entry.kind {
            case .file, .hardlink:
                size = entry.size
                if !entry.flags.contains(.ghost) {
                    digest = digestAlgorithm == .sha256 ? try Self.digest(of: entry, contentPath: contentPath)
                        : try Self.digest(of: entry, contentPath: contentPath, algorithm: digestAlgorithm)
                }
            case .symlink:
                size = UInt64(entry.linkTarget?.utf8.count ?? 0)
            case .directory:
                // rpmbuild strips these attributes from directories.
                entry.flags.subtract([.config, .doc, .license, .noReplace])
            }
            if entry.kind != .directory, Self.isInDocumentationDirectory(entry.path) {
                entry.flags.insert(.doc)
            }
            files.append(File(index: index, path: entry.path, entry: entry, size: size, digest: digest, inode: inode,
                              linkCount: linkCount, contentPath: contentPath))
        }
        hardlinkSets = setMembers.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
        installedSize = manifest.installedSize
    }

    /// rpm's default `%__docdir_path`.
    static let documentationDirectories = [
        "/usr/share/doc", "/usr/share/man", "/usr/share/info", "/usr/share/gtk-doc/html", "/usr/share/gnome/help",
        "/usr/doc", "/usr/man", "/usr/info", "/usr/X11R6/man",
    ]

    static func isInDocumentationDirectory(_ path: String) -> Bool {
        documentationDirectories.contains { path.hasPrefix($0 + "/") }
    }

    private static func digest(of entry: ManifestEntry, contentPath: String?) throws -> String {
        if let sha256 = entry.sha256 { return sha256 }
        if let contentPath { return try FileDigest.sha256Hex(path: contentPath) }
        if entry.size == 0 { return Self.emptySHA256 }
        throw PkgLayerError(.invalidInput, "regular file of \(entry.size) bytes has neither content (sourcePath) nor a sha256", at: entry.path)
    }

    private static func digest(of entry: ManifestEntry, contentPath: String?, algorithm: FileDigestAlgorithm) throws -> String {
        if let contentPath { return try RPMFileDigest.hex(algorithm, path: contentPath) }
        if entry.size == 0 { return try RPMFileDigest.hex(algorithm, path: nil) }
        throw PkgLayerError(.invalidInput, "regular file of \(entry.size) bytes has no content (sourcePath) to compute its \(algorithm.rawValue) digest from", at: entry.path)
    }

    /// The payload in the order rpm can unpack it: manifest order, except that the members of a
    /// hardlink set follow each other (rpm's unpacker keeps one "open link set" at a time), placed
    /// where the set's first member is. Only the last member of a set carries the data.
    var payloadOrder: [(file: File, carriesData: Bool)] {
        var setOf: [Int: [Int]] = [:]
        for set in hardlinkSets { for index in set { setOf[index] = set } }
        var out: [(File, Bool)] = []
        for file in files where !file.isGhost {
            if let set = setOf[file.index] {
                guard set[0] == file.index else { continue }   // emitted with the set's first member
                for (position, member) in set.enumerated() {
                    out.append((files[member], position == set.count - 1))
                }
            } else {
                out.append((file, file.isRegular))
            }
        }
        return out
    }
}
