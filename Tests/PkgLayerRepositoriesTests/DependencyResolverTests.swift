import PkgLayerCore
import PkgLayerRepositories
import XCTest

/// The resolver on small synthetic indexes, shaped like real Debian ones.
final class DependencyResolverTests: XCTestCase {
    private func dep(_ text: String) -> Dependency {
        Dependency(alternatives: text.split(separator: "|").map { part in
            let words = part.split(separator: " ").map(String.init)
            if words.count == 3 {
                let op: VersionOperator = ["<<": .lessThan, "<=": .lessOrEqual, "=": .equal, ">=": .greaterOrEqual, ">>": .greaterThan][words[1]]!
                return Dependency.Clause(name: words[0], versionOperator: op, version: words[2])
            }
            return Dependency.Clause(name: words[0])
        })
    }

    private func pkg(_ name: String, _ version: String, arch: String = "amd64", depends: [String] = [],
                     pre: [String] = [], provides: [String] = [], conflicts: [String] = []) -> AvailablePackage {
        AvailablePackage(name: name, version: version, architecture: arch, depends: depends.map(dep), preDepends: pre.map(dep),
                         provides: provides.map { dep($0).alternatives[0] }, conflicts: conflicts.map(dep),
                         repository: "test", location: "pool/\(name)_\(version).deb", sha256: String(repeating: "0", count: 64), size: 1)
    }

    private func resolver(_ packages: [AvailablePackage]) -> DependencyResolver {
        DependencyResolver(index: PackageIndex(packages), scheme: .debian, architectures: ["amd64", "all"],
                           sources: "http://example.test/debian bookworm main")
    }

    private func names(_ closure: [AvailablePackage]) -> [String] { closure.map { "\($0.name)=\($0.version)" } }

    /// libc6 and libgcc-s1 need each other (true in bookworm); the walk ends and holds both once.
    func testCycleAndHighestVersion() throws {
        let index = [
            pkg("libc6", "2.36-9+deb12u10", depends: ["libgcc-s1"]),
            pkg("libc6", "2.36-9+deb12u4", depends: ["libgcc-s1"]),
            pkg("libgcc-s1", "12.2.0-14", depends: ["gcc-12-base = 12.2.0-14", "libc6 >= 2.35"]),
            pkg("gcc-12-base", "12.2.0-14"),
            pkg("gcc-12-base", "12.2.0-15"),
        ]
        let closure = try resolver(index).resolve(roots: [dep("libc6")])
        XCTAssertEqual(names(closure), ["gcc-12-base=12.2.0-14", "libc6=2.36-9+deb12u10", "libgcc-s1=12.2.0-14"])
    }

    func testVersionOperators() throws {
        let index = ["1.0-1", "1.5-1", "2.0~rc1-1", "2.0-1", "3.0-1"].map { pkg("libfoo", $0) }
        let r = resolver(index)
        let cases: [(String, String)] = [
            ("libfoo << 2.0~", "1.5-1"), ("libfoo << 2.0", "2.0~rc1-1"), ("libfoo << 2.0-1", "2.0~rc1-1"), ("libfoo <= 2.0-1", "2.0-1"),
            ("libfoo = 1.0-1", "1.0-1"), ("libfoo >= 1.0", "3.0-1"), ("libfoo >> 3.0-1", ""),
        ]
        for (requirement, expected) in cases {
            if expected.isEmpty {
                XCTAssertThrowsError(try r.resolve(roots: [dep(requirement)]), requirement)
            } else {
                XCTAssertEqual(try r.resolve(roots: [dep(requirement)]).first?.version, expected, requirement)
            }
        }
    }

    /// The first satisfiable alternative wins; an alternative already in the set is preferred.
    func testAlternatives() throws {
        let index = [
            pkg("app", "1", depends: ["missing | debconf >= 0.5 | debconf-2.0"]),
            pkg("debconf", "1.5.82"),
            pkg("cdebconf", "0.270", provides: ["debconf-2.0"]),
            pkg("tool", "1", depends: ["cdebconf | debconf"]),
        ]
        XCTAssertEqual(names(try resolver(index).resolve(roots: [dep("app")])), ["app=1", "debconf=1.5.82"])
        // debconf is already chosen by app, so tool's "cdebconf | debconf" needs nothing more.
        XCTAssertEqual(names(try resolver(index).resolve(roots: [dep("app"), dep("tool")])), ["app=1", "debconf=1.5.82", "tool=1"])
        // Alone, tool takes its first alternative.
        XCTAssertEqual(names(try resolver(index).resolve(roots: [dep("tool")])), ["cdebconf=0.270", "tool=1"])
    }

    /// Virtual names: one provider is taken; several are an error for a root (name one), a deterministic
    /// choice (first name) for a dependency. Unversioned provides never satisfy a versioned dependency.
    func testVirtualAndVersionedProvides() throws {
        let index = [
            pkg("mawk", "1.3.4", provides: ["awk"]),
            pkg("gawk", "5.2.1", provides: ["awk"]),
            pkg("needs-awk", "1", depends: ["awk"]),
            pkg("libssl3", "3.0.17-1", provides: ["libssl-abi = 3.0.17"]),
            pkg("new-app", "1", depends: ["libssl-abi >= 3.0"]),
            pkg("old-app", "1", depends: ["libssl-abi >= 4"]),
            pkg("nover", "1", provides: ["virt"]),
            pkg("needs-virt-2", "1", depends: ["virt >= 2"]),
        ]
        let r = resolver(index)
        XCTAssertThrowsError(try r.resolve(roots: [dep("awk")])) { error in
            XCTAssertTrue("\(error)".contains("awk is a virtual package provided by gawk, mawk"), "\(error)")
        }
        XCTAssertEqual(names(try r.resolve(roots: [dep("needs-awk")])), ["gawk=5.2.1", "needs-awk=1"])
        XCTAssertEqual(names(try r.resolve(roots: [dep("mawk"), dep("needs-awk")])), ["mawk=1.3.4", "needs-awk=1"])
        XCTAssertEqual(names(try r.resolve(roots: [dep("new-app")])), ["libssl3=3.0.17-1", "new-app=1"])
        XCTAssertThrowsError(try r.resolve(roots: [dep("old-app")])) { error in
            XCTAssertEqual("\(error)", """
                old-app: old-app -> libssl-abi (>= 4): no package in http://example.test/debian bookworm main provides libssl-abi (>= 4); \
                available: libssl3 3.0.17-1 provides libssl-abi = 3.0.17; add a repository that has it, or a local package that provides it
                """)
        }
        XCTAssertThrowsError(try r.resolve(roots: [dep("needs-virt-2")]))
    }

