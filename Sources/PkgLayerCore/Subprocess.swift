import Foundation

/// Runs helper programs (bwrap, patch, dpkg-query, cc) with `posix_spawn`, not `Foundation.Process`:
///
/// - every descriptor above 2 is closed in the child, so nothing the parent holds open (a socket, a
///   directory of the host) leaks into the sandbox through bwrap, which passes inherited descriptors on;
/// - signal dispositions and the mask are reset, so a build's `yes | head` sees SIGPIPE as usual even if
///   this process ignores it;
/// - the child is spawned from the calling thread, which waits for it. bwrap's `--die-with-parent`
///   uses PR_SET_PDEATHSIG, which fires when the spawning *thread* exits, so a short-lived worker
///   thread would kill the build.
public enum Subprocess {
    public struct Result {
        public var status: ExitStatus
        public var output: [UInt8]
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)
        /// Killed (with everything it started) when its time ran out after `seconds`.
        case timedOut(seconds: Double)

        public var succeeded: Bool { self == .exited(0) }

        public var description: String {
            switch self {
            case .timedOut(let seconds): return "ran too long: killed after \(Int(seconds.rounded())) s"
            case .exited(let code): return "exit code \(code)"
            case .signaled(let signal): return "signal \(signal)\(signal == SIGKILL ? " (SIGKILL)" : signal == SIGTERM ? " (SIGTERM)" : "")"
            }
        }
    }

    /// Finds `name` in `path` (colon-separated); a name with a slash is taken as is.
    public static func which(_ name: String, path: String) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in path.split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            var st = stat()
            if stat(candidate, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    public static var hostPath: String {
        ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    }

    /// The host environment with `LC_ALL=C`, so tools answer in a stable language and format.
    public static var cLocaleEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        env["LANGUAGE"] = nil
        return env
    }

    /// Runs a program to completion, capturing stdout and stderr together.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    outputLimit: Int = 4 << 20) throws -> Result {
        var output: [UInt8] = []
        let status = try run(executable, arguments, environment: environment, pollInterval: nil, onOutput: { chunk in
            if output.count < outputLimit { output.append(contentsOf: chunk.prefix(outputLimit - output.count)) }
        }, onTick: nil)
        return Result(status: status, output: output)
    }

    /// Runs a program, handing its combined stdout/stderr to `onOutput` as it arrives and calling
    /// `onTick` every `pollInterval` seconds while it runs. Returns when the program has exited and its
    /// output is drained.
    ///
    /// `deadline`: when it passes, the program is killed with SIGKILL (bwrap, run with
    /// `--die-with-parent` and its own PID namespace, takes everything it started with it) and the
    /// status is `.timedOut`.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]?,
                    pollInterval: TimeInterval?, deadline: Date? = nil, onOutput: (ArraySlice<UInt8>) throws -> Void,
                    onTick: (() -> Void)?) throws -> ExitStatus {
        guard let resolved = which(executable, path: hostPath) else {
            throw PkgLayerError(.toolMissing, "'\(executable)' was not found in PATH (\(hostPath))", at: executable)
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw PkgLayerError.posix("pipe", path: executable) }
        let readEnd = fds[0], writeEnd = fds[1]
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { if devNull >= 0 { close(devNull) } }

        let pid: pid_t
        do {
            pid = try spawn(resolved, [executable] + arguments, environment: environment ?? ProcessInfo.processInfo.environment,
                            stdin: devNull, stdout: writeEnd, stderr: writeEnd)
        } catch {
            close(readEnd); close(writeEnd)
            throw error
        }
        close(writeEnd)
        defer { close(readEnd) }

        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var lastTick = Date()
        var failure: Error?
        let started = Date()
        var killedAt: Date?
        while true {
            if pollInterval != nil || deadline != nil {
                var wait = 60.0
                if let interval = pollInterval { wait = min(wait, max(0, interval - Date().timeIntervalSince(lastTick))) }
                if let deadline, killedAt == nil { wait = min(wait, max(0, deadline.timeIntervalSinceNow)) }
                if killedAt != nil { wait = min(wait, 1) }
                var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, Int32(wait * 1000 + 1))
                if ready < 0 && errno != EINTR { break }
                if let interval = pollInterval, Date().timeIntervalSince(lastTick) >= interval {
                    lastTick = Date()
                    onTick?()
                }
                if let deadline, killedAt == nil, Date() >= deadline {
                    kill(pid, SIGKILL)
                    killedAt = Date()
                }
                // A killed program's descendants outside a PID namespace may hold the pipe open: stop
                // reading a few seconds after the kill rather than wait for them.
                if let killedAt, Date().timeIntervalSince(killedAt) > 5 { break }
                if ready <= 0 { continue }
            }
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            if n == 0 { break }
            if failure == nil {
                do { try onOutput(buffer[0..<n]) } catch { failure = error }
            }
        }
        let status = try wait(pid)
        if let failure { throw failure }
        if let killedAt { return .timedOut(seconds: killedAt.timeIntervalSince(started)) }
        return status
    }

    public static func wait(_ pid: pid_t) throws -> ExitStatus {
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 {
            if errno != EINTR { Interruption.untrack(child: pid); throw PkgLayerError.posix("waitpid", path: "pid \(pid)") }
        }
        Interruption.untrack(child: pid)
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros that do not import into Swift.
        let termSignal = raw & 0x7f
        if termSignal == 0 { return .exited((raw >> 8) & 0xff) }
        return .signaled(termSignal)
    }

    private static func spawn(_ path: String, _ argv: [String], environment: [String: String],
                              stdin: Int32, stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdin >= 0 { posix_spawn_file_actions_adddup2(&actions, stdin, 0) }
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        closeInheritedDescriptors(&actions)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        sigdelset(&allSignals, SIGKILL)
        sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw PkgLayerError.posix("starting \(argv[0])", path: path, errno: rc) }
        Interruption.track(child: pid)
        return pid
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc 2.34+ has `posix_spawn_file_actions_addclosefrom_np`, which Glibc's Swift module does not
    /// export; look it up at run time. Older C libraries: close every descriptor open right now.
    private static let addCloseFrom: AddCloseFrom? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        if let addCloseFrom, addCloseFrom(&actions, 3) == 0 { return }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for name in names {
            if let fd = Int32(name), fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
    }
}
