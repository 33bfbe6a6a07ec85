import Foundation
import PkgLayerTestSupport
import XCTest

/// `pkglayer package -s python`: wheels downloaded from PyPI in the test, packaged, installed by rpm
/// and dpkg into roots, and imported by the host's python3 from there.
final class PythonSourceTests: XCTestCase {
    /// Downloads one wheel with the host's pip, or skips (fails under PKGLAYER_REQUIRE_ALL=1).
    private func downloadWheel(_ requirement: String, into dir: String) throws -> String {
        let pip = try TestProcess.run("python3", ["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", dir, requirement],
                                      environment: ["PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"])
        guard pip.succeeded else {
            throw requirementNotMet("pip could not download \(requirement) from PyPI (network?): \(pip.stderrText.suffix(400))")
        }
        let wheels = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".whl") }
        XCTAssertEqual(wheels.count, 1, wheels.description)
        return dir + "/" + (wheels.first ?? "")
    }

    private func importFrom(_ root: String, _ statement: String) throws -> String {
        try TestProcess.runChecked("python3", ["-I", "-c", "import sys; sys.path.insert(0, '\(root)/usr/lib/python3/dist-packages'); \(statement)"])
            .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testSixWheelInstallsWithRpmAndDpkgAndImports() throws {
        try requireTool("python3", "rpm", "dpkg", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let wheel = try downloadWheel("six==1.16.0", into: try scratch.makeDirectory("dl"))
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "python", "-t", "rpm", "-t", "deb", "-p", out + "/", wheel], environment: fixedEpoch)
        let rpm = out + "/python-six-1.16.0-1.noarch.rpm"
        let deb = out + "/python-six_1.16.0_all.deb"
        let listing = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        XCTAssertTrue(FileManager.default.fileExists(atPath: rpm), listing.description)
        XCTAssertTrue(FileManager.default.fileExists(atPath: deb), listing.description)

        let q = try TestProcess.runChecked("rpm", ["-qp", "--qf", "%{NAME}|%{VERSION}|%{ARCH}|%{LICENSE}|%{URL}|%{SUMMARY}", rpm]).stdoutText
        XCTAssertEqual(q, "python-six|1.16.0|noarch|MIT|https://github.com/benjaminp/six|Python 2 and 3 compatibility utilities")
        let files = try TestProcess.runChecked("rpm", ["-qpl", rpm]).stdoutText
        XCTAssertTrue(files.contains("/usr/lib/python3/dist-packages/six.py\n"), files)
        XCTAssertTrue(files.contains("/usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA\n"), files)
        XCTAssertFalse(files.contains("/usr/lib/python3/dist-packages\n"), "the site directory is not the package's:\n\(files)")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Package"]).stdoutText, "python-six\n")
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Architecture"]).stdoutText, "all\n")

        let rpmRoot = try scratch.makeDirectory("rpmroot")
        try TestProcess.runChecked("rpm", ["-i", "--root", rpmRoot, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", rpm])
        XCTAssertEqual(try importFrom(rpmRoot, "import six; print(six.__version__, six.__file__)"),
                       "1.16.0 \(rpmRoot)/usr/lib/python3/dist-packages/six.py")

        let dpkgRoot = try BuildFixtures.dpkgRoot(in: scratch)
        try TestProcess.runChecked("dpkg", ["--root=\(dpkgRoot)", "--force-script-chrootless", "--force-not-root", "--force-depends", "-i", deb])
        XCTAssertEqual(try importFrom(dpkgRoot, "import six; print(six.__version__, six.__file__)"),
                       "1.16.0 \(dpkgRoot)/usr/lib/python3/dist-packages/six.py")
        // The one site directory, read through PYTHONPATH as a user would.
        let viaPath = try TestProcess.runChecked("python3", ["-c", "import six; print(six.__file__)"],
                                                 environment: ["PYTHONPATH": dpkgRoot + "/usr/lib/python3/dist-packages"])
        XCTAssertEqual(viaPath.stdoutText, "\(dpkgRoot)/usr/lib/python3/dist-packages/six.py\n")
    }

    /// A name resolved with pip from the index: dependencies from Requires-Dist (with the prefix, the
    /// markers evaluated, extras left out) and console entry points as scripts in /usr/bin.
    func testNameFromIndexWithDependenciesAndEntryPoints() throws {
        try requireTool("python3", "rpm", "dpkg", "dpkg-deb")
        let scratch = try ScratchDirectory()
        // Reachability first, so an offline machine skips rather than fails.
        _ = try downloadWheel("python-dateutil==2.8.2", into: try scratch.makeDirectory("probe"))
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "python", "-t", "deb", "-t", "rpm", "-p", out + "/", "python-dateutil==2.8.2"],
                   in: scratch.path(""), environment: fixedEpoch)
        let deb = out + "/python-dateutil_2.8.2_all.deb"
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText, "python-six (>= 1.5)\n")
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--requires", out + "/python-dateutil-2.8.2-1.noarch.rpm"]).stdoutText
        XCTAssertTrue(requires.contains("python-six >= 1.5"), requires)

        // tabulate: a console script, and `wcwidth; extra == "widechars"` that must not become a dependency.
        try CLI.ok(["package", "-s", "python", "-t", "deb", "-p", out + "/", "tabulate==0.9.0"], in: scratch.path(""), environment: fixedEpoch)
        let tabulate = out + "/python-tabulate_0.9.0_all.deb"
        XCTAssertFalse(try TestProcess.runChecked("dpkg-deb", ["-f", tabulate, "Depends"]).stdoutText.contains("wcwidth"))
        let dpkgRoot = try BuildFixtures.dpkgRoot(in: scratch)
        try TestProcess.runChecked("dpkg", ["--root=\(dpkgRoot)", "--force-script-chrootless", "--force-not-root", "--force-depends",
                                            "-i", tabulate])
        let script = dpkgRoot + "/usr/bin/tabulate"
        let text = try String(contentsOfFile: script, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("#!/usr/bin/python3\n"), text)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: script))
        let table = try TestProcess.runChecked("python3", [script, "-f", "plain"], environment: ["PYTHONPATH": dpkgRoot + "/usr/lib/python3/dist-packages"],
                                               stdin: Data("a b\n1 2\n".utf8))
        XCTAssertEqual(table.stdoutText, "a  b\n1  2\n")
    }

    /// fpm's --python-* options steer the name, the dependencies and where modules land.
    func testPythonOptions() throws {
        try requireTool("python3", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let wheel = try downloadWheel("python-dateutil==2.8.2", into: try scratch.makeDirectory("dl"))
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "python", "-t", "deb", "--python-package-name-prefix", "python3", "--python-install-lib", "/opt/pylib",
                    "--python-disable-dependency", "six", "-p", out + "/", wheel], environment: fixedEpoch)
        let deb = out + "/python3-dateutil_2.8.2_all.deb"
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Package"]).stdoutText, "python3-dateutil\n")
        XCTAssertFalse(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText.contains("six"))
        let list = try TestProcess.runChecked("dpkg-deb", ["-c", deb]).stdoutText
        XCTAssertTrue(list.contains("./opt/pylib/dateutil/parser/_parser.py\n"), list)

        try CLI.ok(["package", "-s", "python", "-t", "deb", "--no-python-fix-name", "--python-package-name-prefix", "py", "--no-python-dependencies", "-p", out + "/", wheel],
                   environment: fixedEpoch)
        let plain = out + "/python-dateutil_2.8.2_all.deb"
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", plain, "Package"]).stdoutText, "python-dateutil\n")
        XCTAssertFalse(try TestProcess.runChecked("dpkg-deb", ["-f", plain, "Depends"]).stdoutText.contains("six"))
    }

    /// An sdist is built into a wheel with `pip wheel` and then packaged like one.
    func testSdistIsBuiltIntoAWheel() throws {
        try requireTool("python3", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let dl = try scratch.makeDirectory("dl")
        let pip = try TestProcess.run("python3", ["-m", "pip", "download", "--no-deps", "--no-binary=:all:", "-d", dl, "six==1.16.0"],
                                      environment: ["PIP_DISABLE_PIP_VERSION_CHECK": "1"])
        guard pip.succeeded else { throw requirementNotMet("pip could not download the six sdist from PyPI: \(pip.stderrText.suffix(400))") }
        let sdist = dl + "/" + (try FileManager.default.contentsOfDirectory(atPath: dl).first { $0.hasSuffix(".tar.gz") } ?? "")
        let out = try scratch.makeDirectory("out")
        try CLI.ok(["package", "-s", "python", "-t", "deb", "-p", out + "/", sdist], environment: fixedEpoch)
        let list = try TestProcess.runChecked("dpkg-deb", ["-c", out + "/python-six_1.16.0_all.deb"]).stdoutText
        XCTAssertTrue(list.contains("./usr/lib/python3/dist-packages/six.py\n"), list)
    }
}
