import Foundation
import PkgLayerCore

/// What the runner reports while it works (for stderr lines, `-v`, or a JSON event stream).
public enum BuildEvent: Sendable, Equatable, CustomStringConvertible {
    case stepStarted(label: String)
    /// Sent every `progressInterval` seconds while a step runs.
    case stepRunning(label: String, elapsedSeconds: Int)
    case stepFinished(label: String, elapsedSeconds: Double)

    public var description: String {
        switch self {
        case .stepStarted(let label): return "==> \(label)"
        case .stepRunning(let label, let seconds): return "    \(label) still running (\(seconds) s)"
        case .stepFinished(let label, let seconds): return "    \(label) done in \(String(format: "%.1f", seconds)) s"
        }
    }
}

/// A build step that failed: which one, how, the end of its log and where the whole log is.
public struct BuildStepFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var stepIndex: Int
    public var stepName: String?
    public var label: String
    public var exit: SandboxExit
    /// The last lines this step wrote (at most `BuildRunner.tailLines`).
    public var logTail: [String]
    public var logPath: String
    /// For a step that ran too long: which limit stopped it (`its timeout: 5s`, `build.timeout: 6h`).
    public var limit: String?

    public var description: String { summary(logPath: logPath) }

    /// What failed and how, the end of its output, and where the whole log is (`logPath`: the copy the
    /// user keeps, when there is one).
    public func summary(logPath: String) -> String {
        var text = "build \(label) failed (\(exit))"
        if let limit {
            text = "build \(label) ran too long and was killed with everything it started (\(limit)); raise the step's `timeout:` or `build.timeout` if it needs more time"
        }
        if !logTail.isEmpty {
            text += "\nlast \(logTail.count) lines of its output:\n" + logTail.map { "  | \($0)" }.joined(separator: "\n")
        }
        text += "\nfull log: \(logPath)"
        return text
    }

    /// The same failure as the one error type the command line prints.
    public var asPkgLayerError: PkgLayerError { PkgLayerError(.invalidInput, description, at: label) }
}

/// Runs build steps one after the other, each as `/bin/sh -e -c <step>` in its own bubblewrap
/// invocation of the same `Sandbox` (the source tree, DESTDIR and HOME carry over; /tmp does not).
///
/// Every step's output (stdout and stderr together) is appended to the log file after a header line;
/// with `streamToStderr` it is also copied to stderr as it arrives (`-v`). While a step runs, `onEvent`
/// gets a `stepRunning` event every `progressInterval` seconds. The first failing step stops the build
/// with a `BuildStepFailure`.
public final class BuildRunner {
    public static let tailLines = 20

    public let sandbox: Sandbox
    public let logPath: String
    public var streamToStderr = false
    public var progressInterval: TimeInterval = 10
    /// Defaults to a note per event on the progress reporter.
    public var onEvent: (BuildEvent) -> Void = { Progress.note($0.description) }

    public init(sandbox: Sandbox, logPath: String) {
        self.sandbox = sandbox
        self.logPath = logPath
    }

    /// Runs every step in order; throws `BuildStepFailure` for the first one that fails. `timeout`
    /// bounds all the steps together (a recipe's `build.timeout`); a step's own `timeout` bounds it.
    public func run(_ steps: [BuildStep], timeout: TimeInterval? = nil) throws {
        let buildDeadline = timeout.map { Date().addingTimeInterval($0) }
        for (index, step) in steps.enumerated() {
            try run(step, index: index, count: steps.count, buildDeadline: buildDeadline, buildTimeout: timeout)
        }
    }

    public func run(_ step: BuildStep, index: Int, count: Int, buildDeadline: Date? = nil, buildTimeout: TimeInterval? = nil) throws {
        let label = step.label(index: index, count: count)
        let stepDeadline = step.timeout.map { Date().addingTimeInterval($0) }
        let deadline = [stepDeadline, buildDeadline].compactMap { $0 }.min()
        let limit = stepDeadline != nil && (buildDeadline == nil || stepDeadline! <= buildDeadline!)
            ? "its timeout: \(Self.duration(step.timeout!))" : buildTimeout.map { "build.timeout: \(Self.duration($0))" }
        let log = try LogFile(path: logPath)
        defer { log.close() }
        var header = "\n==== \(label) ====\n"
        header += step.script.split(separator: "\n", omittingEmptySubsequences: false).map { "$ \($0)" }.joined(separator: "\n") + "\n"
        try log.write(Array(header.utf8))
        let stepStart = log.offset

        onEvent(.stepStarted(label: label))
        let started = Date()
        let exit = try Progress.stage(Stage.buildStep, label) {
            try sandbox.run(Sandbox.shell(step.script), tickInterval: progressInterval, deadline: deadline, onOutput: { chunk in
                try log.write(chunk)
                if self.streamToStderr {
                    chunk.withUnsafeBytes { _ = Foundation.write(2, $0.baseAddress, $0.count) }
                }
            }, onTick: {
                self.onEvent(.stepRunning(label: label, elapsedSeconds: Int(Date().timeIntervalSince(started).rounded())))
            })
        }
        let elapsed = Date().timeIntervalSince(started)
        let tail = exit.succeeded ? [] : log.tail(from: stepStart, lines: BuildRunner.tailLines)
        try log.write(Array("==== \(label): \(exit) after \(String(format: "%.1f", elapsed)) s ====\n".utf8))
        guard exit.succeeded else {
            var failure = BuildStepFailure(stepIndex: index, stepName: step.name, label: label, exit: exit, logTail: tail, logPath: logPath)
            if case .timedOut = exit { failure.limit = limit }
            throw failure
        }
        onEvent(.stepFinished(label: label, elapsedSeconds: elapsed))
    }
}

/// The log file, opened for appending.
final class LogFile {
    let path: String
    private var fd: Int32
    private(set) var offset: Int64

    init(path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PkgLayerError.posix("opening the build log", path: path) }
        self.path = path
        offset = Int64(lseek(fd, 0, SEEK_END))
    }

    func write(_ bytes: some Collection<UInt8>) throws {
        let array = Array(bytes)
        var done = 0
        while done < array.count {
            let n = array.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 {
                if errno == EINTR { continue }
                throw PkgLayerError.posix("writing the build log", path: path)
            }
            done += n
        }
        offset += Int64(array.count)
    }

    /// The last `lines` lines written since `start` (at most the last 64 KiB of them).
    func tail(from start: Int64, lines: Int) -> [String] {
        let readFD = open(path, O_RDONLY | O_CLOEXEC)
        guard readFD >= 0 else { return [] }
        defer { Foundation.close(readFD) }
        let from = max(start, offset - 65536)
        let count = Int(offset - from)
        guard count > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        let n = buffer.withUnsafeMutableBytes { pread(readFD, $0.baseAddress, count, off_t(from)) }
        guard n > 0 else { return [] }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        var all = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        while all.last == "" { all.removeLast() }
        return Array(all.suffix(lines))
    }

    func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }
}

extension BuildRunner {
    /// `5s`, `20m`, `2h`, `1h30m` for messages.
    static func duration(_ seconds: TimeInterval) -> String {
        let total = Int(seconds.rounded())
        if total % 3600 == 0 { return "\(total / 3600)h" }
        if total >= 3600 { return "\(total / 3600)h\((total % 3600) / 60)m" }
        if total % 60 == 0 { return "\(total / 60)m" }
        return "\(total)s"
    }
}
