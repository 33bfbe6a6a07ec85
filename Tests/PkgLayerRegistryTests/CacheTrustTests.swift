import Foundation
import PkgLayerCore
import PkgLayerRegistry
import PkgLayerTestSupport
import XCTest

/// Caches that cannot be poisoned (#21): remote cache entries signed by `--cache-sign-key` and required
/// by `--cache-trust` (or, for a run that signs its packages, by its own `--sign-key`), checked against a
/// real docker-registry (TLS + htpasswd on 127.0.0.1), gpgv and rpm; local output-cache entries checked
/// against their records on use; cache directories 0700.
final class CacheTrustTests: XCTestCase {
    private var server: RegistryServer!
    private var scratch: ScratchDirectory!
    private var tls: [String] = []
    private var docker = ""
    private var trusted: TestSigningKey!
    private var attacker: TestSigningKey!

    override func setUpWithError() throws {
        try requireTool("skopeo", "docker-registry", "htpasswd", "openssl", "bwrap", "gpg", "gpgv", "rpm")
        server = try RegistryServer()
        scratch = try ScratchDirectory(prefix: "pkglayer-cache-trust")
        tls = ["--ca-cert", server.caFile, "--certs-dir", server.scratch.path("none")]
        docker = try scratch.makeDirectory("docker")
        try TestProcess.runChecked(RegistryCLITests.binary, ["login", server.host, "-u", RegistryServer.username, "--password-stdin"] + tls,
                                   environment: ["DOCKER_CONFIG": docker], stdin: Data("\(RegistryServer.password)\n".utf8))
        trusted = try TestSigningKey(directory: try scratch.makeDirectory("keys/trusted"), name: "cache writer")
        attacker = try TestSigningKey(directory: try scratch.makeDirectory("keys/attacker"), name: "someone else")
    }

    override func tearDown() {
        for key in [trusted, attacker].compactMap({ $0 }) { _ = try? TestProcess.run("gpgconf", ["--homedir", key.home, "--kill", "gpg-agent"]) }
        server = nil
        scratch = nil
    }

    private var cacheRef: String { "\(server.host)/team/pkglayer-cache" }

    /// `extra` 1.0-1; with `evil`, the same package name and version, also holding /usr/bin/evil.
    private func recipe(_ file: String, evil: Bool = false) throws -> String {
        _ = try scratch.write("recipes/files/data.txt", "payload\n")
        let extra = evil ? "\n        mkdir -p ${{targets.destdir}}/usr/bin && printf '#!/bin/sh\\necho pwned\\n' > ${{targets.destdir}}/usr/bin/evil" : ""
        return try scratch.write("recipes/\(file).yml", """
            package:
              name: extra
              version: "1.0"
              release: "1"
              summary: extra, built for the cache trust test
              arch: noarch
              source-date-epoch: 1700000000
            sources:
              - path: files/data.txt
            build:
              steps:
                - name: install
                  run: |
                    mkdir -p ${{targets.destdir}}/usr/share/extra
                    cp data.txt ${{targets.destdir}}/usr/share/extra/\(extra)

            """)
    }

    private struct Run {
        var status: Int32
        var result: [String: Any]
        var stderr: String
        var tmp: String
        var source: String { (result["cacheHit"] as? Bool) == true ? (result["cacheSource"] as? String ?? "local") : "built" }
        var key: String { result["cacheKey"] as? String ?? "" }
        func package(_ suffix: String) -> [String: Any]? {
            (result["packages"] as? [[String: Any]])?.first { ($0["file"] as? String)?.hasSuffix(suffix) == true }
        }
        var rpmPath: String { package(".rpm")?["path"] as? String ?? "" }
        var sha256s: [String] { ((result["packages"] as? [[String: Any]]) ?? []).compactMap { $0["sha256"] as? String }.sorted() }
    }

