import Foundation
import PkgLayerCore

/// What pkglayer needs from a dynamically linked ELF file: the libraries it needs, the name it is known
/// by, and the symbol versions it needs and defines (rpm's `libc.so.6(GLIBC_2.34)(64bit)`).
///
/// A small reader of its own (no readelf, no libelf): ELF32 and ELF64, little and big endian. It reads
/// the file header, the program headers (PT_DYNAMIC, PT_LOAD to map addresses to file offsets,
/// PT_INTERP) and, when there are none, the section headers (SHT_DYNAMIC and its string table). Every
/// offset and size is checked against the file; a malformed file is "not a dynamic ELF" (nil), never a
/// crash.
public struct ELFFile: Sendable, Equatable {
    public enum FileType: UInt16, Sendable {
        case relocatable = 1, executable = 2, sharedObject = 3, core = 4
    }

    public var is64Bit: Bool
    public var isLittleEndian: Bool
    /// `e_type`: 2 for a fixed-address executable, 3 for a shared object or a PIE executable.
    public var type: UInt16
    /// `e_machine` (62 = x86-64, 183 = AArch64, 3 = i386, …).
    public var machine: UInt16
    /// DT_NEEDED, in file order.
    public var needed: [String]
    /// DT_SONAME.
    public var soname: String?
    /// DT_RUNPATH (or DT_RPATH when there is no RUNPATH), split at colons.
    public var runpath: [String]
    /// PT_INTERP (the dynamic loader of an executable).
    public var interpreter: String?
    /// From DT_VERNEED: for each needed file, the versions it must provide (weak ones left out).
    public var versionNeeds: [VersionNeed]
    /// From DT_VERDEF: the versions this object defines, without the base (the soname itself).
    public var versionDefinitions: [String]
    public var hasGNUHash: Bool
    public var hasSysVHash: Bool

    public struct VersionNeed: Sendable, Equatable {
        public var file: String
        public var versions: [String]
    }

    static let ptLoad: UInt32 = 1, ptDynamic: UInt32 = 2, ptInterp: UInt32 = 3
    static let shtDynamic: UInt32 = 6
    static let dtNull: UInt64 = 0, dtNeeded: UInt64 = 1, dtHash: UInt64 = 4, dtStrtab: UInt64 = 5, dtStrsz: UInt64 = 10
    static let dtSoname: UInt64 = 14, dtRpath: UInt64 = 15, dtRunpath: UInt64 = 29, dtGNUHash: UInt64 = 0x6fff_fef5
    static let dtVerdef: UInt64 = 0x6fff_fffc, dtVerdefnum: UInt64 = 0x6fff_fffd
    static let dtVerneed: UInt64 = 0x6fff_fffe, dtVerneednum: UInt64 = 0x6fff_ffff
    static let verFlagBase: UInt16 = 0x1, verFlagWeak: UInt16 = 0x2

    /// Reads `path`. Returns nil for anything that is not a dynamically linked ELF file: other files,
    /// static executables, object files, truncated or malformed ELF. Throws only when the file cannot
    /// be opened or read.
    public static func read(path: String) throws -> ELFFile? {
        let file = try ELFInput(path: path)
        defer { file.close() }
        return parse(file)
    }

    /// Whether the file starts with the ELF magic (cheap; reads 4 bytes).
    public static func hasELFMagic(path: String) -> Bool {
        guard let file = try? ELFInput(path: path) else { return false }
        defer { file.close() }
        return file.bytes(at: 0, count: 4) == [0x7f, 0x45, 0x4c, 0x46]
    }

    private struct Segment { var type: UInt32; var offset: UInt64; var vaddr: UInt64; var filesz: UInt64 }