    /// Architecture `all` is installable; another architecture is not, and the error says so.
    /// `:any` qualifiers name the package.
    func testArchitectures() throws {
        let index = [
            pkg("data", "1", arch: "all"),
            pkg("tool", "1", depends: ["data", "python3:any"]),
            pkg("python3", "3.11", arch: "arm64"),
        ]
        XCTAssertThrowsError(try resolver(index).resolve(roots: [dep("tool")])) { error in
            XCTAssertTrue("\(error)".contains("tool -> python3: no package in http://example.test/debian bookworm main provides python3; available: 3.11 (arm64, not installable here)"),
                          "\(error)")
        }
        let fixed = index + [pkg("python3", "3.11")]
        XCTAssertEqual(names(try resolver(fixed).resolve(roots: [dep("tool")])), ["data=1", "python3=3.11", "tool=1"])
    }

    /// The error text names the whole chain, the requirement, the sources and what is available.
    func testMissingDependencyNamesTheChain() throws {
        let index = [
            pkg("nginx", "1.22.1-9", depends: ["nginx-common", "libssl3 >= 3.0.0"]),
            pkg("nginx-common", "1.22.1-9"),
            pkg("libssl3", "3.0.17-1~deb12u2", depends: ["libc6 >= 2.34"]),
        ]
        XCTAssertThrowsError(try resolver(index).resolve(roots: [dep("nginx")])) { error in
            XCTAssertEqual("\(error)", """
                libssl3: nginx -> libssl3 -> libc6 (>= 2.34): no package in http://example.test/debian bookworm main provides libc6 (>= 2.34); \
                available: none; add a repository that has it, or a local package that provides it
                """)
        }
        let tooNew = [pkg("nginx", "1", depends: ["libssl3 >= 3.1.0"]), pkg("libssl3", "3.0.17-1~deb12u2")]
        XCTAssertThrowsError(try resolver(tooNew).resolve(roots: [dep("nginx")])) { error in
            XCTAssertTrue("\(error)".contains("nginx -> libssl3 (>= 3.1.0): no package in http://example.test/debian bookworm main provides libssl3 (>= 3.1.0); available: 3.0.17-1~deb12u2"),
                          "\(error)")
        }
        XCTAssertThrowsError(try resolver(tooNew).resolve(roots: [dep("nope")])) { error in
            XCTAssertTrue("\(error)".hasPrefix("packages: nope: no package in"), "\(error)")
        }
    }

    /// Local packages are in the set as they are, satisfy names and provides, and their own requirements
    /// are resolved from the index.
    func testLocalPackages() throws {
        let index = [pkg("libc6", "2.36-9"), pkg("myapp", "0.9", depends: ["libc6"]), pkg("zlib1g", "1:1.2.13")]
        var local = pkg("myapp", "1.0", depends: ["zlib1g >= 1:1.2", "libc6"], provides: ["httpd"])
        local.repository = nil
        local.location = "/out/myapp_1.0_amd64.deb"
        let closure = try resolver(index).resolve(roots: [dep("myapp"), dep("httpd")], local: [local])
        XCTAssertEqual(names(closure), ["libc6=2.36-9", "myapp=1.0", "zlib1g=1:1.2.13"])
        XCTAssertNil(closure[1].repository)
    }

    func testConflictsAreReported() throws {
        let index = [
            pkg("a", "1", depends: ["b", "c"]),
            pkg("b", "1", conflicts: ["c << 2"]),
            pkg("c", "1"),
        ]
        XCTAssertThrowsError(try resolver(index).resolve(roots: [dep("a")])) { error in
            XCTAssertTrue("\(error)".contains("b 1 (amd64) conflicts with c (<< 2), and c 1 (amd64) is needed too (a -> b; a -> c)"), "\(error)")
        }
        let ok = index.map { $0.name == "c" ? pkg("c", "2") : $0 }
        XCTAssertEqual(names(try resolver(ok).resolve(roots: [dep("a")])), ["a=1", "b=1", "c=2"])
    }

    /// The same inputs give the same closure, whatever order the index lists packages in.
    func testDeterministic() throws {
        var index = [
            pkg("app", "1", depends: ["libx | liby", "awk"]),
            pkg("libx", "2"), pkg("libx", "1"), pkg("liby", "9"),
            pkg("mawk", "1", provides: ["awk"]), pkg("gawk", "1", provides: ["awk"]),
        ]
        let first = names(try resolver(index).resolve(roots: [dep("app")]))
        XCTAssertEqual(first, ["app=1", "gawk=1", "libx=2"])
        index.reverse()
        XCTAssertEqual(names(try resolver(index).resolve(roots: [dep("app")])), first)
    }
}
