import Foundation
import PkgLayerBuild
import PkgLayerCore
import PkgLayerTestSupport
import XCTest

/// Build steps are bounded: a step's `timeout` and the build's timeout kill the step's whole sandbox
/// and name the step; a step that leaves a process in the background neither keeps the build waiting
/// nor outlives it.
final class BoundedStepTests: XCTestCase {
    private var workspace: BuildWorkspace!

    override func setUpWithError() throws {
        try BuildFixtures.requireSandbox()
        workspace = try BuildWorkspace()
    }

    override func tearDown() {
        workspace = nil
    }

    private func runner() -> BuildRunner {
        let runner = BuildRunner(sandbox: workspace.sandbox(sourceDateEpoch: BuildFixtures.epoch, network: false, environment: [:]),
                                 logPath: workspace.logPath)
        runner.onEvent = { _ in }
        return runner
    }

    /// Processes whose command line holds `marker` (a unique token, so other builds on the machine never match).
    private func processes(matching marker: String) throws -> [String] {
        let out = try TestProcess.run("pgrep", ["-f", "-a", marker])
        return out.stdoutText.split(separator: "\n").map(String.init).filter { !$0.contains("pgrep") }
    }

    func testAStepPastItsTimeoutIsKilledWithEverythingItStartedAndNamed() throws {
        try requireTool("pgrep")
        let marker = "pkglayer-timeout-\(BuildFixtures.randomToken())"
        let started = Date()
        let failure = expectStepFailure {
            try runner().run([BuildStep(name: "quick", script: "true"),
                              BuildStep(name: "forever", script: "sh -c 'sleep 100000; : \(marker)' & sleep 100000", timeout: 5)],
                             timeout: 3600)
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(elapsed, 4.5)
        XCTAssertLessThan(elapsed, 20, "the step is killed at its timeout, not at the build's")
        XCTAssertEqual(failure?.label, "step 2/2 'forever'")
        guard case .timedOut(let seconds)? = failure?.exit else { return XCTFail("\(String(describing: failure?.exit))") }
        XCTAssertEqual(seconds, 5, accuracy: 1.5)
        let text = failure?.description ?? ""
        XCTAssertTrue(text.contains("build step 2/2 'forever' ran too long and was killed with everything it started (its timeout: 5s)"), text)
        XCTAssertTrue(text.contains("timeout:"), "the message says how to give it more time: \(text)")
        XCTAssertEqual(try processes(matching: marker), [], "nothing the step started is left running")
    }

    func testTheBuildTimeoutBoundsAllStepsTogether() throws {
        let started = Date()
        let failure = expectStepFailure {
            try runner().run([BuildStep(name: "first", script: "sleep 2"),
                              BuildStep(name: "second", script: "sleep 100000")], timeout: 4)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 15)
        XCTAssertEqual(failure?.label, "step 2/2 'second'")
        XCTAssertTrue((failure?.description ?? "").contains("(build.timeout: 4s)"), failure?.description ?? "")
    }

    func testABackgroundProcessDoesNotKeepTheBuildAliveOrOutliveIt() throws {
        try requireTool("pgrep")
        let marker = "pkglayer-background-\(BuildFixtures.randomToken())"
        let started = Date()
        // The classic daemonising idiom: a subshell that backgrounds a long sleep and returns at once,
        // with the sleep still holding the step's output pipe.
        try runner().run([BuildStep(name: "leave a daemon", script: "(sh -c 'sleep 1000; : \(marker)' &) ; echo started")], timeout: 60)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "the build does not wait for the background process")
        XCTAssertEqual(try processes(matching: marker), [], "the background process died with the step's sandbox")
    }
}
