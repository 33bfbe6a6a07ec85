import Foundation
import PkgLayerCore

extension SourceTree {
    /// Applies patches in order with `patch -p1 --batch --forward --no-backup-if-mismatch`, in
    /// `directory` of the tree (default: its top).
    ///
    /// patch runs inside the sandbox (network off, only the tree writable), not on the host: a tarball
    /// may legitimately hold a symlink such as `docs -> /usr/share/doc`, and a patch touching
    /// `docs/x` must not write through it into the host. `--forward` makes an already-applied or
    /// reversed patch an error instead of an undo; `--batch` never asks.
    ///
    /// - Parameter baseDirectory: relative patch paths are taken from here (the recipe's directory);
    ///   default: the current directory.
    /// - Throws: for the first patch that does not apply, an error located at the patch file with
    ///   patch's exit status and full output.
    ///   - strip: leading path components to drop (`patch -pN`), per patch; missing entries mean 1.
    public func applyPatches(_ patches: [String], strip: [Int] = [], in directory: String = "", baseDirectory: String? = nil,
                             sourceDateEpoch: SourceDateEpoch = SourceDateEpoch(0), host: HostLayout = .detect()) throws {
        guard !patches.isEmpty else { return }
        let relative = try SourceTree.relativeDirectory(directory, field: "patch directory")
        let dirFD = try openDirectory(relative, create: false)
        close(dirFD)
        guard let patchProgram = Subprocess.which("patch", path: Sandbox.defaultPath) else {
            throw PkgLayerError(.toolMissing, "'patch' is not installed; the recipe has patches. Install it with: apt-get install -y patch",
                                at: patches[0])
        }
        for (index, patch) in patches.enumerated() {
            let absolute = patch.hasPrefix("/") ? patch : (baseDirectory ?? FileManager.default.currentDirectoryPath) + "/" + patch
            var st = stat()
            guard stat(absolute, &st) == 0, st.st_mode & S_IFMT == S_IFREG, access(absolute, R_OK) == 0 else {
                throw PkgLayerError(.io, "patch file not found or not readable", at: patch)
            }
            let inside = "/build/patches/\(index + 1)-\(ManifestPath.basename(of: absolute))"
            let sandbox = Sandbox(sourceDirectory: root, extraBinds: [Sandbox.Bind(hostPath: absolute, sandboxPath: inside)],
                                  workingDirectory: relative.isEmpty ? Sandbox.sourceMount : "\(Sandbox.sourceMount)/\(relative)",
                                  sourceDateEpoch: sourceDateEpoch, host: host)
            let result = try sandbox.capture([patchProgram, "-p\(index < strip.count ? strip[index] : 1)", "--batch", "--forward", "--no-backup-if-mismatch", "-i", inside])
            guard result.exit.succeeded else {
                let output = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
                throw PkgLayerError(.invalidInput, """
                    patch \(index + 1) of \(patches.count) does not apply (patch: \(result.exit)). patch said:
                    \(output.split(separator: "\n", omittingEmptySubsequences: false).map { "  | \($0)" }.joined(separator: "\n"))
                    Patches are applied in order with `patch -p1 --forward` in the source tree's top directory; \
                    refresh this one against these sources (or fix its path prefix)
                    """, at: patch)
            }
        }
    }
}
