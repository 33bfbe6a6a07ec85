import Foundation
import PkgLayerCore
import XCTest
@testable import PkgLayerBuild

/// The sandbox holds: real bwrap runs, real attempts to get out, each one failing and reported.
final class SandboxIsolationTests: XCTestCase {
    private var workspace: BuildWorkspace!
    private var events: EventLog!

    override func setUpWithError() throws {
        try BuildFixtures.requireSandbox()
        workspace = try BuildWorkspace()
        events = EventLog()
    }

    override func tearDown() {
        workspace = nil
    }

    private func runner(network: Bool = false, env: [String: String] = [:]) -> BuildRunner {
        let runner = BuildRunner(sandbox: workspace.sandbox(sourceDateEpoch: BuildFixtures.epoch, network: network, environment: env),
                                 logPath: workspace.logPath)
        let events = self.events!
        runner.onEvent = { events.record($0) }
        return runner
    }

    private var log: String { BuildFixtures.read(workspace.logPath) ?? "" }

    func testCannotConnectToAServerOnTheHostsLoopback() throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let step = BuildStep(name: "phone home", script: "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port); cat <&3'")
        let failure = expectStepFailure { try runner().run([BuildStep(name: "warm up", script: "echo ok"), step, BuildStep(script: "echo never")]) }
        XCTAssertEqual(failure?.stepIndex, 1)
        XCTAssertEqual(failure?.label, "step 2/3 'phone home'")
        XCTAssertEqual(failure?.exit, .exited(1))
        XCTAssertTrue(failure?.logTail.joined(separator: "\n").contains("Connection refused") ?? false, "\(failure?.logTail ?? [])")
        XCTAssertTrue(failure?.description.contains(workspace.logPath) ?? false)
        XCTAssertFalse(log.contains("echo never") && log.contains("==== step 3/3"), "the build stopped at the failing step")
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertFalse(server.sawConnection, "the host's server saw no connection: \(server.helper.text)")
        XCTAssertFalse(log.contains("hello-from-the-host"))

