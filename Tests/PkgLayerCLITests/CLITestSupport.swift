import Foundation
import PkgLayerTestSupport
import XCTest

/// Runs the built `pkglayer` binary the way a user does.
enum CLI {
    /// The executable SwiftPM built next to the test bundle.
    static var binary: String {
        let bundleDir = Bundle.main.bundleURL
        for candidate in [bundleDir.appendingPathComponent("pkglayer"),
                          bundleDir.deletingLastPathComponent().appendingPathComponent("pkglayer")]
        where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate.path
        }
        return bundleDir.appendingPathComponent("pkglayer").path
    }

    @discardableResult
    static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
                    umask mask: String? = nil) throws -> ProcessOutput {
        if let mask {
            let quoted = ([binary] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
            return try TestProcess.run("/bin/sh", ["-c", "umask \(mask); exec \(quoted)"], in: directory, environment: environment)
        }
        return try TestProcess.run(binary, arguments, in: directory, environment: environment)
    }

    /// Runs and requires success, failing the test with pkglayer's stderr otherwise.
    @discardableResult
    static func ok(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:],
                   umask mask: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> ProcessOutput {
        let out = try run(arguments, in: directory, environment: environment, umask: mask)
        XCTAssertEqual(out.status, 0, "pkglayer \(arguments.joined(separator: " ")) failed:\n\(out.stderrText)", file: file, line: line)
        return out
    }
}

/// A small staged tree: a binary, a setuid helper, a config file, a doc, a symlink and a hardlink.
func makeSampleTree(in scratch: ScratchDirectory, named name: String = "root") throws -> String {
    let root = try scratch.makeDirectory(name)
    _ = try scratch.write("\(name)/usr/bin/demo", "#!/bin/sh\necho demo\n", mode: 0o755)
    _ = try scratch.write("\(name)/usr/libexec/demo/helper", "#!/bin/sh\nid\n", mode: 0o4755)
    _ = try scratch.write("\(name)/etc/demo/demo.conf", "key=value\n", mode: 0o644)
    _ = try scratch.write("\(name)/usr/share/doc/demo/READ ME ünï.txt", "docs\n", mode: 0o644)
    _ = try scratch.symlink("\(name)/usr/bin/demo-link", to: "demo")
    try FileManager.default.linkItem(atPath: scratch.path("\(name)/usr/bin/demo"), toPath: scratch.path("\(name)/usr/bin/demo-hard"))
    return root
}

let fixedEpoch = ["SOURCE_DATE_EPOCH": "1700000000"]
