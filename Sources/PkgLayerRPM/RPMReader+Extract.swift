import Foundation
import PkgLayerArchive
import PkgLayerCore

extension RPMReader {
    /// What extraction learned about each header file (by header index).
    struct Extracted {
        var sha256: [Int: String] = [:]
        var sourcePaths: [Int: String] = [:]
        var ids: [Int: (uid: UInt32, gid: UInt32)] = [:]
        /// Removes what the extraction created, for a read that fails after it.
        var removeAll: (() -> Void)?
    }

    /// Extracts the payload under `root`.
    ///
    /// The payload is untrusted even after its digest matched (the digest only proves it is the
    /// payload the header was written with): every member must be a file the header lists, of the
    /// type and size the header says, exactly once, and nothing the header lists may be missing.
    /// Files are created by Archive's `ArchiveExtractor`, which refuses `..` and absolute names,
    /// never writes through a symlink and creates parents as real directories. After extraction each
    /// file's content is checked against the header's file digest. On any failure the extractor
    /// removes everything it created under `root` (and `root` itself if it made it).
    func extract(_ package: RPMPackageFile, _ files: RPMHeaderFiles, to root: String) throws -> Extracted {
        // Staged content is for reading; the manifest carries the real modes.
        let extractor = try ArchiveExtractor(root: root, archiveName: package.path, keepSpecialBits: false)
        do {
            var extracted = Extracted()
            let found: Set<Int>
            if files.usesStrippedPayload {
                found = try extractStripped(package, files, extractor)
            } else {
                found = try extractNewc(package, files, extractor, ids: &extracted.ids)
            }
            if let missing = files.files.first(where: { !$0.isGhost && !found.contains($0.index) }) {
                throw PkgLayerError(.rpm, "the payload lacks '\(missing.path)', which the header lists; the package is malformed", at: package.path)
            }
            try joinHardlinks(files, root: root, rpmPath: package.path)
            try checkContent(files, root: root, rpmPath: package.path, into: &extracted)
            extracted.removeAll = extractor.removeAll
            return extracted
        } catch {
            extractor.removeAll()
            throw error
        }
    }

    /// Looks a payload member up in the header and checks it agrees with it.
    private func headerFile(for member: ArchiveEntryHeader, _ files: RPMHeaderFiles, found: inout Set<Int>,
                            rpmPath: String) throws -> RPMHeaderFiles.File {
        let path = try ManifestPath.normalizeMember(member.path, archive: rpmPath)
        guard let index = files.indexByPath[path] else {
            throw PkgLayerError(.rpm, "payload member '\(member.path)' is not in the header's file list; refusing a package whose payload and header disagree",
                                at: rpmPath)
        }
        guard found.insert(index).inserted else {
            throw PkgLayerError(.rpm, "payload member '\(member.path)' appears more than once", at: rpmPath)
        }
        let file = files.files[index]
        guard member.mode & 0o170000 == file.type else {
            throw PkgLayerError(.rpm, "payload member '\(member.path)' has type \(String(member.mode & 0o170000, radix: 8)) but the header says \(String(file.type, radix: 8))",
                                at: rpmPath)
        }
        return file
    }

    private func sizeMismatch(_ member: String, _ actual: UInt64, _ expected: UInt64, _ rpmPath: String) -> PkgLayerError {
        PkgLayerError(.rpm, "payload member '\(member)' has \(actual) bytes but the header says \(expected)", at: rpmPath)
    }

    /// The usual payload: newc cpio, read by libarchive.
    private func extractNewc(_ package: RPMPackageFile, _ files: RPMHeaderFiles, _ extractor: ArchiveExtractor,
                             ids: inout [Int: (uid: UInt32, gid: UInt32)]) throws -> Set<Int> {
        let reader = try ArchiveReader(path: package.path, offset: package.payloadOffset)
        let lastOfSet = files.lastOfSet
        var found = Set<Int>()
        while let member = try reader.next() {
            let file = try headerFile(for: member, files, found: &found, rpmPath: package.path)
            if file.isGhost { continue }   // rpm < 4.11 sometimes packed ghosts; rpm skips them too
            let expected = files.payloadSize(of: file.index, lastOfSet: lastOfSet)
            if file.isRegular, member.size != expected {
                throw sizeMismatch(member.path, member.size, expected, package.path)
            }
            if file.type == 0o120000, member.symlinkTarget != file.linkTarget {
                throw PkgLayerError(.rpm, "payload member '\(member.path)' links to '\(member.symlinkTarget ?? "")' but the header says '\(file.linkTarget)'",
                                    at: package.path)
            }
            ids[file.index] = (member.uid, member.gid)
            var header = member
            header.mode = file.mode
            try extractor.extract(header, from: reader)
        }
        return found
    }

