import Foundation
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM

/// Reading an apt `Packages` index: deb822 paragraphs, one per binary package. A full Debian index is
/// some 60 000 paragraphs, so it is scanned as bytes and only the fields resolution needs are kept.
extension AptRepository {
    /// The packages of one `Packages` file. `baseURL` is the archive root `Filename:` is relative to;
    /// `repository` names the source in results and errors; `location` names the file in errors.
    public static func parsePackages(_ bytes: [UInt8], baseURL: String, repository: String, location: String) throws -> [AvailablePackage] {
        var parser = PackagesParser(baseURL: baseURL, repository: repository, location: location)
        try bytes.withUnsafeBytes { try parser.feed($0) }
        return try parser.finish()
    }

    static func package(from fields: [String: String], baseURL: String, repository: String, location: String) throws -> AvailablePackage {
        func required(_ name: String) throws -> String {
            guard let value = fields[name.lowercased()], !value.isEmpty else {
                throw PkgLayerError(.deb, "the paragraph\(fields["package"].map { " of \($0)" } ?? "") lacks '\(name)'; the Packages index is malformed",
                                    at: location)
            }
            return value
        }
        let name = try required("Package")
        let sha256 = try required("SHA256")
        guard sha256.count == 64, sha256.allSatisfy(\.isHexDigit) else {
            throw PkgLayerError(.deb, "\(name): SHA256 '\(sha256)' is not 64 hex digits", at: location)
        }
        guard let size = Int64(try required("Size")) else {
            throw PkgLayerError(.deb, "\(name): Size is not a number", at: location)
        }
        let filename = try required("Filename")
        guard !filename.hasPrefix("/"), !filename.split(separator: "/").contains("..") else {
            throw PkgLayerError(.deb, "\(name): Filename '\(filename)' leaves the archive", at: location)
        }
        func relations(_ field: String) throws -> [Dependency] {
            try parseRelations(fields[field.lowercased()] ?? "", field: "\(location): \(name) \(field)")
        }
        return AvailablePackage(
            name: name, version: try required("Version"), architecture: try required("Architecture"),
            depends: try relations("Depends"), preDepends: try relations("Pre-Depends"),
            provides: try relations("Provides").map(\.alternatives[0]),
            conflicts: try relations("Conflicts") + relations("Breaks"),
            repository: repository, location: baseURL + "/" + filename, sha256: sha256.lowercased(), size: size)
    }

    /// Without Foundation's trimming, which bridges through NSString: indexes hold hundreds of thousands of relations.
    private static func trim(_ text: Substring) -> Substring {
        var text = text
        while let c = text.first, c == " " || c == "\t" || c == "\n" { text = text.dropFirst() }
        while let c = text.last, c == " " || c == "\t" || c == "\n" { text = text.dropLast() }
        return text
    }

    /// `a (>= 1) | b, c:any` → [[a >= 1, b], [c:any]]. Debian's `<<`/`>>` and the deprecated `<`/`>`
    /// (which mean <= and >=) are understood.
    public static func parseRelations(_ text: String, field: String) throws -> [Dependency] {
        var result: [Dependency] = []
        for group in text.split(separator: ",") {
            var clauses: [Dependency.Clause] = []
            for part in group.split(separator: "|") {
                let trimmed = trim(part)
                guard !trimmed.isEmpty else { continue }
                guard let open = trimmed.firstIndex(of: "(") else {
                    clauses.append(Dependency.Clause(name: String(trimmed)))
                    continue
                }
                let name = String(trim(trimmed[..<open]))
                guard let close = trimmed.lastIndex(of: ")"), close > open else {
                    throw PkgLayerError(.deb, "cannot read '\(trimmed)': '(' without ')'", at: field)
                }
                var inner = trim(trimmed[trimmed.index(after: open)..<close])
                var op = ""
                while let c = inner.first, c == "<" || c == ">" || c == "=" { op.append(c); inner = inner.dropFirst() }
                let version = String(trim(inner))
                let mapped: VersionOperator?
                switch op {
                case "<<": mapped = .lessThan
                case "<=", "<": mapped = .lessOrEqual
                case "=": mapped = .equal
                case ">=", ">": mapped = .greaterOrEqual
                case ">>": mapped = .greaterThan
                default: mapped = nil
                }
                guard let mapped, !version.isEmpty, !name.isEmpty else {
                    throw PkgLayerError(.deb, "cannot read the relation '\(trimmed)'; expected 'name (op version)'", at: field)
                }
                clauses.append(Dependency.Clause(name: name, versionOperator: mapped, version: version))
            }
            if !clauses.isEmpty { result.append(Dependency(alternatives: clauses)) }
        }
        return result
    }
}

