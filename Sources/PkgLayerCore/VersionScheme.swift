/// How a format orders and matches versions.
public struct VersionScheme: Sendable {
    /// Negative, zero or positive as the first version sorts before, with or after the second.
    public var compare: @Sendable (String, String) -> Int
    /// Whether `candidate` satisfies `op required`. Formats differ: rpm ignores the release when the
    /// requirement has none.
    public var satisfies: @Sendable (_ candidate: String, _ op: VersionOperator, _ required: String) -> Bool
    /// rpm: an unversioned Provides satisfies a versioned Requires; Debian: it never does.
    public var unversionedProvideSatisfiesVersioned: Bool

    public init(compare: @escaping @Sendable (String, String) -> Int,
                satisfies: (@Sendable (String, VersionOperator, String) -> Bool)? = nil,
                unversionedProvideSatisfiesVersioned: Bool) {
        self.compare = compare
        self.satisfies = satisfies ?? { candidate, op, required in
            VersionScheme.holds(compare(candidate, required), op)
        }
        self.unversionedProvideSatisfiesVersioned = unversionedProvideSatisfiesVersioned
    }

    /// Whether a comparison result meets an operator.
    public static func holds(_ order: Int, _ op: VersionOperator) -> Bool {
        switch op {
        case .lessThan: return order < 0
        case .lessOrEqual: return order <= 0
        case .equal: return order == 0
        case .greaterOrEqual: return order >= 0
        case .greaterThan: return order > 0
        }
    }
}

extension VersionScheme {
    /// `[epoch:]version[-release]` as both formats spell it: `1:2.3-4` → (1, "2.3", "4"); no epoch is 0,
    /// no release is nil. The release starts after the last `-`.
    public static func splitEVR(_ text: String) -> (epoch: Int, version: String, release: String?) {
        var rest = Substring(text)
        var epoch = 0
        if let colon = rest.firstIndex(of: ":"), let value = Int(rest[..<colon]) {
            epoch = value
            rest = rest[rest.index(after: colon)...]
        }
        if let dash = rest.lastIndex(of: "-") {
            return (epoch, String(rest[..<dash]), String(rest[rest.index(after: dash)...]))
        }
        return (epoch, String(rest), nil)
    }
}
