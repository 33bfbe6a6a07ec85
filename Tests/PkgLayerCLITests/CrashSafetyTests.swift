import Foundation
import PkgLayerTestSupport
import XCTest

/// kill -9 at points spread over a run of `package`, `build` and `image`: no partial file under any
/// final name (a file that exists under its final name has exactly the uninterrupted run's bytes), no
/// cache entry that reads as valid but is not, the next identical command succeeds with the same bytes,
/// and the dead run's work directories and temporary files are gone after it.
///
/// CI runs `PKGLAYER_CRASH_POINTS` (default 3) kills per command; `scripts/crash-test.sh` runs 20.
final class CrashSafetyTests: XCTestCase {
    private var scratch: ScratchDirectory!
    private var points: Int { Int(ProcessInfo.processInfo.environment["PKGLAYER_CRASH_POINTS"] ?? "") ?? 3 }

    override func setUpWithError() throws {
        scratch = try ScratchDirectory(prefix: "pkglayer-crash")
    }

    override func tearDown() { scratch = nil }

    /// Every regular file below `directory` with its sha256, by relative path (hidden litter included).
    private func files(_ directory: String) throws -> [String: String] {
        var result: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [:] }
        for case let relative as String in walker {
            let path = "\(directory)/\(relative)"
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            result[relative] = try TestProcess.runChecked("sha256sum", [path]).stdoutText.split(separator: " ").first.map(String.init)
        }
        return result
    }

    /// Top-level entries of `directory` that a dead run left (names carrying an owner tag).
    private func litter(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains("-pkl") }.sorted()
    }

    /// Starts `arguments`, kills it with SIGKILL after `delay` seconds (unless it finished), and reaps it.
    private func runAndKill(_ arguments: [String], after delay: TimeInterval, environment: [String: String]) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(delay)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        let killed = process.isRunning
        if killed { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return killed
    }

    /// The common pattern: one clean run gives the reference bytes and time; then, for each kill point,
    /// a run killed there, the final names checked, and the same command run again to completion.
    /// `OUT` or `OUT/…` in an argument stands for the output folder.
    private static func place(_ argument: String, _ out: String) -> String {
        argument == "OUT" ? out : argument.hasPrefix("OUT/") ? out + argument.dropFirst(3) : argument
    }

    private func check(_ name: String, arguments: [String], outputs: [String], extraState: [String] = [],
                       environment: [String: String], referenceEnvironment: [String: String] = [:],
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let tmp = try scratch.makeDirectory("tmp-\(name)")
        var env = environment
        env["TMPDIR"] = tmp

        // Reference: a clean, uninterrupted run in its own output folder.
        let referenceOut = scratch.path("reference-\(name)")
        let started = Date()
        var referenceEnv = env
        referenceEnv.merge(referenceEnvironment) { _, new in new }
        let clean = try CLI.run(arguments.map { Self.place($0, referenceOut) }, environment: referenceEnv)
        XCTAssertEqual(clean.status, 0, clean.stderrText, file: file, line: line)
        let duration = max(0.2, Date().timeIntervalSince(started))
        let reference = try files(referenceOut).filter { key, _ in outputs.contains { key.hasSuffix($0) } }
        XCTAssertFalse(reference.isEmpty, "the reference run wrote \(outputs)", file: file, line: line)

        let out = scratch.path("out-\(name)")
        var killedRuns = 0
        for point in 0..<points {
            // Points spread over the run, from just after start to just before the end.
            let delay = duration * (Double(point) + 0.5) / Double(points) * 0.95
            let args = arguments.map { Self.place($0, out) }
            if try runAndKill(args, after: delay, environment: env) { killedRuns += 1 }

            // Whatever exists under a final name is complete: the reference's bytes.
            for (relative, sha) in try files(out) where reference[relative] != nil {
                XCTAssertEqual(sha, reference[relative], "\(name) killed at \(String(format: "%.2f", delay)) s left a partial \(relative)",
                               file: file, line: line)
            }

            // The next identical command succeeds, gives the same bytes, and clears the dead run's litter.
            let again = try CLI.run(args, environment: env)
            XCTAssertEqual(again.status, 0, "rerun after a kill at \(delay) s: \(again.stderrText)", file: file, line: line)
            let after = try files(out).filter { key, _ in outputs.contains { key.hasSuffix($0) } }
            XCTAssertEqual(after, reference, "\(name): the rerun after a kill at \(String(format: "%.2f", delay)) s differs", file: file, line: line)
            XCTAssertEqual(litter(tmp), [], "\(name): work directories of the killed run are left in TMPDIR", file: file, line: line)
            for directory in [out] + extraState {
                XCTAssertEqual(litter(directory), [], "\(name): temporary files of the killed run are left in \(directory)", file: file, line: line)
            }
        }
        XCTAssertGreaterThan(killedRuns, 0, "\(name): at least one run was killed before it finished", file: file, line: line)
        print("crash-safety \(name): \(killedRuns) of \(points) runs killed mid-way, each rerun identical, no leftovers")
    }

    func testKilledPackageRunsLeaveNoPartialFileAndTheNextRunMatches() throws {
        // A tree big enough for the writers to take a while: 24 MiB of incompressible data in 48 files.
        let tree = try scratch.makeDirectory("tree")
        try TestProcess.runChecked("/bin/sh", ["-c", "mkdir -p '\(tree)/usr/share/blob' && for i in $(seq 1 48); do head -c 524288 /dev/urandom > '\(tree)/usr/share/blob/f'$i; done"])
        try check("package", arguments: ["package", "-s", "dir", "-t", "rpm,deb", "-n", "blob", "-v", "1.0", "--iteration", "1", "-C", tree,
                                         "-p", "OUT/", "-f", "--source-date-epoch-default", "1700000000", "."],
                  outputs: ["blob-1.0-1.x86_64.rpm", "blob_1.0-1_amd64.deb"], environment: [:])
    }

    func testKilledBuildsLeaveNoCacheEntryThatIsNotWholeAndTheNextRunMatches() throws {
        try BuildFixturesSandbox.require()
        _ = try scratch.write("recipe/files/data.txt", "data\n")
        let recipe = try scratch.write("recipe/slow.yml", """
            package:
              name: slow
              version: "1.0"
              summary: A build that takes a few seconds
              source-date-epoch: 1700000000
            sources:
              - path: files/data.txt
            build:
              steps:
                - name: stage
                  run: |
                    sleep 1
                    mkdir -p ${{targets.destdir}}/usr/share/slow
                    head -c 8388608 /dev/zero | tr '\\0' 'x' > ${{targets.destdir}}/usr/share/slow/big
                    cp data.txt ${{targets.destdir}}/usr/share/slow/
                - name: settle
                  run: sleep 1

            """)
        let cache = scratch.path("cache")
        // --rebuild: every run really builds (a cache hit would finish before any kill point).
        try check("build", arguments: ["build", recipe, "-o", "OUT", "--offline", "--no-image", "--rebuild"],
                  outputs: ["slow-1.0-1.x86_64.rpm", "slow_1.0-1_amd64.deb"], extraState: [cache + "/outputs"],
                  environment: ["PKGLAYER_CACHE": cache], referenceEnvironment: ["PKGLAYER_CACHE": scratch.path("reference-cache")])
        // Every cache entry that exists is whole: its result.json names files that are all there.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: cache + "/outputs")) ?? []
        for entry in entries where !entry.hasPrefix(".") {
            let result = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(cache)/outputs/\(entry)/result.json"))) as? [String: Any]
            for package in (result?["packages"] as? [[String: Any]]) ?? [] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: "\(cache)/outputs/\(entry)/\(package["file"] as? String ?? "")"))
            }
        }
    }

    func testKilledImageRunsLeaveNoPartialOutputAndTheNextRunMatches() throws {
        let tree = try scratch.makeDirectory("image-tree")
        try TestProcess.runChecked("/bin/sh", ["-c", "mkdir -p '\(tree)/usr/share/big' && for i in $(seq 1 16); do head -c 1048576 /dev/urandom > '\(tree)/usr/share/big/f'$i; done"])
        let made = try CLI.ok(["package", "-s", "dir", "-t", "deb", "-n", "big", "-v", "1.0", "-C", tree, "-p", scratch.path("image/"), "-f",
                               "--source-date-epoch-default", "1700000000", "."])
        XCTAssertEqual(made.status, 0)
        let file = try scratch.write("image/big.yml", "name: big\ntag: \"1\"\npackages: [./big_1.0_amd64.deb]\n")
        let cache = scratch.path("image-cache")
        try check("image", arguments: ["image", file, "-o", "OUT"],
                  outputs: ["big-1.oci.tar", "big-1.docker.tar", "big-1.spdx.json", "big-1.oci/index.json"],
                  extraState: [cache + "/images/blobs/sha256"],
                  environment: ["PKGLAYER_CACHE": cache, "SOURCE_DATE_EPOCH": "1700000000"],
                  referenceEnvironment: ["PKGLAYER_CACHE": scratch.path("reference-image-cache")])
    }

    /// A disk that fills up mid-write: a clear error naming the file and the cause, exit status 1, and
    /// no package (whole or partial) and no temporary file left in the output folder.
    func testAFullDiskGivesAClearErrorAndLeavesNoPartialPackage() throws {
        try requireCondition(getuid() == 0, "mounting a small tmpfs needs root")
        try requireTool("mount", "umount")
        let small = try scratch.makeDirectory("small")
        try TestProcess.runChecked("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small])
        defer { _ = try? TestProcess.run("umount", [small]) }
        let tree = try scratch.makeDirectory("big-tree")
        try TestProcess.runChecked("/bin/sh", ["-c", "mkdir -p '\(tree)/usr/share/big' && head -c 4194304 /dev/urandom > '\(tree)/usr/share/big/data'"])
        for format in ["rpm", "deb"] {
            let result = try CLI.run(["package", "-s", "dir", "-t", format, "-n", "big", "-v", "1.0", "-C", tree, "-p", small + "/", "-f",
                                      "--workdir", try scratch.makeDirectory("work-\(format)"), "."])
            XCTAssertEqual(result.status, 1, result.stderrText)
            XCTAssertTrue(result.stderrText.hasPrefix("pkglayer: error: ") && result.stderrText.contains("No space left on device"), result.stderrText)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: small), [], "\(format): nothing is left in the full folder")
        }
    }
}

/// The sandbox check the build tests use, reachable from the CLI tests.
enum BuildFixturesSandbox {
    static func require() throws {
        try requireTool("bwrap")
    }
}
