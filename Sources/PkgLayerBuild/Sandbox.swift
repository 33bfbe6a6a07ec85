import Foundation
import PkgLayerCore

/// The sandbox a build step runs in, as a value: which host directories appear where, which
/// environment variables are set, whether the network is shared. `arguments(for:)` turns it into a
/// bubblewrap command line with a pure function (no file-system access), so the exact invocation is
/// unit-tested; `run` executes it.
///
/// Inside:
/// - a fresh root (bwrap's tmpfs) remounted read-only once everything is in place;
/// - the host's `/usr` read-only, with `/bin`, `/lib`, … recreated as on the host (symlinks into usr on
///   merged-usr Debian), and only the `/etc` files a toolchain reads (`HostLayout.etcPaths`), plus a
///   synthetic passwd/group/hosts/nsswitch.conf (`SandboxIdentity`);
/// - `/proc`, a minimal `/dev`, a fresh tmpfs `/tmp`;
/// - writable: the source tree at `/build/src` (the working directory), DESTDIR at `/build/destdir`,
///   HOME at `/build/home`; read-only: build dependencies at `/build/deps`;
/// - every namespace unshared: only a loopback interface, unless `network` is true (`--share-net`);
/// - the environment cleared, then only `environmentVariables` set.
/// The host's home, `/root`, `/work`, the project and everything else are simply not there.
public struct Sandbox: Sendable, Equatable {
    public static let sourceMount = "/build/src"
    public static let destdirMount = "/build/destdir"
    public static let depsMount = "/build/deps"
    public static let homeMount = "/build/home"
    public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"
    public static let hostname = "pkglayer"

    /// An additional host path made visible in the sandbox.
    public struct Bind: Sendable, Equatable {
        public var hostPath: String
        public var sandboxPath: String
        public var writable: Bool
        public init(hostPath: String, sandboxPath: String, writable: Bool = false) {
            self.hostPath = hostPath
            self.sandboxPath = sandboxPath
            self.writable = writable
        }
    }

    /// Host directory bound writable at `/build/src`.
    public var sourceDirectory: String
    /// Host directory bound writable at `/build/destdir`; nil: not mounted.
    public var destdir: String?
    /// Host directory bound writable at `/build/home` (kept across steps); nil: a tmpfs per command.
    public var home: String?
    /// Host directory with build dependencies installed as a sysroot, bound read-only at `/build/deps`.
    public var depsRoot: String?
    /// Host directory holding the synthetic `passwd`, `group`, `hosts` and `nsswitch.conf`
    /// (`SandboxIdentity.write`); nil: none (name lookups fail).
    public var identityDirectory: String?
    public var extraBinds: [Bind]
    /// Where commands start (`--chdir`).
    public var workingDirectory: String
    /// false only for `--sandbox none`: steps run as plain host processes, with the sandbox's
    /// environment and the workspace's host paths in place of its mounts.
    public var isolated = true
    /// Shares the host's network namespace. Off by default; the caller warns when it is on.
    public var network: Bool
    /// The recipe's variables. They override the defaults; for the path and flag variables that
    /// `depsRoot` sets, the recipe's value is appended to the dependency one.
    public var environment: [String: String]
    public var sourceDateEpoch: SourceDateEpoch
    public var host: HostLayout
    /// The bwrap program (looked up in the host PATH when it has no slash).
    public var bubblewrap: String

    public init(sourceDirectory: String, destdir: String? = nil, home: String? = nil, depsRoot: String? = nil,
                identityDirectory: String? = nil, extraBinds: [Bind] = [], workingDirectory: String = Sandbox.sourceMount,
                network: Bool = false, environment: [String: String] = [:], sourceDateEpoch: SourceDateEpoch,
                host: HostLayout = .detect(), bubblewrap: String = "bwrap") {
        self.sourceDirectory = sourceDirectory
        self.destdir = destdir
        self.home = home
        self.depsRoot = depsRoot
        self.identityDirectory = identityDirectory
        self.extraBinds = extraBinds
        self.workingDirectory = workingDirectory
        self.network = network
        self.environment = environment
        self.sourceDateEpoch = sourceDateEpoch
        self.host = host
        self.bubblewrap = bubblewrap
    }

    /// Everything set inside the sandbox, and nothing else:
    /// PATH, HOME, SOURCE_DATE_EPOCH, LC_ALL=C.UTF-8, TZ=UTC, the build-dependency hints when `depsRoot`
    /// is set (`BuildDependencySysroot.environment`), then the recipe's variables.
    public var environmentVariables: [String: String] {
        var env: [String: String] = [
            "PATH": Sandbox.defaultPath,
            "HOME": Sandbox.homeMount,
            "SOURCE_DATE_EPOCH": String(sourceDateEpoch.seconds),
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
        ]
        var joinable: [String: String] = [:]
        if depsRoot != nil {
            for (key, value) in BuildDependencySysroot.environment(multiarchTriplet: host.multiarchTriplet) {
                env[key] = value
                joinable[key] = BuildDependencySysroot.separator(for: key)
            }
        }
        for (key, value) in environment {
            if let separator = joinable[key], let existing = env[key], !value.isEmpty {
                env[key] = existing + separator + value
            } else {
                env[key] = value
            }
        }
        return env
    }

