import Foundation
import PkgLayerArchive
import PkgLayerCore
@testable import PkgLayerRPM
import XCTest

/// rpmlint (Fedora's and openSUSE's package checker) on what the writer produces.
final class RPMLintTests: XCTestCase {
    private func errors(_ pkg: String) throws -> (names: Set<String>, output: String) {
        let result = try Tool.run(["rpmlint", pkg])
        XCTAssertTrue(result.stdout.contains("1 packages and 0 specfiles checked"), "rpmlint did not run: \(result.text)")
        let names = result.stdout.split(separator: "\n").compactMap { line -> String? in
            guard let range = line.range(of: ": E: ") else { return nil }
            return line[range.upperBound...].split(separator: " ").first.map(String.init)
        }
        return (Set(names), result.text)
    }

    /// A tidy package: nothing rpmlint calls an error except the missing signature (pkglayer does
    /// not sign; `rpmsign --addsign` signs the result in the space the signature header reserves).
    func testATidyPackageHasNoErrorsButTheMissingSignature() throws {
        let fixture = try Fixture()
        try fixture.file("/usr/bin/tidy", "#!/bin/sh\necho tidy\n", mode: 0o755)
        try fixture.file("/usr/share/man/man1/tidy.1", ".TH TIDY 1\n.SH NAME\ntidy \\- is tidy\n")
        try fixture.file("/usr/share/doc/tidy/README", "Tidy.\n")
        try fixture.file("/usr/share/licenses/tidy/LICENSE", "MIT License\n", flags: [.license])
        try fixture.file("/etc/tidy.conf", "tidy = yes\n", flags: [.config, .noReplace])
        fixture.directory("/usr/share/doc/tidy")
        fixture.directory("/usr/share/licenses/tidy")
        var spec = PackageSpec(name: "tidy", version: "1.0", release: "1", architecture: .noarch, sourceDateEpoch: Specs.epoch)
        spec.summary = "A tidy example"
        spec.description = "An example package that rpmlint should find tidy."
        spec.license = "MIT"
        spec.url = "https://example.org/tidy"
        spec.section = "Applications/Text"   // without one, rpm's "Unspecified" reads as no group to rpmlint
        spec.maintainer = "Jane Packager <jane@example.org>"
        spec.scripts = [.afterInstall: "echo installed\n"]
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        for compression in [Compression.gzip(level: 6), .xz(level: 6), .zstd(level: 3), .none] {
            let pkg = try writePackage(spec, try fixture.manifest(), in: out.path, compression: compression, name: "tidy-\(compression).rpm")
            let (names, output) = try errors(pkg)
            XCTAssertEqual(names, ["no-signature"], "\(compression): \(output)")
            // Files in the documentation directories are %doc, as rpmbuild marks them.
            XCTAssertEqual(try Tool.check(["rpm", "-qpd", pkg]).stdout, "/usr/share/doc/tidy/README\n/usr/share/man/man1/tidy.1\n")
        }
    }

    /// The kitchen-sink fixture: every error rpmlint reports is about a deliberate property of the
    /// fixture, none about the writing.
    func testTheStandardFixtureOnlyHasErrorsItAsksFor() throws {
        let accepted: Set<String> = [
            "no-signature",                 // this package is written unsigned (no --sign-key)
            "setuid-binary", "setgid-binary", "non-standard-executable-perm",   // 4755 and 2755 files, on purpose
            "non-standard-dir-perm",        // the 0750 and 1777 directories, on purpose
            "non-readable",                 // a 0640 file, on purpose
            "dir-or-file-in-var-tmp",       // the 1777 directory lives in /var/tmp
            "zero-length",                  // an empty file, on purpose
            "script-without-shebang",       // executable test files hold plain text
            "no-binary",                    // an x86_64 package (for the isa provide) without ELF files
        ]
        let fixture = try Fixture.standard()
        let out = try TemporaryDirectory(prefix: "pkglayer-rpm-out")
        var spec = Specs.hello()
        spec.scripts = [.afterInstall: "echo post\n"]
        let pkg = try writePackage(spec, try fixture.manifest(), in: out.path)
        let (names, output) = try errors(pkg)
        XCTAssertEqual(names.subtracting(accepted), [], output)
    }
}
