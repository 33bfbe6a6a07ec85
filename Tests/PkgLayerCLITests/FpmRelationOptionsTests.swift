import Foundation
import PkgLayerTestSupport
import XCTest

/// fpm's dependency options, checked by rpm and dpkg-deb: several requirements in one `-d`,
/// alternatives, Debian spellings, `--no-depends`, ignore-iteration, the rpm filters and autoreq.
final class FpmRelationOptionsTests: XCTestCase {
    private func build(_ scratch: ScratchDirectory, _ name: String, _ extra: [String], targets: [String] = ["rpm", "deb"]) throws -> (rpm: String, deb: String) {
        let root = try scratch.makeDirectory("\(name)-root")
        _ = try scratch.write("\(name)-root/usr/share/\(name)/file", "x\n")
        let out = try scratch.makeDirectory("\(name)-out")
        try CLI.ok(["package", "-s", "dir", "-n", name, "-v", "1.0", "-a", "amd64", "-C", root, "-p", out + "/"]
                   + targets.flatMap { ["-t", $0] } + extra + ["."], environment: fixedEpoch)
        return (out + "/\(name)-1.0-1.x86_64.rpm", out + "/\(name)_1.0_amd64.deb")
    }

    private func rpmRequires(_ rpm: String) throws -> [String] {
        try TestProcess.runChecked("rpm", ["-qpR", rpm]).stdoutText.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("rpmlib(") }
    }

    func testSeveralRequirementsAlternativesAndDebianSpellings() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let (rpm, deb) = try build(scratch, "deps", ["-d", "libjpeg libpng freetype glibc >= 2.17, zlib", "-d", "mail-transport-agent | postfix",
                                                      "-d", "libc6 (>= 2.31)", "--provides", "deps-a deps-b"])
        XCTAssertEqual(try rpmRequires(rpm).sorted(),
                       ["(mail-transport-agent or postfix)", "freetype", "glibc >= 2.17", "libc6 >= 2.31", "libjpeg", "libpng", "zlib"])
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText,
                       "libjpeg, libpng, freetype, glibc (>= 2.17), zlib, mail-transport-agent | postfix, libc6 (>= 2.31)\n")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Provides"]).stdoutText, "deps-a, deps-b\n")
    }

    func testNoDependsAndIgnoreIteration() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let none = try build(scratch, "none", ["-d", "foo, bar", "--no-depends"])
        XCTAssertEqual(try rpmRequires(none.rpm), [])
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", none.deb, "Depends"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "")

        let wide = try build(scratch, "wide", ["-d", "foo = 1.2", "--rpm-ignore-iteration-in-dependencies", "--deb-ignore-iteration-in-dependencies"])
        XCTAssertEqual(try rpmRequires(wide.rpm).sorted(), ["foo < 1.3", "foo >= 1.2"])
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", wide.deb, "Depends"]).stdoutText, "foo (>= 1.2), foo (<< 1.3)\n")
        let exact = try build(scratch, "exact", ["-d", "foo = 1.2"], targets: ["rpm"])
        XCTAssertEqual(try rpmRequires(exact.rpm), ["foo = 1.2"])
    }

    func testRPMAutoreqScansELFFilesAndFiltersApply() throws {
        try requireTool("rpm")
        let scratch = try ScratchDirectory()
        let root = try scratch.makeDirectory("elf-root")
        let binary = ["/usr/bin/true", "/bin/true"].first { FileManager.default.isExecutableFile(atPath: $0) }!
        try FileManager.default.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: binary, toPath: root + "/usr/bin/mytrue")
        let out = try scratch.makeDirectory("elf-out")
        func run(_ name: String, _ extra: [String]) throws -> [String] {
            try CLI.ok(["package", "-s", "dir", "-t", "rpm", "-n", name, "-v", "1", "-C", root, "-p", out + "/", "-d", "keepme, dropme"] + extra + ["."],
                       environment: fixedEpoch)
            return try rpmRequires(out + "/\(name)-1-1.x86_64.rpm")
        }
        let auto = try run("auto", ["--rpm-autoreq"])
        XCTAssertTrue(auto.contains { $0.hasPrefix("libc.so.6") }, "\(auto)")
        let off = try run("off", ["--rpm-autoreqprov", "--no-auto-depends"])
        XCTAssertEqual(off.sorted(), ["dropme", "keepme"])
        let filtered = try run("filtered", ["--rpm-autoreq", "--rpm-filter-from-requires", "^libc\\.so", "--rpm-filter-from-requires", "^drop"])
        XCTAssertFalse(filtered.contains { $0.hasPrefix("libc.so.6") || $0 == "dropme" }, "\(filtered)")
        XCTAssertTrue(filtered.contains("keepme"), "\(filtered)")
    }
}
