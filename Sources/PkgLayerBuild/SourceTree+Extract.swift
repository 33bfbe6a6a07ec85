import Foundation
import PkgLayerArchive
import PkgLayerCore

extension SourceTree {
    /// Extracts an archive into `subdirectory` of the tree through `ArchiveExtractor` (which refuses
    /// `..`, absolute names, escaping symlinks and writes through symlinks), after dropping the first
    /// `stripComponents` path components of every member, as `tar --strip-components` does.
    ///
    /// Each member's full name is checked before it is stripped, so stripping cannot turn `../x/y` or
    /// `/etc/x` into an innocent path. Members with no components left (the top directory) are skipped.
    /// Ownership is never applied, nor setuid, setgid or sticky bits. Modification times are restored (directories last): autotools
    /// decides whether to re-run automake by comparing them, so extraction order must not matter.
    ///
    /// - Parameter name: names the archive in errors (its URL or file name).
    /// - Returns: how many members were written.
    @discardableResult
    public func extractArchive(_ archive: String, name: String, stripComponents: Int, into subdirectory: String = "") throws -> Int {
        let relative = try SourceTree.relativeDirectory(subdirectory, field: "\(name): extract-to")
        let destinationFD = try openDirectory(relative, create: true)
        defer { close(destinationFD) }
        let destination = relative.isEmpty ? root : "\(root)/\(relative)"

        let reader = try ArchiveReader(path: archive)
        // Without setuid, setgid and sticky: the tree is for building, and a setuid-root file from a
        // tarball has no business being runnable in a work directory.
        let extractor = try ArchiveExtractor(root: destination, archiveName: name, keepSpecialBits: false)
        var directoryTimes: [(path: String, mtime: Int64)] = []
        var count = 0
        while let header = try reader.next() {
            var member = header
            let full = try ManifestPath.normalizeMember(header.path, archive: name)
            guard let stripped = Self.strip(full, stripComponents) else { continue }
            member.path = stripped
            if let target = header.hardlinkTarget {
                let fullTarget = try ManifestPath.normalizeMember(target, archive: name)
                guard let strippedTarget = Self.strip(fullTarget, stripComponents) else {
                    throw PkgLayerError(.invalidInput, "member '\(header.path)' is a hardlink to '\(target)', which strip-components \(stripComponents) removes",
                                        at: name)
                }
                member.hardlinkTarget = strippedTarget
            }
            guard let written = try extractor.extract(member, from: reader) else { continue }
            count += 1
            let relativePath = String(written.dropFirst())
            if member.isDirectory && member.hardlinkTarget == nil {
                directoryTimes.append((relativePath, member.mtime))
            } else if member.hardlinkTarget == nil {
                Self.setTime(destinationFD, relativePath, member.mtime)
            }
        }
        for directory in directoryTimes.reversed() {
            Self.setTime(destinationFD, directory.path, directory.mtime)
        }
        return count
    }

    /// `/a/b/c` stripped of `n` leading components as a relative path (`b/c` for n = 1), or nil when
    /// nothing is left.
    static func strip(_ normalized: String, _ n: Int) -> String? {
        let components = normalized.split(separator: "/")
        guard components.count > n else { return nil }
        return components.dropFirst(n).joined(separator: "/")
    }

    /// Sets atime and mtime of `relativePath` under `directoryFD` without following a final symlink.
    /// The extractor has already refused every parent that is not a real directory.
    static func setTime(_ directoryFD: Int32, _ relativePath: String, _ mtime: Int64) {
        var times = [timespec(tv_sec: Int(mtime), tv_nsec: 0), timespec(tv_sec: Int(mtime), tv_nsec: 0)]
        _ = utimensat(directoryFD, relativePath, &times, AT_SYMLINK_NOFOLLOW)
    }
}
