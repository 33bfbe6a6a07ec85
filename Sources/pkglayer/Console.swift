import Foundation
import Logging
import PkgLayerCore

/// What a person sees on stderr: the one progress reporter and the log handler, configured from
/// `--verbose`, `--debug` and `--json`.
///
/// - default: notes (`==> make`, `wrote the lockfile …`), transfers (rewritten in place on a terminal,
///   every 10% otherwise), warnings and errors;
/// - `--verbose`: also every stage with its time (`resolve nginx.yml 1.23 s`) and info logs;
/// - `--debug`: also stage starts and the libraries' debug and trace logs (per-file detail);
/// - `--json`: nothing but the JSON on stdout and warnings or errors on stderr.
enum Console {
    enum Verbosity: Int, Comparable {
        case quiet, normal, verbose, debug
        static func < (a: Verbosity, b: Verbosity) -> Bool { a.rawValue < b.rawValue }
    }

    static func configure(verbose: Bool, debug: Bool, json: Bool) {
        let verbosity: Verbosity = debug ? .debug : (verbose ? .verbose : .normal)
        let level: Logger.Level = debug ? .trace : (verbose ? .info : .warning)
        LoggingSystem.bootstrap { label in
            var handler = LineLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        Progress.install(ConsoleReporter(verbosity: json ? .quiet : verbosity, terminal: isatty(2) == 1))
    }

    static func write(_ line: String) {
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Progress on stderr, as `Console` describes.
final class ConsoleReporter: ProgressReporter, @unchecked Sendable {
    // @unchecked: every mutable field is guarded by `lock`; events arrive from the registry's tasks too.
    private let verbosity: Console.Verbosity
    private let terminal: Bool
    private let lock = NSLock()
    /// Per transfer subject: the last decile printed (plain output) or whether a line is open (terminal).
    private var lastDecile: [String: Int] = [:]
    private var openLine = false

    init(verbosity: Console.Verbosity, terminal: Bool) {
        self.verbosity = verbosity
        self.terminal = terminal
    }

    func report(_ event: ProgressEvent) {
        guard verbosity > .quiet else { return }
        lock.lock(); defer { lock.unlock() }
        switch event {
        case .note(let line):
            emit(line)
        case .stageStarted(let stage, let subject):
            if verbosity >= .debug { emit("\(stage) \(subject)…") }
        case .stageFinished(let stage, let subject, let seconds):
            if verbosity >= .verbose { emit("\(stage) \(subject) \(String(format: "%.2f", seconds)) s") }
        case .transfer(let verb, let subject, let bytes, let total, let finished):
            var line = "  \(verb) \(subject)  "
            var decile = -1
            if let total, total > 0 {
                let percent = Int(min(100, bytes * 100 / total))
                decile = percent / 10
                line += "\(percent)% (\(Self.size(bytes)) of \(Self.size(total)))"
            } else {
                line += Self.size(bytes)
            }
            if terminal {
                Console.write("\r\u{1B}[K" + line + (finished ? "\n" : ""))
                openLine = !finished
            } else if finished || decile > lastDecile[subject, default: -1] {
                lastDecile[subject] = finished ? nil : decile
                emit(line)
            }
        }
    }

    /// One whole line, ending a transfer line still open on a terminal.
    private func emit(_ line: String) {
        if openLine { Console.write("\n"); openLine = false }
        Console.write(line + "\n")
    }

    static func size(_ n: UInt64) -> String {
        if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
        if n >= 1 << 10 { return "\(n >> 10) KiB" }
        return "\(n) B"
    }
}

/// `pkglayer: warning: …` lines; debug and trace lines carry the logger's label.
struct LineLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let level = event.level, message = event.message
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        let details = merged.isEmpty ? "" : " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text: String
        switch level {
        case .warning, .error, .critical: text = "pkglayer: \(level == .warning ? "warning" : "error"): \(message)\(details)"
        case .info, .notice: text = "\(message)\(details)"
        case .debug, .trace: text = "[\(label)] \(message)\(details)"
        }
        Console.write(text + "\n")
    }
}
