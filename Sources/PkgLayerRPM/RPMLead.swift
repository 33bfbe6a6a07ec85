import Foundation
import PkgLayerCore

/// The 96-byte lead that opens every .rpm. rpm ≥ 4 reads only the magic, the major version and the
/// signature type from it; everything real lives in the headers. It is still filled the way rpmbuild
/// fills it so that `file(1)` and old tools describe the package correctly.
///
/// Layout (big-endian): magic `ed ab ee db`, major 3, minor 0, type (0 binary), archnum, a 66-byte
/// NUL-terminated name (NEVR, truncated), osnum (1 = Linux), signature type 5 (header-style), 16
/// reserved bytes.
struct RPMLead: Equatable {
    static let size = 96
    static let magic: [UInt8] = [0xED, 0xAB, 0xEE, 0xDB]

    var name: String
    var archNumber: UInt16
    var major: UInt8 = 3
    var minor: UInt8 = 0
    var type: UInt16 = 0
    var osNumber: UInt16 = 1
    var signatureType: UInt16 = 5

    init(name: String, architecture: Architecture) {
        self.name = name
        archNumber = Self.archNumber(architecture)
    }

    /// rpmrc's `arch_canon` numbers. noarch has none; rpmbuild writes the build machine's, and an x86
    /// build machine is the common case, so noarch gets 1 (the value is ignored by every reader).
    static func archNumber(_ arch: Architecture) -> UInt16 {
        switch arch {
        case .x86_64, .i686, .noarch: return 1
        case .armv7hl: return 12
        case .s390x: return 15
        case .ppc64le: return 16
        case .aarch64: return 19
        case .riscv64: return 22
        }
    }

    var bytes: [UInt8] {
        var out = Self.magic
        out += [major, minor]
        out += type.bigEndianBytes
        out += archNumber.bigEndianBytes
        var nameField = Array(name.utf8.prefix(65))
        nameField += [UInt8](repeating: 0, count: 66 - nameField.count)
        out += nameField
        out += osNumber.bigEndianBytes
        out += signatureType.bigEndianBytes
        out += [UInt8](repeating: 0, count: 16)
        assert(out.count == Self.size)
        return out
    }

    /// Parses and checks a lead the way rpm does: the magic, a major version of 3 or 4 and the
    /// header-style signature type.
    init(parsing bytes: [UInt8], path: String) throws {
        guard bytes.count == Self.size, Array(bytes[0..<4]) == Self.magic else {
            throw PkgLayerError(.rpm, "not an rpm package (the lead's magic is missing)", at: path)
        }
        major = bytes[4]
        minor = bytes[5]
        type = UInt16(bigEndianBytes: bytes[6..<8])
        archNumber = UInt16(bigEndianBytes: bytes[8..<10])
        let nameBytes = bytes[10..<76].prefix { $0 != 0 }
        name = String(decoding: nameBytes, as: UTF8.self)
        osNumber = UInt16(bigEndianBytes: bytes[76..<78])
        signatureType = UInt16(bigEndianBytes: bytes[78..<80])
        guard major == 3 || major == 4 else {
            throw PkgLayerError(.rpm, "unsupported rpm package version \(major).\(minor); only version 3 and 4 packages can be read", at: path)
        }
        guard signatureType == 5 else {
            throw PkgLayerError(.rpm, "illegal signature type \(signatureType) in the lead; only header-style signatures (5) exist since rpm 3", at: path)
        }
    }
}

extension FixedWidthInteger {
    var bigEndianBytes: [UInt8] {
        withUnsafeBytes(of: self.bigEndian) { Array($0) }
    }

    init(bigEndianBytes bytes: some Collection<UInt8>) {
        var value: Self = 0
        for byte in bytes { value = value << 8 | Self(byte) }
        self = value
    }
}
