import Foundation
import PkgLayerCore

/// A bubblewrap sandbox whose `/` is an image's root file system: how an image's maintainer scripts run
/// (`scripts: run`). Network off, every namespace unshared, a cleared environment, fresh /proc, /dev
/// and /tmp; the rootfs itself is the only writable thing, so what a script changes is exactly what
/// the diff of the rootfs shows. Nothing of the host is visible.
public struct RootfsSandbox: Sendable, Equatable {
    public var rootfs: String
    /// Added to a fixed `PATH`, `LC_ALL=C` and `SOURCE_DATE_EPOCH`.
    public var environment: [String: String]
    public var sourceDateEpoch: SourceDateEpoch
    public var bubblewrap = "bwrap"

    public init(rootfs: String, environment: [String: String] = [:], sourceDateEpoch: SourceDateEpoch) {
        self.rootfs = rootfs; self.environment = environment; self.sourceDateEpoch = sourceDateEpoch
    }

    public var environmentVariables: [String: String] {
        var env = ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "HOME": "/root",
                   "SOURCE_DATE_EPOCH": sourceDateEpoch.description, "TZ": "UTC"]
        env.merge(environment) { _, given in given }
        return env
    }

    /// The bwrap arguments (without the program) that run `command` over the rootfs. Pure.
    public func arguments(for command: [String]) -> [String] {
        var args = ["--unshare-all", "--die-with-parent", "--new-session", "--hostname", Sandbox.hostname, "--clearenv"]
        for (key, value) in environmentVariables.sorted(by: { $0.key < $1.key }) { args += ["--setenv", key, value] }
        args += ["--bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--chdir", "/", "--"]
        return args + command
    }

    /// Whether `path` names something in the rootfs when its symlinks are resolved as the sandbox
    /// resolves them: an absolute target starts again at the rootfs, `..` never climbs above it, at
    /// most 40 links. Every lookup is relative to a directory opened from the rootfs without
    /// following a link, so a planted `etc -> /` cannot make pkglayer look at the host.
    public func contains(_ path: String) -> Bool {
        let rootFD = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return false }
        defer { close(rootFD) }
        var pending = path.split(separator: "/").map(String.init)
        var resolved: [String] = []
        var links = 0
        while !pending.isEmpty {
            let part = pending.removeFirst()
            if part == "." { continue }
            if part == ".." {
                if !resolved.isEmpty { resolved.removeLast() }
                continue
            }
            guard let dirFD = try? SafeDirectory.open(resolved.joined(separator: "/"), beneath: rootFD, create: false, location: rootfs) else {
                return false
            }
            defer { close(dirFD) }
            var st = stat()
            guard fstatat(dirFD, part, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
            if st.st_mode & S_IFMT == S_IFLNK {
                links += 1
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlinkat(dirFD, part, &buffer, buffer.count - 1)
                guard links <= 40, n > 0 else { return false }
                let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if target.hasPrefix("/") { resolved = [] }
                pending = target.split(separator: "/").map(String.init) + pending
            } else {
                resolved.append(part)
            }
        }
        return true
    }

    /// Runs `command`; returns how it ended and its combined output.
    public func run(_ command: [String]) throws -> (exit: SandboxExit, output: String) {
        guard let program = Subprocess.which(bubblewrap, path: Subprocess.hostPath) else {
            throw PkgLayerError(.toolMissing, "bubblewrap ('\(bubblewrap)') is not installed; `scripts: run` needs it. Install it with: apt-get install -y bubblewrap",
                                at: "sandbox")
        }
        var output: [UInt8] = []
        let exit = try Subprocess.run(program, arguments(for: command), environment: [:], pollInterval: nil,
                                        onOutput: { if output.count < 1 << 20 { output.append(contentsOf: $0) } }, onTick: nil)
        return (exit, String(decoding: output, as: UTF8.self))
    }
}
