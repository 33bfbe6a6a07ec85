import Foundation
import PkgLayerCore
import PkgLayerFetch
import XCTest
@testable import PkgLayerBuild

/// One real build end to end: GNU hello 2.10 resolved offline from the shared sources, extracted with
/// strip-components 1, configured, compiled and installed into DESTDIR inside the network-off sandbox.
/// (About a minute on two cores; the only compile in this suite.)
final class SandboxBuildTests: XCTestCase {
    func testBuildsGNUHelloInTheSandbox() throws {
        try BuildFixtures.requireSharedSource()
        try BuildFixtures.requireSandbox()
        let identity = try HostRequirements.check(commands: ["sh", "cc", "make"], packages: [])
        XCTAssertNotNil(identity.compiler)

        let scratch = try TemporaryDirectory(prefix: "pkglayer-hello-test")
        let workspace = try BuildWorkspace(parent: scratch.path)
        let resolver = SourceResolver(cache: SourceCache(root: "\(scratch.path)/cache"),
                                      mirrorDirectories: [BuildFixtures.sharedSources], allowDownload: false)
        let prepared = try SourceTree(root: workspace.sourceDirectory).populate(
            [SourceRequest(url: BuildFixtures.helloURL, sha256: BuildFixtures.helloSHA256, stripComponents: 1)],
            baseDirectory: scratch.path, resolver: resolver)
        XCTAssertEqual(prepared.first?.origin, .mirror(BuildFixtures.helloPath))

        let runner = BuildRunner(sandbox: workspace.sandbox(sourceDateEpoch: BuildFixtures.epoch), logPath: workspace.logPath)
        let events = EventLog()
        runner.onEvent = { events.record($0) }
        let started = Date()
        try runner.run([
            BuildStep(name: "configure", script: "./configure --prefix=/usr"),
            BuildStep(name: "build", script: "make -j2"),
            BuildStep(name: "install", script: "make install DESTDIR=/build/destdir"),
        ])
        let elapsed = Date().timeIntervalSince(started)
        print("GNU hello 2.10 built in the sandbox in \(String(format: "%.1f", elapsed)) s")

        let hello = "\(workspace.destdir)/usr/bin/hello"
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: hello))
        XCTAssertTrue(FileManager.default.fileExists(atPath: "\(workspace.destdir)/usr/share/man/man1/hello.1"))
        let version = try Subprocess.run(hello, ["--version"])
        XCTAssertTrue(version.text.hasPrefix("hello (GNU Hello) 2.10"), version.text)
        let log = BuildFixtures.read(workspace.logPath) ?? ""
        XCTAssertFalse(log.contains("automake-1.14: command not found") || log.contains("WARNING: 'automake"),
                       "archive times were kept, so autotools did not try to regenerate anything")
        XCTAssertEqual(events.events.filter { if case .stepFinished = $0 { return true } else { return false } }.count, 3)

        // Its automatic dependencies.
        let manifest = try FileManifest(entries: [ManifestEntry(path: "/usr/bin/hello", kind: .file, mode: 0o755, mtime: 0, sourcePath: hello)],
                                        implicitDirectoryMtime: 0)
        let deps = try SharedLibraryDependencies.scan(manifest: manifest)
        XCTAssertTrue(deps.rpmRequires.contains("libc.so.6()(64bit)"), "\(deps.rpmRequires)")
        XCTAssertTrue(deps.debDependsStrings.contains { $0.hasPrefix("libc6 (>= ") }, "\(deps.debDependsStrings)")
    }
}
