import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerSigning
import PkgLayerTestSupport
import XCTest
@testable import PkgLayerPublish

/// `AptRepositoryWriter` and `AptPackageEntry`, checked with the real consumers: apt-get 2.6 in a private
/// root (update, then download / install --download-only), over `file:` and loopback HTTP, signed and
/// unsigned; gpgv on InRelease and Release.gpg; apt-ftparchive's view of the same pool.
final class AptRepositoryWriterTests: XCTestCase {
    static let epoch: Int64 = 1_750_000_000

    // MARK: - Fixtures

    /// A .deb made by pkglayer's own DebWriter from a one-file tree.
    private func makeDeb(_ name: String, _ version: String, _ arch: String, in scratch: ScratchDirectory,
                         epoch: UInt32? = nil) throws -> String {
        let tree = try scratch.makeDirectory("tree/\(name)-\(version)-\(arch)")
        try scratch.write("tree/\(name)-\(version)-\(arch)/usr/share/\(name)/README", "\(name) \(version) \(arch)\n")
        var builder = ManifestBuilder(inputs: [.init(source: tree, destination: "/")])
        builder.sourceDateEpoch = SourceDateEpoch(Self.epoch)
        let built = try builder.build()
        var spec = PackageSpec(name: name, version: version, architecture: try XCTUnwrap(Architecture(parsing: arch)),
                               sourceDateEpoch: built.sourceDateEpoch)
        spec.release = "1"
        spec.maintainer = "Test <test@example.invalid>"
        spec.epoch = epoch
        spec.description = "\(name), a test package\nIt has a second line."
        let out = try scratch.makeDirectory("debs")
        let writer = DebWriter()
        let path = "\(out)/\(writer.fileName(for: spec))"
        _ = try writer.pack(spec: spec, manifest: built.manifest, to: path)
        return path
    }

    /// Places each deb in `repo/pool/main/<letter>/<name>/` (what the Publisher does) and reads its entry.
    private func pool(_ debs: [String], into repo: String) throws -> [AptPackageEntry] {
        try debs.map { deb in
            let file = (deb as NSString).lastPathComponent
            let name = String(file.prefix { $0 != "_" })
            let poolPath = "pool/main/\(name.prefix(1))/\(name)/\(file)"
            try FileManager.default.createDirectory(atPath: "\(repo)/pool/main/\(name.prefix(1))/\(name)", withIntermediateDirectories: true)
            if !FileManager.default.fileExists(atPath: "\(repo)/\(poolPath)") {
                try FileManager.default.copyItem(atPath: deb, toPath: "\(repo)/\(poolPath)")
            }
            return try AptPackageEntry.read(debAt: URL(fileURLWithPath: deb), poolPath: poolPath)
        }
    }

    private func options(suite: String = "stable", validFor: Int64? = nil, date: Int64 = epoch, byHash: Bool = false) -> AptRepositoryOptions {
        AptRepositoryOptions(suite: suite, origin: "pkglayer test", label: "pkglayer test", description: "AptRepositoryWriterTests",
                             date: SourceDateEpoch(date), validFor: validFor, byHash: byHash)
    }

    /// Three packages: alpha 1.0-1 and 1.10-1 (amd64; Debian order puts 1.10 last), beta (all), gamma (amd64).
    private func threeDebs(_ scratch: ScratchDirectory) throws -> [String] {
        [try makeDeb("alpha", "1.10", "amd64", in: scratch), try makeDeb("alpha", "1.0", "amd64", in: scratch),
         try makeDeb("beta", "2.0", "all", in: scratch), try makeDeb("gamma", "0.1", "amd64", in: scratch)]
    }

    /// A throwaway OpenPGP key from gpg in its own GnuPG home: the secret key exported armored (what
    /// `--sign-key FILE` reads), the public key armored (what apt's signed-by and gpgv take).
    private struct GPGKey {
        let secret: String
        let publicArmored: String
        let publicKeyring: String

