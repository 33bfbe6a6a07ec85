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
