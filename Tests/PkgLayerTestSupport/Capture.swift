import Foundation
import Logging
import PkgLayerCore

/// What the libraries reported while a closure ran: progress notes (through `Progress`) and log lines
/// (through swift-log, warnings and up by default), so tests can assert on them without a terminal.
public enum Captured {
    private final class Buffer: @unchecked Sendable {
        // @unchecked: guarded by `lock`.
        let lock = NSLock()
        var lines: [String] = []
        var active = false
        func append(_ line: String) { lock.lock(); if active { lines.append(line) }; lock.unlock() }
    }

    private struct Reporter: ProgressReporter {
        let buffer: Buffer
        func report(_ event: ProgressEvent) {
            if case .note(let line) = event { buffer.append(line) }
        }
    }

    private struct Handler: LogHandler {
        let buffer: Buffer
        var logLevel: Logger.Level = .warning
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            buffer.append(event.level >= .warning ? "warning: \(event.message)" : "\(event.message)")
        }
    }

    private static let buffer = Buffer()
    /// swift-log may be bootstrapped once per process: the first capture does it for every test.
    private static let bootstrap: Void = {
        LoggingSystem.bootstrap { _ in Handler(buffer: buffer) }
    }()

    /// Runs `body` and returns its result with the notes and warnings reported meanwhile, in order.
    public static func lines<T>(_ body: () throws -> T) rethrows -> (T, [String]) {
        _ = bootstrap
        let previous = Progress.reporter
        Progress.install(Reporter(buffer: buffer))
        buffer.lock.lock(); buffer.lines = []; buffer.active = true; buffer.lock.unlock()
        defer {
            buffer.lock.lock(); buffer.active = false; buffer.lock.unlock()
            Progress.install(previous)
        }
        let result = try body()
        buffer.lock.lock(); let lines = buffer.lines; buffer.lock.unlock()
        return (result, lines)
    }
}
