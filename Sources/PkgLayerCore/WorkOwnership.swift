import Foundation

/// Work directories and temporary files carry their owner in their name, so a run killed with
/// SIGKILL (which no `defer` or `deinit` survives) leaves litter that the next run recognises as dead
/// and removes, while a live run's work is never touched.
///
/// The owner tag is `pkl<pid>.<start>`: the process id and its start time in clock ticks since boot
/// (`/proc/PID/stat`, field 22), so a recycled pid never makes a dead run look alive. Every name pkglayer
/// makes for work ends in `-pkl<pid>.<start>-XXXXXX` (mkdtemp/mkstemp's six characters):
/// `pkglayer-package-pkl4242.918273-a1B2c3`, `.nginx_1.22.1-1_amd64.deb.tmp-pkl4242.918273-Zz9yX8`.
public enum WorkOwnership {
    /// This process's tag.
    public static let tag: String = "pkl\(getpid()).\(startTime(of: getpid()) ?? 0)"

    /// `pid`'s start time in clock ticks since boot, or nil when there is no such process.
    public static func startTime(of pid: pid_t) -> UInt64? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"),
              let text = String(data: data, encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name: state (3) is the first; starttime (22) is the 20th.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    /// Whether the run that made a name with this tag is still running.
    public static func isAlive(pid: pid_t, start: UInt64) -> Bool {
        guard pid > 0 else { return false }
        if kill(pid, 0) != 0 && errno == ESRCH { return false }
        // The pid exists; it is our owner only if it started when the tag says.
        guard let now = startTime(of: pid) else { return false }
        return now == start
    }

    /// The owner parsed from a name made with `tag`, or nil when the name carries none.
    public static func owner(of name: String) -> (pid: pid_t, start: UInt64)? {
        // …-pkl<pid>.<start>-XXXXXX
        let parts = name.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[parts.count - 1].count == 6 else { return nil }
        let tag = parts[parts.count - 2]
        guard tag.hasPrefix("pkl") else { return nil }
        let numbers = tag.dropFirst(3).split(separator: ".")
        guard numbers.count == 2, let pid = pid_t(numbers[0]), let start = UInt64(numbers[1]) else { return nil }
        return (pid, start)
    }

    /// Removes, in `directory`, every entry whose name carries the tag of a run that is no longer
    /// alive (directories with everything in them). Entries without a tag, and live runs' entries,
    /// are left alone. Returns the names removed.
    @discardableResult
    public static func sweep(_ directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        var removed: [String] = []
        for name in names where name.contains("-pkl") {
            guard let owner = owner(of: name), !isAlive(pid: owner.pid, start: owner.start) else { continue }
            // Kept on purpose (--keep-work-dir): the user will look at it; theirs to remove.
            let path = (directory as NSString).appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent(keptMarker)) { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil {
                removed.append(name)
            }
        }
        return removed
    }

    /// Sweeps `directory` the first time this process asks, so a directory of many files (a blob
    /// store, an output folder) is read once per run, not once per file written.
    public static func sweepOnce(_ directory: String) {
        let key = (directory as NSString).standardizingPath
        sweptLock.lock()
        let first = swept.insert(key).inserted
        sweptLock.unlock()
        if first { sweep(directory) }
    }

    private static let sweptLock = NSLock()
    // nonisolated(unsafe): read and written only under `sweptLock`.
    nonisolated(unsafe) private static var swept = Set<String>()

    /// The file that marks a work directory kept on purpose (`Interruption.keep`): sweeps leave it.
    public static let keptMarker = ".pkglayer-kept"

    /// A new directory `<parent>/<prefix>-<tag>-XXXXXX` (mode 0700), after sweeping `parent` of dead runs' work.
    public static func makeDirectory(in parent: String, prefix: String) throws -> String {
        sweepOnce(parent)
        var template = Array("\(parent)/\(prefix)-\(tag)-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw PkgLayerError.posix("creating a work directory", path: parent)
        }
        let path = String(cString: template)
        Interruption.track(path: path)
        return path
    }

    /// A new file `<directory>/<prefix>-<tag>-XXXXXX`, open for writing, after sweeping `directory`.
    public static func makeFile(in directory: String, prefix: String) throws -> (fd: Int32, path: String) {
        sweepOnce(directory)
        var template = Array("\(directory)/\(prefix)-\(tag)-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw PkgLayerError.posix("creating a temporary file", path: directory) }
        let path = String(cString: template)
        Interruption.track(path: path)
        return (fd, path)
    }
}
