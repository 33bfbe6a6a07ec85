import Foundation
import PkgLayerCore
import XCTest
@testable import PkgLayerBuild

/// Writes minimal dynamic ELF files: one PT_LOAD mapping the whole file at `loadAddress`, a PT_DYNAMIC
/// with DT_NEEDED/DT_SONAME/DT_STRTAB/DT_STRSZ, and the string table. Enough to exercise both classes
/// and both byte orders of the reader.
enum SyntheticELF {
    static func make(is64: Bool, littleEndian: Bool, machine: UInt16 = 62, type: UInt16 = 3,
                     needed: [String], soname: String?, loadAddress: UInt64 = 0x10000) -> [UInt8] {
        var out: [UInt8] = []
        func put(_ value: UInt64, _ width: Int, at offset: Int? = nil) {
            var bytes: [UInt8] = (0..<width).map { UInt8(truncatingIfNeeded: value >> (8 * UInt64($0))) }
            if !littleEndian { bytes.reverse() }
            if let offset { out.replaceSubrange(offset..<(offset + width), with: bytes) } else { out += bytes }
        }
        func word(_ value: UInt64) { put(value, is64 ? 8 : 4) }

        let ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32
        var strtab: [UInt8] = [0]
        func intern(_ s: String) -> UInt64 { let at = UInt64(strtab.count); strtab += Array(s.utf8) + [0]; return at }
        var dyn: [(UInt64, UInt64)] = needed.map { (1, intern($0)) }
        if let soname { dyn.append((14, intern(soname))) }
        let strtabOffset = ehsize + 2 * phentsize
        var dynOffset = strtabOffset + strtab.count
        dynOffset = (dynOffset + 7) & ~7
        dyn += [(5, loadAddress + UInt64(strtabOffset)), (10, UInt64(strtab.count)), (0, 0)]
        let dynSize = dyn.count * (is64 ? 16 : 8)
        let fileSize = dynOffset + dynSize

        // ELF header.
        out += [0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, littleEndian ? 1 : 2, 1, 0] + [UInt8](repeating: 0, count: 8)
        put(UInt64(type), 2); put(UInt64(machine), 2); put(1, 4)
        word(0)                          // e_entry
        word(UInt64(ehsize))             // e_phoff
        word(0)                          // e_shoff
        put(0, 4)                        // e_flags
        put(UInt64(ehsize), 2); put(UInt64(phentsize), 2); put(2, 2)
        put(0, 2); put(0, 2); put(0, 2)  // no section headers
        precondition(out.count == ehsize)

        func programHeader(type: UInt32, offset: Int, size: Int) {
            let vaddr = loadAddress + UInt64(offset)
            if is64 {
                put(UInt64(type), 4); put(4, 4); put(UInt64(offset), 8); put(vaddr, 8); put(vaddr, 8)
                put(UInt64(size), 8); put(UInt64(size), 8); put(8, 8)
            } else {
                put(UInt64(type), 4); put(UInt64(offset), 4); put(vaddr, 4); put(vaddr, 4)
                put(UInt64(size), 4); put(UInt64(size), 4); put(4, 4); put(4, 4)
            }
        }
        programHeader(type: 1, offset: 0, size: fileSize)
        programHeader(type: 2, offset: dynOffset, size: dynSize)
        out += strtab
        out += [UInt8](repeating: 0, count: dynOffset - out.count)
        for (tag, value) in dyn { word(tag); word(value) }
        precondition(out.count == fileSize)
        return out
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o755) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }
}

final class ELFTests: XCTestCase {
    private var scratch: TemporaryDirectory!

    override func setUpWithError() throws { scratch = try TemporaryDirectory(prefix: "pkglayer-elf-test") }
    override func tearDown() { scratch = nil }

    func testNeededOfLs() throws {
        let elf = try XCTUnwrap(try ELFFile.read(path: "/usr/bin/ls"))
        XCTAssertTrue(elf.needed.contains("libc.so.6"), "\(elf.needed)")
        XCTAssertNil(elf.soname)
        XCTAssertNotNil(elf.interpreter)
        #if arch(x86_64)
        XCTAssertTrue(elf.is64Bit)
        XCTAssertEqual(elf.machine, 62)
        XCTAssertEqual(elf.interpreter, "/lib64/ld-linux-x86-64.so.2")
        #endif
        let libc = try XCTUnwrap(elf.versionNeeds.first { $0.file == "libc.so.6" })
        XCTAssertTrue(libc.versions.contains("GLIBC_2.2.5") || libc.versions.contains("GLIBC_2.17"), "\(libc.versions)")
    }

