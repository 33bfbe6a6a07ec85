import CRPM
import Foundation
import PkgLayerCore

/// The signature header: the digests rpm checks before it trusts the package, and room for an OpenPGP
/// signature (added by `RPMSigning`, from `RPMWriter.signer` or afterwards, or by `rpmsign`):
///
/// - SHA256 and SHA1: hex digests of the main header as stored (magic included);
/// - MD5: binary digest of the main header followed by the payload (legacy, still checked by `rpm -K`);
/// - SIZE: main header + payload bytes; PAYLOADSIZE: the uncompressed cpio size. From 4 GiB on these
///   become LONGSIZE and LONGARCHIVESIZE;
/// - RESERVEDSPACE: zeros that a signature replaces in place, sized as rpmbuild sizes it;
/// - RSAHEADER or DSAHEADER, once signed: see RPMSigning.swift.
///
/// On disk the signature is padded with zeros to a multiple of 8 bytes.
enum RPMSignature {
    struct Digests {
        var headerSHA256: String
        var headerSHA1: String
        var md5: [UInt8]
        /// Main header plus compressed payload.
        var size: UInt64
        /// Uncompressed payload.
        var payloadSize: UInt64
    }

    /// 32 bytes rpm always reserves plus `%__gpg_reserved_space` (4096 by default).
    static let reservedSpace = 32 + 4096

    static func build(_ d: Digests) throws -> [UInt8] {
        let sig = RPMHeader()
        try d.headerSHA256.withCString { try sig.putRaw(tag(RPMSIGTAG_SHA256), type: RPM_STRING_TYPE, count: 1, $0) }
        try d.headerSHA1.withCString { try sig.putRaw(tag(RPMSIGTAG_SHA1), type: RPM_STRING_TYPE, count: 1, $0) }
        try d.md5.withUnsafeBytes { try sig.putRaw(tag(RPMSIGTAG_MD5), type: RPM_BIN_TYPE, count: $0.count, $0.baseAddress!) }
        var reserved = reservedSpace
        if d.size >= UInt64(UInt32.max) || d.payloadSize >= UInt64(UInt32.max) {
            var payloadSize = d.payloadSize, size = d.size
            try withUnsafeBytes(of: &payloadSize) { try sig.putRaw(tag(RPMSIGTAG_LONGARCHIVESIZE), type: RPM_INT64_TYPE, count: 1, $0.baseAddress!) }
            try withUnsafeBytes(of: &size) { try sig.putRaw(tag(RPMSIGTAG_LONGSIZE), type: RPM_INT64_TYPE, count: 1, $0.baseAddress!) }
            // Two 64-bit values replace two 32-bit ones; rpmbuild shrinks the reserved space to match.
            reserved -= 8
        } else {
            var payloadSize = UInt32(d.payloadSize), size = UInt32(d.size)
            try withUnsafeBytes(of: &payloadSize) { try sig.putRaw(tag(RPMSIGTAG_PAYLOADSIZE), type: RPM_INT32_TYPE, count: 1, $0.baseAddress!) }
            try withUnsafeBytes(of: &size) { try sig.putRaw(tag(RPMSIGTAG_SIZE), type: RPM_INT32_TYPE, count: 1, $0.baseAddress!) }
        }
        let zeros = [UInt8](repeating: 0, count: reserved)
        try zeros.withUnsafeBytes { try sig.putRaw(tag(RPMSIGTAG_RESERVEDSPACE), type: RPM_BIN_TYPE, count: $0.count, $0.baseAddress!) }
        try sig.reload(region: tag(RPMTAG_HEADERSIGNATURES))
        var bytes = try sig.exportWithMagic()
        bytes += [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        return bytes
    }

    /// Digests of the main header (as stored, magic included) for the signature.
    static func headerDigests(_ header: [UInt8]) -> (sha256: String, sha1: String) {
        var hasher = StreamingHasher([.sha256, .sha1])
        hasher.update(header)
        return (hasher.finalizeSHA256().hexString, hasher.finalizeSHA1().hexString)
    }
}
