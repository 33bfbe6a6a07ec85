import Foundation
import PkgLayerCore

/// An SPDX 2.3 SBOM (JSON) for an image: the image itself as a CONTAINER package that CONTAINS one
/// package per layer origin, each with its version, declared license and, when known, the sha256 of
/// its package file. Deterministic: the creation time is the epoch and the document namespace is
/// derived from the image's manifest digest, so the same image always gets the same SBOM bytes.
public enum SPDXDocument {
    /// The canonical JSON bytes of the SBOM.
    /// - Parameters:
    ///   - name: the image's name, e.g. `nginx:1.22`.
    ///   - packages: the packages the image holds (usually the `origin` of each requested layer).
    public static func json(name: String, image: AssembledImage, packages: [LayerOrigin], epoch: SourceDateEpoch) -> [UInt8] {
        let imageID = "SPDXRef-Image"
        var spdxPackages: [JSONValue] = [.object([
            ("SPDXID", .string(imageID)), ("name", .string(name)), ("versionInfo", .string(image.manifest.digest.description)),
            ("downloadLocation", .string("NOASSERTION")), ("filesAnalyzed", .bool(false)),
            ("primaryPackagePurpose", .string("CONTAINER")),
            ("checksums", .array([.object(["algorithm": .string("SHA256"), "checksumValue": .string(image.manifest.digest.hex)])])),
            ("licenseConcluded", .string("NOASSERTION")), ("licenseDeclared", .string("NOASSERTION")),
            ("copyrightText", .string("NOASSERTION")),
        ])]
        var relationships: [JSONValue] = [relationship("SPDXRef-DOCUMENT", "DESCRIBES", imageID)]
        var used: Set<String> = [imageID]
        // A license that is not an expression over well-known SPDX ids is kept as extracted text under a
        // LicenseRef, which every SPDX consumer accepts.
        var extracted: [String: String] = [:]   // text -> LicenseRef id
        var extractedInfos: [JSONValue] = []
        func declared(_ text: String?) -> String {
            guard let text, !text.isEmpty else { return "NOASSERTION" }
            if isKnownLicenseExpression(text) { return text }
            if let id = extracted[text] { return id }
            let id = "LicenseRef-pkglayer-\(extracted.count + 1)"
            extracted[text] = id
            extractedInfos.append(.object(["licenseId": .string(id), "extractedText": .string(text), "name": .string(text)]))
            return id
        }
        for (index, package) in packages.enumerated() {
            var id = "SPDXRef-Package-" + sanitize(package.name)
            if !used.insert(id).inserted { id += "-\(index)"; used.insert(id) }
            let license = declared(package.license)
            spdxPackages.append(.object([
                ("SPDXID", .string(id)), ("name", .string(package.name)),
                ("versionInfo", package.version.map(JSONValue.string)),
                ("downloadLocation", .string("NOASSERTION")), ("filesAnalyzed", .bool(false)),
                ("licenseConcluded", .string("NOASSERTION")), ("licenseDeclared", .string(license)),
                ("copyrightText", .string("NOASSERTION")),
                ("checksums", package.packageSHA256.map {
                    .array([.object(["algorithm": .string("SHA256"), "checksumValue": .string($0.lowercased())])])
                }),
                ("primaryPackagePurpose", .string(package.format == nil ? "FILE" : "INSTALL")),
            ]))
            relationships.append(relationship(imageID, "CONTAINS", id))
        }
        let document = JSONValue.object([
            ("spdxVersion", .string("SPDX-2.3")), ("dataLicense", .string("CC0-1.0")), ("SPDXID", .string("SPDXRef-DOCUMENT")),
            ("name", .string(name)),
            ("documentNamespace", .string("https://pkglayer.invalid/spdx/\(image.manifest.digest.hex)")),
            ("creationInfo", .object(["created": .string(RFC3339.utc(epoch)), "creators": .array([.string("Tool: pkglayer")])])),
            ("packages", .array(spdxPackages)), ("relationships", .array(relationships)),
            ("hasExtractedLicensingInfos", extractedInfos.isEmpty ? nil : .array(extractedInfos)),
        ])
        return document.canonicalBytes
    }