/// Reads a `Packages` index as it streams in (chunks of any size, split anywhere): only the current
/// line (bounded by the paragraph limit) and the kept fields of the current paragraph are held, so a
/// decompression bomb costs time up to the index size limit, never memory.
struct PackagesParser {
    let baseURL: String, repository: String, location: String
    private(set) var result: [AvailablePackage] = []
    private var fields: [String: String] = [:]
    private var current: String?
    private var paragraphLine = 1
    private var lineNumber = 0
    /// Bytes of the current paragraph before the current line.
    private var paragraphBytes = 0
    /// The start of a line whose end has not arrived yet.
    private var partial: [UInt8] = []

    private static let wanted: Set<String> = ["package", "version", "architecture", "depends", "pre-depends", "provides",
                                              "conflicts", "breaks", "filename", "size", "sha256"]

    init(baseURL: String, repository: String, location: String) {
        self.baseURL = baseURL; self.repository = repository; self.location = location
    }

    /// Blank lines, compared a block at a time (a bomb of blank lines is scanned at memcmp's speed).
    private static let blankLines = [UInt8](repeating: 0x0A, count: 4096)

    mutating func feed(_ chunk: UnsafeRawBufferPointer) throws {
        let count = chunk.count
        guard let base = chunk.baseAddress else { return }
        var start = 0
        while start < count {
            if partial.isEmpty && fields.isEmpty && chunk[start] == 0x0A {
                // Between paragraphs: skip a run of blank lines without looking at each.
                var run = 0
                while start + run < count {
                    let n = min(Self.blankLines.count, count - start - run)
                    guard memcmp(base + start + run, Self.blankLines, n) == 0 else { break }
                    run += n
                }
                if run > 0 {
                    lineNumber += run
                    paragraphLine = lineNumber + 1
                    paragraphBytes = 0
                    start += run
                    continue
                }
            }
            let rest = count - start
            guard let found = memchr(base + start, 0x0A, rest) else { break }
            let end = start + (base + start).distance(to: UnsafeRawPointer(found))
            if partial.isEmpty {
                try line(UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
            } else {
                partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
                let whole = partial
                partial.removeAll(keepingCapacity: true)
                try whole.withUnsafeBytes { try line($0) }
            }
            start = end + 1
        }
        if start < count {
            partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<count]))
            if paragraphBytes + partial.count > 4096 {
                try AptRepository.checkParagraphSize(paragraphBytes + partial.count, location: "\(location):\(paragraphLine)")
            }
        }
    }

    mutating func finish() throws -> [AvailablePackage] {
        if !partial.isEmpty {
            let whole = partial
            partial = []
            try whole.withUnsafeBytes { try line($0) }
        }
        try finishParagraph()
        return result
    }

    private mutating func finishParagraph() throws {
        defer { fields = [:]; current = nil }
        guard !fields.isEmpty else { return }
        try AptRepository.checkPackageCount(result.count, location: "\(location):\(paragraphLine)")   // AptRepository+Limits.swift
        result.append(try AptRepository.package(from: fields, baseURL: baseURL, repository: repository,
                                                location: "\(location):\(paragraphLine)"))
    }

    private mutating func line(_ buffer: UnsafeRawBufferPointer) throws {
        lineNumber += 1
        if paragraphBytes + buffer.count > 4096 {
            try AptRepository.checkParagraphSize(paragraphBytes + buffer.count, location: "\(location):\(paragraphLine)")
        }
        paragraphBytes += buffer.count + 1
        var lineEnd = buffer.count
        if lineEnd > 0 && buffer[lineEnd - 1] == 0x0D { lineEnd -= 1 }
        if lineEnd == 0 {
            try finishParagraph()
            paragraphLine = lineNumber + 1
            paragraphBytes = 0
        } else if buffer[0] == 0x20 || buffer[0] == 0x09 {
            if let name = current {
                fields[name]! += " " + String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<lineEnd]), as: UTF8.self)
            }
        } else if buffer[0] != UInt8(ascii: "#") {
            var colon = 0
            while colon < lineEnd && buffer[colon] != UInt8(ascii: ":") { colon += 1 }
            guard colon < lineEnd else {
                throw PkgLayerError(.deb, "line \(lineNumber) has no 'Field:'; the Packages index is malformed", at: location)
            }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[0..<colon]), as: UTF8.self).lowercased()
            if Self.wanted.contains(name) {
                var valueStart = colon + 1
                while valueStart < lineEnd && (buffer[valueStart] == 0x20 || buffer[valueStart] == 0x09) { valueStart += 1 }
                fields[name] = String(decoding: UnsafeRawBufferPointer(rebasing: buffer[valueStart..<lineEnd]), as: UTF8.self)
                current = name
            } else {
                current = nil
            }
        }
    }
}
