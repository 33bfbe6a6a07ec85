import Foundation

/// A position in a recipe file: `recipes/nginx.yml:12:5`. Lines and columns count from 1.
///
/// `file` is the recipe path as the user gave it (not made absolute), so messages read the way the
/// command was typed.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file; self.line = line; self.column = column
    }

    /// `file:line:column`, the form editors and compilers use.
    public var description: String { "\(file):\(line):\(column)" }
}

/// A value from a recipe together with where it was written, so that a later stage (interpolation at
/// build time, a missing file, a dependency that does not parse) can still point at the right line.
///
/// Equality compares values and locations.
public struct Located<Value> {
    public var value: Value
    public var location: SourceLocation

    public init(_ value: Value, at location: SourceLocation) {
        self.value = value; self.location = location
    }
}

extension Located: Sendable where Value: Sendable {}
extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}

/// A YAML subtree kept as written, for sections pkglayer accepts but does not interpret yet (`image`).
/// Scalars stay strings (`1.10` is `"1.10"`), as everywhere in a recipe.
public indirect enum RecipeNode: Sendable, Equatable {
    /// A scalar and its text; `null` is an explicit YAML null (`~`, `null` or nothing).
    case scalar(String, SourceLocation)
    case null(SourceLocation)
    case sequence([RecipeNode], SourceLocation)
    /// The pairs in the order written.
    case mapping([MappingEntry], SourceLocation)

    public struct MappingEntry: Sendable, Equatable {
        public var key: String
        public var value: RecipeNode
        public init(key: String, value: RecipeNode) { self.key = key; self.value = value }
    }

    public var location: SourceLocation {
        switch self {
        case .scalar(_, let l), .null(let l), .sequence(_, let l), .mapping(_, let l): return l
        }
    }

    /// The value under `key` when this is a mapping.
    public subscript(key: String) -> RecipeNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }
}
