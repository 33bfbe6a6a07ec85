import Foundation
import PkgLayerCore

/// The scratch directory of one build, laid out for the sandbox:
///
///     <root>/src       → /build/src      (the source tree, writable)
///     <root>/destdir   → /build/destdir  (DESTDIR, writable; the staged tree)
///     <root>/home      → /build/home     (HOME, writable, kept across steps)
///     <root>/etc       → /etc/{passwd,group,hosts,nsswitch.conf} (read-only)
///     <root>/build.log   the build log (not visible in the sandbox)
///
/// Removed when dropped unless `keep` is set (for `--keep-work-dir` debugging). The caller puts it
/// anywhere it likes; nothing in it is visible to the sandbox except the directories above. It is
/// private to the invoking user (mode 0700): the source tree loses setuid/setgid/sticky bits when
/// sources are extracted or copied, but DESTDIR keeps what a package declares.
public final class BuildWorkspace {
    public let root: String
    /// `--keep-work-dir`: left in place when dropped, on an interrupt, and by later runs' sweeps.
    public var keep = false { didSet { if keep { Interruption.keep(path: root) } } }

    /// Creates `pkglayer-build-<owner tag>-XXXXXX` under `parent` (default `$TMPDIR` or /tmp); a killed
    /// build's directory is removed by the next run (`WorkOwnership`).
    public init(parent: String? = nil) throws {
        if let parent { try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true) }
        let base = parent ?? ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        // 0700 (mkdtemp's mode) all the way down: the tree holds whatever the sources and steps
        // made, setuid files included, and no other local user may reach it while the build runs or
        // after a killed one.
        root = try WorkOwnership.makeDirectory(in: base, prefix: "pkglayer-build")
        guard chmod(root, 0o700) == 0 else { throw PkgLayerError.posix("chmod", path: root) }
        for dir in [sourceDirectory, destdir, home] {
            guard mkdir(dir, 0o700) == 0 else { throw PkgLayerError.posix("mkdir", path: dir) }
        }
        try SandboxIdentity.write(into: identityDirectory)
    }

    deinit {
        if !keep { try? FileManager.default.removeItem(atPath: root) }
    }

    public var sourceDirectory: String { "\(root)/src" }
    public var destdir: String { "\(root)/destdir" }
    public var home: String { "\(root)/home" }
    public var identityDirectory: String { "\(root)/etc" }
    public var logPath: String { "\(root)/build.log" }

    /// The sandbox over this workspace.
    public func sandbox(sourceDateEpoch: SourceDateEpoch, network: Bool = false, environment: [String: String] = [:],
                        depsRoot: String? = nil, host: HostLayout = .detect()) -> Sandbox {
        Sandbox(sourceDirectory: sourceDirectory, destdir: destdir, home: home, depsRoot: depsRoot,
                identityDirectory: identityDirectory, network: network, environment: environment,
                sourceDateEpoch: sourceDateEpoch, host: host)
    }
}
