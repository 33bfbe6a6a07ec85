import Foundation
import PkgLayerCore
@testable import PkgLayerPublish
import PkgLayerRPM
import PkgLayerSigning
import PkgLayerTestSupport
import XCTest

/// `Publisher.publish` into yum repositories, judged by dnf (file:// and loopback HTTP, with
/// gpgcheck and repo_gpgcheck), createrepo_c (the same rpms' primary/filelists/other, parsed and
/// compared) and the bytes on disk (determinism, what a change touches, what a failure leaves).
final class YumPublishTests: XCTestCase {
    private var servers: [TestHTTPServer] = []

    override func tearDown() {
        servers.forEach { $0.stop() }
        servers = []
        super.tearDown()
    }

    private func options(_ key: TestKey?, keep: Int? = nil, compression: YumMetadataCompression = .gzip) -> PublishOptions {
        PublishOptions(signer: key?.signer, keep: keep, sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch), yumCompression: compression)
    }

    private func urls(_ paths: [String]) -> [URL] { paths.map { URL(fileURLWithPath: $0) } }

    // MARK: dnf

    func testDnfInstallsFromSignedRepositoryAndRefusesAnotherKey() throws {
        let scratch = try ScratchDirectory()
        let key = try TestKey(directory: scratch.path("key"), name: "publish test key")
        let other = try TestKey(directory: scratch.path("other"), name: "some other key")
        let built = try scratch.makeDirectory("built")
        let hello = try YumFixtures.rpm("hello-pub", "1.0", in: built, signer: key.signer)
        let tool = try YumFixtures.rpm("tool-pub", "2.1", in: built, signer: key.signer) { $0.arch = .x86_64 }
        let repo = scratch.path("repo")
        let result = try Publisher.publish(packages: urls([hello, tool]), into: URL(fileURLWithPath: repo), options: options(key))
        XCTAssertEqual(result.added, ["Packages/hello-pub-1.0-1.noarch.rpm", "Packages/tool-pub-2.1-1.x86_64.rpm"])
        XCTAssertEqual(result.entryPoints, ["repodata/repomd.xml"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: repo + "/repodata/repomd.xml.asc"))
        _ = try TestProcess.runChecked("gpg", ["--homedir", key.gpg.home, "--batch", "--verify", repo + "/repodata/repomd.xml.asc",
                                               repo + "/repodata/repomd.xml"])

        let (installed, root) = try DNF.install("hello-pub", baseURL: "file://\(repo)", key: key.armoredPath, in: scratch, name: "pubfile")
        XCTAssertTrue(installed.succeeded, installed.stdoutText + installed.stderrText)
        XCTAssertEqual(try DNF.installed("hello-pub", root: root), "hello-pub-1.0-1")
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/usr/share/hello-pub/hello-pub-1.0.txt"))

        let (refused, otherRoot) = try DNF.install("hello-pub", baseURL: "file://\(repo)", key: other.armoredPath, in: scratch, name: "pubwrongkey")
        XCTAssertFalse(refused.succeeded, "dnf installed from a repository signed by another key:\n" + refused.stdoutText)
        XCTAssertTrue((refused.stdoutText + refused.stderrText).contains("GPG signature verification error"), refused.stdoutText + refused.stderrText)
        XCTAssertNil(try DNF.installed("hello-pub", root: otherRoot))
    }

    func testDnfInstallsOverLoopbackHTTPWithZstdMetadata() throws {
        let scratch = try ScratchDirectory()
        let key = try TestKey(directory: scratch.path("key"), name: "publish http key")
        let built = try scratch.makeDirectory("built")
        let v1 = try YumFixtures.rpm("web-pub", "1.0", in: built, signer: key.signer)
        let repo = scratch.path("repo")
        try Publisher.publish(packages: urls([v1]), into: URL(fileURLWithPath: repo), options: options(key, compression: .zstd))
        let repomd = try String(contentsOfFile: repo + "/repodata/repomd.xml", encoding: .utf8)
        XCTAssertTrue(repomd.contains("-primary.xml.zst\""), repomd)
        // A second version: dnf over HTTP picks the newest.
        let v2 = try YumFixtures.rpm("web-pub", "1.1", in: built, signer: key.signer)
        try Publisher.publish(packages: urls([v2]), into: URL(fileURLWithPath: repo), options: options(key, compression: .zstd))

        let server = try TestHTTPServer(directory: repo)
        servers.append(server)
        let (installed, root) = try DNF.install("web-pub", baseURL: server.baseURL, key: key.armoredPath, in: scratch, name: "pubhttp")
        XCTAssertTrue(installed.succeeded, installed.stdoutText + installed.stderrText)
        XCTAssertEqual(try DNF.installed("web-pub", root: root), "web-pub-1.1-1")
        XCTAssertTrue(server.requests.contains { $0.contains("repomd.xml.asc") }, "\(server.requests)")
        XCTAssertTrue(server.requests.contains { $0.contains("web-pub-1.1-1.noarch.rpm") }, "\(server.requests)")
    }

    // MARK: createrepo_c

    func testMetadataMatchesCreaterepoC() throws {
        try requireTool("createrepo_c")
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        var rpms: [String] = []
        rpms.append(try YumFixtures.rpm("rich-pub", "3.2", in: built) { o in
            o.release = "7"
            o.arch = .x86_64
            o.files = [("/usr/bin/rich", "#!/bin/sh\necho rich\n", 0o755), ("/etc/rich.conf", "a=1\n", 0o644),
                       ("/usr/share/doc/rich/README", "read me & <enjoy>\n", 0o644), ("/usr/sbin/richd", "d\n", 0o755)]
            o.directories = ["/usr/share/rich", "/etc/rich.d"]
            o.requires = ["libfoo >= 1.2-3", "bar", "/usr/bin/rich", "baz < 2:4"]
            o.provides = ["rich-api = 3", "virtual-rich"]
            o.conflicts = ["oldrich < 1"]
            o.obsoletes = ["rich-legacy <= 3.0"]
            o.scripts = [.afterInstall: "echo installed\n", .beforeInstall: "echo before\n"]
            o.changelog = [ChangelogEntry(date: 1_690_000_000, author: "Jane <jane@example.invalid>", version: "3.2-7", text: "second & last"),
                           ChangelogEntry(date: 1_680_000_000, author: "Jane <jane@example.invalid>", version: "3.1-1", text: "first")]
            o.summary = "A \"rich\" package <with> markup & such"
            o.description = "Line one.\nLine two with ünïcode."
        })
        rpms.append(try YumFixtures.rpm("plain-pub", "1", in: built))
        rpms.append(try YumFixtures.rpm("plain-pub", "2", in: built) { $0.buildTime = YumFixtures.epoch + 100 })
        let repo = scratch.path("repo")
        try Publisher.publish(packages: urls(rpms), into: URL(fileURLWithPath: repo), options: options(nil))

        // createrepo_c over a copy of the same files (mtimes kept, so its file times match too).
        let reference = try scratch.makeDirectory("reference")
        _ = try TestProcess.runChecked("cp", ["-a", repo + "/Packages", reference + "/Packages"])
        _ = try TestProcess.runChecked("createrepo_c", ["--no-database", reference])

        for type in ["primary", "filelists", "other"] {
            let ours = try YumXMLTree.packages(repo: repo, type: type)
            let theirs = try YumXMLTree.packages(repo: reference, type: type)
            XCTAssertEqual(ours.count, 3)
            XCTAssertEqual(ours.keys.sorted(), theirs.keys.sorted(), type)
            if type == "primary" {
                // The comparison covers the interesting parts: pre-requirements, versioned relations, primary files.
                let rich = try XCTUnwrap(ours["rich-pub-0:3.2-7.x86_64"])
                for needle in ["pre=\"1\"", "flags=\"GE\"", "libfoo", "\"/etc/rich.conf\"", "\"/usr/sbin/richd\"", "rich-legacy", "oldrich", "header-range"] {
                    XCTAssertTrue(rich.contains(needle), "\(needle) in \(rich)")
                }
                XCTAssertFalse(rich.contains("README"), rich)
            }
            for (id, element) in ours {
                XCTAssertEqual(element, theirs[id], "\(type) of \(id) differs from createrepo_c's:\nours:   \(element)\ntheirs: \(theirs[id] ?? "-")")
            }
        }
        // The repomd entries carry the same kinds of facts createrepo_c writes.
        let repomd = try String(contentsOfFile: repo + "/repodata/repomd.xml", encoding: .utf8)
        for needle in ["<revision>\(YumFixtures.epoch)</revision>", "<open-checksum type=\"sha256\">", "<open-size>", "<timestamp>\(YumFixtures.epoch)</timestamp>"] {
            XCTAssertTrue(repomd.contains(needle), needle)
        }
    }

    // MARK: Bytes on disk

    func testSamePackagesGiveIdenticalMetadataInTwoDirectories() throws {
        let scratch = try ScratchDirectory()
        let key = try TestKey(directory: scratch.path("key"), name: "determinism key")
        let built = try scratch.makeDirectory("built")
        let rpms = try (1...4).map { try YumFixtures.rpm("det\($0)", "1.\($0)", in: built, signer: key.signer) }
        let a = scratch.path("a"), b = scratch.path("b")
        try Publisher.publish(packages: urls(rpms), into: URL(fileURLWithPath: a), options: options(key))
        // Another order, in two steps, into another directory, re-loading the signer.
        let again = try SigningKeyLoader.load(reference: "determinism key", passphrase: nil, gnupgHome: key.gpg.home, creationTime: YumFixtures.epoch)
        let second = PublishOptions(signer: again, sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch))
        try Publisher.publish(packages: urls(Array(rpms.reversed().prefix(2))), into: URL(fileURLWithPath: b), options: second)
        try Publisher.publish(packages: urls(rpms), into: URL(fileURLWithPath: b), options: second)

        let metaA = try RepositoryTree.yumMetadata(a), metaB = try RepositoryTree.yumMetadata(b)
        XCTAssertEqual(metaA.keys.sorted(), metaB.keys.sorted())
        XCTAssertEqual(metaA.count, 6)   // repomd.xml, .asc, .key and the three data files
        for (name, data) in metaA { XCTAssertEqual(data, metaB[name], name) }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: a + "/.pkglayer/index.json")),
                       try Data(contentsOf: URL(fileURLWithPath: b + "/.pkglayer/index.json")))
        // Without SOURCE_DATE_EPOCH the time is the newest package's build time.
        let c = scratch.path("c")
        try Publisher.publish(packages: urls(rpms), into: URL(fileURLWithPath: c), options: PublishOptions())
        XCTAssertTrue(try String(contentsOfFile: c + "/repodata/repomd.xml", encoding: .utf8).contains("<revision>\(YumFixtures.epoch)</revision>"))
    }

    func testAddingOnePackageChangesMetadataButNoPackageFile() throws {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let rpms = try (1...3).map { try YumFixtures.rpm("inc\($0)", "1", in: built) }
        let repo = scratch.path("repo")
        let first = try Publisher.publish(packages: urls(rpms), into: URL(fileURLWithPath: repo), options: options(nil))
        let before = try RepositoryTree.snapshot(repo)
        let metaBefore = try RepositoryTree.yumMetadata(repo)

        let extra = try YumFixtures.rpm("inc4", "1", in: built)
        let second = try Publisher.publish(packages: urls([extra]), into: URL(fileURLWithPath: repo), options: options(nil))
        XCTAssertEqual(second.added, ["Packages/inc4-1-1.noarch.rpm"])
        XCTAssertNotEqual(first.generation, second.generation)
        let after = try RepositoryTree.snapshot(repo)
        for (path, state) in before where path.hasPrefix("Packages/") {
            XCTAssertEqual(after[path], state, "\(path) changed")
        }
        let metaAfter = try RepositoryTree.yumMetadata(repo)
        XCTAssertNotEqual(metaBefore["repodata/repomd.xml"], metaAfter["repodata/repomd.xml"])
        for type in ["primary", "filelists", "other"] {
            let old = metaBefore.keys.first { $0.hasSuffix("-\(type).xml.gz") }!
            let new = metaAfter.keys.first { $0.hasSuffix("-\(type).xml.gz") }!
            XCTAssertNotEqual(old, new, type)
            // The previous generation's files are still there for a client that read the old repomd.xml.
            XCTAssertTrue(FileManager.default.fileExists(atPath: repo + "/" + old), old)
        }
        XCTAssertNotEqual(before[".pkglayer/current"], after[".pkglayer/current"])
        let index = try JSONDecoder().decode(RepositoryIndex.self, from: Data(contentsOf: URL(fileURLWithPath: repo + "/.pkglayer/index.json")))
        XCTAssertEqual(index.packages.map(\.path), (1...4).map { "Packages/inc\($0)-1-1.noarch.rpm" })

        // The same package again: nothing changes at all.
        let third = try Publisher.publish(packages: urls([extra, rpms[0]]), into: URL(fileURLWithPath: repo), options: options(nil))
        XCTAssertFalse(third.metadataChanged)
        XCTAssertEqual(third.unchanged, ["Packages/inc1-1-1.noarch.rpm", "Packages/inc4-1-1.noarch.rpm"])
        XCTAssertEqual(try RepositoryTree.snapshot(repo), after)

        // Adding reads only the new package: the others come from the index (checked by size). A
        // published file overwritten with same-size garbage goes unnoticed, and primary keeps its
        // recorded checksum.
        let published = repo + "/Packages/inc1-1-1.noarch.rpm"
        let recorded = try FileDigest.sha256Hex(path: published)
        let size = try Data(contentsOf: URL(fileURLWithPath: published)).count
        try Data(repeating: 0x5A, count: size).write(to: URL(fileURLWithPath: published))
        try Publisher.publish(packages: urls([try YumFixtures.rpm("inc5", "1", in: built)]), into: URL(fileURLWithPath: repo), options: options(nil))
        let primary = try YumXMLTree.packages(repo: repo, type: "primary")
        XCTAssertEqual(primary.count, 5)
        XCTAssertTrue(try XCTUnwrap(primary["inc1-0:1-1.noarch"]).contains(recorded))
    }

    func testSameNEVRAWithDifferentBytesIsRefused() throws {
        let scratch = try ScratchDirectory()
        let one = try scratch.makeDirectory("one"), two = try scratch.makeDirectory("two")
        let original = try YumFixtures.rpm("clash", "1.0", in: one)
        let rebuilt = try YumFixtures.rpm("clash", "1.0", in: two) { $0.files = [("/usr/share/clash/other.txt", "different\n", 0o644)] }
        let repo = scratch.path("repo")
        try Publisher.publish(packages: urls([original]), into: URL(fileURLWithPath: repo), options: options(nil))
        let before = try RepositoryTree.snapshot(repo)
        XCTAssertThrowsError(try Publisher.publish(packages: urls([rebuilt]), into: URL(fileURLWithPath: repo), options: options(nil))) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(rebuilt), text)
            XCTAssertTrue(text.contains(repo + "/Packages/clash-1.0-1.noarch.rpm"), text)
            XCTAssertTrue(text.contains("clash-1.0-1.noarch"), text)
            XCTAssertTrue(text.contains("different bytes"), text)
        }
        XCTAssertEqual(try RepositoryTree.snapshot(repo), before)
        // Two inputs of one publish that clash are refused the same way, naming both.
        let fresh = scratch.path("fresh")
        XCTAssertThrowsError(try Publisher.publish(packages: urls([original, rebuilt]), into: URL(fileURLWithPath: fresh), options: options(nil))) { error in
            XCTAssertTrue("\(error)".contains(original) && "\(error)".contains(rebuilt), "\(error)")
        }
    }

    func testKeepOneRemovesTheOlderVersionAfterTheSwitch() throws {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let v1 = try YumFixtures.rpm("kept", "1.0", in: built)
        let v2 = try YumFixtures.rpm("kept", "1.10", in: built)
        let unrelated = try YumFixtures.rpm("other-kept", "5", in: built)
        let repo = scratch.path("repo")
        try Publisher.publish(packages: urls([v1, unrelated]), into: URL(fileURLWithPath: repo), options: options(nil, keep: 1))
        let result = try Publisher.publish(packages: urls([v2]), into: URL(fileURLWithPath: repo), options: options(nil, keep: 1))
        XCTAssertEqual(result.removed, ["Packages/kept-1.0-1.noarch.rpm"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo + "/Packages/kept-1.0-1.noarch.rpm"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: repo + "/Packages/kept-1.10-1.noarch.rpm"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: repo + "/Packages/other-kept-5-1.noarch.rpm"))
        let primary = try YumXMLTree.packages(repo: repo, type: "primary")
        XCTAssertEqual(primary.keys.sorted(), ["kept-0:1.10-1.noarch", "other-kept-0:5-1.noarch"])
        // An older version published with keep 1 is not even copied in.
        let old = try Publisher.publish(packages: urls([v1]), into: URL(fileURLWithPath: repo), options: options(nil, keep: 1))
        XCTAssertEqual(old.added, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo + "/Packages/kept-1.0-1.noarch.rpm"))
        XCTAssertThrowsError(try Publisher.publish(packages: [], into: URL(fileURLWithPath: repo), options: options(nil, keep: 0)))
    }

    func testAFailedPublishLeavesThePreviousRepositoryByteIdentical() throws {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let good = try (1...2).map { try YumFixtures.rpm("ok\($0)", "1", in: built) }
        let repo = scratch.path("repo")
        try Publisher.publish(packages: urls(good), into: URL(fileURLWithPath: repo), options: options(nil))
        let before = try RepositoryTree.snapshot(repo)

        // The 2nd of 3 is damaged (truncated), the 3rd does not exist.
        let third = try YumFixtures.rpm("ok3", "1", in: built)
        let damaged = built + "/damaged.rpm"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: good[0]))
        try bytes.prefix(bytes.count - 40).write(to: URL(fileURLWithPath: damaged))
        XCTAssertThrowsError(try Publisher.publish(packages: urls([third, damaged, good[1]]), into: URL(fileURLWithPath: repo), options: options(nil))) { error in
            XCTAssertTrue("\(error)".contains(damaged), "\(error)")
        }
        XCTAssertThrowsError(try Publisher.publish(packages: urls([third, built + "/missing.rpm"]), into: URL(fileURLWithPath: repo), options: options(nil)))
        let notAPackage = try scratch.write("built/notes.rpm", "just text\n")
        XCTAssertThrowsError(try Publisher.publish(packages: urls([third, notAPackage]), into: URL(fileURLWithPath: repo), options: options(nil))) { error in
            XCTAssertTrue("\(error)".contains("neither an .rpm nor a .deb"), "\(error)")
        }
        XCTAssertEqual(try RepositoryTree.snapshot(repo), before)

        // What a publish killed mid-way leaves (a half-written generation and a temporary package copy,
        // tagged with a pid that is gone) is swept by the next publish, which then succeeds.
        let deadTag = "pkl999999.1"
        try FileManager.default.createDirectory(atPath: repo + "/.pkglayer/gen/.new-\(deadTag)-abcdef/repodata", withIntermediateDirectories: true)
        _ = try scratch.write("repo/Packages/.ok3-1-1.noarch.rpm.tmp-\(deadTag)-ghijkl", "partial")
        try Publisher.publish(packages: urls([third]), into: URL(fileURLWithPath: repo), options: options(nil))
        let after = try RepositoryTree.snapshot(repo)
        XCTAssertFalse(after.keys.contains { $0.contains(deadTag) }, "\(after.keys.sorted())")
        XCTAssertEqual(try YumXMLTree.packages(repo: repo, type: "primary").count, 3)
    }

    func testRepositoryLayoutAndForeignMetadata() throws {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let rpm = try YumFixtures.rpm("layout", "1", in: built)
        let repo = scratch.path("repo")
        let first = try Publisher.publish(packages: urls([rpm]), into: URL(fileURLWithPath: repo), options: options(nil))
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/repodata"), ".pkglayer/current/repodata")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: repo + "/.pkglayer/current"), "gen/\(first.generation)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: repo + "/dists"))
        // The package's mtime is its build time, which primary's file time says too.
        let attributes = try FileManager.default.attributesOfItem(atPath: repo + "/Packages/layout-1-1.noarch.rpm")
        XCTAssertEqual((attributes[.modificationDate] as! Date).timeIntervalSince1970, Double(YumFixtures.epoch))
        XCTAssertEqual((attributes[.posixPermissions] as! NSNumber).intValue, 0o644)
        // Three more publishes: only the current and the previous generation are kept.
        for n in 2...4 {
            try Publisher.publish(packages: urls([try YumFixtures.rpm("layout", "\(n)", in: built)]), into: URL(fileURLWithPath: repo), options: options(nil))
        }
        let generations = try FileManager.default.contentsOfDirectory(atPath: repo + "/.pkglayer/gen").filter { !$0.hasPrefix(".") }
        XCTAssertEqual(generations.count, 2, "\(generations)")

        // A repodata directory someone else wrote is not replaced.
        let foreign = try scratch.makeDirectory("foreign/repodata")
        XCTAssertThrowsError(try Publisher.publish(packages: urls([rpm]), into: URL(fileURLWithPath: (foreign as NSString).deletingLastPathComponent),
                                                   options: options(nil))) { error in
            XCTAssertTrue("\(error)".contains("did not write"), "\(error)")
        }
    }

    func testConcurrentPublishesIntoOneRepositoryTakeTurns() throws {
        let scratch = try ScratchDirectory()
        let built = try scratch.makeDirectory("built")
        let rpms = try (1...6).map { try YumFixtures.rpm("conc\($0)", "1", in: built) }
        let repo = URL(fileURLWithPath: scratch.path("repo"))
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: rpms.count) { i in
            do {
                try Publisher.publish(packages: [URL(fileURLWithPath: rpms[i])], into: repo, options: PublishOptions(sourceDateEpoch: SourceDateEpoch(YumFixtures.epoch)))
            } catch {
                errors.append("\(error)")
            }
        }
        XCTAssertEqual(errors.all, [])
        XCTAssertEqual(try YumXMLTree.packages(repo: repo.path, type: "primary").count, rpms.count)
    }
}

final class ErrorBox: @unchecked Sendable {   // @unchecked: `values` is only touched under `lock`
    private let lock = NSLock()
    private var values: [String] = []
    func append(_ value: String) { lock.lock(); values.append(value); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return values }
}
