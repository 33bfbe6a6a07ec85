import Foundation
import PkgLayerCore
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerBuild

/// Paths and helpers shared by the Build room's tests.
enum BuildFixtures {
    /// `<repo>` (this file is `<repo>/Tests/PkgLayerBuildTests/BuildTestSupport.swift`).
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `<repo>/../shared/sources`: the upstream tarballs, byte-identical, with SHA256SUMS.
    static let sharedSources: String = URL(fileURLWithPath: repository).deletingLastPathComponent()
        .appendingPathComponent("shared/sources").standardizedFileURL.path

    static let helloName = "hello-2.10.tar.gz"
    static let helloURL = "https://ftp.gnu.org/gnu/hello/hello-2.10.tar.gz"
    static let helloSHA256 = "31e066137a962676e89f69d1b65382de95a7ef7d914b8cb956f41ea72e0f516b"
    static var helloPath: String { "\(sharedSources)/\(helloName)" }

    static let epoch = SourceDateEpoch(1_700_000_000)

    /// The path of one tarball in the shared sources (hello's by default), required like a tool.
    @discardableResult
    static func requireSharedSource(_ name: String = helloName, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let path = "\(sharedSources)/\(name)"
        try requireFixture(path, what: "\(name) in the shared sources", fix: "put the shared source tarballs in <repo>/../shared/sources",
                           file: file, line: line)
        return path
    }

    /// bwrap, and a sandbox it can make here (user namespaces), checked once with the sandbox's own self-test.
    static func requireSandbox(file: StaticString = #filePath, line: UInt = #line) throws {
        try requireTool("bwrap", file: file, line: line)
        try requireCondition(sandboxProblem == nil, sandboxProblem ?? "", file: file, line: line)
    }

    private static let sandboxProblem: String? = {
        do {
            let workspace = try BuildWorkspace()
            try withExtendedLifetime(workspace) { try workspace.sandbox(sourceDateEpoch: epoch).selfTest() }
            return nil
        } catch {
            return "\(error)"
        }
    }()

    static func python3() throws -> String {
        try requireTool("python3")
        return TestProcess.which("python3")!
    }

    /// Runs a python3 snippet (used to build hostile tarballs with arbitrary member names).
    static func python(_ script: String, _ arguments: [String] = []) throws {
        let result = try Subprocess.run(try python3(), ["-c", script] + arguments)
        guard result.status.succeeded else { throw PkgLayerError(.io, "python3 failed: \(result.text)") }
    }

    static func write(_ text: String, to path: String, mode: mode_t = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    static func read(_ path: String) -> String? {
        (try? Data(contentsOf: URL(fileURLWithPath: path))).map { String(decoding: $0, as: UTF8.self) }
    }

    static func randomToken() -> String {
        (0..<16).map { _ in String("abcdefghijklmnopqrstuvwxyz0123456789".randomElement()!) }.joined()
    }

    /// Files left in a directory, recursively, as relative paths (for "nothing left behind" checks).
    static func contents(of directory: String) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        return walker.compactMap { $0 as? String }.sorted()
    }
}

/// A helper process started by a test and killed when the test is done.
// @unchecked Sendable: the output buffer is only touched under its lock (the pipe handler runs on another thread).
final class BackgroundProcess: @unchecked Sendable {
    let process = Process()
    private let output = Pipe()
    private var buffer = Data()
    private let lock = NSLock()

    init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = output
        process.standardError = output
        output.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard let self, !data.isEmpty else { return }
            self.lock.lock()
            self.buffer.append(data)
            self.lock.unlock()
        }
        try process.run()
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Waits until the output matches `pattern` (a regular expression) and returns the first capture group.
    func waitFor(_ pattern: String, timeout: TimeInterval = 20) throws -> String {
        let regex = try NSRegularExpression(pattern: pattern)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let current = text
            if let match = regex.firstMatch(in: current, range: NSRange(current.startIndex..., in: current)),
               match.numberOfRanges > 1, let range = Range(match.range(at: 1), in: current) {
                return String(current[range])
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw PkgLayerError(.io, "helper process did not print /\(pattern)/; it printed: \(text)")
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        output.fileHandleForReading.readabilityHandler = nil
    }

    deinit { stop() }
}

/// A TCP server on 127.0.0.1 (outside any sandbox) that records every connection it accepts.
final class LoopbackServer {
    let helper: BackgroundProcess
    let port: Int

    init() throws {
        let script = """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        print("PORT %d" % s.getsockname()[1], flush=True)
        while True:
            c, addr = s.accept()
            print("CONNECTED from %s" % (addr,), flush=True)
            c.sendall(b"hello-from-the-host\\n")
            c.close()
        """
        helper = try BackgroundProcess(try BuildFixtures.python3(), ["-u", "-c", script])
        port = Int(try helper.waitFor("PORT (\\d+)"))!
    }

    /// Whether any client connected so far.
    var sawConnection: Bool { helper.text.contains("CONNECTED") }

    func stop() { helper.stop() }
}

/// Collects runner events instead of printing them.
// @unchecked Sendable: the runner calls back on the thread that runs it, and the test reads after the run.
final class EventLog: @unchecked Sendable {
    private(set) var events: [BuildEvent] = []
    func record(_ event: BuildEvent) { events.append(event) }
}

extension XCTestCase {
    /// Asserts that `body` throws a `PkgLayerError` and returns it.
    func expectPkgLayerError(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> PkgLayerError? {
        do {
            try body()
            XCTFail("expected an error", file: file, line: line)
            return nil
        } catch let error as PkgLayerError {
            return error
        } catch {
            XCTFail("expected a PkgLayerError, got \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
    }

    /// Asserts that `body` throws a `BuildStepFailure` and returns it.
    func expectStepFailure(_ body: () throws -> Void, file: StaticString = #filePath, line: UInt = #line) -> BuildStepFailure? {
        do {
            try body()
            XCTFail("expected the step to fail", file: file, line: line)
            return nil
        } catch let failure as BuildStepFailure {
            return failure
        } catch {
            XCTFail("expected a BuildStepFailure, got \(type(of: error)): \(error)", file: file, line: line)
            return nil
        }
    }
}
