import Foundation
import PkgLayerArchive
import PkgLayerCore

/// The writer's side of signing: the three signed members go into the ar archive inside the signer's
/// hashing pass, so each block is hashed as it is written (data.tar streams from its scratch file,
/// read once), and `_gpgorigin` follows with the same header fields as the other members.
extension DebSigning {
    /// The members of a .deb the writer has made, ready for the ar archive.
    struct WriterMembers {
        var mtime: Int64
        var controlName: String
        var controlBytes: [UInt8]
        var dataName: String
        var dataPath: String
        var dataSize: UInt64
    }

    /// Writes `debian-binary`, control.tar.* and data.tar.* into `ar`, then `_gpgorigin` when there is
    /// a signer. Returns the signature's key id, or nil when unsigned.
    static func writeMembers(_ m: WriterMembers, to ar: ArchiveWriter, signer: (any PackageSigner)?) throws -> String? {
        func header(_ name: String, size: UInt64) -> ArchiveEntryHeader {
            var h = ArchiveEntryHeader(path: name, mode: 0o100644)
            h.mtime = m.mtime
            h.size = size
            return h
        }
        let version = Array("2.0\n".utf8)
        func writeSigned(observe: (UnsafeRawBufferPointer) -> Void) throws {
            try ar.writeMember(header("debian-binary", size: UInt64(version.count)), data: version)
            version.withUnsafeBytes { observe($0) }
            try ar.writeMember(header(m.controlName, size: UInt64(m.controlBytes.count)), data: m.controlBytes)
            m.controlBytes.withUnsafeBytes { observe($0) }
            try ar.writeHeader(header(m.dataName, size: m.dataSize))
            try FileReader.forEachBlock(path: m.dataPath) { block in
                observe(block)
                try ar.writeData(block)
            }
        }
        guard let signer else {
            try writeSigned { _ in }
            return nil
        }
        let signature = try signer.detachedSignature { hasher in
            try writeSigned { hasher.update(data: $0) }
        }
        try ar.writeMember(header(originMember, size: UInt64(signature.count)), data: Array(signature))
        return signer.keyID
    }
}
