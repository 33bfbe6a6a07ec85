import Dispatch
import Foundation

/// What happens on SIGINT and SIGTERM: pkglayer stops the programs it started, removes the work
/// directories and temporary files it made (every one carries its owner tag, see `WorkOwnership`), says
/// "interrupted" and exits 130 (SIGINT) or 143 (SIGTERM), as a shell reports a command killed by them.
/// Directories kept on purpose (`--keep-work-dir`, `--debug-workspace`) are left, and the next run's
/// sweep leaves them alone too. Logs written to their final place (a build's step log) stay.
///
/// Only the executable calls `install()`; the libraries only record what they make (`track`).
public enum Interruption {
    private static let lock = NSLock()
    // nonisolated(unsafe): each read and written only under `lock`.
    nonisolated(unsafe) private static var paths: [String] = []
    nonisolated(unsafe) private static var children: Set<pid_t> = []
    nonisolated(unsafe) private static var kept: Set<String> = []
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []
    nonisolated(unsafe) private static var signalled: Int32 = 0

    /// The signal being handled, once one has arrived (0 before).
    public static var signal: Int32 { lock.lock(); defer { lock.unlock() }; return signalled }

    /// Called where the executable would report an error or exit: while an interrupt is being handled, the
    /// failures it causes (a child stopped by it) are not errors to report; the handler exits the process.
    public static func parkIfInterrupted() {
        guard signal != 0 else { return }
        while true { pause() }
    }

    /// Remembers a work directory or temporary file this run made, to remove on an interrupt. A path that
    /// is gone by then (renamed into place, or removed by its owner) is skipped.
    public static func track(path: String) {
        lock.lock(); paths.append(path); lock.unlock()
    }

    /// A work directory kept on purpose: not removed on an interrupt, and marked so that no later run's
    /// sweep removes it (`WorkOwnership.keptMarker`).
    public static func keep(path: String) {
        lock.lock(); kept.insert(path); lock.unlock()
        FileManager.default.createFile(atPath: (path as NSString).appendingPathComponent(WorkOwnership.keptMarker), contents: Data())
    }

    /// A child process while it runs (`Subprocess` adds and removes its own).
    public static func track(child pid: pid_t) {
        lock.lock(); children.insert(pid); lock.unlock()
    }

    public static func untrack(child pid: pid_t) {
        lock.lock(); children.remove(pid); lock.unlock()
    }

    /// Installs the SIGINT/SIGTERM handling (once, from the executable). `message` is written to stderr
    /// when a signal arrives, before the clean-up.
    public static func install(message: @escaping @Sendable (Int32) -> String = { "pkglayer: interrupted (\($0 == SIGINT ? "SIGINT" : "SIGTERM")); work files removed\n" }) {
        lock.lock()
        defer { lock.unlock() }
        guard sources.isEmpty else { return }
        let queue = DispatchQueue(label: "pkglayer.interruption")
        for signal in [SIGINT, SIGTERM] {
            // The disposition is ignored so the dispatch source alone sees the signal; children get
            // default dispositions back (Subprocess spawns with POSIX_SPAWN_SETSIGDEF).
            _ = Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler {
                lock.lock(); signalled = signal; lock.unlock()
                let text = message(signal)
                text.withCString { _ = write(2, $0, strlen($0)) }
                cleanUp()
                _exit(128 + signal)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Stops the children (SIGTERM, then SIGKILL after two seconds), reaps them, and removes the
    /// tracked paths that still exist, newest first.
    static func cleanUp() {
        lock.lock()
        let running = children
        let made = paths
        let keep = kept
        lock.unlock()
        for pid in running { kill(pid, SIGTERM) }
        let deadline = Date().addingTimeInterval(2)
        var left = running
        while !left.isEmpty {
            for pid in left {
                var status: Int32 = 0
                let rc = waitpid(pid, &status, WNOHANG)
                if rc == pid || (rc < 0 && errno == ECHILD) { left.remove(pid) }
            }
            if left.isEmpty { break }
            if Date() >= deadline {
                for pid in left { kill(pid, SIGKILL); var status: Int32 = 0; _ = waitpid(pid, &status, 0) }
                break
            }
            usleep(20_000)
        }
        // A sandbox's processes die with bwrap (--die-with-parent), a moment after it: a tree that is still
        // being written to may need a second pass.
        var pending = made.reversed().filter { !keep.contains($0) }
        for attempt in 0..<20 where !pending.isEmpty {
            if attempt > 0 { usleep(100_000) }
            pending = pending.filter { path in
                var st = stat()
                guard lstat(path, &st) == 0 else { return false }
                try? FileManager.default.removeItem(atPath: path)
                return lstat(path, &st) == 0
            }
        }
    }
}