    private static func parse(_ input: ELFInput) -> ELFFile? {
        guard let ident = input.bytes(at: 0, count: 16), ident[0..<4] == [0x7f, 0x45, 0x4c, 0x46] else { return nil }
        let is64: Bool
        switch ident[4] { case 1: is64 = false; case 2: is64 = true; default: return nil }
        let little: Bool
        switch ident[5] { case 1: little = true; case 2: little = false; default: return nil }
        let r = FieldReader(input: input, littleEndian: little, is64Bit: is64)

        guard let type = r.u16(16), let machine = r.u16(18) else { return nil }
        guard type == FileType.executable.rawValue || type == FileType.sharedObject.rawValue else { return nil }
        let phoff = is64 ? r.u64(32) : r.u32(28).map(UInt64.init)
        let shoff = is64 ? r.u64(40) : r.u32(32).map(UInt64.init)
        let phentsize = r.u16(is64 ? 54 : 42), phnum = r.u16(is64 ? 56 : 44)
        let shentsize = r.u16(is64 ? 58 : 46), shnum = r.u16(is64 ? 60 : 48)
        guard let phoff, let shoff, let phentsize, let phnum, let shentsize, let shnum else { return nil }

        var segments: [Segment] = []
        if phoff != 0, phnum > 0, phnum < 4096, phentsize >= (is64 ? 56 : 32) {
            for i in 0..<UInt64(phnum) {
                let base = phoff &+ i &* UInt64(phentsize)
                guard let ptype = r.u32(base) else { return nil }
                let fields: (UInt64?, UInt64?, UInt64?) = is64
                    ? (r.u64(base &+ 8), r.u64(base &+ 16), r.u64(base &+ 32))
                    : (r.u32(base &+ 4).map(UInt64.init), r.u32(base &+ 8).map(UInt64.init), r.u32(base &+ 16).map(UInt64.init))
                guard let offset = fields.0, let vaddr = fields.1, let filesz = fields.2 else { return nil }
                segments.append(Segment(type: ptype, offset: offset, vaddr: vaddr, filesz: filesz))
            }
        }

        // The dynamic table's location and how string-table addresses become file offsets.
        var dynamicOffset: UInt64, dynamicSize: UInt64
        var stringTableFromSection: UInt64?
        if let dynamic = segments.first(where: { $0.type == ptDynamic }) {
            dynamicOffset = dynamic.offset
            dynamicSize = dynamic.filesz
        } else {
            // No program header for it (unusual): look for the SHT_DYNAMIC section.
            guard shoff != 0, shnum > 0, shnum < 65280, shentsize >= (is64 ? 64 : 40) else { return nil }
            var found: (UInt64, UInt64, UInt32)?
            for i in 0..<UInt64(shnum) {
                let base = shoff &+ i &* UInt64(shentsize)
                guard let shtype = r.u32(base &+ 4) else { return nil }
                guard shtype == shtDynamic else { continue }
                let off = is64 ? r.u64(base &+ 24) : r.u32(base &+ 16).map(UInt64.init)
                let size = is64 ? r.u64(base &+ 32) : r.u32(base &+ 20).map(UInt64.init)
                let link = r.u32(base &+ (is64 ? 40 : 24))
                guard let off, let size, let link else { return nil }
                found = (off, size, link)
                break
            }
            guard let (off, size, link) = found else { return nil }
            dynamicOffset = off
            dynamicSize = size
            let strBase = shoff &+ UInt64(link) &* UInt64(shentsize)
            stringTableFromSection = is64 ? r.u64(strBase &+ 24) : r.u32(strBase &+ 16).map(UInt64.init)
        }
        guard dynamicSize > 0, dynamicOffset <= input.size, dynamicSize <= input.size - dynamicOffset else { return nil }

        let entrySize: UInt64 = is64 ? 16 : 8
        var tags: [(tag: UInt64, value: UInt64)] = []
        var index: UInt64 = 0
        while index < dynamicSize / entrySize && index < 65536 {
            let base = dynamicOffset &+ index &* entrySize
            let tag = is64 ? r.u64(base) : r.u32(base).map(UInt64.init)
            let value = is64 ? r.u64(base &+ 8) : r.u32(base &+ 4).map(UInt64.init)
            guard let tag, let value else { return nil }
            if tag == dtNull { break }
            tags.append((tag, value))
            index += 1
        }

        func fileOffset(ofAddress address: UInt64) -> UInt64? {
            for segment in segments where segment.type == ptLoad {
                if address >= segment.vaddr, address - segment.vaddr < segment.filesz {
                    return segment.offset &+ (address - segment.vaddr)
                }
            }
            return nil
        }
        func value(_ tag: UInt64) -> UInt64? { tags.first { $0.tag == tag }?.value }

        let stringTable: UInt64?
        if let fromSection = stringTableFromSection {
            stringTable = fromSection
        } else {
            stringTable = value(dtStrtab).flatMap(fileOffset(ofAddress:))
        }
        guard let stringTable else { return nil }
        let stringTableSize = value(dtStrsz) ?? (input.size > stringTable ? input.size - stringTable : 0)
        func string(_ offset: UInt64) -> String? {
            guard offset < stringTableSize else { return nil }
            return input.cString(at: stringTable &+ offset, limit: stringTableSize - offset)
        }

        var info = ELFFile(is64Bit: is64, isLittleEndian: little, type: type, machine: machine, needed: [], soname: nil,
                           runpath: [], interpreter: nil, versionNeeds: [], versionDefinitions: [],
                           hasGNUHash: value(dtGNUHash) != nil, hasSysVHash: value(dtHash) != nil)
        var rpath: [String] = []
        for (tag, val) in tags {
            switch tag {
            case dtNeeded: if let name = string(val), !name.isEmpty { info.needed.append(name) }
            case dtSoname: info.soname = string(val)
            case dtRunpath: info.runpath = string(val)?.split(separator: ":").map(String.init) ?? []
            case dtRpath: rpath = string(val)?.split(separator: ":").map(String.init) ?? []
            default: break
            }
        }
        if info.runpath.isEmpty { info.runpath = rpath }
        if let interp = segments.first(where: { $0.type == ptInterp }), interp.filesz < 4096 {
            info.interpreter = input.cString(at: interp.offset, limit: interp.filesz)
        }

        // Symbol versioning (.gnu.version_r and .gnu.version_d); both are linked lists of fixed records.
        if let address = value(dtVerneed), let count = value(dtVerneednum), var offset = fileOffset(ofAddress: address) {
            for _ in 0..<min(count, 1024) {
                guard let auxCount = r.u16(offset &+ 2), let fileName = r.u32(offset &+ 4), let aux = r.u32(offset &+ 8),
                      let next = r.u32(offset &+ 12), let file = string(UInt64(fileName)) else { break }
                var versions: [String] = []
                var auxOffset = offset &+ UInt64(aux)
                for _ in 0..<min(auxCount, 1024) {
                    guard let flags = r.u16(auxOffset &+ 4), let name = r.u32(auxOffset &+ 8), let auxNext = r.u32(auxOffset &+ 12) else { break }
                    if flags & verFlagWeak == 0, let version = string(UInt64(name)) { versions.append(version) }
                    if auxNext == 0 { break }
                    auxOffset = auxOffset &+ UInt64(auxNext)
                }
                info.versionNeeds.append(VersionNeed(file: file, versions: versions))
                if next == 0 { break }
                offset = offset &+ UInt64(next)
            }
        }
        if let address = value(dtVerdef), let count = value(dtVerdefnum), var offset = fileOffset(ofAddress: address) {
            for _ in 0..<min(count, 4096) {
                guard let flags = r.u16(offset &+ 2), let aux = r.u32(offset &+ 12), let next = r.u32(offset &+ 16) else { break }
                if flags & verFlagBase == 0, let name = r.u32(offset &+ UInt64(aux)), let version = string(UInt64(name)) {
                    info.versionDefinitions.append(version)
                }
                if next == 0 { break }
                offset = offset &+ UInt64(next)
            }
        }
        return info
    }
}

