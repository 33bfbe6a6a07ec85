import CRPM
import Foundation
import PkgLayerCore

/// The little of OpenPGP the rpm room needs, through librpm's own parser and verifier (rpmpgp.h): what a
/// signature packet says, and whether it matches a public key. Keys are parsed only to verify; secret
/// keys never come here.
enum RPMPGP {
    /// Parses one signature packet; the caller frees the result with `pgpDigParamsFree`.
    private static func parseSignature(_ packet: [UInt8], path: String) throws -> pgpDigParams {
        var params: pgpDigParams?
        let rc = packet.withUnsafeBufferPointer { pgpPrtParams($0.baseAddress, $0.count, UInt32(PGPTAG_SIGNATURE.rawValue), &params) }
        guard rc == 0, let params else {
            pgpDigParamsFree(params)
            throw PkgLayerError(.rpm, "holds an OpenPGP signature that librpm cannot parse (\(packet.count) bytes); sign the package again", at: path)
        }
        return params
    }

    private static func info(_ params: pgpDigParams, tag: String) -> RPMSignatureInfo {
        let pubkey = pgpDigParamsAlgo(params, UInt32(PGPVAL_PUBKEYALGO.rawValue))
        let hash = pgpDigParamsAlgo(params, UInt32(PGPVAL_HASHALGO.rawValue))
        let id = pgpDigParamsSignID(params).map { Array(UnsafeBufferPointer(start: $0, count: 8)) } ?? []
        return RPMSignatureInfo(algorithm: name(PGPVAL_PUBKEYALGO, pubkey), hashAlgorithm: name(PGPVAL_HASHALGO, hash),
                                keyID: id.map { String(format: "%02X", $0) }.joined(),
                                creationTime: Int64(pgpDigParamsCreationTime(params)),
                                version: Int(pgpDigParamsVersion(params)), tag: tag)
    }

    private static func name(_ type: pgpValType_e, _ value: UInt32) -> String {
        guard value <= UInt32(UInt8.max), let text = pgpValString(pgpValType(type.rawValue), UInt8(value)) else { return "unknown(\(value))" }
        return String(cString: text)
    }

    /// What a signature packet says. Refuses a packet that is not a V4 binary-document signature: that is
    /// all rpm checks a header signature as.
    static func info(packet: [UInt8], tag: String, path: String) throws -> RPMSignatureInfo {
        let params = try parseSignature(packet, path: path)
        defer { pgpDigParamsFree(params) }
        let result = info(params, tag: tag)
        guard result.version == 4, pgpSignatureType(params) == 0 else {
            throw PkgLayerError(.rpm, "holds a version \(result.version) OpenPGP signature of type \(pgpSignatureType(params)); rpm header signatures are V4 binary signatures (type 0)", at: path)
        }
        return result
    }

    /// Verifies `packet` over `data` with the armored public key (or one of its subkeys).
    static func verify(packet: [UInt8], over data: [UInt8], armoredPublicKey: String, tag: String, path: String) throws -> RPMSignatureInfo {
        let signature = try parseSignature(packet, path: path)
        defer { pgpDigParamsFree(signature) }
        let signed = info(signature, tag: tag)

        var keyPackets: UnsafeMutablePointer<UInt8>?
        var keyLength = 0
        let armor = pgpParsePkts(armoredPublicKey, &keyPackets, &keyLength)
        defer { free(keyPackets) }
        guard armor == PGPARMOR_PUBKEY, let keyPackets else {
            throw PkgLayerError(.invalidInput, "is not an ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK-----)", at: "public key")
        }
        var primary: pgpDigParams?
        guard pgpPrtParams(keyPackets, keyLength, UInt32(PGPTAG_PUBLIC_KEY.rawValue), &primary) == 0, let primary else {
            pgpDigParamsFree(primary)
            throw PkgLayerError(.invalidInput, "librpm cannot parse this OpenPGP public key", at: "public key")
        }
        defer { pgpDigParamsFree(primary) }
        var subkeys: UnsafeMutablePointer<pgpDigParams?>?
        var subkeyCount: Int32 = 0
        if pgpPrtParamsSubkeys(keyPackets, keyLength, primary, &subkeys, &subkeyCount) != 0 { subkeyCount = 0 }
        defer {
            for i in 0..<Int(subkeyCount) { pgpDigParamsFree(subkeys?[i]) }
            free(subkeys)
        }
        let keys = [primary] + (0..<Int(subkeyCount)).compactMap { subkeys?[$0] }
        func keyID(_ key: pgpDigParams) -> String {
            guard let id = pgpDigParamsSignID(key) else { return "" }
            return UnsafeBufferPointer(start: id, count: 8).map { String(format: "%02X", $0) }.joined()
        }
        guard let key = keys.first(where: { keyID($0) == signed.keyID }) else {
            throw PkgLayerError(.rpm, "is signed by key \(signed.keyID), not by the given key \(keyID(primary)) (NOKEY)", at: path)
        }

        rpmInitCrypto()
        guard let context = rpmDigestInit(Int32(pgpDigParamsAlgo(signature, UInt32(PGPVAL_HASHALGO.rawValue))), rpmDigestFlags(RPMDIGEST_NONE.rawValue)) else {
            throw PkgLayerError(.rpm, "uses the \(signed.hashAlgorithm) digest, which librpm cannot compute here", at: path)
        }
        defer { rpmDigestFinal(context, nil, nil, 0) }
        _ = data.withUnsafeBytes { rpmDigestUpdate(context, $0.baseAddress, $0.count) }
        guard pgpVerifySignature(key, signature, context) == RPMRC_OK else {
            throw PkgLayerError(.rpm, "has a BAD \(signed.tag) signature (\(signed)): the header changed after signing, or the signature is damaged", at: path)
        }
        return signed
    }
}
