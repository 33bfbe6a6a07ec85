import Foundation
import PkgLayerArchive
import PkgLayerCore

/// What the payload pass measured; the headers need all of it.
struct RPMPayload {
    var path: String
    /// Uncompressed cpio size (signature PAYLOADSIZE / LONGARCHIVESIZE).
    var archiveSize: UInt64
    /// sha256 of the uncompressed cpio (PAYLOADDIGESTALT).
    var uncompressedSHA256: String
    /// sha256 of the compressed payload as stored in the file (PAYLOADDIGEST).
    var compressedSHA256: String
    var compressedSize: UInt64
}

extension RPMWriter {
    /// Streams the cpio payload: archive → hash (uncompressed) → compressor → hash (compressed) → file.
    /// Member names carry rpm's `./` prefix (PayloadFilesHavePrefix). Nothing is held whole in memory.
    func writePayload(_ files: RPMFileList, stripped: Bool, to path: String) throws -> RPMPayload {
        let file = try ScratchFileSink(path: path)
        let compressed = HashingSink(next: file)
        let compressor = try compression.makeSink(wrapping: compressed, threads: threads)
        let uncompressed = HashingSink(next: compressor)

        if stripped {
            let writer = StrippedCpioWriter(sink: uncompressed)
            for (member, carriesData) in files.payloadOrder {
                try writer.writeHeader(fileIndex: member.index)
                switch member.entry.kind {
                case .file, .hardlink:
                    if carriesData, member.size > 0 {
                        try writer.writeContent(of: try contentPath(member), expectedSize: member.size, member: member.path)
                    }
                case .symlink:
                    try Array((member.entry.linkTarget ?? "").utf8).withUnsafeBytes { try writer.write($0) }
                case .directory:
                    break
                }
            }
            try writer.finish()
        } else {
            let writer = try ArchiveWriter(format: .cpioNewc, sink: uncompressed)
            for (member, carriesData) in files.payloadOrder {
                var header = ArchiveEntryHeader(path: "." + member.path, mode: member.entry.fullMode)
                header.uid = member.entry.uid
                header.gid = member.entry.gid
                header.mtime = Self.headerTime(member.entry.mtime)
                header.inode = UInt64(member.inode)
                header.nlink = member.linkCount
                switch member.entry.kind {
                case .file, .hardlink:
                    header.size = carriesData ? member.size : 0
                    if header.size > 0 {
                        try writer.writeFile(header, contentsOf: try contentPath(member))
                    } else {
                        try writer.writeHeader(header)
                    }
                case .symlink:
                    let target = member.entry.linkTarget ?? ""
                    header.symlinkTarget = target
                    header.size = UInt64(target.utf8.count)
                    try writer.writeHeader(header)
                case .directory:
                    try writer.writeHeader(header)
                }
            }
            try writer.finish()
        }
        try file.finish()
        return RPMPayload(path: path, archiveSize: uncompressed.count, uncompressedSHA256: uncompressed.sha256Hex,
                          compressedSHA256: compressed.sha256Hex, compressedSize: compressed.count)
    }

    private func contentPath(_ member: RPMFileList.File) throws -> String {
        guard let path = member.contentPath else {
            throw PkgLayerError(.invalidInput, "regular file of \(member.size) bytes has no sourcePath to read its content from", at: member.path)
        }
        return path
    }

    /// rpm keeps times as unsigned 32-bit seconds.
    static func headerTime(_ seconds: Int64) -> Int64 {
        min(max(seconds, 0), Int64(UInt32.max))
    }
}
