import PkgLayerCore

extension ImageAssembler {
    /// The layers to write for `sources` under `layering`, bottom first. `top` is the image's own files.
    static func plan(_ sources: [LayerSource], top: LayerSource?, layering: Layering) throws -> [LayerSource] {
        switch layering {
        case .perPackage:
            return sources + (top.map { [$0] } ?? [])
        case .squash:
            let all = sources + (top.map { [$0] } ?? [])
            return all.count <= 1 ? all : [try merge(all)]
        case .budget(let n):
            guard n >= 1 else {
                throw PkgLayerError(.invalidInput, "a layer budget must be at least 1, got \(n)", at: "layering.budget")
            }
            guard sources.count > n else { return sources + (top.map { [$0] } ?? []) }
            // The n - 1 largest keep their layer; ties go to the earlier package, so the choice is stable.
            let bySize = sources.indices.sorted { a, b in
                let sa = sources[a].manifest.installedSize, sb = sources[b].manifest.installedSize
                return sa != sb ? sa > sb : a < b
            }
            let own = Set(bySize.prefix(n - 1))
            let merged = try merge(sources.indices.filter { !own.contains($0) }.map { sources[$0] })
            var result: [LayerSource] = []
            var mergedPlaced = false
            for index in sources.indices {
                if own.contains(index) {
                    result.append(sources[index])
                } else if !mergedPlaced {
                    // The merged layer sits where its first package was.
                    result.append(merged)
                    mergedPlaced = true
                }
            }
            return result + (top.map { [$0] } ?? [])
        }
    }

    /// One layer holding every source's files, as stacking them would leave them: a path given again
    /// by a later source replaces the earlier entry. A file that replaces a directory another entry
    /// still needs is an error (the manifest refuses it).
    static func merge(_ sources: [LayerSource]) throws -> LayerSource {
        var byPath: [String: ManifestEntry] = [:]
        var order: [String] = []
        var implicitMtime: Int64 = 0
        for source in sources {
            for entry in source.manifest.entries {
                if byPath[entry.path] == nil { order.append(entry.path) }
                if entry.isImplicitDirectory, let existing = byPath[entry.path], existing.kind == .directory { continue }
                byPath[entry.path] = entry
                if entry.isImplicitDirectory { implicitMtime = max(implicitMtime, entry.mtime) }
            }
        }
        let manifest = try FileManifest(entries: order.map { byPath[$0]! }, implicitDirectoryMtime: implicitMtime)
        let names = sources.map { String($0.origin.createdBy.dropFirst("pkglayer: ".count)) }
        var annotations: [String: String] = [:]
        for source in sources { annotations.merge(source.annotations) { $1 } }
        annotations[LayerOrigin.nameAnnotation] = sources.map(\.origin.name).joined(separator: ",")
        return LayerSource(manifest: manifest, origin: LayerOrigin(name: names.joined(separator: ", ")),
                           comment: "\(sources.count) packages merged into one layer", annotations: annotations)
    }
}