    /// rpm's stripped cpio (packages with a file of 4 GiB or more): libarchive only decompresses it;
    /// pkglayer parses it. Each member is created by the extractor as its header arrives (names,
    /// types and modes come from the rpm header) and its content is streamed straight into it.
    private func extractStripped(_ package: RPMPackageFile, _ files: RPMHeaderFiles, _ extractor: ArchiveExtractor) throws -> Set<Int> {
        let rpmPath = package.path
        let lastOfSet = files.lastOfSet
        let reader = try ArchiveReader(path: rpmPath, offset: package.payloadOffset, raw: true)
        guard try reader.next() != nil else {
            throw PkgLayerError(.rpm, "the payload is empty", at: rpmPath)
        }
        var found = Set<Int>()
        var current: (index: Int, content: ExtractedFile?, link: [UInt8])?
        func header(_ file: RPMHeaderFiles.File) -> ArchiveEntryHeader {
            var header = ArchiveEntryHeader(path: "." + file.path, mode: file.mode)
            if file.type == 0o120000 { header.symlinkTarget = file.linkTarget }
            return header
        }
        func endMember() throws {
            guard let member = current else { return }
            current = nil
            try member.content?.finish()
            let file = files.files[member.index]
            if file.type == 0o120000 {
                guard String(decoding: member.link, as: UTF8.self) == file.linkTarget else {
                    throw PkgLayerError(.rpm, "payload member '\(file.path)' links to '\(String(decoding: member.link, as: UTF8.self))' but the header says '\(file.linkTarget)'",
                                        at: rpmPath)
                }
                try extractor.extract(header(file)) { _ in }
            }
        }
        let parser = StrippedCpioParser(path: rpmPath, sizeOf: { index in
            guard index >= 0, index < files.files.count else {
                throw PkgLayerError(.rpm, "payload member #\(index) is not in the header's file list; refusing a package whose payload and header disagree",
                                    at: rpmPath)
            }
            return files.payloadSize(of: index, lastOfSet: lastOfSet)
        }, handler: { event in
            switch event {
            case .member(let index):
                try endMember()
                guard index >= 0, index < files.files.count, found.insert(index).inserted, !files.files[index].isGhost else {
                    throw PkgLayerError(.rpm, "payload member #\(index) is unknown, a ghost, or appears twice", at: rpmPath)
                }
                let file = files.files[index]
                var content: ExtractedFile?
                if file.isRegular {
                    content = try extractor.createFile(header(file))
                } else if file.type != 0o120000 {
                    try extractor.extract(header(file)) { _ in }   // a directory; a symlink waits for its target
                }
                current = (index, content, [])
            case .data(let bytes):
                guard let member = current else { return }
                if let content = member.content {
                    try content.write(bytes)
                } else if files.files[member.index].type == 0o120000 {
                    current!.link += bytes
                }
            case .end:
                try endMember()
            }
        })
        try reader.readData { try parser.consume($0) }
        try parser.finish()
        return found
    }

    /// rpm puts a hardlink set's content on its last member; the manifest's `.file` is the member
    /// that sorts first. Moves the content there and makes the other members hard links to it.
    private func joinHardlinks(_ files: RPMHeaderFiles, root: String, rpmPath: String) throws {
        for set in files.hardlinkSets {
            let first = set.min { files.files[$0].path.utf8.lexicographicallyPrecedes(files.files[$1].path.utf8) }!
            let firstPath = root + files.files[first].path
            let carrier = set.last!
            if carrier != first, rename(root + files.files[carrier].path, firstPath) != 0 {
                throw PkgLayerError.posix("joining the hardlink set of \(files.files[first].path)", path: rpmPath)
            }
            for member in set where member != first {
                let memberPath = root + files.files[member].path
                unlink(memberPath)
                guard link(firstPath, memberPath) == 0 else {
                    throw PkgLayerError.posix("hard-linking \(files.files[member].path)", path: rpmPath)
                }
            }
        }
    }

    /// Hashes each extracted regular file (once per hardlink set) and checks it against the header's
    /// FILEDIGESTS (sha256, or md5 for old packages).
    private func checkContent(_ files: RPMHeaderFiles, root: String, rpmPath: String, into extracted: inout Extracted) throws {
        let algorithm: StreamingHasher.Algorithm? = files.digestsAreSHA256 ? .sha256 : (files.hasMD5Digests ? .md5 : nil)
        var setOf: [Int: [Int]] = [:]
        for set in files.hardlinkSets { for index in set { setOf[index] = set } }
        var done = Set<Int>()
        for file in files.files where file.isRegular && !file.isGhost && !done.contains(file.index) {
            let members = setOf[file.index] ?? [file.index]
            done.formUnion(members)
            let path = root + file.path
            let hasher = try FileDigest.compute(path: path, algorithms: algorithm == .md5 ? [.sha256, .md5] : [.sha256])
            let sha256 = hasher.finalizeSHA256().hexString
            if let algorithm, !file.digest.isEmpty {
                let actual = algorithm == .md5 ? hasher.finalizeMD5().hexString : sha256
                guard actual == file.digest else {
                    throw PkgLayerError(.rpm, "the content of '\(file.path)' does not match its digest in the header; the package is malformed",
                                        at: rpmPath)
                }
            }
            for member in members {
                extracted.sha256[member] = sha256
                extracted.sourcePaths[member] = root + files.files[member].path
            }
        }
    }
}