    private func build(_ recipe: String, runner: String, remote: Bool = true, _ extra: [String] = [], environment: [String: String] = [:],
                       file: StaticString = #filePath, line: UInt = #line) throws -> Run {
        var args = ["build", recipe, "-o", scratch.path("out-\(runner)"), "--offline", "--no-image", "--json"] + extra
        if remote { args += ["--cache", cacheRef] + tls }
        let tmp = try scratch.makeDirectory("tmp-\(runner)-\(UUID().uuidString.prefix(6))")
        let result = try TestProcess.run(RegistryCLITests.binary, args,
                                         environment: ["PKGLAYER_CACHE": scratch.path("cache-\(runner)"), "DOCKER_CONFIG": docker, "TMPDIR": tmp]
                                            .merging(environment) { $1 })
        let json = (try? JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])?.first ?? [:]
        return Run(status: result.status, result: json, stderr: result.stderrText, tmp: tmp)
    }

    private func registryOptions() -> RegistryOptions {
        RegistryOptions(trust: RegistryTrust(caCertificates: [server.caFile], certsDirectory: server.scratch.path("no-certs.d")),
                        credential: RegistryCredential(username: RegistryServer.username, password: RegistryServer.password),
                        dockerConfigPath: server.scratch.path("unused-config.json"), retryDelay: 0.05)
    }

    private func manifest(_ tag: String) throws -> [String: Any] {
        let raw = try TestProcess.runChecked("skopeo", ["inspect", "--raw", "--cert-dir", server.certDirectory,
                                                        "--creds", "\(RegistryServer.username):\(RegistryServer.password)",
                                                        "docker://\(cacheRef):\(tag)"])
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: raw.stdout) as? [String: Any])
    }

    /// A blob as the registry stores it.
    private func blob(_ digest: String) throws -> Data {
        let hex = digest.replacingOccurrences(of: "sha256:", with: "")
        return try Data(contentsOf: URL(fileURLWithPath: server.scratch.path("data/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data")))
    }

    private func occurrences(_ needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    private func rpmFiles(_ path: String) throws -> [String] {
        try TestProcess.runChecked("rpm", ["-qlp", path]).stdoutText.split(separator: "\n").map(String.init)
    }

    // MARK: - signed entries

    func testASignedEntryIsAHitAndUnsignedOrForeignSignedEntriesAreMissesSaidOnce() throws {
        let extra = try recipe("extra")
        let writer = try build(extra, runner: "writer", ["--cache-sign-key", trusted.secretKeyFile])
        XCTAssertEqual(writer.status, 0, writer.stderr)
        XCTAssertEqual(writer.source, "built")

        // The entry carries result.json.asc, and gpgv (the real consumer) verifies it over the record's bytes.
        let entry = try manifest("build-\(writer.key)")
        let layers = try XCTUnwrap(entry["layers"] as? [[String: Any]])
        let signatureLayer = try XCTUnwrap(layers.first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.title"] == "result.json.asc" })
        XCTAssertEqual(signatureLayer["mediaType"] as? String, "application/pgp-signature")
        let configDigest = try XCTUnwrap((entry["config"] as? [String: Any])?["digest"] as? String)
        let record = scratch.path("record.json"), signature = scratch.path("record.json.asc")
        try blob(configDigest).write(to: URL(fileURLWithPath: record))
        try blob(try XCTUnwrap(signatureLayer["digest"] as? String)).write(to: URL(fileURLWithPath: signature))
        let gpgv = try TestProcess.run("gpgv", ["--homedir", try scratch.makeDirectory("gpgv-home"), "--keyring", trusted.keyring, signature, record])
        XCTAssertEqual(gpgv.status, 0, gpgv.stderrText)
        let wrongKey = try TestProcess.run("gpgv", ["--homedir", try scratch.makeDirectory("gpgv-home2"), "--keyring", attacker.keyring, signature, record])
        XCTAssertNotEqual(wrongKey.status, 0, "gpgv accepted the signature with another key")

        // A reader that trusts the writer's key takes the entry: a remote hit, the same bytes, nothing built.
        let reader = try build(extra, runner: "reader", ["--cache-mode", "read", "--cache-trust", trusted.armored])
        XCTAssertEqual(reader.status, 0, reader.stderr)
        XCTAssertEqual(reader.source, "remote", reader.stderr)
        XCTAssertEqual(reader.sha256s, writer.sha256s)
        let readerEntry = scratch.path("cache-reader/outputs/\(writer.key)")
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: readerEntry)),
                       Set((writer.result["packages"] as? [[String: Any]] ?? []).compactMap { $0["file"] as? String } + ["result.json", "result.json.asc"]),
                       "only what the signed record vouches for is kept (no build.log, no marker)")
        XCTAssertFalse(reader.stderr.contains("warning"), reader.stderr)
        // The binary keyring works as well as the armored key, and so does the environment variable.
        let binaryReader = try build(extra, runner: "reader-bin", ["--cache-mode", "read"], environment: ["PKGLAYER_CACHE_TRUST": trusted.keyring])
        XCTAssertEqual(binaryReader.source, "remote", binaryReader.stderr)

        // An unsigned entry (another recipe, pushed without a cache key) is a miss under --cache-trust:
        // said once, then built, with the same bytes the writer made.
        let other = try scratch.write("recipes/other.yml", try String(contentsOfFile: extra, encoding: .utf8)
            .replacingOccurrences(of: "summary: extra,", with: "summary: other,"))
        let unsigned = try build(other, runner: "unsigned-writer")
        XCTAssertEqual(unsigned.status, 0, unsigned.stderr)
        XCTAssertFalse(try manifest("build-\(unsigned.key)").description.contains("result.json.asc"))
        let missed = try build(other, runner: "unsigned-reader", ["--cache-mode", "read", "--cache-trust", trusted.armored])
        XCTAssertEqual(missed.status, 0, missed.stderr)
        XCTAssertEqual(missed.source, "built", "an unsigned entry was taken under --cache-trust")
        XCTAssertEqual(missed.sha256s, unsigned.sha256s, "the rebuild gives the packages the entry should have held")
        XCTAssertEqual(occurrences("is not signed by the trusted key", in: missed.stderr), 1, missed.stderr)
        XCTAssertTrue(missed.stderr.contains("remote cache entry build-\(unsigned.key) for ") && missed.stderr.contains("other.yml"), missed.stderr)
        XCTAssertTrue(missed.stderr.contains("carries no signature"), missed.stderr)
        XCTAssertTrue(missed.stderr.contains("building"), missed.stderr)

        // Signed by a key the reader does not trust: a miss too.
        let third = try scratch.write("recipes/third.yml", try String(contentsOfFile: extra, encoding: .utf8)
            .replacingOccurrences(of: "summary: extra,", with: "summary: third,"))
        let foreign = try build(third, runner: "foreign-writer", ["--cache-sign-key", attacker.secretKeyFile])
        XCTAssertEqual(foreign.status, 0, foreign.stderr)
        let refused = try build(third, runner: "foreign-reader", ["--cache-mode", "read", "--cache-trust", trusted.armored])
        XCTAssertEqual(refused.source, "built", refused.stderr)
        XCTAssertEqual(refused.sha256s, foreign.sha256s)
        XCTAssertEqual(occurrences("is not signed by the trusted key", in: refused.stderr), 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("signed by another key"), refused.stderr)
        // No work directory is left behind by the verification.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: refused.tmp), [], "left in TMPDIR")

        // A repeat signed push of the unchanged recipe is reproducible: nothing is uploaded again.
        let mark = server.logText.count
        let again = try build(extra, runner: "writer-again", ["--cache-mode", "write", "--cache-sign-key", trusted.secretKeyFile])
        XCTAssertEqual(again.source, "built")
        XCTAssertEqual(server.uploadRequests(after: mark), [], "the same record signed again gave other bytes")
    }

    // MARK: - the poisoned entry of #21

    func testAPoisonedEntryUnderAnExistingTagIsNeverTakenNorSigned() throws {
        let extra = try recipe("extra")
        let genuine = try build(extra, runner: "writer", ["--cache-sign-key", trusted.secretKeyFile])
        XCTAssertEqual(genuine.status, 0, genuine.stderr)
        let key = genuine.key
        let tag = "build-\(key)"

        // The attacker builds the same package with /usr/bin/evil in it (locally), then pushes a hand-made
        // record for the genuine key, with that rpm, under the genuine tag.
        let evil = try build(try recipe("evil", evil: true), runner: "attacker", remote: false)
        XCTAssertEqual(evil.status, 0, evil.stderr)
        XCTAssertTrue(try rpmFiles(evil.rpmPath).contains("/usr/bin/evil"))
        let evilEntry = scratch.path("cache-attacker/outputs/\(evil.key)")
        var forged = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(evilEntry)/result.json"))) as? [String: Any])
        forged["cacheKey"] = key
        let forgedRecord = [UInt8](try JSONSerialization.data(withJSONObject: forged, options: [.sortedKeys]))
        let evilFiles = try FileManager.default.contentsOfDirectory(atPath: evilEntry).filter { $0.hasSuffix(".rpm") || $0.hasSuffix(".deb") }.sorted()
        let genuineManifest = try manifest(tag)
        let genuineSignatureDigest = try XCTUnwrap((genuineManifest["layers"] as? [[String: Any]])?
            .first { ($0["annotations"] as? [String: String])?["org.opencontainers.image.title"] == "result.json.asc" }?["digest"] as? String)
        let genuineRecord = [UInt8](try blob(try XCTUnwrap((genuineManifest["config"] as? [String: Any])?["digest"] as? String)))
        let reference = try RegistryReference(parsing: "\(cacheRef):\(tag)")

        func plant(_ name: String, record: [UInt8], signature: Data?, files: [String], from directory: String) throws {
            var artifacts = files.map { ArtifactFile(name: $0, path: "\(directory)/\($0)", mediaType: $0.hasSuffix(".rpm") ? "application/x-rpm" : "application/vnd.debian.binary-package") }
            if let signature {
                let path = try scratch.write("plant-\(name)/result.json.asc", String(decoding: signature, as: UTF8.self))
                artifacts.append(ArtifactFile(name: "result.json.asc", path: path, mediaType: "application/pgp-signature"))
            }
            _ = try RegistryArtifacts.push(artifacts, config: record, artifactType: "application/vnd.pkglayer.build.v1+json", to: reference, options: registryOptions())
        }

        // Without trust the plant works (this is the attack the test guards against): the evil rpm comes out.
        try plant("unsigned", record: forgedRecord, signature: nil, files: evilFiles, from: evilEntry)
        let victim = try build(extra, runner: "victim", ["--cache-mode", "read"])
        XCTAssertEqual(victim.source, "remote", "the plant did not take; the test below proves nothing: \(victim.stderr)")
        XCTAssertTrue(try rpmFiles(victim.rpmPath).contains("/usr/bin/evil"))
        // Taken unchecked, the local entry says so (`OutputCache.lookup(requireVerifiedRemote:)` refuses it).
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path("cache-victim/outputs/\(key)/.unverified-remote")))

        // The runner: --cache-mode read --sign-key, no --cache-trust. It trusts only entries signed by
        // its own key, so the unsigned plant is a miss; it builds, and the rpm it signs is the genuine one.
        let db = try scratch.makeDirectory("rpmdb")
        try TestProcess.runChecked("rpm", ["--dbpath", db, "--import", trusted.armored])
        let signer = ["--cache-mode", "read", "--sign-key", trusted.secretKeyFile]
        func assertBuiltAndSignedGenuinely(runner: String, reason: String, file: StaticString = #filePath, line: UInt = #line) throws {
            let run = try build(extra, runner: runner, signer)
            XCTAssertEqual(run.status, 0, run.stderr, file: file, line: line)
            XCTAssertEqual(run.source, "built", "a poisoned entry was taken: \(run.stderr)", file: file, line: line)
            let warnings = run.stderr.split(separator: "\n").filter { $0.contains("warning") && $0.contains(tag) }
            XCTAssertEqual(warnings.count, 1, "said once: \(run.stderr)", file: file, line: line)
            XCTAssertTrue(run.stderr.contains(reason), run.stderr, file: file, line: line)
            XCTAssertFalse(try rpmFiles(run.rpmPath).contains("/usr/bin/evil"), "the evil file came out", file: file, line: line)
            XCTAssertTrue(try rpmFiles(run.rpmPath).contains("/usr/share/extra/data.txt"), file: file, line: line)
            let check = try TestProcess.run("rpm", ["--dbpath", db, "-K", run.rpmPath])
            XCTAssertEqual(check.status, 0, check.stdoutText + check.stderrText, file: file, line: line)
            XCTAssertTrue(check.stdoutText.contains("digests signatures OK"), check.stdoutText, file: file, line: line)
            // Its local cache holds the genuine (unsigned) bytes the writer built, nothing of the plant.
            let rpm = try XCTUnwrap(genuine.package(".rpm")?["file"] as? String)
            XCTAssertEqual(try FileDigest.sha256Hex(path: scratch.path("cache-\(runner)/outputs/\(key)/\(rpm)")),
                           genuine.package(".rpm")?["sha256"] as? String, file: file, line: line)
        }
        try assertBuiltAndSignedGenuinely(runner: "signer1", reason: "carries no signature")

        // The genuine signature next to the forged record: gpgv finds it bad.
        try plant("replayed", record: forgedRecord, signature: try blob(genuineSignatureDigest), files: evilFiles, from: evilEntry)
        try assertBuiltAndSignedGenuinely(runner: "signer2", reason: "does not match its record")

        // The forged record signed by the attacker's own key.
        let forgedPath = try scratch.write("forged.json", String(decoding: forgedRecord, as: UTF8.self))
        try attacker.detachSign(forgedPath, to: forgedPath + ".asc")
        try plant("foreign", record: forgedRecord, signature: try Data(contentsOf: URL(fileURLWithPath: forgedPath + ".asc")), files: evilFiles, from: evilEntry)
        try assertBuiltAndSignedGenuinely(runner: "signer3", reason: "signed by another key")

        // The genuine record and signature, but the evil bytes under the genuine file names: the digests differ.
        let swapped = try scratch.makeDirectory("swapped")
        let genuineFiles = try XCTUnwrap(genuine.result["packages"] as? [[String: Any]]).compactMap { $0["file"] as? String }.sorted()
        XCTAssertEqual(genuineFiles, evilFiles, "same names: the attacker overwrites the genuine files")
        for name in genuineFiles { try FileManager.default.copyItem(atPath: "\(evilEntry)/\(name)", toPath: "\(swapped)/\(name)") }
        try plant("swapped", record: genuineRecord, signature: try blob(genuineSignatureDigest), files: genuineFiles, from: swapped)
        try assertBuiltAndSignedGenuinely(runner: "signer4", reason: "has sha256")

        // Put back the genuine entry: the signing reader takes it (the implicit trust is not a blanket refusal).
        try plant("genuine", record: genuineRecord, signature: try blob(genuineSignatureDigest), files: genuineFiles,
                  from: scratch.path("cache-writer/outputs/\(key)"))
        let hit = try build(extra, runner: "signer5", signer)
        XCTAssertEqual(hit.source, "remote", hit.stderr)
        XCTAssertFalse(try rpmFiles(hit.rpmPath).contains("/usr/bin/evil"))
        let check = try TestProcess.run("rpm", ["--dbpath", db, "-K", hit.rpmPath])
        XCTAssertTrue(check.stdoutText.contains("digests signatures OK"), check.stdoutText)
    }

    // MARK: - the local output cache

    func testATamperedLocalEntryIsRebuiltNeverCopiedOutAndCachesAre0700() throws {
        let extra = try recipe("extra")
        let first = try build(extra, runner: "local", remote: false)
        XCTAssertEqual(first.status, 0, first.stderr)
        let root = scratch.path("cache-local")
        let entry = "\(root)/outputs/\(first.key)"
        for directory in [root, "\(root)/outputs", entry] {
            var st = stat()
            XCTAssertEqual(stat(directory, &st), 0, directory)
            XCTAssertEqual(st.st_mode & 0o777, 0o700, "\(directory) is not private")
        }
        let again = try build(extra, runner: "local", remote: false)
        XCTAssertEqual(again.source, "local", "an intact entry is a hit: \(again.stderr)")

        // Someone swaps the rpm in the entry for another one with /usr/bin/evil: detected, removed, rebuilt.
        let evil = try build(try recipe("evil", evil: true), runner: "attacker", remote: false)
        let rpm = try XCTUnwrap(first.package(".rpm")?["file"] as? String)
        try FileManager.default.removeItem(atPath: "\(entry)/\(rpm)")
        try FileManager.default.copyItem(atPath: evil.rpmPath, toPath: "\(entry)/\(rpm)")
        let tampered = try build(extra, runner: "local", remote: false)
        XCTAssertEqual(tampered.status, 0, tampered.stderr)
        XCTAssertEqual(tampered.source, "built", "a tampered entry was copied out: \(tampered.stderr)")
        XCTAssertTrue(tampered.stderr.contains("is damaged") && tampered.stderr.contains(rpm), tampered.stderr)
        XCTAssertEqual(tampered.sha256s, first.sha256s)
        XCTAssertFalse(try rpmFiles(tampered.rpmPath).contains("/usr/bin/evil"))
        XCTAssertEqual(try FileDigest.sha256Hex(path: "\(entry)/\(rpm)"), first.package(".rpm")?["sha256"] as? String, "the entry was not rebuilt whole")

        // A symlink in place of a package (to a file outside the entry) is refused the same way.
        try FileManager.default.removeItem(atPath: "\(entry)/\(rpm)")
        try FileManager.default.createSymbolicLink(atPath: "\(entry)/\(rpm)", withDestinationPath: evil.rpmPath)
        let linked = try build(extra, runner: "local", remote: false)
        XCTAssertEqual(linked.source, "built", linked.stderr)
        XCTAssertFalse(try rpmFiles(linked.rpmPath).contains("/usr/bin/evil"))
        var st = stat()
        XCTAssertEqual(lstat("\(entry)/\(rpm)", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)

        // A record naming a file outside the entry: refused, nothing written outside the output folder.
        let recordPath = "\(entry)/result.json"
        var record = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recordPath))) as? [String: Any])
        var packages = try XCTUnwrap(record["packages"] as? [[String: Any]])
        packages[0]["file"] = "../escaped.rpm"
        record["packages"] = packages
        try JSONSerialization.data(withJSONObject: record).write(to: URL(fileURLWithPath: recordPath))
        let escaped = try build(extra, runner: "local", remote: false)
        XCTAssertEqual(escaped.source, "built", escaped.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("escaped.rpm")))
        XCTAssertEqual(escaped.sha256s, first.sha256s)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: escaped.tmp), [], "left in TMPDIR")
    }

    /// An existing cache root others can write is left as it is (it may be shared on purpose) but warned about.
    func testACacheRootOthersCanWriteIsWarnedAboutAndLeftAlone() throws {
        let extra = try recipe("extra")
        let shared = try scratch.makeDirectory("shared-cache")
        chmod(shared, 0o777)
        let out = try TestProcess.run(RegistryCLITests.binary, ["build", extra, "--explain-key"], environment: ["PKGLAYER_CACHE": shared])
        XCTAssertEqual(out.status, 0, out.stderrText)
        let warnings = out.stderrText.split(separator: "\n").filter { $0.contains("writable by other users") }
        XCTAssertEqual(warnings.count, 1, out.stderrText)
        XCTAssertTrue(warnings.first?.contains("chmod 700 \(shared)") == true, out.stderrText)
        var st = stat()
        XCTAssertEqual(stat(shared, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o777, "an existing directory's mode was changed")
    }

    // MARK: - the flags

    func testTrustFlagsAreCheckedBeforeAnythingIsBuilt() throws {
        let extra = try recipe("extra")
        // A secret key given as the trusted key: refused, naming the flag and the fix; nothing built.
        let secret = try build(extra, runner: "flags1", ["--cache-trust", trusted.secretKeyFile])
        XCTAssertNotEqual(secret.status, 0)
        XCTAssertTrue(secret.stderr.contains("--cache-trust") && secret.stderr.contains("secret key") && secret.stderr.contains("gpg --armor --export"), secret.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: scratch.path("out-flags1/extra-1.0-1.noarch.rpm")))
        // A missing file, and a file that is no key.
        let missing = try build(extra, runner: "flags2", ["--cache-trust", scratch.path("nope.asc")])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope.asc"), missing.stderr)
        let notKey = try build(extra, runner: "flags3", ["--cache-trust", extra])
        XCTAssertNotEqual(notKey.status, 0)
        XCTAssertTrue(notKey.stderr.contains("is not an OpenPGP public key"), notKey.stderr)
        // Without a registry cache the trust flags mean nothing: a usage error, not a silent no-op.
        let noCache = try build(extra, runner: "flags4", remote: false, ["--cache-trust", trusted.armored])
        XCTAssertNotEqual(noCache.status, 0)
        XCTAssertTrue(noCache.stderr.contains("--cache-trust") && noCache.stderr.contains("--cache"), noCache.stderr)
        // An armored secret key in the environment signs entries; its content is never printed.
        let content = try String(contentsOfFile: trusted.secretKeyFile, encoding: .utf8)
        let fromEnv = try build(extra, runner: "flags5", ["--cache-mode", "write"], environment: ["PKGLAYER_CACHE_SIGN_KEY": content])
        XCTAssertEqual(fromEnv.status, 0, fromEnv.stderr)
        XCTAssertTrue(try manifest("build-\(fromEnv.key)").description.contains("result.json.asc"))
        let body = content.split(separator: "\n").dropFirst(2).first.map(String.init) ?? "?"
        XCTAssertFalse(fromEnv.stderr.contains(body), "the key's content was printed")
    }
}