    /// A sandbox path (`/build/src/x`) as the host path it is bound from; for `--sandbox none`.
    public func hostPath(_ path: String) -> String {
        var pairs: [(String, String)] = [(Sandbox.sourceMount, sourceDirectory)]
        if let destdir { pairs.append((Sandbox.destdirMount, destdir)) }
        if let home { pairs.append((Sandbox.homeMount, home)) }
        if let depsRoot { pairs.append((Sandbox.depsMount, depsRoot)) }
        var result = path
        for (mount, host) in pairs { result = result.replacingOccurrences(of: mount, with: host) }
        return result
    }

    /// What the caller should print before running: the network warning when it is on.
    public var warnings: [String] {
        network ? ["the build has network access (network: true): its result may depend on what it downloads and is not guaranteed reproducible"] : []
    }

    /// The command that runs a build step: `/bin/sh -e -c <script>`, under umask 022 whatever the
    /// caller's umask: `make install` creates directories with the umask, and the packages must not
    /// depend on the shell pkglayer was started from.
    public static func shell(_ script: String) -> [String] { ["/bin/sh", "-e", "-c", "umask 022\n" + script] }
}

/// What the host's root looks like, detected once: which top-level names are symlinks into `/usr`
/// (merged-usr) or real directories, and which `/etc` files exist. Kept in the `Sandbox` value so the
/// argument builder stays pure.
public struct HostLayout: Sendable, Equatable {
    public enum RootEntry: Sendable, Equatable {
        /// `/bin -> usr/bin` on merged-usr systems: recreated with `--symlink`.
        case symlink(name: String, target: String)
        /// A real top-level directory (a non-merged system): bound read-only.
        case directory(name: String)
    }

    public var rootEntries: [RootEntry]
    /// Host `/etc` paths always bound read-only (the dynamic linker's cache and config, alternatives).
    public var etcPaths: [String]
    /// Host `/etc` paths bound read-only only when the network is shared (DNS, CA certificates).
    public var networkEtcPaths: [String]
    /// `x86_64-linux-gnu` on Debian amd64; nil when unknown.
    public var multiarchTriplet: String?

    public init(rootEntries: [RootEntry], etcPaths: [String], networkEtcPaths: [String], multiarchTriplet: String?) {
        self.rootEntries = rootEntries
        self.etcPaths = etcPaths
        self.networkEtcPaths = networkEtcPaths
        self.multiarchTriplet = multiarchTriplet
    }

    static let topLevelNames = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]
    /// ld.so needs its cache and config; /usr/bin/cc, c++, awk, … are links through /etc/alternatives.
    static let toolchainEtc = ["/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
                               "/etc/protocols", "/etc/services"]
    static let networkEtc = ["/etc/resolv.conf", "/etc/gai.conf", "/etc/ssl", "/etc/ca-certificates.conf"]

    /// The layout of this machine.
    public static func detect() -> HostLayout {
        var entries: [RootEntry] = []
        for name in topLevelNames {
            var st = stat()
            guard lstat("/\(name)", &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/\(name)") {
                    entries.append(.symlink(name: name, target: target))
                }
            case S_IFDIR:
                entries.append(.directory(name: name))
            default:
                break
            }
        }
        func existing(_ paths: [String]) -> [String] { paths.filter { access($0, F_OK) == 0 } }
        return HostLayout(rootEntries: entries, etcPaths: existing(toolchainEtc), networkEtcPaths: existing(networkEtc),
                          multiarchTriplet: detectMultiarch())
    }

    /// Debian 12 amd64 as it is here (merged-usr), for tests and documentation.
    public static let debian12: HostLayout = HostLayout(
        rootEntries: [.symlink(name: "bin", target: "usr/bin"), .symlink(name: "sbin", target: "usr/sbin"),
                      .symlink(name: "lib", target: "usr/lib"), .symlink(name: "lib64", target: "usr/lib64")],
        etcPaths: toolchainEtc, networkEtcPaths: networkEtc, multiarchTriplet: "x86_64-linux-gnu")

    /// The Debian multiarch triplet of this machine, if its library directory exists.
    public static func detectMultiarch() -> String? {
        #if arch(x86_64)
        let guess: String? = "x86_64-linux-gnu"
        #elseif arch(arm64)
        let guess: String? = "aarch64-linux-gnu"
        #elseif arch(i386)
        let guess: String? = "i386-linux-gnu"
        #else
        let guess: String? = nil
        #endif
        guard let guess else { return nil }
        return FileManager.default.fileExists(atPath: "/usr/lib/\(guess)") ? guess : nil
    }
}

/// The synthetic identity files of the sandbox: a passwd and group with only root and nobody (the
/// host's users are nobody's business), hosts with localhost, and an nsswitch.conf that uses files.
public enum SandboxIdentity {
    public static let files: [(name: String, content: String)] = [
        ("passwd", "root:x:0:0:root:\(Sandbox.homeMount):/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
        ("group", "root:x:0:\nnogroup:x:65534:\n"),
        ("hosts", "127.0.0.1\tlocalhost\n127.0.1.1\t\(Sandbox.hostname)\n::1\tlocalhost ip6-localhost ip6-loopback\n"),
        ("nsswitch.conf", "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n"),
    ]

    /// Writes the files into `directory` (created if needed), mode 0644.
    public static func write(into directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for file in files {
            let out = try AtomicFile(path: "\(directory)/\(file.name)", overwrite: true, mode: 0o644)
            try out.write(file.content)
            try out.commit()
        }
    }
}
