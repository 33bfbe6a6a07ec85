import Foundation

/// An image unpacked by `umoci unpack` and run by `runc run`: the real consumer of an OCI image here.
public struct RuncBundle {
    public let path: String
    public var rootfs: String { "\(path)/rootfs" }
    public var configPath: String { "\(path)/config.json" }

    /// A bundle `umoci unpack` made.
    public init(path: String) { self.path = path }

    /// `umoci unpack --image LAYOUT:TAG BUNDLE`.
    public static func unpack(layout: String, tag: String, into bundle: String) throws -> RuncBundle {
        try TestProcess.runChecked("umoci", ["unpack", "--image", "\(layout):\(tag)", bundle])
        return RuncBundle(path: bundle)
    }

    /// Docker's default capability set: what nginx and most daemons need (umoci grants only three).
    public static let dockerDefaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// Edits the runtime config: no terminal, optionally other args, Docker's capabilities, the host's
    /// network namespace (so a server is reachable on 127.0.0.1) and no user namespace.
    public func configure(args: [String]? = nil, dockerCapabilities: Bool = false, hostNetwork: Bool = false) throws {
        var runtime = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        var process = runtime["process"] as! [String: Any]
        process["terminal"] = false
        if let args { process["args"] = args }
        if dockerCapabilities {
            let caps = Self.dockerDefaultCapabilities
            process["capabilities"] = ["bounding": caps, "effective": caps, "permitted": caps]
        }
        runtime["process"] = process
        var linux = runtime["linux"] as? [String: Any] ?? [:]
        if hostNetwork || dockerCapabilities {
            var namespaces = linux["namespaces"] as? [[String: Any]] ?? []
            namespaces.removeAll { ns in
                let type = ns["type"] as? String
                return (hostNetwork && type == "network") || (dockerCapabilities && type == "user")
            }
            linux["namespaces"] = namespaces
            if dockerCapabilities {
                linux["uidMappings"] = nil
                linux["gidMappings"] = nil
            }
            runtime["linux"] = linux
        }
        try JSONSerialization.data(withJSONObject: runtime).write(to: URL(fileURLWithPath: configPath))
    }

    /// `runc run` to completion.
    public func run() throws -> ProcessOutput {
        let id = "pkglayer-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = try? TestProcess.run("runc", ["delete", "-f", id]) }
        return try TestProcess.run("runc", ["run", "--bundle", path, id])
    }

    /// The container's stdout and stderr when started with ``start()``.
    public var logPath: String { "\(path)/container.log" }

    /// `runc run --detach`; the returned closure kills and deletes the container. The container's output
    /// goes to ``logPath`` (a detached container keeps its stdio open, so it cannot be a pipe we wait on).
    public func start() throws -> (id: String, stop: () -> Void) {
        let id = "pkglayer-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let out = try TestProcess.run("/bin/sh", ["-c", "exec runc run --detach --bundle \"$1\" \"$2\" </dev/null >\"$3\" 2>&1", "sh", path, id, logPath])
        guard out.succeeded else {
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw ProcessFailure(command: ["runc", "run", "--detach", path], output: ProcessOutput(status: out.status, stdout: out.stdout, stderr: Data(log.utf8)))
        }
        return (id, {
            _ = try? TestProcess.run("runc", ["kill", id, "KILL"])
            for _ in 0..<50 {
                if (try? TestProcess.run("runc", ["delete", id]))?.succeeded == true { return }
                usleep(100_000)
            }
            _ = try? TestProcess.run("runc", ["delete", "-f", id])
        })
    }
}