        init(directory: String, name: String, algorithm: String) throws {
            try requireTool("gpg")
            let home = "\(directory)/gnupg-\(name)"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let gpg = ["--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
            try TestProcess.runChecked("gpg", gpg + ["--quick-gen-key", "\(name) <\(name)@example.invalid>", algorithm, "sign", "never"])
            secret = "\(directory)/\(name).sec.asc"
            publicArmored = "\(directory)/\(name).pub.asc"
            publicKeyring = "\(directory)/\(name).pub.gpg"
            try TestProcess.runChecked("gpg", gpg + ["--armor", "--output", secret, "--export-secret-keys"])
            try TestProcess.runChecked("gpg", gpg + ["--armor", "--output", publicArmored, "--export"])
            try TestProcess.runChecked("gpg", gpg + ["--output", publicKeyring, "--export"])
            // Nothing of gpg keeps running for the home (the directory goes with the scratch directory).
            _ = try? TestProcess.run("gpgconf", ["--homedir", home, "--kill", "all"])
        }

        func signer() throws -> any PackageSigner {
            try SigningKeyLoader.load(reference: secret, passphrase: nil, gnupgHome: nil, creationTime: AptRepositoryWriterTests.epoch)
        }
    }

    /// apt-get in a private root, sharing nothing with the host's apt: its own sources.list, lists,
    /// cache, dpkg status (empty) and trusted keys (none), and none of the host's apt.conf.d.
    ///
    /// `-o` options alone cannot do it: apt reads /etc/apt/apt.conf.d before it parses the command line,
    /// and this machine's parts set Acquire::Check-Valid-Until=false, Check-Date=false and hooks. So the
    /// config comes from `APT_CONFIG`, a file read *before* the parts directory, which points
    /// `Dir::Etc::Parts` at the private root's empty `apt.conf.d`. Everything else follows from `Dir`:
    /// etc/apt/sources.list, var/lib/apt/lists, var/cache/apt/archives, var/lib/dpkg/status, all under it.
    struct PrivateApt {
        let root: String
        let config: String

        init(root: String, sources: [String]) throws {
            try requireTool("apt-get")
            self.root = root
            let fm = FileManager.default
            for dir in ["etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/sources.list.d", "etc/apt/trusted.gpg.d",
                        "var/lib/apt/lists/partial", "var/cache/apt/archives/partial", "var/lib/dpkg", "var/log/apt", "work"] {
                try fm.createDirectory(atPath: "\(root)/\(dir)", withIntermediateDirectories: true)
            }
            fm.createFile(atPath: "\(root)/var/lib/dpkg/status", contents: Data())
            try (sources.joined(separator: "\n") + "\n").write(toFile: "\(root)/etc/apt/sources.list", atomically: true, encoding: .utf8)
            config = "\(root)/apt.conf"
            let lines = [
                "Dir \"\(root)/\";",
                "Dir::Etc::Parts \"\(root)/etc/apt/apt.conf.d\";",
                "Dir::State::status \"\(root)/var/lib/dpkg/status\";",
                "Debug::NoLocking \"true\";",
                // The private root belongs to root; apt's _apt sandbox user could not write into it.
                "APT::Sandbox::User \"root\";",
                "APT::Architecture \"amd64\";",
                "APT::Architectures { \"amd64\"; };",
                "Acquire::Languages \"none\";",
                "Acquire::Retries \"0\";",
                "Acquire::http::Proxy \"DIRECT\";",
                "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled \"false\";",
            ]
            try (lines.joined(separator: "\n") + "\n").write(toFile: config, atomically: true, encoding: .utf8)
        }

        @discardableResult
        func aptGet(_ arguments: [String], in directory: String? = nil) throws -> ProcessOutput {
            try TestProcess.run("apt-get", arguments, in: directory ?? "\(root)/work", environment: ["APT_CONFIG": config, "LC_ALL": "C"])
        }