    /// Writes the SBOM atomically.
    public static func write(name: String, image: AssembledImage, packages: [LayerOrigin], epoch: SourceDateEpoch,
                             to path: String, overwrite: Bool = false) throws {
        let file = try AtomicFile(path: path, overwrite: overwrite)
        try file.write(json(name: name, image: image, packages: packages, epoch: epoch))
        try file.commit()
    }

    private static func relationship(_ from: String, _ type: String, _ to: String) -> JSONValue {
        .object(["spdxElementId": .string(from), "relationshipType": .string(type), "relatedSpdxElement": .string(to)])
    }

    /// SPDX ids allow letters, digits, `.` and `-`.
    static func sanitize(_ text: String) -> String {
        let mapped = text.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") ? $0 : "-" }
        return mapped.isEmpty ? "unnamed" : String(mapped)
    }

    /// Common ids of the SPDX license list. An expression using others is written as a LicenseRef, so
    /// an old-style `GPLv2+` cannot make the SBOM invalid.
    static let knownLicenses: Set<String> = [
        "0BSD", "AGPL-3.0-only", "AGPL-3.0-or-later", "Apache-1.1", "Apache-2.0", "Artistic-1.0", "Artistic-1.0-Perl",
        "Artistic-2.0", "BSD-1-Clause", "BSD-2-Clause", "BSD-3-Clause", "BSD-4-Clause", "BSL-1.0", "CC-BY-4.0",
        "CC-BY-SA-4.0", "CC0-1.0", "CDDL-1.0", "EPL-1.0", "EPL-2.0", "FTL", "GFDL-1.3-only", "GFDL-1.3-or-later",
        "GPL-1.0-or-later", "GPL-2.0-only", "GPL-2.0-or-later", "GPL-3.0-only", "GPL-3.0-or-later", "GPL-2.0", "GPL-2.0+",
        "GPL-3.0", "GPL-3.0+", "ISC", "LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1-only", "LGPL-2.1-or-later",
        "LGPL-3.0-only", "LGPL-3.0-or-later", "LGPL-2.1", "LGPL-2.1+", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0", "OpenSSL",
        "PHP-3.01", "PSF-2.0", "Python-2.0", "Ruby", "Unlicense", "Vim", "W3C", "X11", "Zlib", "zlib-acknowledgement",
        "bzip2-1.0.6", "curl", "libpng-2.0", "PostgreSQL", "OFL-1.1", "GCC-exception-3.1", "Classpath-exception-2.0",
        "LLVM-exception", "Autoconf-exception-3.0", "Bison-exception-2.2", "OpenSSL-exception",
    ]

    static func isKnownLicenseExpression(_ text: String) -> Bool {
        guard isLicenseExpression(text) else { return false }
        let ids = text.replacingOccurrences(of: "(", with: " ").replacingOccurrences(of: ")", with: " ")
            .split(separator: " ").filter { !["AND", "OR", "WITH"].contains($0) }
        return ids.allSatisfy { knownLicenses.contains(String($0)) }
    }

    /// Whether text has the shape of an SPDX license expression (`MIT`, `GPL-2.0-or-later OR BSD-2-Clause`,
    /// `Apache-2.0 WITH LLVM-exception`). Debian's free-form license fields are not, and become a comment.
    static func isLicenseExpression(_ text: String) -> Bool {
        let tokens = text.replacingOccurrences(of: "(", with: " ( ").replacingOccurrences(of: ")", with: " ) ")
            .split(separator: " ")
        guard !tokens.isEmpty else { return false }
        var expectOperand = true
        var depth = 0
        for token in tokens {
            switch token {
            case "(":
                guard expectOperand else { return false }
                depth += 1
            case ")":
                guard !expectOperand, depth > 0 else { return false }
                depth -= 1
            case "AND", "OR", "WITH":
                guard !expectOperand else { return false }
                expectOperand = true
            default:
                guard expectOperand, token.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.+:".contains($0)) }) else { return false }
                expectOperand = false
            }
        }
        return !expectOperand && depth == 0
    }
}
