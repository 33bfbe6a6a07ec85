import Foundation
import FoundationXML
import PkgLayerCore
import PkgLayerDeb
import PkgLayerFetch
import PkgLayerRPM
#if canImport(FoundationXML)
#endif

/// The `primary` entry of repomd.xml: where the package list is and its sha256.
struct YumRepomd {
    var href: String
    var sha256: String

    init(parsing bytes: [UInt8], location: String) throws {
        let data = Data(bytes)
        try requirePlainXML(data, "repomd.xml", at: location)
        let delegate = RepomdDelegate()
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        guard parser.parse() else {
            throw PkgLayerError(.rpm, "repomd.xml is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")", at: location)
        }
        guard let href = delegate.href, let checksum = delegate.checksum else {
            throw PkgLayerError(.rpm, "repomd.xml lists no primary metadata (data type=\"primary\" with checksum and location)", at: location)
        }
        guard delegate.checksumType == "sha256" else {
            throw PkgLayerError(.rpm, "the primary metadata's checksum is \(delegate.checksumType ?? "untyped"), pkglayer needs sha256; rebuild the repository with createrepo_c (sha256 is its default)",
                                at: location)
        }
        guard !href.hasPrefix("/"), !href.split(separator: "/").contains("..") else {
            throw PkgLayerError(.rpm, "primary location '\(href)' leaves the repository", at: location)
        }
        self.href = href
        sha256 = checksum.lowercased()
    }
}

/// Refuses what Foundation's XMLParser cannot survive, before it sees it. On Linux it kills the process
/// (a trap or a NULL dereference, not a parse error) on an element or attribute name that is not UTF-8
/// (swiftlang/swift-corelibs-foundation#5534), on a processing instruction without data (`<?x?>`), and
/// on NOTATION and ATTLIST declarations in a DOCTYPE; found by fuzzing. createrepo_c writes none of
/// these: its metadata is UTF-8, opens with an XML declaration and has no DOCTYPE.
private func requirePlainXML(_ data: Data, _ what: String, at location: String) throws {
    let problem: String? = data.withUnsafeBytes { buffer in
        var bytes = buffer.makeIterator()
        var decoder = Unicode.UTF8.ForwardParser()
        var offset = 0
        decoding: while true {
            switch decoder.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .emptyInput: break decoding
            case .error: return "is not UTF-8 text (at byte \(offset))"
            }
        }
        let start = buffer.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0   // after a byte order mark
        for i in buffer.indices where buffer[i] == UInt8(ascii: "<") && i + 1 < buffer.count {
            if buffer[i + 1] == UInt8(ascii: "?") {
                let isDeclaration = i == start && buffer[i...].starts(with: Array("<?xml".utf8)) && i + 5 < buffer.count
                    && [0x20, 0x09, 0x0A, 0x0D].contains(buffer[i + 5])
                if !isDeclaration { return "has a processing instruction (at byte \(i))" }
            } else if buffer[i + 1] == UInt8(ascii: "!"), buffer[(i + 2)...].prefix(7).map({ $0 | 0x20 }).elementsEqual(Array("doctype".utf8)) {
                return "has a DOCTYPE (at byte \(i))"
            }
        }
        return nil
    }
    if let problem {
        throw PkgLayerError(.rpm, "\(what) \(problem); yum metadata is plain UTF-8 XML, as createrepo_c writes it", at: location)
    }
}

private final class RepomdDelegate: NSObject, XMLParserDelegate {
    var inPrimary = false
    var inChecksum = false
    var href: String?
    var checksum: String?
    var checksumType: String?
    var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        switch name {
        case "data": inPrimary = attributes["type"] == "primary"
        case "checksum" where inPrimary: inChecksum = true; text = ""; checksumType = attributes["type"]
        case "location" where inPrimary: href = attributes["href"]
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { if inChecksum { text += string } }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "checksum" && inChecksum { checksum = text.trimmingCharacters(in: .whitespacesAndNewlines); inChecksum = false }
        if name == "data" { inPrimary = false }
    }
}

/// primary.xml: one `<package type="rpm">` per package, with name, arch, version (epoch/ver/rel), checksum,
/// size, location and the rpm:provides / rpm:requires / rpm:conflicts entries and listed files.
enum YumPrimaryParser {
    static func parse(_ data: Data, baseURL: String, repository: String, location: String) throws -> [AvailablePackage] {
        try requirePlainXML(data, "the primary metadata", at: location)
        let delegate = PrimaryDelegate(baseURL: baseURL, repository: repository, location: location)
        let parser = XMLParser(data: data)
        parser.delegate = delegate
        parser.shouldProcessNamespaces = false
        let ok = parser.parse()
        if let failure = delegate.failure { throw failure }
        guard ok else {
            throw PkgLayerError(.rpm, "primary metadata is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")", at: location)
        }
        return delegate.packages
    }

