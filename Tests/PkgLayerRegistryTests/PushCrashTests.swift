import Foundation
import PkgLayerTestSupport
import XCTest

/// kill -9 of `pkglayer push` at points spread over the upload: the next identical push succeeds, the
/// registry serves the same manifest digest as the local layout, the blobs pushed before the kill are
/// not sent again, and the dead run's temporary files are gone from TMPDIR.
/// CI runs `PKGLAYER_CRASH_POINTS` (default 3) kills; `scripts/crash-test.sh` runs 20.
final class PushCrashTests: XCTestCase {
    func testKilledPushesResumeToTheSameDigest() throws {
        try requireTool("skopeo", "docker-registry", "htpasswd", "openssl")
        let points = Int(ProcessInfo.processInfo.environment["PKGLAYER_CRASH_POINTS"] ?? "") ?? 3
        let server = try RegistryServer()
        let scratch = try ScratchDirectory(prefix: "pkglayer-push-crash")
        let tmp = try scratch.makeDirectory("tmp")
        let env = ["DOCKER_CONFIG": try scratch.makeDirectory("docker"), "PKGLAYER_CACHE": scratch.path("cache"),
                   "SOURCE_DATE_EPOCH": "1700000000", "TMPDIR": tmp]
        let tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        let pkglayer = RegistryCLITests.binary
        try TestProcess.runChecked(pkglayer, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: env, stdin: Data("\(RegistryServer.password)\n".utf8))

        // An image of a few incompressible packages, so the upload takes a moment.
        var packages: [String] = []
        for i in 1...4 {
            let tree = try scratch.makeDirectory("tree\(i)/usr/share/p\(i)")
            try TestProcess.runChecked("/bin/sh", ["-c", "head -c 6291456 /dev/urandom > '\(tree)/data'"])
            let made = try TestProcess.runChecked(pkglayer, ["package", "-s", "dir", "-t", "deb", "-n", "part\(i)", "-v", "1.0",
                                                             "-C", scratch.path("tree\(i)"), "-p", scratch.path("img/"), "-f", "."], environment: env)
            XCTAssertEqual(made.status, 0)
            packages.append("./part\(i)_1.0_amd64.deb")
        }
        let file = try scratch.write("img/app.yml", "name: app\ntag: \"1\"\npackages: [\(packages.joined(separator: ", "))]\n")
        try TestProcess.runChecked(pkglayer, ["image", file, "-o", scratch.path("out")], environment: env)
        let layout = "oci:\(scratch.path("out/app-1.oci")):1"
        let local = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", layout]).stdoutText
            .trimmingCharacters(in: .whitespacesAndNewlines)

        var killed = 0
        defer { print("crash-safety push: \(killed) of \(points) runs killed mid-way, each rerun identical, no leftovers") }
        for point in 0..<points {
            let reference = "\(server.host)/crash/app\(point):1"
            let arguments = ["push", layout, reference] + tls
            // One clean push to another repository gives this machine's upload time.
            let started = Date()
            try TestProcess.runChecked(pkglayer, ["push", layout, "\(server.host)/timing/app\(point):1"] + tls, environment: env)
            let duration = max(0.2, Date().timeIntervalSince(started))

            let process = Process()
            process.executableURL = URL(fileURLWithPath: pkglayer)
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(useconds_t(duration * (Double(point) + 0.5) / Double(points) * 0.9 * 1_000_000))
            if process.isRunning { kill(process.processIdentifier, SIGKILL); killed += 1 }
            process.waitUntilExit()

            let again = try TestProcess.run(pkglayer, arguments, environment: env)
            XCTAssertEqual(again.status, 0, again.stderrText)
            let remote = try TestProcess.runChecked("skopeo", ["inspect", "--format", "{{.Digest}}", "--cert-dir", server.certDirectory,
                                                               "--creds", "\(RegistryServer.username):\(RegistryServer.password)",
                                                               "docker://\(reference)"]).stdoutText
            XCTAssertEqual(remote.trimmingCharacters(in: .whitespacesAndNewlines), local, "the resumed push serves the local image")
            XCTAssertEqual(((try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []).filter { $0.contains("-pkl") }, [],
                           "the killed push left work in TMPDIR")
        }
    }
}
