import Foundation
import PkgLayerCore
import PkgLayerFetch
@testable import PkgLayerRepositories
@testable import PkgLayerDeb
import PkgLayerTestSupport
import XCTest

/// The host's own apt configuration (sources.list.d, Signed-By) and Debian's real signed indexes, served
/// from a loopback mirror of /var/lib/apt/lists: pkglayer's closures (nginx, curl, openssh-server, python3, git) must be the ones apt itself
/// computes for an empty system (`apt-get -s` with an empty dpkg status, no recommends).
final class AptHostResolutionTests: XCTestCase {
    func testClosuresMatchApt() throws {
        let lists = "/var/lib/apt/lists"
        let sources = try AptRepository.hostSources()
        let debian = sources.filter { $0.url?.hasPrefix("http://deb.debian.org/") == true }
        try requireTool("apt-get")
        try requireCondition(!debian.isEmpty, "needs a Debian host whose apt sources use http://deb.debian.org")
        let scratch = try ScratchDirectory()
        let mirror = try scratch.makeDirectory("mirror")
        // Lay out each suite as the archive has it: dists/SUITE/InRelease and main/binary-amd64/Packages.
        for spec in debian {
            let archive = String(spec.url!.dropFirst("http://deb.debian.org/".count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            for suite in spec.suites {
                let prefix = "\(lists)/deb.debian.org_\(archive.replacingOccurrences(of: "/", with: "_"))_dists_\(suite)"
                try requireFixture("\(prefix)_InRelease", what: "the apt lists for \(suite)", fix: "run apt-get update (scripts/install-deps.sh does)")
                let binary = try scratch.makeDirectory("mirror/\(archive)/dists/\(suite)/main/binary-amd64")
                try FileManager.default.copyItem(atPath: "\(prefix)_InRelease", toPath: "\(mirror)/\(archive)/dists/\(suite)/InRelease")
                _ = try TestProcess.runChecked("/bin/sh", ["-c", "/usr/lib/apt/apt-helper cat-file \(prefix)_main_binary-amd64_Packages.lz4 > \(binary)/Packages"])
            }
        }
        let server = try TestHTTPServer(directory: mirror)
        defer { server.stop() }
        let cache = PackageDownloadCache(root: scratch.path("cache"), mirrors: ["http://deb.debian.org": server.baseURL])
        var packages: [AvailablePackage] = []
        for spec in debian {
            packages += try AptRepository(spec: spec, architecture: .x86_64).packages(cache: cache)
        }
        let resolver = DependencyResolver(index: PackageIndex(packages), scheme: .debian, architectures: ["amd64", "all"],
                                          sources: "the host's apt sources")
        let status = try scratch.write("status", "")
        for root in ["nginx", "curl", "openssh-server", "python3", "git"] {
            let ours = try resolver.resolve(roots: [Dependency(name: root)]).map { "\($0.name) \($0.version)" }
            let simulated = try TestProcess.runChecked("apt-get", ["-s", "-o", "Dir::State::Status=\(status)", "-o", "APT::Install-Recommends=false",
                                                                   "install", root])
            let apt = simulated.stdoutText.split(separator: "\n").filter { $0.hasPrefix("Inst ") }.map { line -> String in
                let words = line.split(separator: " ")
                return "\(words[1]) \(words[2].trimmingCharacters(in: CharacterSet(charactersIn: "([")))"
            }.sorted()
            XCTAssertGreaterThan(apt.count, 3, simulated.stdoutText)
            XCTAssertEqual(ours, apt, "\(root): only pkglayer: \(Set(ours).subtracting(apt).sorted()), only apt: \(Set(apt).subtracting(ours).sorted())")
        }
    }
}
