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
    /// The compressed file's size, when repomd gives it (`<size>`): the download must have it.
    var size: Int64?

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
        size = delegate.size.flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil }
    }
}

/// Refuses what Foundation's XMLParser cannot survive, before it sees it. On Linux it kills the process
/// (a trap or a NULL dereference, not a parse error) on an element or attribute name that is not UTF-8
/// (swiftlang/swift-corelibs-foundation#5534), on a processing instruction without data (`<?x?>`), and
/// on NOTATION and ATTLIST declarations in a DOCTYPE; found by fuzzing. createrepo_c writes none of
/// these: its metadata is UTF-8, opens with an XML declaration and has no DOCTYPE.
private func requirePlainXML(_ data: Data, _ what: String, at location: String) throws {
    var check = PlainXMLCheck(what: what, location: location)
    _ = try data.withUnsafeBytes { try check.feed($0) }
    _ = try check.finish()
}

/// `requirePlainXML` on a stream: `feed` returns the bytes checked so far (it holds back the last few,
/// which a pattern or a UTF-8 sequence may continue into the next chunk), `finish` the rest. Only
/// checked bytes are ever handed to the parser, so it never sees what it cannot survive.
struct PlainXMLCheck {
    let what: String
    let location: String
    /// Bytes not checked yet.
    private var pending: [UInt8] = []
    /// Offset in the document of `pending[0]`.
    private var offset = 0
    /// Where the document's first markup may be: after a byte order mark.
    private var start = 0
    /// The longest pattern looked for after a `<`: `<!DOCTYPE` and `<?xml ` are 9 and 6 bytes.
    private static let lookahead = 9

    init(what: String, location: String) {
        self.what = what; self.location = location
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer) throws -> [UInt8] {
        pending.append(contentsOf: chunk)
        var safe = pending.count - Self.lookahead
        guard safe > 0 else { return [] }
        var back = 0
        while safe > 0 && back < 3 && pending[safe] & 0xC0 == 0x80 { safe -= 1; back += 1 }   // not inside a UTF-8 sequence
        return try checked(upTo: safe)
    }

    mutating func finish() throws -> [UInt8] {
        try checked(upTo: pending.count)
    }

    /// Checks `pending[0..<end]` (looking ahead into the rest), removes and returns it.
    private mutating func checked(upTo end: Int) throws -> [UInt8] {
        if offset == 0, pending.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        if let problem = Self.problem(pending, end: end, offset: offset, start: start) {
            throw PkgLayerError(.rpm, "\(what) \(problem); yum metadata is plain UTF-8 XML, as createrepo_c writes it", at: location)
        }
        let result = Array(pending[0..<end])
        pending.removeFirst(end)
        offset += end
        return result
    }

    private static func problem(_ buffer: [UInt8], end: Int, offset: Int, start: Int) -> String? {
        let count = buffer.count
        var i = 0
        while i < end {
            let b = buffer[i]
            if b < 0x80 {
                if b == UInt8(ascii: "<") && i + 1 < count {
                    if buffer[i + 1] == UInt8(ascii: "?") {
                        let isDeclaration = offset + i == start && buffer[i...].starts(with: Array("<?xml".utf8)) && i + 5 < count
                            && [0x20, 0x09, 0x0A, 0x0D].contains(buffer[i + 5])
                        if !isDeclaration { return "has a processing instruction (at byte \(offset + i))" }
                    } else if buffer[i + 1] == UInt8(ascii: "!"), buffer[(i + 2)...].prefix(7).map({ $0 | 0x20 }).elementsEqual(Array("doctype".utf8)) {
                        return "has a DOCTYPE (at byte \(offset + i))"
                    }
                }
                i += 1
                continue
            }
            // A multi-byte sequence: the lead byte gives its length and the range of the second byte
            // (no overlong forms, no surrogates, nothing past U+10FFFF).
            let length: Int, low: UInt8, high: UInt8
            switch b {
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
            default: return "is not UTF-8 text (at byte \(offset + i))"
            }
            guard i + length <= count, (low...high).contains(buffer[i + 1]),
                  buffer[(i + 2)..<(i + length)].allSatisfy({ $0 & 0xC0 == 0x80 }) else {
                return "is not UTF-8 text (at byte \(offset + i))"
            }
            i += length
        }
        return nil
    }
}

