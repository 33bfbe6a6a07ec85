import PkgLayerCore
import PkgLayerRecipe

/// Splits one staged manifest between a recipe's main package and its subpackages.
///
/// Files (and symlinks) go to the first package whose globs own them. A directory goes to the one
/// package all of its contents went to, when there is exactly one; otherwise to the package whose
/// globs own it (the main package by default). Parents a package needs but does not own are added by
/// the manifest as implicit directories. A hardlink whose target landed in another package becomes a
/// plain copy of that file, so no package refers to a file it does not carry.
enum PackageSplitter {
    static func split(_ staged: FileManifest, into packages: [LoweredPackage]) throws -> [FileManifest] {
        func owner(_ path: String) -> Int {
            packages.firstIndex { $0.owns(path) } ?? 0
        }
        var assignment: [String: Int] = [:]
        var contents: [String: Set<Int>] = [:]   // directory → packages of the files below it
        for entry in staged.entries where entry.kind != .directory {
            let index = owner(entry.path)
            assignment[entry.path] = index
            var parent = ManifestPath.parent(of: entry.path)
            while parent != "/" {
                contents[parent, default: []].insert(index)
                parent = ManifestPath.parent(of: parent)
            }
        }
        for entry in staged.entries where entry.kind == .directory {
            if let below = contents[entry.path], below.count == 1, let only = below.first, only != 0 {
                assignment[entry.path] = only
            } else {
                assignment[entry.path] = owner(entry.path)
            }
        }

        let byPath = Dictionary(uniqueKeysWithValues: staged.entries.map { ($0.path, $0) })
        var result: [FileManifest] = []
        for index in packages.indices {
            var entries: [ManifestEntry] = []
            for var entry in staged.entries where assignment[entry.path] == index {
                if entry.kind == .hardlink, let target = entry.linkTarget, assignment[target] != index, let file = byPath[target] {
                    entry.kind = .file
                    entry.linkTarget = nil
                    entry.sourcePath = file.sourcePath
                }
                entries.append(entry)
            }
            result.append(try FileManifest(entries: entries, implicitDirectoryMtime: packages[index].spec.sourceDateEpoch.seconds))
        }
        return result
    }
}
