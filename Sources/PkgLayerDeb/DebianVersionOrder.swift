import PkgLayerCore
/// Debian version ordering (deb-version(7): epoch, upstream, revision; `~` sorts before everything, letters
/// before other symbols). The one implementation: Build uses it to keep the highest floor when several
/// libraries come from one package, the Deb room and the dependency resolver to order and match versions.
public enum DebianVersionOrder {
    /// Debian ordering (deb-version(7)) as the resolver uses it: an unversioned Provides never
    /// satisfies a versioned relation.
    public static let scheme = VersionScheme(compare: { compare($0, $1) }, unversionedProvideSatisfiesVersioned: false)

    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    public static func compare(_ a: String, _ b: String) -> Int {
        let (ea, ua, ra) = split(a), (eb, ub, rb) = split(b)
        if ea != eb { return ea < eb ? -1 : 1 }
        let upstream = compareFragment(Array(ua.utf8), Array(ub.utf8))
        if upstream != 0 { return upstream }
        return compareFragment(Array(ra.utf8), Array(rb.utf8))
    }

    /// `1:2.3-4` → (1, "2.3", "4"); no epoch is 0, no revision is "".
    public static func split(_ version: String) -> (Int, String, String) {
        let evr = VersionScheme.splitEVR(version)
        return (evr.epoch, evr.version, evr.release ?? "")
    }

    /// The version without its Debian revision, epoch kept: `1:2.36-9+deb12u4` → `1:2.36`.
    public static func withoutRevision(_ version: String) -> String {
        let (epoch, upstream, _) = split(version)
        return epoch == 0 ? upstream : "\(epoch):\(upstream)"
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    private static func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

    /// The weight of a non-digit character; `nil` is the end of the string.
    private static func weight(_ c: UInt8?) -> Int {
        guard let c else { return 0 }
        if isDigit(c) { return 0 }
        if isLetter(c) { return Int(c) }
        if c == UInt8(ascii: "~") { return -1 }
        return Int(c) + 256
    }

    private static func compareFragment(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0, j = 0
        while i < a.count || j < b.count {
            // Non-digit prefix, character by character.
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let wa = weight(i < a.count ? a[i] : nil), wb = weight(j < b.count ? b[j] : nil)
                if wa != wb { return wa < wb ? -1 : 1 }
                if i < a.count { i += 1 }
                if j < b.count { j += 1 }
            }
            // Digit run, numerically.
            while i < a.count && a[i] == UInt8(ascii: "0") { i += 1 }
            while j < b.count && b[j] == UInt8(ascii: "0") { j += 1 }
            var firstDifference = 0
            while i < a.count && j < b.count && isDigit(a[i]) && isDigit(b[j]) {
                if firstDifference == 0 { firstDifference = Int(a[i]) - Int(b[j]) }
                i += 1
                j += 1
            }
            if i < a.count && isDigit(a[i]) { return 1 }
            if j < b.count && isDigit(b[j]) { return -1 }
            if firstDifference != 0 { return firstDifference < 0 ? -1 : 1 }
        }
        return 0
    }
}

extension VersionScheme {
    /// Debian ordering (deb-version(7)).
    public static let debian = DebianVersionOrder.scheme
}
