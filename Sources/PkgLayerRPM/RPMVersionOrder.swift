import CRPM
import PkgLayerCore

/// rpm's version ordering and matching, with librpm's own `rpmvercmp` for each part.
/// Versions are `[epoch:]version[-release]`; a missing epoch is 0.
public enum RPMVersionOrder {
    /// Negative, zero or positive as `a` sorts before, with or after `b` (epoch, then version, then release).
    public static func compare(_ a: String, _ b: String) -> Int {
        order(split(a), split(b))
    }

    private static func order(_ x: (epoch: Int, version: String, release: String?), _ y: (epoch: Int, version: String, release: String?)) -> Int {
        if x.epoch != y.epoch { return x.epoch < y.epoch ? -1 : 1 }
        let v = Int(rpmvercmp(x.version, y.version))
        if v != 0 { return v }
        return Int(rpmvercmp(x.release ?? "", y.release ?? ""))
    }

    /// Whether `candidate` meets `op required`, as rpm matches a Requires against a Provides: a
    /// requirement without a release matches any release of that version.
    public static func satisfies(_ candidate: String, _ op: VersionOperator, _ required: String) -> Bool {
        let want = split(required)
        var have = split(candidate)
        if want.release == nil { have.release = nil }
        return VersionScheme.holds(order(have, want), op)
    }

    /// `1:2.3-4` → (1, "2.3", "4").
    public static func split(_ text: String) -> (epoch: Int, version: String, release: String?) {
        VersionScheme.splitEVR(text)
    }

    /// The string form of an (epoch, version, release) triple: the epoch only when it is not 0.
    public static func join(epoch: String?, version: String, release: String?) -> String {
        var s = ""
        if let epoch, !epoch.isEmpty, epoch != "0" { s += "\(epoch):" }
        s += version
        if let release, !release.isEmpty { s += "-\(release)" }
        return s
    }

    /// The scheme the resolver uses for rpm repositories.
    public static let scheme = VersionScheme(compare: { compare($0, $1) }, satisfies: { satisfies($0, $1, $2) },
                                             unversionedProvideSatisfiesVersioned: true)
}