/// Bounds-checked reads from an open file.
final class ELFInput {
    private var fd: Int32
    let size: UInt64

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let error = PkgLayerError.posix("stat", path: path)
            Foundation.close(fd)
            throw error
        }
        size = st.st_mode & S_IFMT == S_IFREG ? UInt64(st.st_size) : 0
    }

    func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    func bytes(at offset: UInt64, count: Int) -> [UInt8]? {
        guard count >= 0, offset <= size, UInt64(count) <= size - offset else { return nil }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            done += n
        }
        return buffer
    }

    /// A NUL-terminated string starting at `offset`, reading at most `limit` bytes; nil if unterminated.
    func cString(at offset: UInt64, limit: UInt64) -> String? {
        var collected: [UInt8] = []
        var position = offset
        let end = min(size, offset &+ min(limit, 1 << 16))
        while position < end {
            let chunk = Int(min(256, end - position))
            guard let bytes = bytes(at: position, count: chunk) else { return nil }
            if let nul = bytes.firstIndex(of: 0) {
                collected += bytes[..<nul]
                return String(decoding: collected, as: UTF8.self)
            }
            collected += bytes
            position += UInt64(chunk)
        }
        return nil
    }
}

/// Reads fixed-size integers in the file's byte order.
private struct FieldReader {
    let input: ELFInput
    let littleEndian: Bool
    let is64Bit: Bool

    private func integer(_ offset: UInt64, _ width: Int) -> UInt64? {
        guard let bytes = input.bytes(at: offset, count: width) else { return nil }
        var value: UInt64 = 0
        for byte in littleEndian ? bytes.reversed() : bytes { value = value << 8 | UInt64(byte) }
        return value
    }

    func u16(_ offset: UInt64) -> UInt16? { integer(offset, 2).map { UInt16($0) } }
    func u32(_ offset: UInt64) -> UInt32? { integer(offset, 4).map { UInt32($0) } }
    func u64(_ offset: UInt64) -> UInt64? { integer(offset, 8) }
}
