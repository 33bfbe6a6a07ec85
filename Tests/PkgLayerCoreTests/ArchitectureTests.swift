import PkgLayerCore
import PkgLayerTestSupport
import XCTest

final class ArchitectureTests: XCTestCase {
    func testEachEcosystemSpelling() {
        let table: [(Architecture, rpm: String, deb: String, isa: String?, oci: String, variant: String?)] = [
            (.x86_64, "x86_64", "amd64", "x86-64", "amd64", nil),
            (.aarch64, "aarch64", "arm64", "aarch-64", "arm64", "v8"),
            (.i686, "i686", "i386", "x86-32", "386", nil),
            (.armv7hl, "armv7hl", "armhf", "arm-32", "arm", "v7"),
            (.ppc64le, "ppc64le", "ppc64el", "ppc-64", "ppc64le", nil),
            (.s390x, "s390x", "s390x", "s390-64", "s390x", nil),
            (.riscv64, "riscv64", "riscv64", "riscv-64", "riscv64", nil),
            (.noarch, "noarch", "all", nil, "amd64", nil),
        ]
        XCTAssertEqual(table.count, Architecture.allCases.count)
        for (arch, rpm, deb, isa, oci, variant) in table {
            XCTAssertEqual(arch.rpm, rpm)
            XCTAssertEqual(arch.deb, deb)
            XCTAssertEqual(arch.rpmISA, isa)
            XCTAssertEqual(arch.oci.architecture, oci)
            XCTAssertEqual(arch.oci.variant, variant)
            // Every spelling reads back as the same architecture.
            XCTAssertEqual(Architecture(parsing: rpm), arch)
            XCTAssertEqual(Architecture(parsing: deb), arch)
            XCTAssertEqual(Architecture(parsing: rpm.uppercased()), arch)
        }
    }

    func testCrossSpellings() {
        XCTAssertEqual(Architecture(parsing: "amd64"), .x86_64)
        XCTAssertEqual(Architecture(parsing: "x86_64")?.deb, "amd64")
        XCTAssertEqual(Architecture(parsing: "arm64"), .aarch64)
        XCTAssertEqual(Architecture(parsing: "aarch64")?.deb, "arm64")
        XCTAssertEqual(Architecture(parsing: "all"), .noarch)
        XCTAssertEqual(Architecture(parsing: "any"), .noarch)
        XCTAssertEqual(Architecture(parsing: "noarch")?.deb, "all")
        XCTAssertEqual(Architecture(parsing: "all")?.rpm, "noarch")
        XCTAssertNil(Architecture(parsing: "sparc"))
        XCTAssertNil(Architecture(parsing: ""))
    }

    func testNativeMatchesTheMachine() throws {
        XCTAssertEqual(Architecture(parsing: "native"), Architecture.native)
        let uname = try TestProcess.runChecked("uname", ["-m"]).stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(Architecture(parsing: uname), Architecture.native, "uname -m says \(uname)")
        XCTAssertTrue(Architecture.native.is64Bit || Architecture.native == .i686 || Architecture.native == .armv7hl)
        XCTAssertFalse(Architecture.noarch.is64Bit)
    }
}

