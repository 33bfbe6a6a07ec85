import CRPM
import Foundation
import PkgLayerCore

/// What one OpenPGP signature in an rpm's signature header says: who signed and how. Read with
/// librpm's own packet parser, so it is what `rpm -Kv` reports.
public struct RPMSignatureInfo: Sendable, Equatable, CustomStringConvertible {
    /// The public-key algorithm as rpm names it: "RSA", "EdDSA", "DSA", "ECDSA".
    public var algorithm: String
    /// The digest algorithm as rpm names it: "SHA256", "SHA512", …
    public var hashAlgorithm: String
    /// The signing key's 64-bit id, 16 upper-case hex digits.
    public var keyID: String
    /// The signature's creation time (seconds since 1970).
    public var creationTime: Int64
    /// The OpenPGP signature version (4 for everything rpm 4.18 and pkglayer write).
    public var version: Int
    /// The signature header tag holding it: "RSAHEADER", "DSAHEADER" (header-only, what rpmsign and
    /// pkglayer write), or the legacy header+payload "PGP"/"GPG".
    public var tag: String

    /// As `rpm -Kv` words it: "V4 RSA/SHA256 Signature, key ID 0123abcd".
    public var description: String {
        "V\(version) \(algorithm)/\(hashAlgorithm) Signature, key ID \(keyID.suffix(8).lowercased())"
    }
}

/// What `RPMSigning.sign(fileAt:with:)` did.
public struct RPMSigningResult: Sendable, Equatable {
    public var path: String
    /// The signature the package carries now.
    public var signature: RPMSignatureInfo
    /// The signatures it carried before and no longer does (another key, or a legacy v3 signature).
    public var replaced: [RPMSignatureInfo]
    /// True when the package already carried exactly this signature: nothing was written.
    public var unchanged: Bool
    /// True when the reserved space was too small and the signature header grew, moving the main header
    /// and the payload (the whole file was rewritten); false when the file size stayed the same.
    public var grewSignatureHeader: Bool
    /// The file's size afterwards.
    public var size: UInt64
}

/// OpenPGP signatures in rpm packages, as `rpmsign --addsign` (rpm 4.18) makes them: one V4 signature over
/// the main header as stored (magic included), in RSAHEADER (tag 268) for RSA keys and DSAHEADER (267)
/// for everything else (EdDSA). The signature header keeps its size: RESERVEDSPACE shrinks by what the
/// signature adds, so the main header and the payload stay where they were. Any earlier signature
/// (RSA, DSA or the legacy header+payload PGP/GPG tags) is removed first, as rpmsign removes it: a
/// package carries the signature of one key, and `rpm -K` needs every key it carries.
///
/// The key never reaches this room: signing goes through Core's `PackageSigner`. Only the packet it
/// returns is looked at, with librpm's parser, to choose the tag and to check that rpm can read it.
///
/// Deterministic: the same key, creation time and package give the same bytes, whether the writer
/// signed while writing (`RPMWriter.signer`) or `sign(fileAt:with:)` signed afterwards.
public enum RPMSigning {
    /// Signs an existing package (what `pkglayer sign FILE.rpm` calls; like `rpmsign --addsign`).
    ///
    /// The new file is written beside the old one under a temporary name and renamed over it, so a run
    /// that is killed leaves the original. Memory stays constant: the payload is copied block by block.
    /// A symbolic link is followed and its target signed. Refuses anything that is not an intact rpm
    /// (bad magic, truncated, a main header that does not match its digest).
    @discardableResult
    public static func sign(fileAt url: URL, with signer: any PackageSigner) throws -> RPMSigningResult {
        let path = url.resolvingSymlinksInPath().path
        let file = try RPMRawLayout(path: path)
        let old = try signatures(in: file.signatureHeader(), path: path)
        let signed = try signedSignatureHeader(file.signature, over: file.header, with: signer, path: path)

        let unpadded = Array(signed.bytes.prefix(RPMRawLayout.headerSize(signed.bytes)))
        if unpadded == file.signature {
            return RPMSigningResult(path: path, signature: signed.info, replaced: [], unchanged: true,
                                    grewSignatureHeader: false, size: file.fileSize)
        }
        let size = try file.rewrite(signature: signed.bytes)
        return RPMSigningResult(path: path, signature: signed.info, replaced: old.filter { $0 != signed.info },
                                unchanged: false, grewSignatureHeader: size != file.fileSize, size: size)
    }

    /// The package's OpenPGP signature, or nil when it has none. A package signed by rpmsign or pkglayer
    /// carries one; if it carries several (legacy tools), the header-only one comes first.
    public static func signatureInfo(fileAt url: URL) throws -> RPMSignatureInfo? {
        let path = url.resolvingSymlinksInPath().path
        let file = try RPMRawLayout(path: path)
        return try signatures(in: file.signatureHeader(), path: path).first
    }