        /// The text apt printed, both streams.
        static func text(_ output: ProcessOutput) -> String { output.stdoutText + output.stderrText }
    }

    // MARK: - Unsigned

    func testUnsignedRepositoryInstallsWithTrustedYesOnly() throws {
        let scratch = try ScratchDirectory()
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool(try threeDebs(scratch), into: repo)
        let written = try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(),
                                                    signer: nil)
        XCTAssertEqual(written.architectures, ["amd64", "all"])
        XCTAssertEqual(written.components, ["main"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/dists/stable/InRelease"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/dists/stable/Release.gpg"))

        // Order: alpha 1.0-1 before 1.10-1 (Debian order), then beta, gamma; `all` listed in binary-amd64 too.
        let amd64 = try String(contentsOfFile: "\(repo)/dists/stable/main/binary-amd64/Packages", encoding: .utf8)
        let listed = amd64.split(separator: "\n").filter { $0.hasPrefix("Package: ") || $0.hasPrefix("Version: ") }.map(String.init)
        XCTAssertEqual(listed, ["Package: alpha", "Version: 1.0-1", "Package: alpha", "Version: 1.10-1", "Package: beta", "Version: 2.0-1",
                                "Package: gamma", "Version: 0.1-1"])
        let all = try String(contentsOfFile: "\(repo)/dists/stable/main/binary-all/Packages", encoding: .utf8)
        XCTAssertEqual(all.split(separator: "\n").filter { $0.hasPrefix("Package: ") }, ["Package: beta"])

        // Without [trusted=yes] apt refuses an unsigned repository.
        let strict = try PrivateApt(root: try scratch.makeDirectory("apt-strict"), sources: ["deb file:\(repo) stable main"])
        let refused = try strict.aptGet(["update"])
        XCTAssertNotEqual(refused.status, 0, PrivateApt.text(refused))
        XCTAssertTrue(PrivateApt.text(refused).contains("not signed") || PrivateApt.text(refused).contains("does not have a Release file"),
                      PrivateApt.text(refused))

        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"), sources: ["deb [trusted=yes] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertEqual(update.status, 0, PrivateApt.text(update))
        XCTAssertFalse(PrivateApt.text(update).contains("W:"), PrivateApt.text(update))
        let download = try apt.aptGet(["download", "alpha", "beta", "gamma"])
        XCTAssertEqual(download.status, 0, PrivateApt.text(download))
        // apt picked alpha's highest version and checked every file against the index.
        let got = try FileManager.default.contentsOfDirectory(atPath: "\(apt.root)/work").sorted()
        XCTAssertEqual(got, ["alpha_1.10-1_amd64.deb", "beta_2.0-1_all.deb", "gamma_0.1-1_amd64.deb"])
        for entry in entries where got.contains((entry.filename as NSString).lastPathComponent) {
            XCTAssertEqual(try FileDigest.sha256Hex(path: "\(apt.root)/work/\((entry.filename as NSString).lastPathComponent)"), entry.sha256)
        }
        let install = try apt.aptGet(["install", "--download-only", "-y", "alpha=1.0-1"])
        XCTAssertEqual(install.status, 0, PrivateApt.text(install))
    }

