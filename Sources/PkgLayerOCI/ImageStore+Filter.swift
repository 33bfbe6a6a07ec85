import Foundation
import PkgLayerCore

/// `pkglayer images --filter`, as docker's: `dangling=true|false`, `reference=PATTERN` (a glob over
/// NAME:TAG or NAME), `since=REF` / `before=REF` (created after / before that image), `label=K` or
/// `label=K=V`. Several filters all apply.
public struct ImageFilter: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        case dangling(Bool)
        case reference(String)
        case since(String)
        case before(String)
        case label(key: String, value: String?)
    }

    public var rules: [Rule]

    public init(parsing filters: [String]) throws {
        rules = try filters.map { text in
            guard let eq = text.firstIndex(of: "=") else {
                throw PkgLayerError(.usage, "'\(text)' is not KEY=VALUE; use dangling=, reference=, since=, before= or label=", at: "--filter")
            }
            let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
            switch key {
            case "dangling":
                guard let flag = Bool(value) else { throw PkgLayerError(.usage, "dangling takes true or false", at: "--filter \(text)") }
                return .dangling(flag)
            case "reference": return .reference(value)
            case "since": return .since(value)
            case "before": return .before(value)
            case "label":
                if let inner = value.firstIndex(of: "=") {
                    return .label(key: String(value[..<inner]), value: String(value[value.index(after: inner)...]))
                }
                return .label(key: value, value: nil)
            default:
                throw PkgLayerError(.usage, "unknown filter '\(key)'; use dangling, reference, since, before or label", at: "--filter \(text)")
            }
        }
    }

    /// The images of `store` that pass every rule, in the store's order.
    public func apply(to images: [StoredImage], in store: ImageStore) throws -> [StoredImage] {
        var result = images
        for rule in rules {
            switch rule {
            case .dangling(let flag):
                // Every image the store lists has a name; nameless ones are left to prune.
                result = flag ? [] : result
            case .reference(let pattern):
                let glob = Glob(pattern)
                // Globs work on paths: a reference is matched as /NAME:TAG and /NAME.
                result = result.filter { glob.matches("/" + $0.reference) || glob.matches("/" + $0.name) }
            case .since(let reference), .before(let reference):
                let anchor = try store.require(reference)
                let time = anchor.created ?? ""
                result = result.filter { image in
                    guard let created = image.created, image.manifest.digest != anchor.manifest.digest else { return false }
                    if case .since = rule { return created > time }
                    return created < time
                }
            case .label(let key, let value):
                result = try result.filter { image in
                    let labels = try store.details(image).containerConfig.labels
                    guard let found = labels[key] else { return false }
                    return value.map { $0 == found } ?? true
                }
            }
        }
        return result
    }
}
