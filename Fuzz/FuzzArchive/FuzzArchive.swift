import FuzzSupport
import PkgLayerArchive
import PkgLayerCore

/// ArchiveReader (any format libarchive knows: tar, cpio, ar, … under any filter) and ArchiveExtractor
/// on one input: every member is extracted under a fresh root, as a source tarball or a tar input is.
/// The first byte picks the variant: bit 0 → the extractor drops special bits (a package reader's
/// staging), bit 1 → the input is read raw (rpm's stripped-cpio path: one decompressed member).
///
/// Oracles: nothing lands beside the root; after `removeAll()` (on failure) no root is left behind.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzArchive(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let flags = bytes.first else { return 0 }
    let input = Fuzz.write(Array(bytes.dropFirst()), to: "input.archive")
    let staging = Fuzz.freshDirectory("staging")
    let root = "\(staging)/root"
    let ok = Fuzz.run("ArchiveReader+ArchiveExtractor") {
        let reader = try ArchiveReader(path: input, raw: flags & 2 != 0)
        let extractor = try ArchiveExtractor(root: root, archiveName: input, keepSpecialBits: flags & 1 == 0)
        do {
            var count = 0
            while let header = try reader.next() {
                count += 1
                if count > 4096 { break }
                if flags & 2 != 0 {
                    _ = try reader.readAll(limit: 1 << 20)
                } else {
                    try extractor.extract(header, from: reader)
                }
            }
        } catch {
            extractor.removeAll()
            throw error
        }
    }
    let left = Fuzz.entries(staging)
    Fuzz.check(left.allSatisfy { $0 == "root" }, "extraction created \(left) beside its root")
    Fuzz.check(ok || !Fuzz.exists(root), "removeAll() after a failed extraction left the root behind: \(Fuzz.entries(root))")
    Fuzz.wipe(staging)
    return 0
}
