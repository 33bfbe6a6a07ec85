import Foundation
import XCTest

// The one way a test says what the machine must have: a tool, a fixture file, or some other condition.
// What is missing skips the test with a message that says how to install it, unless
// PKGLAYER_REQUIRE_ALL=1 is set (scripts/test.sh sets it): then it fails the test, so a machine without
// skopeo, runc, rpm, lintian, … cannot report green. Opt-in tests (large files, benchmarks) are not
// requirements: they throw XCTSkip themselves when their variable is not set.

/// Whether a missing requirement fails the test (`PKGLAYER_REQUIRE_ALL=1`) instead of skipping it.
public var requireAll: Bool { ProcessInfo.processInfo.environment["PKGLAYER_REQUIRE_ALL"] == "1" }

/// A requirement the machine does not meet while `PKGLAYER_REQUIRE_ALL=1`: thrown instead of XCTSkip, so
/// XCTest records a failure whose text names what is missing, how to install it, and where it was required.
public struct MissingRequirement: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public let file: String
    public let line: UInt

    public var description: String {
        "\(message) [PKGLAYER_REQUIRE_ALL=1 makes this a failure; required at \((file as NSString).lastPathComponent):\(line)]"
    }
    public var errorDescription: String? { description }
}

/// How each tool the tests run gets onto a Debian 12 machine (all of them by scripts/install-deps.sh).
/// Keyed by command name; a command named by path is looked up by its last component.
public let toolPackages: [String: String] = [
    "apt-get": "apt", "ar": "binutils", "bwrap": "bubblewrap", "busybox": "busybox-static", "cc": "gcc",
    "cpio": "cpio", "createrepo_c": "createrepo-c", "curl": "curl", "docker-registry": "docker-registry",
    "dpkg": "dpkg", "dpkg-deb": "dpkg", "dpkg-query": "dpkg", "dpkg-scanpackages": "dpkg-dev", "dpkg-shlibdeps": "dpkg-dev",
    "getcap": "libcap2-bin", "getfattr": "attr", "gpg": "gpg", "gpgv": "gpgv", "gzip": "gzip", "htpasswd": "apache2-utils",
    "jq": "jq", "lintian": "lintian", "make": "make", "md5sum": "coreutils", "oci-image-tool": "oci-image-tool", "openssl": "openssl",
    "patch": "patch", "pigz": "pigz", "python3": "python3", "rpm": "rpm", "rpm2cpio": "rpm2cpio", "rpmlint": "rpmlint",
    "runc": "runc", "setcap": "libcap2-bin", "setfattr": "attr", "sh": "dash", "sha256sum": "coreutils", "skopeo": "skopeo", "time": "time",
    "tar": "tar", "umoci": "umoci", "useradd": "passwd", "xz": "xz-utils", "zstd": "zstd",
    "nsenter": "util-linux", "dnf": "dnf", "debsig-verify": "debsig-verify", "apt-ftparchive": "apt-utils",
    "rpmsign": "rpm", "rpmkeys": "rpm",
]

/// Tools that do not come from an apt package, with how to get them.
let toolInstructions: [String: String] = [
    "pyspdxtools": "python3 -m venv /opt/pkglayer-spdx && /opt/pkglayer-spdx/bin/pip install spdx-tools==0.8.5",
]

/// The message for a missing tool: `skopeo is missing: apt-get install skopeo (scripts/install-deps.sh installs it)`.
public func missingToolMessage(_ name: String) -> String {
    let command = (name as NSString).lastPathComponent
    if let package = toolPackages[command] {
        return "\(name) is missing: apt-get install \(package) (scripts/install-deps.sh installs it)"
    }
    if let how = toolInstructions[command] {
        return "\(name) is missing: \(how) (scripts/install-deps.sh installs it)"
    }
    return "\(name) is missing: install it (and add it to scripts/install-deps.sh)"
}

/// Skips the test, or fails it under `PKGLAYER_REQUIRE_ALL=1`, with `message`.
public func requirementNotMet(_ message: String, file: StaticString = #filePath, line: UInt = #line) -> Error {
    if requireAll { return MissingRequirement(message: message, file: "\(file)", line: line) }
    return XCTSkip(message, file: file, line: line)
}

/// Requires every named program: on `PATH`, or in /usr/local/sbin, /usr/sbin or /sbin (where runc and
/// setcap live), or at the given path when the name contains a `/`. The first missing one is reported.
public func requireTool(_ names: String..., file: StaticString = #filePath, line: UInt = #line) throws {
    for name in names where TestProcess.which(name) == nil {
        throw requirementNotMet(missingToolMessage(name), file: file, line: line)
    }
}

/// Requires a fixture file or directory (e.g. the tarballs in ../shared/sources). `what` names it in
/// the message; `fix` says how to get it.
public func requireFixture(_ path: String, what: String, fix: String = "run scripts/install-deps.sh",
                           file: StaticString = #filePath, line: UInt = #line) throws {
    guard !FileManager.default.fileExists(atPath: path) else { return }
    throw requirementNotMet("\(what) is missing (\(path)): \(fix)", file: file, line: line)
}

/// Requires any other condition of the machine (bubblewrap can make namespaces, setcap works on this
/// filesystem, the test runs as root, …). `why` is the whole message: say what is wrong and how to fix it.
public func requireCondition(_ ok: Bool, _ why: @autoclosure () -> String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
    guard !ok else { return }
    throw requirementNotMet(why(), file: file, line: line)
}
