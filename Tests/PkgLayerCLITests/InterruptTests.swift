import Foundation
import PkgLayerTestSupport
import XCTest

/// SIGINT and SIGTERM (issue 22): pkglayer stops its children, removes its work files, says
/// "interrupted" and exits 130 / 143; nothing is left in TMPDIR, no child process outlives it, no
/// partial or hidden file stays in the output folder, and a `--keep-work-dir` directory is kept (and
/// left alone by the next run).
final class InterruptTests: XCTestCase {
    private var scratch: ScratchDirectory!

    override func setUpWithError() throws { scratch = try ScratchDirectory(prefix: "pkglayer-interrupt") }
    override func tearDown() { scratch = nil }

    private struct Interrupted {
        var status: Int32
        var stderr: String
        var finishedFirst: Bool
    }

    /// Starts pkglayer, sends `signal` after `delay` seconds (unless it finished), and waits for it (at
    /// most 30 s: an interrupt that hangs fails the test).
    private func run(_ arguments: [String], signal: Int32, after delay: TimeInterval, environment: [String: String]) throws -> Interrupted {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let errPath = scratch.path("stderr-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errHandle
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while process.isRunning && Date() < deadline { usleep(5_000) }
        let finishedFirst = !process.isRunning
        if !finishedFirst { kill(process.processIdentifier, signal) }
        let limit = Date().addingTimeInterval(30)
        while process.isRunning && Date() < limit { usleep(10_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            XCTFail("pkglayer \(arguments.first ?? "") did not exit within 30 s of the signal")
        }
        process.waitUntilExit()
        try errHandle.close()
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return Interrupted(status: process.terminationStatus, stderr: stderr, finishedFirst: finishedFirst)
    }

    /// Processes whose command line or environment mentions `marker` (the run's private TMPDIR).
    private func processesMentioning(_ marker: String) -> [String] {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).filter { Int32($0) != nil }
        return pids.compactMap { pid in
            let cmdline = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))) ?? Data()
            let text = String(decoding: cmdline + environ, as: UTF8.self)
            return text.contains(marker) ? "\(pid): \(String(decoding: cmdline, as: UTF8.self).replacingOccurrences(of: "\0", with: " "))" : nil
        }
    }

    private func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    func testInterruptedBuildsStopTheirChildrenAndLeaveNoWorkFiles() throws {
        try BuildFixturesSandbox.require()
        // Points: while the source is fetched and extracted, during configure in the sandbox, during make.
        for (index, (signal, delay)) in [(SIGINT, 0.4), (SIGINT, 3.0), (SIGTERM, 7.0)].enumerated() {
            let tmp = try scratch.makeDirectory("tmp-\(index)")
            let out = scratch.path("out-\(index)")
            let cache = scratch.path("cache-\(index)")
            let result = try run(["build", BuildFixtures.recipe("hello.yml"), "-o", out, "--sources", BuildFixtures.sharedSources,
                                  "--offline", "--no-image"], signal: signal, after: delay,
                                 environment: ["TMPDIR": tmp, "PKGLAYER_CACHE": cache])
            XCTAssertFalse(result.finishedFirst, "the build finished before the signal at \(delay) s")
            XCTAssertEqual(result.status, 128 + signal, result.stderr)
            XCTAssertTrue(result.stderr.contains("pkglayer: interrupted"), result.stderr)
            usleep(200_000)
            XCTAssertEqual(processesMentioning(tmp), [], "children outlived the interrupted build")
            XCTAssertEqual(entries(tmp), [], "work files left in TMPDIR after \(signal) at \(delay) s")
            let outputs = entries(out).filter { $0 != "logs" }
            XCTAssertEqual(outputs, [], "files in the output folder after \(signal) at \(delay) s")
        }
    }

    func testAnInterruptedPackageLeavesNothingInTheOutputFolder() throws {
        let tree = try scratch.makeDirectory("tree")
        try TestProcess.runChecked("/bin/sh", ["-c", "mkdir -p '\(tree)/usr/share/blob' && for i in $(seq 1 64); do head -c 1048576 /dev/urandom > '\(tree)/usr/share/blob/f'$i; done"])
        let tmp = try scratch.makeDirectory("tmp-package")
        let out = try scratch.makeDirectory("out-package")
        let result = try run(["package", "-s", "dir", "-t", "rpm", "-t", "deb", "-n", "blob", "-v", "1.0", "-C", tree, "-p", out + "/",
                              "--rpm-compression", "xz", "--deb-compression", "xz", "."],
                             signal: SIGINT, after: 0.8, environment: ["TMPDIR": tmp, "SOURCE_DATE_EPOCH": "1700000000"])
        XCTAssertFalse(result.finishedFirst, "the package run finished before the signal")
        XCTAssertEqual(result.status, 130, result.stderr)
        XCTAssertTrue(result.stderr.contains("pkglayer: interrupted"), result.stderr)
        XCTAssertEqual(entries(out), [], "the output folder holds litter (hidden work files included)")
        XCTAssertEqual(entries(tmp), [])
    }

    func testAKeptWorkDirectorySurvivesTheInterruptAndTheNextRun() throws {
        try BuildFixturesSandbox.require()
        let tmp = try scratch.makeDirectory("tmp-keep")
        let out = scratch.path("out-keep")
        let env = ["TMPDIR": tmp, "PKGLAYER_CACHE": scratch.path("cache-keep")]
        let arguments = ["build", BuildFixtures.recipe("hello.yml"), "-o", out, "--sources", BuildFixtures.sharedSources, "--offline", "--no-image"]
        let result = try run(arguments + ["--keep-work-dir"], signal: SIGINT, after: 3.0, environment: env)
        XCTAssertEqual(result.status, 130, result.stderr)
        let kept = entries(tmp).filter { $0.hasPrefix("pkglayer-build-") }
        XCTAssertEqual(kept.count, 1, "\(entries(tmp))")
        XCTAssertTrue(result.stderr.contains(kept.first ?? "?"), "the kept directory's path is printed:\n\(result.stderr)")
        // The next run (its work directory in the same TMPDIR sweeps dead runs' work there) leaves it.
        let tree = try scratch.makeDirectory("small-tree/usr/share/small")
        _ = try scratch.write("small-tree/usr/share/small/a", "a\n")
        try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "sweeper", "-v", "1", "-C", scratch.path("small-tree"), "-p", scratch.path("sweep.deb"), "."],
                   environment: env)
        XCTAssertTrue(FileManager.default.fileExists(atPath: tree + "/a"))
        XCTAssertEqual(entries(tmp).filter { $0.hasPrefix("pkglayer-build-") }, kept)
    }
}
