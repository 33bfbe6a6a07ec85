import Foundation
import PkgLayerTestSupport
import XCTest

/// Generated workflows give untrusted events no write access to the cache and do not fail without
/// secrets (issue 21): a pull request (GitHub) or merge request (GitLab) builds with `--cache-mode read`,
/// and a job without cache credentials (a fork's) skips the login instead of failing. The GitLab lines
/// are run here by a real shell against a stand-in `pkglayer` that records what it is asked.
final class GraphUntrustedEventsTests: XCTestCase {
    /// The YAML single-quoted script lines of a job (`    - '…'`), unquoted.
    private func scriptLines(_ yaml: String) -> [String] {
        yaml.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("    - '"), line.hasSuffix("'") else { return nil }
            return String(line.dropFirst("    - '".count).dropLast()).replacingOccurrences(of: "''", with: "'")
        }
    }

    func testMergeRequestsReadTheCacheAndJobsWithoutSecretsSkipTheLogin() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-graph-untrusted")
        let gitlab = try CLI.ok(["graph", BuildFixtures.recipe("hello.yml"), "--format", "gitlab-ci", "--cache", "registry.example.com/team/cache"]).stdoutText
        let lines = scriptLines(gitlab)
        let login = try XCTUnwrap(lines.first { $0.contains("pkglayer login") }, gitlab)
        let build = try XCTUnwrap(lines.first { $0.contains("pkglayer build") }, gitlab)

        // A stand-in pkglayer: records its arguments; `login` fails, as it would without credentials.
        let bin = try scratch.makeDirectory("bin")
        let record = scratch.path("calls")
        _ = try scratch.write("bin/pkglayer", "#!/bin/sh\necho \"$*\" >> '\(record)'\n[ \"$1\" = login ] && exit 1\nexit 0\n", mode: 0o755)
        func run(_ script: String, _ environment: [String: String]) throws -> ProcessOutput {
            try? FileManager.default.removeItem(atPath: record)
            return try TestProcess.run("/bin/sh", ["-ec", script], environment: ["PATH": "\(bin):/usr/bin:/bin"].merging(environment) { _, new in new })
        }
        func calls() -> String { (try? String(contentsOfFile: record, encoding: .utf8)) ?? "" }

        // A fork's merge request: no password, so no login; the build reads only.
        let fork = try run(login + "\n" + build, ["CI_PIPELINE_SOURCE": "merge_request_event", "PKGLAYER_CACHE_PASSWORD": ""])
        XCTAssertEqual(fork.status, 0, fork.stdoutText + fork.stderrText)
        XCTAssertFalse(calls().contains("login"), calls())
        XCTAssertTrue(calls().contains("--cache registry.example.com/team/cache --cache-mode read\n"), calls())
        // A push to a branch with credentials: login, then read and write.
        let push = try run(login + "\n" + build, ["CI_PIPELINE_SOURCE": "push", "PKGLAYER_CACHE_PASSWORD": "s3cret", "PKGLAYER_CACHE_USER": "ci"])
        XCTAssertNotEqual(push.status, 0, "the stand-in's failing login stops the job")
        XCTAssertTrue(calls().contains("login registry.example.com -u ci --password-stdin"), calls())
        _ = try scratch.write("bin/pkglayer", "#!/bin/sh\necho \"$*\" >> '\(record)'\nexit 0\n", mode: 0o755)
        let pushed = try run(login + "\n" + build, ["CI_PIPELINE_SOURCE": "push", "PKGLAYER_CACHE_PASSWORD": "s3cret", "PKGLAYER_CACHE_USER": "ci"])
        XCTAssertEqual(pushed.status, 0, pushed.stdoutText + pushed.stderrText)
        XCTAssertTrue(calls().contains("--cache-mode readwrite\n"), calls())

        // GitHub: least permissions, pull requests read only, the login guarded the same way.
        let github = try CLI.ok(["graph", BuildFixtures.recipe("hello.yml"), "--format", "github-actions", "--cache", "registry.example.com/team/cache"]).stdoutText
        XCTAssertTrue(github.contains("permissions:\n  contents: read\n"), github)
        XCTAssertTrue(github.contains("--cache-mode ${{ github.event_name == ''pull_request'' && ''read'' || ''readwrite'' }}"), github)
        XCTAssertTrue(github.contains("if [ -n \"$PKGLAYER_CACHE_PASSWORD\" ]; then echo \"$PKGLAYER_CACHE_PASSWORD\" | pkglayer login"), github)
    }
}
