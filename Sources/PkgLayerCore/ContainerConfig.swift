/// How a container from the image runs: the OCI image config's `config` object, as a recipe's
/// `image.config`, an imported base or a stored image gives it. The OCI room writes it as JSON.
public struct ContainerConfig: Equatable, Sendable {
    public var entrypoint: [String]?
    public var cmd: [String]?
    /// `KEY=value` strings, in the order given.
    public var env: [String]
    public var workingDir: String?
    public var user: String?
    /// `80/tcp`, `53/udp`; a bare number means tcp.
    public var exposedPorts: [String]
    public var volumes: [String]
    public var labels: [String: String]
    public var stopSignal: String?
    public var healthcheck: Healthcheck?

    public init(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workingDir: String? = nil,
                user: String? = nil, exposedPorts: [String] = [], volumes: [String] = [], labels: [String: String] = [:],
                stopSignal: String? = nil, healthcheck: Healthcheck? = nil) {
        self.entrypoint = entrypoint; self.cmd = cmd; self.env = env; self.workingDir = workingDir; self.user = user
        self.exposedPorts = exposedPorts; self.volumes = volumes; self.labels = labels; self.stopSignal = stopSignal
        self.healthcheck = healthcheck
    }

    /// Checks what a runtime would otherwise reject late: env without `=`, bad ports, relative paths.
    public func validate() throws {
        for item in env where !item.contains("=") || item.hasPrefix("=") {
            throw PkgLayerError(.invalidInput, "environment entry '\(item)' must be KEY=value", at: "config.env")
        }
        for port in exposedPorts {
            let parts = port.split(separator: "/", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), let number = Int(parts[0]), (1...65535).contains(number),
                  parts.count == 1 || ["tcp", "udp", "sctp"].contains(parts[1]) else {
                throw PkgLayerError(.invalidInput, "exposed port '\(port)' must be PORT or PORT/tcp|udp|sctp with PORT in 1...65535",
                                    at: "config.exposedPorts")
            }
        }
        for volume in volumes where !volume.hasPrefix("/") {
            throw PkgLayerError(.invalidInput, "volume '\(volume)' must be an absolute path", at: "config.volumes")
        }
        if let dir = workingDir, !dir.hasPrefix("/") {
            throw PkgLayerError(.invalidInput, "working directory '\(dir)' must be an absolute path", at: "config.workingDir")
        }
    }

    /// Exposed ports with their protocol: a bare number means tcp.
    public var normalizedPorts: [String] { exposedPorts.map { $0.contains("/") ? $0 : "\($0)/tcp" } }
}

/// Docker's HEALTHCHECK.
public struct Healthcheck: Equatable, Sendable {
    /// `["CMD", "curl", "-f", "http://localhost/"]`, `["CMD-SHELL", "…"]` or `["NONE"]`.
    public var test: [String]
    public var intervalSeconds: Int64?
    public var timeoutSeconds: Int64?
    public var startPeriodSeconds: Int64?
    public var retries: Int?

    public init(test: [String], intervalSeconds: Int64? = nil, timeoutSeconds: Int64? = nil,
                startPeriodSeconds: Int64? = nil, retries: Int? = nil) {
        self.test = test; self.intervalSeconds = intervalSeconds; self.timeoutSeconds = timeoutSeconds
        self.startPeriodSeconds = startPeriodSeconds; self.retries = retries
    }
}