        // The only interface is a private loopback.
        try runner().run([BuildStep(name: "interfaces", script: "cat /proc/net/dev > /build/destdir/netdev")])
        let interfaces = (BuildFixtures.read("\(workspace.destdir)/netdev") ?? "").split(separator: "\n").dropFirst(2)
            .map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }
        XCTAssertEqual(interfaces, ["lo"])
    }

    func testNetworkTrueReachesTheHostsLoopback() throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        try runner(network: true).run([BuildStep(name: "fetch", script: "bash -c 'exec 3<>/dev/tcp/127.0.0.1/\(server.port); cat <&3'")])
        XCTAssertTrue(log.contains("hello-from-the-host"), log)
        XCTAssertTrue(server.sawConnection)
    }

    func testCannotWriteOutsideTheSourceTreeAndDestdir() throws {
        let token = BuildFixtures.randomToken()
        let repoTarget = "\(BuildFixtures.repository)/.sandbox-escape-\(token)"
        let workspaceTarget = "\(workspace.root)/escape-\(token)"
        // Paths every sandbox shows, read-only: the write itself must fail.
        let refused: [(String, String)] = [
            ("usr", "touch /usr/escape-\(token)"),
            ("etc", "touch /etc/escape-\(token)"),
            ("root of the sandbox", "touch /escape-\(token)"),
            ("build", "touch /build/escape-\(token)"),
            ("passwd", "echo 'evil:x:0:0::/:/bin/sh' >> /etc/passwd"),
        ]
        for (name, script) in refused {
            let failure = expectStepFailure { try runner().run([BuildStep(name: name, script: script)]) }
            XCTAssertEqual(failure?.label, "step 1/1 '\(name)'")
            if case .exited(let code)? = failure?.exit { XCTAssertNotEqual(code, 0) } else { XCTFail("\(name): \(String(describing: failure))") }
            let tail = failure?.logTail.joined() ?? ""
            XCTAssertTrue(tail.contains("Read-only file system"), "\(name): \(tail)")
        }
        // Host paths the sandbox does not show as themselves: the checkout and the workspace. Where
        // they live decides what the step sees (under /tmp, its private tmpfs takes the write; elsewhere
        // the path is missing or read-only), so the step may fail or succeed; what counts is that
        // nothing reaches the host.
        for (name, script) in [("repository", "mkdir -p \(BuildFixtures.repository) && touch \(repoTarget)"),
                               ("workspace", "mkdir -p \(workspace.root) && touch \(workspaceTarget)")] {
            do {
                try runner().run([BuildStep(name: name, script: script)])
            } catch let failure as BuildStepFailure {
                let tail = failure.logTail.joined()
                XCTAssertTrue(tail.contains("Read-only file system") || tail.contains("No such file or directory") || tail.contains("Permission denied"),
                              "\(name): \(tail)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/usr/escape-\(token)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/etc/escape-\(token)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: repoTarget), "a write to the checkout's path reached the host")
        XCTAssertFalse(FileManager.default.fileExists(atPath: workspaceTarget), "a write to the workspace's path reached the host")
        XCTAssertEqual(BuildFixtures.read("\(workspace.identityDirectory)/passwd")?.contains("evil"), false)

        // What is writable: the tree, DESTDIR, HOME and a private /tmp; the first three land on the host.
        try runner().run([BuildStep(name: "allowed", script: """
            touch /build/src/ok-src /build/destdir/ok-destdir "$HOME/ok-home" /tmp/ok-tmp
            mkdir -p /build/destdir/usr/bin && install -m 0755 /dev/null /build/destdir/usr/bin/tool
            """)])
        for path in ["src/ok-src", "destdir/ok-destdir", "home/ok-home", "destdir/usr/bin/tool"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(workspace.root)/\(path)"), path)
        }
        var st = stat()
        XCTAssertEqual(stat("\(workspace.destdir)/ok-destdir", &st), 0)
        XCTAssertEqual(st.st_uid, getuid(), "files made in the sandbox belong to the invoking user on the host")
    }

    func testCannotReadACanaryInTheInvokingUsersHome() throws {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        let secret = "canary-secret-\(BuildFixtures.randomToken())"
        let canary = "\(home)/.pkglayer-canary-\(BuildFixtures.randomToken())"
        try BuildFixtures.write(secret + "\n", to: canary, mode: 0o644)
        defer { unlink(canary) }

        let failure = expectStepFailure { try runner().run([BuildStep(name: "steal", script: "cat \(canary)")]) }
        XCTAssertEqual(failure?.label, "step 1/1 'steal'")
        XCTAssertTrue(failure?.logTail.joined().contains("No such file or directory") ?? false, "\(failure?.logTail ?? [])")
        XCTAssertFalse(log.contains(secret), "the secret is not in the log")
        XCTAssertFalse(failure?.description.contains(secret) ?? true)

        // Neither is the home directory listable, nor /root, nor found by searching.
        let listing = expectStepFailure { try runner().run([BuildStep(name: "look around", script: "ls -a \(home)")]) }
        XCTAssertNotNil(listing)
        try runner().run([BuildStep(name: "search", script: "find / \\( -path /proc -o -path /usr \\) -prune -o -name '.pkglayer-canary-*' -print > /build/destdir/found 2>/dev/null || true")])
        XCTAssertEqual(BuildFixtures.read("\(workspace.destdir)/found"), "")
        XCTAssertFalse(log.contains(secret))
    }

    func testEnvironmentIsClearedAndDeclaredVariablesAreSet() throws {
        setenv("PKGLAYER_TEST_HOST_VARIABLE", "leaked-from-host", 1)
        defer { unsetenv("PKGLAYER_TEST_HOST_VARIABLE") }
        try runner(env: ["RECIPE_VAR": "from recipe"]).run([BuildStep(name: "env", script: "env | sort > /build/destdir/env; id -un >> /build/destdir/env; date +%Z >> /build/destdir/env; hostname >> /build/destdir/env")])
        let env = BuildFixtures.read("\(workspace.destdir)/env") ?? ""
        XCTAssertFalse(env.contains("PKGLAYER_TEST_HOST_VARIABLE"), env)
        XCTAssertFalse(env.contains("leaked-from-host"), env)
        for line in ["SOURCE_DATE_EPOCH=1700000000", "TZ=UTC", "LC_ALL=C.UTF-8", "HOME=/build/home",
                     "PATH=/usr/local/bin:/usr/bin:/bin", "RECIPE_VAR=from recipe", "root", "UTC", "pkglayer"] {
            XCTAssertTrue(env.split(separator: "\n").contains(Substring(line)), "\(line) in:\n\(env)")
        }
    }

    func testFailureReportShowsTheLastTwentyLinesAndProgressIsReported() throws {
        let runner = runner()
        runner.progressInterval = 1
        let failure = expectStepFailure {
            try runner.run([BuildStep(name: "slow", script: "sleep 2.5; echo slept"),
                            BuildStep(script: "for i in $(seq 1 30); do echo output line $i; done; echo to stderr >&2; exit 3")])
        }
        XCTAssertEqual(failure?.stepIndex, 1)
        XCTAssertNil(failure?.stepName)
        XCTAssertEqual(failure?.label, "step 2/2")
        XCTAssertEqual(failure?.exit, .exited(3))
        XCTAssertEqual(failure?.logTail.count, 20)
        XCTAssertEqual(failure?.logTail.last, "to stderr")
        XCTAssertEqual(failure?.logTail.first, "output line 12")
        XCTAssertEqual(failure?.logPath, workspace.logPath)
        let text = failure?.description ?? ""
        XCTAssertTrue(text.contains("build step 2/2 failed (exit code 3)"), text)
        XCTAssertTrue(text.contains("full log: \(workspace.logPath)"), text)

        XCTAssertTrue(events.events.contains(.stepStarted(label: "step 1/2 'slow'")))
        XCTAssertTrue(events.events.contains { if case .stepRunning(let label, let s) = $0 { return label == "step 1/2 'slow'" && s >= 1 } else { return false } },
                      "\(events.events)")
        XCTAssertTrue(log.contains("==== step 1/2 'slow' ====\n$ sleep 2.5; echo slept\nslept\n"), log)
        XCTAssertTrue(log.contains("==== step 2/2: exit code 3"), log)
    }

    func testStrayDescriptorsDoNotReachTheSandbox() throws {
        // A descriptor this process holds without O_CLOEXEC (as a careless library might) is closed
        // before bwrap starts.
        let fd = open("/etc/hostname", O_RDONLY)
        defer { close(fd) }
        try runner().run([BuildStep(name: "fds", script: "ls /proc/self/fd > /build/destdir/fds")])
        let fds = (BuildFixtures.read("\(workspace.destdir)/fds") ?? "").split(separator: "\n").compactMap { Int($0) }
        XCTAssertEqual(Set(fds).subtracting([0, 1, 2]).count, 1, "only ls's own directory descriptor besides stdio: \(fds)")
    }

    func testForeignOwnedTarballIsWritableInTheSandbox() throws {
        // nginx's tarball is owned by uid 1001; kept, that owner is unmapped in bwrap's user namespace
        // and `mkdir objs` fails. Extracted through SourceTree, the tree belongs to us.
        let nginx = try BuildFixtures.requireSharedSource("nginx-1.22.1.tar.gz")
        try SourceTree(root: workspace.sourceDirectory).extractArchive(nginx, name: "nginx-1.22.1.tar.gz", stripComponents: 1)
        try runner().run([BuildStep(name: "write", script: "test -x configure\nmkdir objs\ntouch objs/Makefile auto/new\nrm conf/mime.types")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(workspace.sourceDirectory)/objs/Makefile"))
    }

    func testSelfTest() throws {
        XCTAssertNoThrow(try workspace.sandbox(sourceDateEpoch: BuildFixtures.epoch).selfTest())
    }
}