    /// `flags="GE" epoch="0" ver="1.0" rel="1"` → a clause.
    static func clause(_ attributes: [String: String]) -> Dependency.Clause? {
        guard let name = attributes["name"], !name.isEmpty else { return nil }
        let ops: [String: VersionOperator] = ["LT": .lessThan, "LE": .lessOrEqual, "EQ": .equal, "GE": .greaterOrEqual, "GT": .greaterThan]
        guard let flags = attributes["flags"], let op = ops[flags], let ver = attributes["ver"] else {
            return Dependency.Clause(name: name)
        }
        return Dependency.Clause(name: name, versionOperator: op,
                                 version: RPMVersionOrder.join(epoch: attributes["epoch"], version: ver, release: attributes["rel"]))
    }

    /// A rich dependency `(a or b or c)` becomes alternatives; other rich forms stay one name, which
    /// no package provides, so resolution reports it.
    static func relation(_ clause: Dependency.Clause) -> Dependency {
        let name = clause.name
        guard name.hasPrefix("("), name.hasSuffix(")"), clause.versionOperator == nil else { return Dependency(alternatives: [clause]) }
        let inner = name.dropFirst().dropLast()
        let parts = inner.components(separatedBy: " or ")
        guard parts.count > 1, !parts.contains(where: { $0.contains("(") && $0.contains(" ") }) else { return Dependency(alternatives: [clause]) }
        return Dependency(alternatives: parts.compactMap { part in
            let words = part.split(separator: " ").map(String.init)
            if words.count == 3, let op = VersionOperator(parsing: words[1]) {
                return Dependency.Clause(name: words[0], versionOperator: op, version: words[2])
            }
            return words.count == 1 ? Dependency.Clause(name: words[0]) : nil
        })
    }
}

private final class PrimaryDelegate: NSObject, XMLParserDelegate {
    let baseURL: String, repository: String, location: String
    var packages: [AvailablePackage] = []
    var failure: PkgLayerError?

    private var current: AvailablePackage?
    private var section = ""
    private var text = ""
    private var checksumType: String?
    private var epoch = "0", ver = "", rel = ""
    private var href = "", hrefBase: String?

    init(baseURL: String, repository: String, location: String) {
        self.baseURL = baseURL; self.repository = repository; self.location = location
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        text = ""
        switch name {
        case "package":
            current = AvailablePackage(name: "", version: "", architecture: "", repository: repository)
            href = ""; hrefBase = nil; checksumType = nil
        case "version" where current != nil:
            epoch = attributes["epoch"] ?? "0"; ver = attributes["ver"] ?? ""; rel = attributes["rel"] ?? ""
        case "checksum": checksumType = attributes["type"]
        case "size": current?.size = Int64(attributes["package"] ?? "") ?? 0
        case "location": href = attributes["href"] ?? ""; hrefBase = attributes["xml:base"]
        case "rpm:provides", "rpm:requires", "rpm:conflicts", "rpm:obsoletes": section = name
        case "rpm:entry":
            guard let clause = YumPrimaryParser.clause(attributes) else { return }
            switch section {
            case "rpm:provides": current?.provides.append(clause)
            case "rpm:requires": current?.depends.append(YumPrimaryParser.relation(clause))
            case "rpm:conflicts": current?.conflicts.append(Dependency(alternatives: [clause]))
            default: break
            }
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        guard current != nil else { return }
        let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case "name" where section.isEmpty: current!.name = value
        case "arch": current!.architecture = value
        case "checksum": current!.sha256 = value.lowercased()
        case "file": current!.files.append(value)
        case "rpm:provides", "rpm:requires", "rpm:conflicts", "rpm:obsoletes": section = ""
        case "package": finish(parser)
        default: break
        }
    }

    private func finish(_ parser: XMLParser) {
        guard var package = current else { return }
        current = nil
        if let problem = YumPrimaryParser.packageCountProblem(packages.count, location: location) {   // YumRepository+Limits.swift
            failure = problem
            parser.abortParsing()
            return
        }
        let label = "package \(package.name.isEmpty ? "#\(packages.count + 1)" : package.name)"
        guard checksumType == "sha256", package.sha256.count == 64 else {
            failure = PkgLayerError(.rpm, "\(label) has a \(checksumType ?? "missing") checksum; pkglayer needs sha256 (createrepo_c's default)", at: location)
            parser.abortParsing()
            return
        }
        guard !package.name.isEmpty, !ver.isEmpty, !href.isEmpty, !href.hasPrefix("/"), !href.split(separator: "/").contains("..") else {
            failure = PkgLayerError(.rpm, "\(label) lacks a name, a version or a location inside the repository", at: location)
            parser.abortParsing()
            return
        }
        package.version = RPMVersionOrder.join(epoch: epoch, version: ver, release: rel)
        let base = hrefBase.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 } ?? baseURL
        package.location = "\(base)/\(href)"
        packages.append(package)
    }
}
