import Foundation
import PkgLayerCore

extension Sandbox {
    /// The bwrap arguments (without the program name) that run `command` in this sandbox.
    /// Pure: it reads nothing from the file system; `HostLayout` carries what was detected.
    public func arguments(for command: [String]) -> [String] {
        var args = ["--unshare-all"]
        if network { args.append("--share-net") }
        args += ["--die-with-parent", "--new-session", "--hostname", Sandbox.hostname]

        args.append("--clearenv")
        for (key, value) in environmentVariables.sorted(by: { $0.key < $1.key }) {
            args += ["--setenv", key, value]
        }

        args += ["--ro-bind", "/usr", "/usr"]
        for entry in host.rootEntries {
            switch entry {
            case .symlink(let name, let target): args += ["--symlink", target, "/\(name)"]
            case .directory(let name): args += ["--ro-bind", "/\(name)", "/\(name)"]
            }
        }
        for path in host.etcPaths { args += ["--ro-bind", path, path] }
        if network {
            for path in host.networkEtcPaths { args += ["--ro-bind", path, path] }
        }
        if let identityDirectory {
            for file in SandboxIdentity.files {
                args += ["--ro-bind", "\(identityDirectory)/\(file.name)", "/etc/\(file.name)"]
            }
        }

        args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]

        args += ["--bind", sourceDirectory, Sandbox.sourceMount]
        if let destdir { args += ["--bind", destdir, Sandbox.destdirMount] }
        if let home {
            args += ["--bind", home, Sandbox.homeMount]
        } else {
            args += ["--tmpfs", Sandbox.homeMount]
        }
        if let depsRoot { args += ["--ro-bind", depsRoot, Sandbox.depsMount] }
        for bind in extraBinds {
            args += [bind.writable ? "--bind" : "--ro-bind", bind.hostPath, bind.sandboxPath]
        }

        // Everything is mounted: make the synthetic root itself read-only, so nothing can be created
        // in /, /etc or /build outside the writable binds (not recursive: the binds keep their modes).
        args += ["--remount-ro", "/"]
        args += ["--chdir", workingDirectory]
        args.append("--")
        args += command
        return args
    }

    /// Host paths the invocation binds; bwrap fails with a terse message when one is missing, so
    /// `run` checks them first.
    var requiredHostPaths: [String] {
        var paths = [sourceDirectory]
        if let destdir { paths.append(destdir) }
        if let home { paths.append(home) }
        if let depsRoot { paths.append(depsRoot) }
        if let identityDirectory { paths += SandboxIdentity.files.map { "\(identityDirectory)/\($0.name)" } }
        paths += extraBinds.map(\.hostPath)
        return paths
    }

    /// The bwrap program, or a `.toolMissing` error with the apt-get command that installs it.
    public func locateBubblewrap() throws -> String {
        guard let path = Subprocess.which(bubblewrap, path: Subprocess.hostPath) else {
            throw PkgLayerError(.toolMissing, "bubblewrap ('\(bubblewrap)') is not installed; builds run in its sandbox. Install it with: apt-get install -y bubblewrap",
                                at: "sandbox")
        }
        return path
    }

    /// Runs `command` in the sandbox. Output (stdout and stderr together) goes to `onOutput` as it
    /// arrives; `onTick` is called every `tickInterval` seconds while it runs.
    /// `deadline`: when it passes, bwrap is killed, and with it (PID namespace, `--die-with-parent`)
    /// every process the command started; the exit is `.timedOut`.
    public func run(_ command: [String], tickInterval: TimeInterval? = nil, deadline: Date? = nil,
                    onOutput: (ArraySlice<UInt8>) throws -> Void, onTick: (() -> Void)? = nil) throws -> SandboxExit {
        if !isolated {
            // --sandbox none: the host's own shell, in the workspace, with the sandbox's environment.
            let environment = environmentVariables.mapValues(hostPath)
            return try Subprocess.run("/bin/sh", ["-c", "cd \"$1\" && shift && exec \"$@\"", "sh", hostPath(workingDirectory)] + command,
                                      environment: environment, pollInterval: tickInterval, deadline: deadline,
                                      onOutput: onOutput, onTick: onTick)
        }
        let program = try locateBubblewrap()
        for path in requiredHostPaths where access(path, F_OK) != 0 {
            throw PkgLayerError(.io, "the sandbox needs this host path, which does not exist", at: path)
        }
        return try Subprocess.run(program, arguments(for: command), environment: [:],
                                  pollInterval: tickInterval, deadline: deadline, onOutput: onOutput, onTick: onTick)
    }

    /// Runs `command` and returns its exit and combined output (for short commands such as `patch`).
    public func capture(_ command: [String]) throws -> (exit: SandboxExit, output: String) {
        var output: [UInt8] = []
        let exit = try run(command, onOutput: { output.append(contentsOf: $0) })
        return (exit, String(decoding: output, as: UTF8.self))
    }

    /// Checks that bubblewrap can create this sandbox here (user namespaces allowed, paths present) by
    /// running `/bin/true` in it; the error carries bwrap's own message.
    public func selfTest() throws {
        guard isolated else { return }
        let result = try capture(["/bin/true"])
        guard result.exit == .exited(0) else {
            throw PkgLayerError(.sandboxUnavailable, """
                bubblewrap cannot create the build sandbox here (\(result.exit)): \
                \(result.output.trimmingCharacters(in: .whitespacesAndNewlines)). \
                Build steps run only in a sandbox with its own namespaces, and this machine (often a CI container \
                whose seccomp profile or namespace limits block them) does not allow creating them. Choices: \
                run the container with --privileged, or with --security-opt seccomp=unconfined and \
                --security-opt apparmor=unconfined; use a VM runner; allow unprivileged user namespaces \
                (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0); or build without \
                isolation with --sandbox none, which warns and is recorded in the cache key and the packages
                """, at: "sandbox")
        }
    }
}

/// How a sandboxed command ended: the same value Subprocess reports for any program.
public typealias SandboxExit = Subprocess.ExitStatus
