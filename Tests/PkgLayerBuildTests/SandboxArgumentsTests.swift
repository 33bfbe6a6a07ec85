import Foundation
import PkgLayerCore
import XCTest
@testable import PkgLayerBuild

/// The bwrap invocation is a pure function of the `Sandbox` value; these tests pin it down.
final class SandboxArgumentsTests: XCTestCase {
    private func sandbox(network: Bool = false, deps: String? = nil, env: [String: String] = [:]) -> Sandbox {
        Sandbox(sourceDirectory: "/w/b1/src", destdir: "/w/b1/destdir", home: "/w/b1/home", depsRoot: deps,
                identityDirectory: "/w/b1/etc", network: network, environment: env,
                sourceDateEpoch: SourceDateEpoch(1_700_000_000), host: .debian12)
    }

    /// Whether `sequence` occurs contiguously in `array`.
    private func contains(_ array: [String], _ sequence: [String]) -> Bool {
        guard sequence.count <= array.count else { return false }
        return (0...(array.count - sequence.count)).contains { Array(array[$0..<($0 + sequence.count)]) == sequence }
    }

    func testNetworkOffInvocation() {
        let args = sandbox().arguments(for: Sandbox.shell("make -j2"))
        XCTAssertEqual(args.first, "--unshare-all")
        XCTAssertFalse(args.contains("--share-net"))
        for flag in ["--die-with-parent", "--new-session", "--clearenv"] { XCTAssertTrue(args.contains(flag), flag) }
        XCTAssertTrue(contains(args, ["--ro-bind", "/usr", "/usr"]))
        XCTAssertTrue(contains(args, ["--symlink", "usr/bin", "/bin"]))
        XCTAssertTrue(contains(args, ["--symlink", "usr/lib64", "/lib64"]))
        XCTAssertTrue(contains(args, ["--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache"]))
        XCTAssertTrue(contains(args, ["--ro-bind", "/etc/alternatives", "/etc/alternatives"]))
        XCTAssertTrue(contains(args, ["--ro-bind", "/w/b1/etc/passwd", "/etc/passwd"]))
        XCTAssertTrue(contains(args, ["--ro-bind", "/w/b1/etc/group", "/etc/group"]))
        XCTAssertFalse(args.contains("/etc/resolv.conf"), "no DNS configuration without the network")
        XCTAssertTrue(contains(args, ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]))
        XCTAssertTrue(contains(args, ["--bind", "/w/b1/src", "/build/src"]))
        XCTAssertTrue(contains(args, ["--bind", "/w/b1/destdir", "/build/destdir"]))
        XCTAssertTrue(contains(args, ["--bind", "/w/b1/home", "/build/home"]))
        XCTAssertFalse(args.contains("/build/deps"))
        XCTAssertTrue(contains(args, ["--remount-ro", "/", "--chdir", "/build/src", "--", "/bin/sh", "-e", "-c", "umask 022\nmake -j2"]))
        XCTAssertEqual(Array(args.suffix(4)), ["/bin/sh", "-e", "-c", "umask 022\nmake -j2"])
        // Nothing of the host's homes or of the project is mounted.
        for arg in args where arg.hasPrefix("/") {
            XCTAssertFalse(arg.hasPrefix("/root") || arg.hasPrefix("/home") || arg.hasPrefix("/work"), arg)
        }
        // The remount comes after every mount.
        let remount = args.firstIndex(of: "--remount-ro")!
        XCTAssertNil(args[remount...].firstIndex { $0 == "--bind" || $0 == "--ro-bind" || $0 == "--tmpfs" })
    }

    func testEnvironmentIsExactlyTheDeclaredOne() {
        let args = sandbox(env: ["CFLAGS": "-O2", "PATH": "/opt/x/bin:/usr/bin:/bin"]).arguments(for: ["true"])
        var env: [String: String] = [:]
        var i = 0
        while i < args.count {
            if args[i] == "--setenv" { env[args[i + 1]] = args[i + 2]; i += 3 } else { i += 1 }
        }
        XCTAssertEqual(env, [
            "PATH": "/opt/x/bin:/usr/bin:/bin", "HOME": "/build/home", "SOURCE_DATE_EPOCH": "1700000000",
            "LC_ALL": "C.UTF-8", "TZ": "UTC", "CFLAGS": "-O2",
        ])
        XCTAssertLessThan(args.firstIndex(of: "--clearenv")!, args.firstIndex(of: "--setenv")!)
        XCTAssertEqual(Sandbox(sourceDirectory: "/s", sourceDateEpoch: SourceDateEpoch(1), host: .debian12).environmentVariables["PATH"],
                       "/usr/local/bin:/usr/bin:/bin")
    }

    func testNetworkOnSharesTheNetworkAndItsConfiguration() {
        let args = sandbox(network: true).arguments(for: ["true"])
        XCTAssertTrue(contains(args, ["--unshare-all", "--share-net"]))
        XCTAssertTrue(contains(args, ["--ro-bind", "/etc/resolv.conf", "/etc/resolv.conf"]))
        XCTAssertTrue(contains(args, ["--ro-bind", "/etc/ssl", "/etc/ssl"]))
        XCTAssertEqual(sandbox(network: true).warnings.count, 1)
        XCTAssertEqual(sandbox().warnings, [])
    }

    func testBuildDependencySysroot() {
        let sb = sandbox(deps: "/w/deps-root", env: ["CPPFLAGS": "-DNDEBUG", "PKG_CONFIG_PATH": "/extra/pc"])
        let args = sb.arguments(for: ["true"])
        XCTAssertTrue(contains(args, ["--ro-bind", "/w/deps-root", "/build/deps"]))
        let env = sb.environmentVariables
        XCTAssertEqual(env["CPPFLAGS"], "-I/build/deps/usr/include -DNDEBUG", "the recipe's flags follow the dependency ones")
        XCTAssertEqual(env["PKG_CONFIG_PATH"], "/build/deps/usr/lib/x86_64-linux-gnu/pkgconfig:/build/deps/usr/lib/pkgconfig:/build/deps/usr/lib64/pkgconfig:/build/deps/usr/share/pkgconfig:/extra/pc")
        XCTAssertEqual(env["CPATH"], "/build/deps/usr/include")
        XCTAssertTrue(env["LDFLAGS"]!.hasPrefix("-L/build/deps/usr/lib/x86_64-linux-gnu -L/build/deps/usr/lib "))
        XCTAssertTrue(env["LDFLAGS"]!.contains("-Wl,-rpath-link,/build/deps/usr/lib"))
        XCTAssertEqual(env["LIBRARY_PATH"], "/build/deps/usr/lib/x86_64-linux-gnu:/build/deps/usr/lib:/build/deps/usr/lib64")
        XCTAssertEqual(env["LD_LIBRARY_PATH"], env["LIBRARY_PATH"])
    }

    func testPkgConfigRelocation() throws {
        let text = "prefix=/usr\nexec_prefix=${prefix}\nlibdir=/usr/lib/x86_64-linux-gnu\nincludedir=${prefix}/include\n\nName: libpcre2-8\nCflags: -I${includedir}\nURL: https://x/y=z\n"
        let relocated = BuildDependencySysroot.relocate(pcText: text, mount: "/build/deps")
        XCTAssertEqual(relocated, "prefix=/build/deps/usr\nexec_prefix=${prefix}\nlibdir=/build/deps/usr/lib/x86_64-linux-gnu\nincludedir=${prefix}/include\n\nName: libpcre2-8\nCflags: -I${includedir}\nURL: https://x/y=z\n")
        XCTAssertEqual(BuildDependencySysroot.relocate(pcText: relocated, mount: "/build/deps"), relocated, "idempotent")

        let scratch = try TemporaryDirectory(prefix: "pkglayer-pc-test")
        try BuildFixtures.write(text, to: "\(scratch.path)/usr/lib/pkgconfig/libpcre2-8.pc")
        let changed = try BuildDependencySysroot.relocatePkgConfigFiles(hostRoot: scratch.path)
        XCTAssertEqual(changed, ["\(scratch.path)/usr/lib/pkgconfig/libpcre2-8.pc"])
        XCTAssertEqual(BuildFixtures.read(changed[0]), relocated)
    }

    func testHostLayoutDetectionMatchesThisMachine() {
        let layout = HostLayout.detect()
        var st = stat()
        if lstat("/bin", &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
            XCTAssertTrue(layout.rootEntries.contains(.symlink(name: "bin", target: "usr/bin")), "\(layout.rootEntries)")
        }
        XCTAssertTrue(layout.etcPaths.contains("/etc/ld.so.cache"))
        XCTAssertFalse(layout.etcPaths.contains("/etc/passwd"), "the host's users are not shown")
    }
}