    func testSonameOfTheHostsLibc() throws {
        let libc = try XCTUnwrap(["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6",
                                  "/usr/lib64/libc.so.6"].first { FileManager.default.fileExists(atPath: $0) })
        let elf = try XCTUnwrap(try ELFFile.read(path: libc))
        XCTAssertEqual(elf.soname, "libc.so.6")
        XCTAssertEqual(elf.type, 3)
        XCTAssertTrue(elf.versionDefinitions.contains("GLIBC_2.34"), "symbol versions libc defines: \(elf.versionDefinitions.suffix(5))")
        XCTAssertFalse(elf.versionDefinitions.contains("libc.so.6"), "the base definition is the soname, not a version")
    }

    func testNonELFAndStaticFilesGiveNil() throws {
        XCTAssertNil(try ELFFile.read(path: "/etc/passwd"))
        try BuildFixtures.write("#!/bin/sh\necho hi\n", to: "\(scratch.path)/script.sh", mode: 0o755)
        XCTAssertNil(try ELFFile.read(path: "\(scratch.path)/script.sh"))
        try BuildFixtures.write("", to: "\(scratch.path)/empty")
        XCTAssertNil(try ELFFile.read(path: "\(scratch.path)/empty"))
        XCTAssertNil(try ELFFile.read(path: "/usr/bin"), "a directory is not an ELF file")
        XCTAssertThrowsError(try ELFFile.read(path: "\(scratch.path)/does-not-exist"))

        // Truncated: a real binary's first 200 bytes.
        let ls = try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/ls"))
        try ls.prefix(200).write(to: URL(fileURLWithPath: "\(scratch.path)/truncated"))
        XCTAssertNil(try ELFFile.read(path: "\(scratch.path)/truncated"))
        // Garbage after a valid magic.
        try Data([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1] + [UInt8](repeating: 0xff, count: 300)).write(to: URL(fileURLWithPath: "\(scratch.path)/garbage"))
        XCTAssertNil(try ELFFile.read(path: "\(scratch.path)/garbage"))

        // A static executable has no dynamic section.
        if Subprocess.which("cc", path: Subprocess.hostPath) != nil {
            try BuildFixtures.write("int main(void) { return 0; }\n", to: "\(scratch.path)/s.c")
            let result = try Subprocess.run("cc", ["-static", "-o", "\(scratch.path)/static", "\(scratch.path)/s.c"])
            if result.status.succeeded {
                XCTAssertNil(try ELFFile.read(path: "\(scratch.path)/static"))
            }
        }
        // ldconfig is static-pie here: a dynamic section (for self-relocation) but nothing needed.
        if let ldconfig = ["/usr/sbin/ldconfig", "/sbin/ldconfig"].first(where: { FileManager.default.fileExists(atPath: $0) }) {
            XCTAssertEqual(try ELFFile.read(path: ldconfig)?.needed ?? [], [])
        }
    }

    func testSyntheticFilesInBothClassesAndByteOrders() throws {
        for (is64, little) in [(true, true), (false, true), (true, false), (false, false)] {
            let path = "\(scratch.path)/lib-\(is64)-\(little).so"
            try SyntheticELF.write(SyntheticELF.make(is64: is64, littleEndian: little, machine: is64 ? 62 : 3,
                                                     needed: ["libz.so.1", "libc.so.6"], soname: "libsynthetic.so.3"), to: path)
            let elf = try XCTUnwrap(try ELFFile.read(path: path), "is64 \(is64) little \(little)")
            XCTAssertEqual(elf.is64Bit, is64)
            XCTAssertEqual(elf.isLittleEndian, little)
            XCTAssertEqual(elf.needed, ["libz.so.1", "libc.so.6"])
            XCTAssertEqual(elf.soname, "libsynthetic.so.3")
            XCTAssertEqual(elf.machine, is64 ? 62 : 3)
        }
    }

    func testStringTableOffsetsOutOfBoundsAreNotACrash() throws {
        var bytes = SyntheticELF.make(is64: true, littleEndian: true, needed: ["libz.so.1"], soname: nil)
        // Point the DT_NEEDED string far beyond the string table.
        let dynStart = bytes.count - 4 * 16
        bytes.replaceSubrange((dynStart + 8)..<(dynStart + 16), with: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])
        try SyntheticELF.write(bytes, to: "\(scratch.path)/corrupt")
        let elf = try ELFFile.read(path: "\(scratch.path)/corrupt")
        XCTAssertEqual(elf?.needed ?? [], [])
    }
}
