import Foundation
import PkgLayerCore

/// A wheel's `METADATA` (Python core metadata, RFC 822-like) or `WHEEL` file: headers, repeated
/// fields in order, and the body (the description since metadata 2.1).
struct PythonMetadata {
    var fields: [(name: String, value: String)] = []
    var body: String?

    init(parsing text: String) {
        var lines = text.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n")[...]
        while let line = lines.first {
            lines = lines.dropFirst()
            if line.isEmpty { break }
            if line.first == " " || line.first == "\t" {
                guard !fields.isEmpty else { continue }
                var continuation = line.trimmingCharacters(in: .whitespaces)
                if continuation.hasPrefix("|") { continuation = String(continuation.dropFirst()) }
                fields[fields.count - 1].value += "\n" + continuation
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        let rest = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        body = rest.isEmpty ? nil : rest
    }

    func first(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value).flatMap { $0.isEmpty || $0 == "UNKNOWN" ? nil : $0 }
    }

    func all(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }

    /// fpm's choice: Home-page, else the Project-URL labelled homepage/source/documentation, else the first.
    var homepage: String? {
        if let url = first("Home-page") { return url }
        var labelled: [(String, String)] = []
        for entry in all("Project-URL") {
            let parts = entry.split(separator: ",", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { continue }
            let label = parts[0].lowercased().filter { $0.isLetter || $0.isNumber }
            labelled.append((label, parts[1]))
        }
        for wanted in ["homepage", "source", "documentation"] {
            if let hit = labelled.first(where: { $0.0 == wanted }) { return hit.1 }
        }
        return labelled.first?.1
    }

    var license: String? {
        if let expression = first("License-Expression") { return expression }
        if let license = first("License"), !license.contains("\n"), license.count <= 200 { return license }
        if let classifier = all("Classifier").first(where: { $0.hasPrefix("License ::") }) {
            return classifier.components(separatedBy: "::").last?.trimmingCharacters(in: .whitespaces)
        }
        return first("License").map { String($0.split(separator: "\n").first ?? "") }
    }
}

extension PythonSource {
    static func makeSpec(metadata: PythonMetadata, pure: Bool, options: PythonOptions, tools: Tools, requirementsTxt: [String]?,
                         clock: SourceDateEpoch, wheel: String) throws -> PackageSpec {
        guard let pythonName = metadata.first("Name"), var version = metadata.first("Version") else {
            throw PkgLayerError(.invalidInput, "METADATA has no Name or Version; this is not a valid wheel", at: wheel)
        }
        var epoch: UInt32?
        if let bang = version.firstIndex(of: "!"), let e = UInt32(version[..<bang]) {
            epoch = e
            version = String(version[version.index(after: bang)...])
        }
        var spec = PackageSpec(name: packageName(pythonName, fix: options.fixName, downcase: options.downcaseName, options: options),
                               version: version, epoch: epoch, architecture: pure ? .noarch : .native, sourceDateEpoch: clock)
        spec.summary = metadata.first("Summary")
        spec.description = metadata.body ?? metadata.first("Description") ?? metadata.first("Summary")
        spec.license = metadata.license
        spec.url = metadata.homepage
        spec.maintainer = metadata.first("Maintainer-email") ?? metadata.first("Author-email")
        if options.dependencies {
            let requirements = requirementsTxt.map(cleanRequirementsTxt) ?? metadata.all("Requires-Dist")
            spec.depends = try dependencies(requirements, options: options, tools: tools)
        }
        return spec
    }

    /// `six` → `python-six`; `python-dateutil` → `python-dateutil`; `Foo_Bar` → `python-foo-bar`.
    static func packageName(_ name: String, fix: Bool, downcase: Bool, options: PythonOptions) -> String {
        var result = name
        if fix {
            result = result.replacingOccurrences(of: "_", with: "-")
            let prefix = options.packagePrefix ?? options.packageNamePrefix
            var rest = result
            if rest.lowercased().hasPrefix("python-") { rest = String(rest.dropFirst("python-".count)) }
            result = prefix.isEmpty ? rest : "\(prefix)-\(rest)"
        }
        return downcase ? result.lowercased() : result
    }

    /// requirements.txt lines without comments, options (`-r`, `--hash`) and blank lines.
    static func cleanRequirementsTxt(_ lines: [String]) -> [String] {
        lines.compactMap { raw in
            var line = raw
            if let hash = line.range(of: " #") { line = String(line[..<hash.lowerBound]) }
            line = line.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("-") || line.contains("://") { return nil }
            return line
        }
    }

    // MARK: - Dependencies

    /// One requirement as python's `packaging` reads it: name and (operator, version) specifiers; nil
    /// when its marker does not hold on the host (an extra, another platform or python).
    struct Requirement: Decodable { var name: String; var specifiers: [[String]] }

    /// Evaluates the requirements with the host interpreter's `packaging` (pip vendors it), as fpm
    /// does, so markers mean exactly what pip would make of them; falls back to a plain reading that
    /// keeps requirements without markers.
    static func evaluate(_ requirements: [String], tools: Tools) -> [Requirement] {
        guard !requirements.isEmpty else { return [] }
        let script = """
            import json, sys
            try:
                from packaging.requirements import Requirement
            except ImportError:
                from pip._vendor.packaging.requirements import Requirement
            out = []
            for line in json.loads(sys.argv[1]):
                r = Requirement(line)
                if r.marker is not None and not r.marker.evaluate({"extra": ""}):
                    continue
                out.append({"name": r.name, "specifiers": [[s.operator, s.version] for s in r.specifier]})
            print(json.dumps(out))
            """
        if let json = try? JSONEncoder().encode(requirements),
           let result = try? Subprocess.run(tools.python, ["-c", script, String(decoding: json, as: UTF8.self)]),
           result.status.succeeded,
           let line = result.text.split(separator: "\n").last,
           let parsed = try? JSONDecoder().decode([Requirement].self, from: Data(line.utf8)) {
            return parsed
        }
        logger.warning("could not evaluate dependency markers with '\(tools.python)' (no 'packaging' module?); requirements with markers are left out")
        return requirements.compactMap { text in
            guard !text.contains(";") else { return nil }
            var rest = Substring(text.trimmingCharacters(in: .whitespaces))
            let name = rest.prefix { $0.isLetter || $0.isNumber || "-_.".contains($0) }
            rest = rest.dropFirst(name.count)
            if let close = rest.firstIndex(of: "]"), rest.hasPrefix("[") { rest = rest[rest.index(after: close)...] }
            let specs = rest.trimmingCharacters(in: CharacterSet(charactersIn: " ()")).split(separator: ",").compactMap { part -> [String]? in
                let p = part.trimmingCharacters(in: .whitespaces)
                let op = p.prefix { "<>=!~".contains($0) }
                let version = p.dropFirst(op.count).trimmingCharacters(in: .whitespaces)
                return op.isEmpty || version.isEmpty ? nil : [String(op), version]
            }
            return Requirement(name: String(name), specifiers: specs)
        }
    }

    static func dependencies(_ requirements: [String], options: PythonOptions, tools: Tools) throws -> [Dependency] {
        func normalized(_ name: String) -> String {
            name.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-")
        }
        let disabled = Set(options.disableDependency.map(normalized))
        var result: [Dependency] = []
        var leftOut: [String] = []
        for requirement in evaluate(requirements, tools: tools) {
            if disabled.contains(normalized(requirement.name)) { continue }
            let name = packageName(requirement.name, fix: options.fixDependencies, downcase: options.downcaseDependencies, options: options)
            var bounds: [(VersionOperator, String)] = []
            for pair in requirement.specifiers where pair.count == 2 {
                let (op, version) = (pair[0], pair[1])
                switch op {
                case "==", "===":
                    if version.hasSuffix(".*") {
                        let base = String(version.dropLast(2))
                        bounds.append((.greaterOrEqual, base))
                        if let upper = bump(base, keeping: base.split(separator: ".").count) { bounds.append((.lessThan, upper)) }
                    } else {
                        bounds.append((.equal, version))
                    }
                case "~=":
                    bounds.append((.greaterOrEqual, version))
                    let count = version.split(separator: ".").count
                    if count >= 2, let upper = bump(version, keeping: count - 1) { bounds.append((.lessThan, upper)) }
                case ">=": bounds.append((.greaterOrEqual, version))
                case "<=": bounds.append((.lessOrEqual, version))
                case ">": bounds.append((.greaterThan, version))
                case "<": bounds.append((.lessThan, version))
                default:
                    leftOut.append("\(requirement.name) \(op) \(version)")
                }
            }
            if bounds.isEmpty {
                result.append(Dependency(name: name))
            } else {
                for (op, version) in bounds { result.append(Dependency(name: name, versionOperator: op, version: version)) }
            }
        }
        if !leftOut.isEmpty {
            logger.warning("python version constraints with no package equivalent were left out: \(leftOut.joined(separator: ", "))")
        }
        return result
    }

    /// The release segment cut to `keeping` components with the last one incremented: `1.4.5`
    /// keeping 2 → `1.5`. nil when a component is not a number.
    static func bump(_ version: String, keeping: Int) -> String? {
        let release = version.prefix { $0.isNumber || $0 == "." }
        var parts = release.split(separator: ".").prefix(keeping).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        parts[parts.count - 1]! += 1
        return parts.map { String($0!) }.joined(separator: ".")
    }
}
