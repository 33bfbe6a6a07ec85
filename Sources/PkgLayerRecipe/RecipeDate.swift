/// Reads the recipe's `source-date-epoch`: seconds since 1970, or a UTC date or date-time.
/// Computed by hand (days from civil date), never through the host's time zone or calendar settings.
enum RecipeDate {
    static func seconds(from text: String) -> Int64? {
        if let s = Int64(text), s >= 0 { return s }
        let parts = text.split(whereSeparator: { "-T:Z".contains($0) }).map { Int64($0) }
        guard (parts.count == 3 && text.count == 10) || (parts.count == 6 && text.count == 20 && text.hasSuffix("Z")),
              parts.allSatisfy({ $0 != nil }) else { return nil }
        let p = parts.map { $0! }
        let (y, m, d) = (p[0], p[1], p[2])
        let (hh, mm, ss) = p.count == 6 ? (p[3], p[4], p[5]) : (0, 0, 0)
        guard y >= 1970, (1...12).contains(m), d >= 1, d <= daysIn(month: m, year: y),
              (0...23).contains(hh), (0...59).contains(mm), (0...60).contains(ss) else { return nil }
        return daysFromCivil(y, m, d) * 86_400 + hh * 3600 + mm * 60 + ss
    }

    private static func daysIn(month m: Int64, year y: Int64) -> Int64 {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Howard Hinnant's days_from_civil.
    private static func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