private final class RepomdDelegate: NSObject, XMLParserDelegate {
    var inPrimary = false
    var inChecksum = false
    var inSize = false
    var size: String?
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
        case "size" where inPrimary: inSize = true; text = ""
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { if inChecksum || inSize { text += string } }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "checksum" && inChecksum { checksum = text.trimmingCharacters(in: .whitespacesAndNewlines); inChecksum = false }
        if name == "size" && inSize { size = text.trimmingCharacters(in: .whitespacesAndNewlines); inSize = false }
        if name == "data" { inPrimary = false }
    }
}

/// primary.xml: one `<package type="rpm">` per package, with name, arch, version (epoch/ver/rel), checksum,
/// size, location and the rpm:provides / rpm:requires / rpm:conflicts entries and listed files.
enum YumPrimaryParser {
    static func parse(_ data: Data, baseURL: String, repository: String, location: String) throws -> [AvailablePackage] {
        try parse(baseURL: baseURL, repository: repository, location: location) { put in
            var offset = 0
            while offset < data.count {
                let end = min(data.count, offset + (64 << 10))
                try data[offset..<end].withUnsafeBytes { try put($0) }
                offset = end
            }
        }
    }

    /// The packages of a (compressed) primary file, read as a stream (`IndexStream`): memory stays a few
    /// chunks and one package's entry, whatever the file expands to.
    static func parse(file path: String, baseURL: String, repository: String, location: String) throws -> [AvailablePackage] {
        let index = IndexStream(path: path, location: location)
        return try parse(baseURL: baseURL, repository: repository, location: location) { put in
            guard try index.forEachChunk({ try put($0) }) else {
                throw PkgLayerError(.rpm, "primary metadata is empty", at: location)
            }
        }
    }

    /// Parses what `produce` hands to `put`, checked by `PlainXMLCheck` before the parser sees it;
    /// `produce` runs on another thread (ProducedInputStream).
    private static func parse(baseURL: String, repository: String, location: String,
                              produce: @escaping (_ put: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws -> [AvailablePackage] {
        let stream = ProducedInputStream { put in
            var check = PlainXMLCheck(what: "the primary metadata", location: location)
            try produce { chunk in
                let checked = try check.feed(chunk)
                if !checked.isEmpty { try put(checked) }
            }
            let rest = try check.finish()
            if !rest.isEmpty { try put(rest) }
        }
        let delegate = PrimaryDelegate(baseURL: baseURL, repository: repository, location: location)
        let parser = XMLParser(stream: stream)
        parser.delegate = delegate
        parser.shouldProcessNamespaces = false
        let ok = parser.parse()
        stream.finish()
        if let failure = stream.failure { throw failure }
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
    /// Whether the current element's text is kept (name, arch, checksum, file); other text is dropped
    /// as it arrives, so a huge text node costs no memory.
    private var collecting = false
    /// Bytes kept from the current package, bounded by `indexParagraphBytes` (YumRepository+Limits.swift).
    private var kept = 0
    private let keptLimit = InputLimits.current.int(.indexParagraphBytes)

    init(baseURL: String, repository: String, location: String) {
        self.baseURL = baseURL; self.repository = repository; self.location = location
    }

    /// Counts `bytes` more kept from the current package; past the limit, stops the parse.
    private func keep(_ bytes: Int, _ parser: XMLParser) {
        kept += bytes
        guard kept > keptLimit, failure == nil else { return }
        failure = YumPrimaryParser.packageSizeProblem(number: packages.count + 1, name: current?.name ?? "", location: location)
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        guard failure == nil else { return }
        text = ""
        collecting = current != nil && ["name", "arch", "checksum", "file"].contains(name)
        if current != nil { keep(name.utf8.count + attributes.reduce(16) { $0 + $1.key.utf8.count + $1.value.utf8.count }, parser) }
        switch name {
        case "package":
            current = AvailablePackage(name: "", version: "", architecture: "", repository: repository)
            href = ""; hrefBase = nil; checksumType = nil; kept = 0
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

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard collecting, failure == nil else { return }
        text += string
        keep(string.utf8.count, parser)
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        collecting = false
        guard current != nil, failure == nil else { return }
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
