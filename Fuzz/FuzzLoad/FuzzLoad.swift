import FuzzSupport
import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerOCI

/// `ImageStore.load` (`pkglayer load`) on one archive: the docker-archive and oci-archive loaders, the
/// extractor under them and the member resolver (`ArchiveExtractor.openMember`), into a fresh store.
///
/// The first byte picks the form. Odd: the rest is the archive's bytes as they are (any tar, gzip'd or
/// not). Even: the rest describes the members, so the fuzzer need not forge tar checksums or digests:
/// parts separated by a line `=====`, each `KIND NAME\n` then the content, KIND `f` (a file), `d` (a
/// directory), `l` (a symlink; the content is its target) or `h` (a hardlink; the content is its
/// target). In a part, `@dN` stands for `sha256:<hex>` of part N's content (N after the part, 1–9),
/// `@hN` for the hex alone, `@sN` for its size, `@canary` for the absolute path of a canary file
/// outside the work directories, and `@self` in a NAME for the hex of the part's own content (a blob's
/// file name); bit 1 of the first byte gzips the tar. Fuzz/load-seeds.py writes seeds of both forms.
///
/// Oracles (docs/fuzzing.md): whatever the archive, every blob in the store hashes to its name and no
/// blob holds the canary's bytes (nothing was read through a link to a host file); a refused archive
/// leaves no blob, no temporary blob file and no tag; no work directory is left in TMPDIR; the canary
/// is unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLoad(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let flags = bytes.first else { return 0 }
    let canaryContent = Array("pkglayer fuzz canary: never in a blob\n".utf8)
    let canary = FuzzLoadSupport.canary(canaryContent)
    let input: String
    if flags & 1 == 1 {
        input = Fuzz.write(Array(bytes.dropFirst()), to: "input.tar")
    } else {
        guard let built = FuzzLoadSupport.build(Array(bytes.dropFirst()), gzip: flags & 2 != 0, canary: canary) else { return 0 }
        input = built
    }
    let cache = Fuzz.freshDirectory("cache")
    let tmp = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
    var loaded = false
    Fuzz.run("ImageStore.open") {
        let store = try ImageStore.open(root: cache)
        loaded = Fuzz.run("ImageStore.load") { _ = try store.load(archive: input) }
        let blobDirectory = store.blobs.blobDirectory
        let files = Fuzz.entries(blobDirectory)
        if !loaded {
            Fuzz.check(files.isEmpty, "a refused archive left files in the store: \(files)")
            Fuzz.check((try? store.list().isEmpty) ?? false, "a refused archive left a tag")
        }
        Fuzz.check(!files.contains { $0.hasPrefix(".tmp") }, "a temporary blob file was left: \(files)")
        for name in files {
            guard let content = FileManager.default.contents(atPath: "\(blobDirectory)/\(name)") else { continue }
            Fuzz.check(Digest.sha256(Array(content)).hex == name, "blob \(name) does not hash to its name")
            Fuzz.check(content.range(of: Data(canaryContent)) == nil,
                       "blob \(name) holds the canary's bytes: a member was read through a link to a host file")
        }
        if loaded {
            let verification = try store.verify()
            Fuzz.check(verification.isClean, "store verify after a load: \(verification.problems)")
        }
    }
    let left = Fuzz.entries(tmp).filter { $0.hasPrefix("pkglayer-load") }
    Fuzz.check(left.isEmpty, "work directories left in TMPDIR: \(left)")
    Fuzz.check(FileManager.default.contents(atPath: canary) == Data(canaryContent), "the canary changed")
    Fuzz.check(Fuzz.entries((canary as NSString).deletingLastPathComponent) == ["secret"], "something was created beside the canary")
    Fuzz.wipe(cache)
    return 0
}

enum FuzzLoadSupport {
    /// `scratch/canary/secret`, made once.
    static func canary(_ content: [UInt8]) -> String {
        let directory = "\(Fuzz.scratch)/canary"
        let path = "\(directory)/secret"
        if !Fuzz.exists(path) {
            mkdir(directory, 0o755)
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            content.withUnsafeBytes { _ = write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        return path
    }

    /// Writes the tar the parts describe; nil when it cannot be written (a name libarchive refuses).
    static func build(_ description: [UInt8], gzip: Bool, canary: String) -> String? {
        var parts = Fuzz.split(description, separator: Array("\n=====\n".utf8), limit: 10)
        // Split each part into its header line and content; substitute from the last part back.
        var headers: [[UInt8]] = [], contents: [[UInt8]] = []
        for part in parts {
            if let newline = part.firstIndex(of: 0x0A) {
                headers.append(Array(part[..<newline]))
                contents.append(Array(part[(newline + 1)...]))
            } else {
                headers.append(part)
                contents.append([])
            }
        }
        for i in stride(from: parts.count - 1, through: 0, by: -1) {
            var content = contents[i], header = headers[i]
            for j in (i + 1)..<max(i + 1, parts.count) {
                let digest = Digest.sha256(contents[j])
                for (pattern, value) in [("@d\(j)", digest.description), ("@h\(j)", digest.hex), ("@s\(j)", String(contents[j].count))] {
                    content = replace(content, Array(pattern.utf8), with: Array(value.utf8))
                    header = replace(header, Array(pattern.utf8), with: Array(value.utf8))
                }
            }
            contents[i] = replace(content, Array("@canary".utf8), with: Array(canary.utf8))
            headers[i] = replace(header, Array("@self".utf8), with: Array(Digest.sha256(contents[i]).hex.utf8))
        }
        parts = []
        let path = "\(Fuzz.scratch)/input.tar\(gzip ? ".gz" : "")"
        unlink(path)
        do {
            let file = try AtomicFile(path: path, overwrite: true)
            let sink: ByteSink = gzip ? try Compression.gzip(level: 1).makeSink(wrapping: file) : file
            let archive = try ArchiveWriter(format: .tarPax, sink: sink)
            for (header, content) in zip(headers, contents) {
                let line = String(decoding: header, as: UTF8.self)
                guard line.count >= 3 else { continue }
                let kind = line.first!, name = String(line.dropFirst(2))
                guard !name.isEmpty else { continue }
                let text = String(decoding: content, as: UTF8.self)
                switch kind {
                case "f": try archive.writeMember(ArchiveEntryHeader(path: name, mode: 0o100644), data: content)
                case "d": try archive.writeHeader(ArchiveEntryHeader(path: name, mode: 0o040755))
                case "l", "h":
                    guard !text.isEmpty else { continue }
                    var entry = ArchiveEntryHeader(path: name, mode: kind == "l" ? 0o120777 : 0o100644)
                    if kind == "l" { entry.symlinkTarget = text } else { entry.hardlinkTarget = text }
                    try archive.writeHeader(entry)
                default: continue
                }
            }
            try archive.finish()
            try file.commit()
        } catch {
            return nil
        }
        return path
    }

    static func replace(_ bytes: [UInt8], _ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard bytes.count >= pattern.count else { return bytes }
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if i + pattern.count <= bytes.count, bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += replacement
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}
