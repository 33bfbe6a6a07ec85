import Foundation
import PkgLayerCore
import PkgLayerPipeline
import PkgLayerTestSupport
import XCTest

/// `PackageJob`, the work behind `pkglayer package`, run in-process: `-s dir -t rpm,deb` writes both
/// packages with the request's metadata; a bad `-t` is refused before anything is written.
final class PackageJobTests: XCTestCase {
    private func request(_ scratch: ScratchDirectory, types: [String]) throws -> PackageRequest {
        try scratch.write("tree/bin/hello", "#!/bin/sh\necho hello\n", mode: 0o755)
        try scratch.write("tree/share/hello.txt", "hi\n")
        var request = PackageRequest()
        request.inputType = "dir"
        request.inputs = ["."]
        request.chdir = scratch.path("tree")
        request.prefix = "/opt/hello"
        request.outputTypes = types
        request.name = "hello"
        request.version = "2.3"
        request.iteration = "4"
        request.architecture = "amd64"
        request.license = "MIT"
        request.descriptionText = "Says hello"
        request.packagePath = scratch.path("out") + "/"
        request.sourceDateEpochDefault = 1_700_000_000
        return request
    }

    func testDirToRPMAndDeb() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let outputs = try PackageJob(request: try request(scratch, types: ["rpm,deb"])).run()
        XCTAssertEqual(outputs.map(\.format), [.rpm, .deb])
        XCTAssertEqual(outputs.map { ($0.path as NSString).deletingLastPathComponent }, [scratch.path("out"), scratch.path("out")])
        for output in outputs {
            XCTAssertEqual(try FileDigest.sha256Hex(path: output.path), output.sha256)
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber,
                           NSNumber(value: output.size))
        }
        let files = ["/opt/hello/bin/hello", "/opt/hello/share/hello.txt"]

        let rpm = outputs[0].path
        XCTAssertEqual(try rpmQuery(rpm, "%{NAME} %{VERSION} %{RELEASE} %{ARCH} %{LICENSE}"), "hello 2.3 4 x86_64 MIT")
        XCTAssertEqual(try rpmPaths(rpm).filter { files.contains($0) }, files)

        let deb = outputs[1].path
        let control = try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Package", "Version", "Architecture"]).stdoutText
        XCTAssertEqual(control, "Package: hello\nVersion: 2.3-4\nArchitecture: amd64\n")
        let members = try debMembers(deb)
        XCTAssertEqual(members.filter { files.contains($0.path) }.map(\.type), ["-", "-"])
    }

    func testUnknownOutputTypeNamesTheFlag() throws {
        let scratch = try ScratchDirectory()
        for (types, expected) in [(["rpm,zip"], "unknown package format 'zip'"), ([], "no output type given")] {
            XCTAssertThrowsError(try PackageJob(request: try request(scratch, types: types)).run()) { error in
                guard let error = error as? PkgLayerError else { return XCTFail("not a PkgLayerError: \(error)") }
                XCTAssertEqual(error.code, .usage)
                XCTAssertEqual(error.location, "-t")
                XCTAssertTrue(error.message.contains(expected), error.message)
            }
        }
        XCTAssertEqual(filesUnder(scratch.path("out")), [], "nothing was written, not even the rpm before the bad type")
    }
}