    /// Checks the package's header signature against a public key (ASCII-armored, as `rpm --import`
    /// takes it; its subkeys count too) with librpm's own verifier, and returns what signed it. Throws
    /// when the package is unsigned, was signed by another key, or its header no longer matches the
    /// signature. The payload is covered through the header's payload digest, which `rpm -K` checks.
    @discardableResult
    public static func verify(fileAt url: URL, armoredPublicKey: String) throws -> RPMSignatureInfo {
        let path = url.resolvingSymlinksInPath().path
        let file = try RPMRawLayout(path: path)
        let signatureHeader = try file.signatureHeader()
        for sigTag in headerSignatureTags {
            guard let packet = signatureHeader.binary(sigTag) else { continue }
            return try RPMPGP.verify(packet: packet, over: file.header, armoredPublicKey: armoredPublicKey,
                                     tag: tagName(sigTag), path: path)
        }
        throw PkgLayerError(.rpm, "has no header signature (RSAHEADER or DSAHEADER); sign it with `pkglayer sign` or rpmsign first", at: path)
    }

    // MARK: - The signature header

    /// Header-only signatures, in the order they are reported.
    static let headerSignatureTags: [rpmTagVal] = [tag(RPMSIGTAG_RSA), tag(RPMSIGTAG_DSA)]
    /// Every tag that holds an OpenPGP signature; all of them go when a new signature comes (rpmsign does the same).
    static let allSignatureTags: [rpmTagVal] = headerSignatureTags + [tag(RPMSIGTAG_PGP), tag(RPMSIGTAG_GPG), tag(RPMSIGTAG_PGP5)]

    static func tagName(_ t: rpmTagVal) -> String {
        switch t {
        case tag(RPMSIGTAG_RSA): return "RSAHEADER"
        case tag(RPMSIGTAG_DSA): return "DSAHEADER"
        case tag(RPMSIGTAG_PGP): return "PGP"
        case tag(RPMSIGTAG_GPG): return "GPG"
        default: return "PGP5"
        }
    }

    /// The signatures a signature header holds, header-only first. A packet librpm cannot parse is an error.
    static func signatures(in header: RPMHeader, path: String) throws -> [RPMSignatureInfo] {
        try allSignatureTags.compactMap { t in
            guard let packet = header.binary(t) else { return nil }
            return try RPMPGP.info(packet: packet, tag: tagName(t), path: path)
        }
    }

    /// Turns a signature header (as stored, magic included; trailing padding allowed) into the same header
    /// with `signer`'s signature over `mainHeader` added and RESERVEDSPACE shrunk to keep its size. Returns
    /// the new header padded to 8 bytes, as it goes on disk. When the reserved space is missing or too
    /// small, the header keeps what it has and grows (rpmsign does the same).
    static func signedSignatureHeader(_ signature: [UInt8], over mainHeader: [UInt8], with signer: any PackageSigner,
                                      path: String) throws -> (bytes: [UInt8], info: RPMSignatureInfo) {
        let size = RPMRawLayout.headerSize(signature)
        let blob = Array(signature[8..<size])
        let packet = try [UInt8](signer.detachedSignature { $0.update(data: mainHeader) })
        var info = try RPMPGP.info(packet: packet, tag: "", path: path)
        // rpm files RSA signatures under RSAHEADER and every other algorithm under DSAHEADER.
        let sigTag = info.algorithm == "RSA" ? tag(RPMSIGTAG_RSA) : tag(RPMSIGTAG_DSA)
        info.tag = tagName(sigTag)

        let reservedTag = tag(RPMSIGTAG_RESERVEDSPACE)
        let old = try RPMHeader(importing: blob, what: "signature header", path: path)
        let removed = Set(allSignatureTags + [reservedTag])
        func build(reserved: Int?) throws -> [UInt8] {
            let fresh = RPMHeader()
            try old.forEachEntry { td in
                guard !removed.contains(rpmTagVal(td.pointee.tag)) else { return }
                try rpmCheck(headerPut(fresh.raw, td, headerPutFlags(HEADERPUT_DEFAULT.rawValue)), "signature tag \(td.pointee.tag)")
            }
            try packet.withUnsafeBytes { try fresh.putRaw(sigTag, type: RPM_BIN_TYPE, count: $0.count, $0.baseAddress!) }
            if let reserved {
                let zeros = [UInt8](repeating: 0, count: reserved)
                try zeros.withUnsafeBytes { try fresh.putRaw(reservedTag, type: RPM_BIN_TYPE, count: $0.count, $0.baseAddress!) }
            }
            try fresh.reload(region: tag(RPMTAG_HEADERSIGNATURES))
            return try fresh.exportWithMagic()
        }

        let reserved = old.binary(reservedTag)?.count
        var bytes = try build(reserved: reserved)
        if var space = reserved {
            // Shrink the reserved space by what the signature added; alignment can shift by a few bytes,
            // so measure again until the size is the old one.
            for _ in 0..<4 {
                let diff = bytes.count - size
                guard diff != 0, diff < space else { break }
                space -= diff
                bytes = try build(reserved: space)
            }
        }
        bytes += [UInt8](repeating: 0, count: (8 - bytes.count % 8) % 8)
        return (bytes, info)
    }
}

extension RPMHeader {
    /// Calls `body` with every entry but the region trailers, in tag order.
    func forEachEntry(_ body: (rpmtd) throws -> Void) throws {
        guard let iterator = headerInitIterator(raw) else { return }
        defer { headerFreeIterator(iterator) }
        guard let td = rpmtdNew() else { return }
        defer { rpmtdFree(td) }
        while headerNext(iterator, td) == 1 {
            defer { rpmtdFreeData(td) }
            try body(td)
        }
    }
}
