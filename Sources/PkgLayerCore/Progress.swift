import Foundation

/// What long work reports while it runs: the stages a command goes through (resolve, fetch, build
/// step, package, layer, push) with their timings, byte transfers (source downloads, blob uploads),
/// and the few lines a user always sees (a build step starting, a lockfile written).
///
/// Libraries never print: they report here, and the executable decides what a person sees (live lines
/// on a terminal, plain lines otherwise, nothing but the JSON result with `--json`). Diagnostics go
/// through swift-log instead, at debug and trace.
public enum ProgressEvent: Sendable, Equatable {
    /// A line a user sees at the default verbosity (`==> make`, `wrote the lockfile …`).
    case note(String)
    /// A stage began: `stage` is one of `Stage`'s names, `subject` what it works on.
    case stageStarted(stage: String, subject: String)
    /// A stage ended after `seconds`.
    case stageFinished(stage: String, subject: String, seconds: Double)
    /// Bytes moved for `subject` (a file name, a blob digest); `total` nil when unknown.
    case transfer(verb: String, subject: String, bytes: UInt64, total: UInt64?, finished: Bool)
}

/// The stage names reporters and `--verbose` use.
public enum Stage {
    public static let resolve = "resolve"
    public static let fetch = "fetch"
    public static let buildStep = "build step"
    public static let package = "package"
    public static let layer = "layer"
    public static let image = "image"
    public static let push = "push"
    public static let pull = "pull"
    public static let sign = "sign"
    public static let publish = "publish"
}

/// Receives progress. The executable installs one with `Progress.install`; tests may install their own.
public protocol ProgressReporter: Sendable {
    func report(_ event: ProgressEvent)
}

/// Plain lines on stderr: notes and finished transfers, no stages. The default when nothing else is
/// installed (a library used on its own prints what the command line printed before it had a reporter).
public struct PlainProgressReporter: ProgressReporter {
    public init() {}
    public func report(_ event: ProgressEvent) {
        switch event {
        case .note(let line): FileHandle.standardError.write(Data((line + "\n").utf8))
        default: break
        }
    }
}

/// The process's one progress reporter.
public enum Progress {
    /// Guarded by `lock`: set once by the executable before work starts, read from any thread.
    // nonisolated(unsafe): read and written only under `lock`.
    private nonisolated(unsafe) static var current: any ProgressReporter = PlainProgressReporter()
    private static let lock = NSLock()

    /// Makes `reporter` the one every room reports to.
    public static func install(_ reporter: any ProgressReporter) {
        lock.lock(); defer { lock.unlock() }
        current = reporter
    }

    public static var reporter: any ProgressReporter {
        lock.lock(); defer { lock.unlock() }
        return current
    }

    public static func report(_ event: ProgressEvent) { reporter.report(event) }

    /// A line the user sees at the default verbosity.
    public static func note(_ line: String) { report(.note(line)) }

    /// Runs `body` as one stage: reports its start and, when it returns or throws, its time.
    @discardableResult
    public static func stage<T>(_ stage: String, _ subject: String, _ body: () throws -> T) rethrows -> T {
        let timer = StageTimer(stage: stage, subject: subject)
        defer { timer.finish() }
        return try body()
    }

    /// The async form, for the registry's transfers.
    @discardableResult
    public static func stage<T>(_ stage: String, _ subject: String, _ body: () async throws -> T) async rethrows -> T {
        let timer = StageTimer(stage: stage, subject: subject)
        defer { timer.finish() }
        return try await body()
    }

    /// One stage's start report and clock.
    private struct StageTimer {
        let stage: String, subject: String
        let reporter = Progress.reporter
        let started = DispatchTime.now().uptimeNanoseconds

        init(stage: String, subject: String) {
            self.stage = stage; self.subject = subject
            reporter.report(.stageStarted(stage: stage, subject: subject))
        }

        func finish() {
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            reporter.report(.stageFinished(stage: stage, subject: subject, seconds: seconds))
        }
    }
}
