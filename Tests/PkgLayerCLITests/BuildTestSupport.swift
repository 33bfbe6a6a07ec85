import Foundation
import PkgLayerTestSupport
import XCTest

/// Paths and helpers for `pkglayer build` tests.
enum BuildFixtures {
    /// The repository root (three levels above this file).
    static let repository: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }()

    /// `../shared/sources`: the upstream tarballs, byte-identical to the releases the recipes pin.
    static var sharedSources: String { (repository as NSString).deletingLastPathComponent + "/shared/sources" }

    static func recipe(_ name: String) -> String { repository + "/recipes/" + name }

    /// Runs `pkglayer build --no-image` offline with a private cache, so every call starts from a clean machine
    /// unless the caller shares `cache`.
    @discardableResult
    static func build(_ recipe: String, output: String, cache: String, extra: [String] = [], in directory: String? = nil,
                      environment: [String: String] = [:], umask: String? = nil) throws -> ProcessOutput {
        var env = ["PKGLAYER_CACHE": cache]
        env.merge(environment) { _, new in new }
        // Packages only: the image step resolves from apt repositories (NginxImageTests covers it).
        return try CLI.run(["build", recipe, "-o", output, "--sources", sharedSources, "--offline", "--no-image"] + extra,
                           in: directory, environment: env, umask: umask)
    }

    /// A root that `dpkg --root` can install into.
    static func dpkgRoot(in scratch: ScratchDirectory, named name: String = "dpkgroot") throws -> String {
        let root = try scratch.makeDirectory(name)
        _ = try scratch.makeDirectory(name + "/var/lib/dpkg/info")
        _ = try scratch.makeDirectory(name + "/var/lib/dpkg/updates")
        _ = try scratch.write(name + "/var/lib/dpkg/status", "")
        return root
    }

    static func sha256s(of directory: String) throws -> [String] {
        try TestProcess.runChecked("/bin/sh", ["-c", "cd '\(directory)' && find . -maxdepth 1 -type f \\( -name '*.rpm' -o -name '*.deb' \\) | sort | xargs sha256sum"])
            .stdoutText.split(separator: "\n").map(String.init)
    }
}
