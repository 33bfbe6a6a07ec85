/// The package formats pkglayer writes and reads. The one spelling every room uses: recipes, the
/// packagers, images, lockfiles and results.
public enum PackageFormat: String, Sendable, Equatable, Hashable, CaseIterable, Codable {
    case rpm, deb

    /// The file extension of this format's packages (`rpm`, `deb`).
    public var fileExtension: String { rawValue }

    /// The other format (a conversion's target, an error's hint).
    public var other: PackageFormat { self == .rpm ? .deb : .rpm }

    /// `rpm,deb` → [.rpm, .deb]; repeated values are kept once; `field` names the flag or key in errors.
    public static func parseList(_ values: [String], field: String) throws -> [PackageFormat] {
        var formats: [PackageFormat] = []
        for value in values.flatMap({ $0.split(separator: ",").map(String.init) }) {
            let trimmed = value.trimmingCharacters(in: .whitespaces).lowercased()
            guard let format = PackageFormat(rawValue: trimmed) else {
                throw PkgLayerError(.usage, "unknown package format '\(value)'; use rpm, deb or rpm,deb", at: field)
            }
            if !formats.contains(format) { formats.append(format) }
        }
        return formats
    }
}