    /// A repository of `Architecture: all` packages only: `Architectures: all`, just binary-all, and apt
    /// on amd64 reads it without a warning.
    func testRepositoryOfOnlyArchitectureAllPackages() throws {
        let scratch = try ScratchDirectory()
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool([try makeDeb("docs", "1.0", "all", in: scratch)], into: repo)
        let written = try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(),
                                                    signer: nil)
        XCTAssertEqual(written.architectures, ["all"])
        let release = try String(contentsOfFile: "\(repo)/dists/stable/Release", encoding: .utf8)
        XCTAssertTrue(release.contains("\nArchitectures: all\n"), release)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(repo)/dists/stable/main/binary-amd64"))

        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"), sources: ["deb [trusted=yes] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertEqual(update.status, 0, PrivateApt.text(update))
        XCTAssertFalse(PrivateApt.text(update).contains("W:"), PrivateApt.text(update))
        XCTAssertFalse(PrivateApt.text(update).contains("doesn't support architecture"), PrivateApt.text(update))
        let download = try apt.aptGet(["download", "docs"])
        XCTAssertEqual(download.status, 0, PrivateApt.text(download))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(apt.root)/work"), ["docs_1.0-1_all.deb"])
    }

    /// The writer's Packages agree with apt-ftparchive's over the same pool on every field apt checks
    /// (Filename, Size, MD5sum, SHA256) and on the control fields; Release dates are RFC 2822 UTC.
    func testPackagesAgreeWithAptFtparchive() throws {
        try requireTool("apt-ftparchive")
        let scratch = try ScratchDirectory()
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool(try threeDebs(scratch), into: repo)
        try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(validFor: 86_400),
                                      signer: nil)
        let theirs = try TestProcess.runChecked("apt-ftparchive", ["packages", "pool"], in: repo).stdoutText
        let ours = try String(contentsOfFile: "\(repo)/dists/stable/main/binary-amd64/Packages", encoding: .utf8)
        func paragraphs(_ text: String) -> [String: [String: String]] {
            var out: [String: [String: String]] = [:]
            for block in text.components(separatedBy: "\n\n") where !block.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                var fields: [String: String] = [:]
                var last: String?
                for line in block.split(separator: "\n") {
                    if line.first == " ", let last { fields[last]! += "\n" + line; continue }
                    let colon = line.firstIndex(of: ":")!
                    last = String(line[..<colon]).lowercased()
                    fields[last!] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                out[fields["filename"]!] = fields
            }
            return out
        }
        let a = paragraphs(ours), b = paragraphs(theirs)
        XCTAssertEqual(Set(a.keys), Set(b.keys))
        for (file, mine) in a {
            let their = try XCTUnwrap(b[file])
            for name in ["package", "version", "architecture", "maintainer", "installed-size", "description", "size", "md5sum", "sha256"] {
                XCTAssertEqual(mine[name], their[name], "\(file): \(name)")
            }
        }
        let release = try String(contentsOfFile: "\(repo)/dists/stable/Release", encoding: .utf8)
        XCTAssertTrue(release.contains("\nDate: Sun, 15 Jun 2025 15:06:40 UTC\n"), release)
        XCTAssertTrue(release.contains("\nValid-Until: Mon, 16 Jun 2025 15:06:40 UTC\n"), release)
        XCTAssertTrue(release.contains("\nAcquire-By-Hash: no\n"), release)
        // Every index is listed with its real size and SHA256.
        for path in ["main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz",
                     "main/binary-all/Packages", "main/binary-all/Packages.gz", "main/binary-all/Packages.xz"] {
            let full = "\(repo)/dists/stable/\(path)"
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: full)[.size] as? NSNumber).intValue
            let row = try XCTUnwrap(release.split(separator: "\n").first { $0.hasSuffix(" \(path)") && $0.contains(try! FileDigest.sha256Hex(path: full)) },
                                    "\(path) missing from Release")
            XCTAssertTrue(row.split(separator: " ").contains(Substring(String(size))), String(row))
        }
        // gzip and xz decompress to the same bytes with the standard tools.
        let gz = try TestProcess.runChecked("gzip", ["-dc", "\(repo)/dists/stable/main/binary-amd64/Packages.gz"]).stdout
        let xz = try TestProcess.runChecked("xz", ["-dc", "\(repo)/dists/stable/main/binary-amd64/Packages.xz"]).stdout
        XCTAssertEqual(gz, Data(ours.utf8))
        XCTAssertEqual(xz, Data(ours.utf8))
        // The gzip header has no name and mtime 0.
        let header = try Data(contentsOf: URL(fileURLWithPath: "\(repo)/dists/stable/main/binary-amd64/Packages.gz")).prefix(8)
        XCTAssertEqual(header[header.startIndex + 3] & 0x08, 0, "FNAME set")
        XCTAssertEqual(Array(header.suffix(4)), [0, 0, 0, 0], "gzip mtime is not 0")
    }

    func testIdenticalBytesWhenWrittenTwice() throws {
        let scratch = try ScratchDirectory()
        let key = try GPGKey(directory: try scratch.makeDirectory("keys"), name: "archive", algorithm: "ed25519")
        let debs = try threeDebs(scratch)
        var trees: [[String: Data]] = []
        for (i, order) in [debs, debs.reversed()].enumerated() {
            let repo = try scratch.makeDirectory("repo\(i)")
            let entries = try pool(order, into: repo)
            try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(byHash: true),
                                          signer: try key.signer())
            var files: [String: Data] = [:]
            for file in filesUnder("\(repo)/dists") { files[file] = try Data(contentsOf: URL(fileURLWithPath: "\(repo)/dists/\(file)")) }
            trees.append(files)
        }
        XCTAssertEqual(trees[0].keys.sorted(), trees[1].keys.sorted())
        XCTAssertTrue(trees[0].keys.contains("stable/InRelease"))
        XCTAssertTrue(trees[0].keys.contains { $0.hasPrefix("stable/main/binary-amd64/by-hash/SHA256/") })
        for (name, bytes) in trees[0] { XCTAssertEqual(bytes, trees[1][name], name) }
    }

    // MARK: - Signed

    func testSignedRepositoryVerifiesWithGpgvAndApt() throws {
        try requireTool("gpgv")
        let scratch = try ScratchDirectory()
        let key = try GPGKey(directory: try scratch.makeDirectory("keys"), name: "archive", algorithm: "ed25519")
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool(try threeDebs(scratch), into: repo)
        try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(), signer: try key.signer())
        let suite = "\(repo)/dists/stable"
        try TestProcess.runChecked("gpgv", ["--keyring", key.publicKeyring, "\(suite)/InRelease"])
        try TestProcess.runChecked("gpgv", ["--keyring", key.publicKeyring, "\(suite)/Release.gpg", "\(suite)/Release"])
        // InRelease signs exactly Release's text.
        let inRelease = try String(contentsOfFile: "\(suite)/InRelease", encoding: .utf8)
        XCTAssertTrue(inRelease.contains(try String(contentsOfFile: "\(suite)/Release", encoding: .utf8)))

        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"), sources: ["deb [signed-by=\(key.publicArmored)] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertEqual(update.status, 0, PrivateApt.text(update))
        XCTAssertFalse(PrivateApt.text(update).contains("W:"), PrivateApt.text(update))
        let install = try apt.aptGet(["install", "--download-only", "-y", "alpha", "beta"])
        XCTAssertEqual(install.status, 0, PrivateApt.text(install))
        let download = try apt.aptGet(["download", "gamma"])
        XCTAssertEqual(download.status, 0, PrivateApt.text(download))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "\(apt.root)/work"), ["gamma_0.1-1_amd64.deb"])
    }

    func testRepositorySignedByAnotherKeyIsRefused() throws {
        let scratch = try ScratchDirectory()
        let keys = try scratch.makeDirectory("keys")
        let trusted = try GPGKey(directory: keys, name: "trusted", algorithm: "ed25519")
        let other = try GPGKey(directory: keys, name: "other", algorithm: "rsa3072")
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool(try threeDebs(scratch), into: repo)
        try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(), signer: try other.signer())
        // The RSA signature itself is good: gpgv with the other key accepts it.
        try TestProcess.runChecked("gpgv", ["--keyring", other.publicKeyring, "\(repo)/dists/stable/InRelease"])

        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"), sources: ["deb [signed-by=\(trusted.publicArmored)] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        let text = PrivateApt.text(update)
        XCTAssertNotEqual(update.status, 0, text)
        XCTAssertTrue(text.contains("NO_PUBKEY") && text.contains("not signed"), text)
        let download = try apt.aptGet(["download", "gamma"])
        XCTAssertNotEqual(download.status, 0, PrivateApt.text(download))
    }

    func testPackagesChangedAfterSigningIsRefused() throws {
        let scratch = try ScratchDirectory()
        let key = try GPGKey(directory: try scratch.makeDirectory("keys"), name: "archive", algorithm: "ed25519")
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool(try threeDebs(scratch), into: repo)
        try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(), signer: try key.signer())
        // Someone edits the index after signing (gamma's version), and recompresses every form of it.
        let dir = "\(repo)/dists/stable/main/binary-amd64"
        let text = try String(contentsOfFile: "\(dir)/Packages", encoding: .utf8).replacingOccurrences(of: "Version: 0.1-1", with: "Version: 0.2-1")
        try text.write(toFile: "\(dir)/Packages", atomically: true, encoding: .utf8)
        try TestProcess.runChecked("gzip", ["-9nkf", "\(dir)/Packages"])
        try TestProcess.runChecked("xz", ["-kf", "\(dir)/Packages"])

        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"), sources: ["deb [signed-by=\(key.publicArmored)] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        let out = PrivateApt.text(update)
        XCTAssertNotEqual(update.status, 0, out)
        XCTAssertTrue(out.contains("Hash Sum mismatch") || out.contains("File has unexpected size"), out)
    }

    /// Over loopback HTTP (python3's http.server), with by-hash on as the Publisher writes it: apt asks
    /// for the indexes by digest and downloads into its cache.
    func testSignedRepositoryOverLoopbackHTTPWithByHash() throws {
        let scratch = try ScratchDirectory()
        let key = try GPGKey(directory: try scratch.makeDirectory("keys"), name: "archive", algorithm: "rsa3072")
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool(try threeDebs(scratch), into: repo)
        try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"), options: options(byHash: true),
                                      signer: try key.signer())
        let server = try TestHTTPServer(directory: repo)
        defer { server.stop() }
        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"),
                                 sources: ["deb [signed-by=\(key.publicArmored)] \(server.baseURL) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertEqual(update.status, 0, PrivateApt.text(update))
        XCTAssertFalse(PrivateApt.text(update).contains("W:"), PrivateApt.text(update))
        XCTAssertTrue(server.requests.contains { $0.contains("/main/binary-amd64/by-hash/SHA256/") }, "\(server.requests)")
        let install = try apt.aptGet(["install", "--download-only", "-y", "alpha", "beta", "gamma"])
        XCTAssertEqual(install.status, 0, PrivateApt.text(install))
        let cached = try FileManager.default.contentsOfDirectory(atPath: "\(apt.root)/var/cache/apt/archives").filter { $0.hasSuffix(".deb") }.sorted()
        XCTAssertEqual(cached, ["alpha_1.10-1_amd64.deb", "beta_2.0-1_all.deb", "gamma_0.1-1_amd64.deb"])
    }

    /// A Valid-Until in the past makes apt refuse the repository (with the host's apt.conf.d out of the
    /// way, nothing turns the check off).
    func testExpiredValidUntilIsRefused() throws {
        let scratch = try ScratchDirectory()
        let key = try GPGKey(directory: try scratch.makeDirectory("keys"), name: "archive", algorithm: "ed25519")
        let repo = try scratch.makeDirectory("repo")
        let entries = try pool([try makeDeb("gamma", "0.1", "amd64", in: scratch)], into: repo)
        try AptRepositoryWriter.write(entries: entries, into: URL(fileURLWithPath: "\(repo)/dists"),
                                      options: options(validFor: 3600, date: 1_600_000_000), signer: try key.signer())
        let apt = try PrivateApt(root: try scratch.makeDirectory("apt"), sources: ["deb [signed-by=\(key.publicArmored)] file:\(repo) stable main"])
        let update = try apt.aptGet(["update"])
        XCTAssertNotEqual(update.status, 0, PrivateApt.text(update))
        XCTAssertTrue(PrivateApt.text(update).contains("is expired"), PrivateApt.text(update))
    }

    // MARK: - Benchmark cell (opt-in)

    /// The pkglayer half of scripts/bench/publish-apt.sh: reads every .deb under
    /// `PKGLAYER_BENCH_APT_REPO/pool`, writes signed apt metadata into `PKGLAYER_BENCH_APT_OUT/dists`
    /// with the armored secret key in `PKGLAYER_BENCH_APT_KEY`, and prints one line per run
    /// (`APT-BENCH read+write S write S`). Timing is printed, never asserted. Skipped unless set.
    func testBenchmarkCellWritesSignedMetadataForAPool() throws {
        let env = ProcessInfo.processInfo.environment
        guard let repo = env["PKGLAYER_BENCH_APT_REPO"], let out = env["PKGLAYER_BENCH_APT_OUT"], let keyPath = env["PKGLAYER_BENCH_APT_KEY"] else {
            throw XCTSkip("benchmark cell: set PKGLAYER_BENCH_APT_REPO, PKGLAYER_BENCH_APT_OUT and PKGLAYER_BENCH_APT_KEY (scripts/bench/publish-apt.sh does)")
        }
        let runs = Int(env["PKGLAYER_BENCH_APT_RUNS"] ?? "") ?? 3
        let debs = filesUnder("\(repo)/pool").filter { $0.hasSuffix(".deb") }
        func seconds(_ start: DispatchTime) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9 }
        for run in 0..<runs {
            let dists = URL(fileURLWithPath: "\(out)/run\(run)/dists")
            let start = DispatchTime.now()
            let signer = try SigningKeyLoader.load(reference: keyPath, passphrase: nil, gnupgHome: nil, creationTime: Self.epoch)
            let entries = try debs.map { try AptPackageEntry.read(debAt: URL(fileURLWithPath: "\(repo)/pool/\($0)"), poolPath: "pool/\($0)") }
            let afterRead = DispatchTime.now()
            try AptRepositoryWriter.write(entries: entries, into: dists, options: options(), signer: signer)
            let total = seconds(start), write = seconds(afterRead)
            print(String(format: "APT-BENCH debs %d read+write %.4f write %.4f", debs.count, total, write))
        }
    }

    // MARK: - Entries

    func testEntryReadsControlAndDigestsAndRoundTripsThroughJSON() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb("alpha", "2.0~rc1", "amd64", in: scratch, epoch: 1)
        let entry = try AptPackageEntry.read(debAt: URL(fileURLWithPath: deb), poolPath: "pool/main/a/alpha/alpha_2.0~rc1-1_amd64.deb")
        XCTAssertEqual(entry.package, "alpha")
        XCTAssertEqual(entry.version, "1:2.0~rc1-1")
        XCTAssertEqual(entry.architecture, "amd64")
        XCTAssertEqual(entry.fields.first?.name, "Package")
        XCTAssertEqual(entry.sha256, try FileDigest.sha256Hex(path: deb))
        XCTAssertEqual(entry.md5sum, try TestProcess.runChecked("md5sum", [deb]).stdoutText.prefix(32).description)
        XCTAssertEqual(entry.size, try XCTUnwrap(FileManager.default.attributesOfItem(atPath: deb)[.size] as? NSNumber).uint64Value)
        // dpkg-deb agrees on the control fields.
        let field = try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Description"]).stdoutText
        XCTAssertEqual(entry[field: "description"].map { $0 + "\n" }, field)
        let decoded = try JSONDecoder().decode(AptPackageEntry.self, from: try JSONEncoder().encode(entry))
        XCTAssertEqual(decoded, entry)
    }

    /// Debs from dpkg-deb with every compression it writes (control.tar.gz, .xz, .zst, uncompressed):
    /// the control paragraph read in place agrees with `dpkg-deb -f`.
    func testEntryReadsDebsFromDpkgDebWithEveryCompression() throws {
        try requireTool("dpkg-deb")
        let scratch = try ScratchDirectory()
        try scratch.write("tree/DEBIAN/control", """
            Package: tool
            Version: 3.1-2
            Architecture: amd64
            Maintainer: T <t@example.invalid>
            Depends: libc6 (>= 2.36)
            Description: a tool
             with a long description.
             .
             And a second paragraph.

            """)
        try scratch.write("tree/usr/bin/tool", "#!/bin/sh\n", mode: 0o755)
        for compression in ["gzip", "xz", "zstd", "none"] {
            let deb = scratch.path("tool-\(compression).deb")
            try TestProcess.runChecked("dpkg-deb", ["--root-owner-group", "-Z\(compression)", "-b", scratch.path("tree"), deb])
            let entry = try AptPackageEntry.read(debAt: URL(fileURLWithPath: deb), poolPath: "pool/main/t/tool/tool_3.1-2_amd64.deb")
            let control = try TestProcess.runChecked("dpkg-deb", ["-f", deb]).stdoutText
            XCTAssertEqual(entry.fields.map { "\($0.name): \($0.value)\n" }.joined(), control, compression)
        }
    }

    func testRefusesConflictsBadPathsAndBrokenEntries() throws {
        let scratch = try ScratchDirectory()
        let deb = try makeDeb("alpha", "1.0", "amd64", in: scratch)
        let url = URL(fileURLWithPath: deb)
        for bad in ["../alpha.deb", "/pool/alpha.deb", "pool//alpha.deb", "pool/a b.deb", "pool/./alpha.deb"] {
            XCTAssertThrowsError(try AptPackageEntry.read(debAt: url, poolPath: bad), bad) {
                XCTAssertEqual(($0 as? PkgLayerError)?.code, .pathEscapesRoot, bad)
            }
        }
        let notDeb = try scratch.write("not.deb", "!<arch>\nnonsense")
        XCTAssertThrowsError(try AptPackageEntry.read(debAt: URL(fileURLWithPath: notDeb), poolPath: "pool/not.deb")) {
            XCTAssertEqual(($0 as? PkgLayerError)?.code, .deb)
        }
        let entry = try AptPackageEntry.read(debAt: url, poolPath: "pool/main/a/alpha/alpha_1.0-1_amd64.deb")
        var twin = entry
        twin.filename = "pool/other/alpha_1.0-1_amd64.deb"
        twin.sha256 = String(repeating: "0", count: 64)
        let dists = URL(fileURLWithPath: scratch.path("dists"))
        XCTAssertThrowsError(try AptRepositoryWriter.write(entries: [entry, twin], into: dists, options: options(), signer: nil)) {
            XCTAssertEqual(($0 as? PkgLayerError)?.code, .invalidInput)
            XCTAssertTrue("\($0)".contains("pool/other/alpha_1.0-1_amd64.deb"), "\($0)")
        }
        // The same entry twice is one package.
        try AptRepositoryWriter.write(entries: [entry, entry], into: dists, options: options(), signer: nil)
        let text = try String(contentsOfFile: scratch.path("dists/stable/main/binary-amd64/Packages"), encoding: .utf8)
        XCTAssertEqual(text.components(separatedBy: "Package: alpha").count, 2)
        // An edited index whose value would start a new paragraph is refused, not written.
        var broken = entry
        broken.fields.append(.init(name: "X-Injected", value: "a\n\nPackage: evil"))
        XCTAssertThrowsError(try AptRepositoryWriter.write(entries: [broken], into: dists, options: options(), signer: nil))
        XCTAssertThrowsError(try AptRepositoryWriter.write(entries: [entry], into: dists, options: options(suite: "../up"), signer: nil)) {
            XCTAssertEqual(($0 as? PkgLayerError)?.code, .usage)
        }
    }
}
