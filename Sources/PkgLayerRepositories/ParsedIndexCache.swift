import Crypto
import Foundation
import Logging
import PkgLayerCore

/// The parsed form of a repository index, kept by the index's sha256 so that a resolution whose package
/// list changed does not decompress and re-parse Debian's 9 MB of `Packages.xz` (66,575 paragraphs) or a
/// yum primary.xml again: `<cache>/parsed-index/<key>.pidx`.
///
/// The key covers the index's content (its sha256, which the signed Release or repomd.xml vouched for before
/// this is asked), the strings the parser copies into every record (base URL, repository summary, index URL)
/// and `formatVersion`, so a pkglayer that encodes differently never reads an older file.
///
/// The file is a string table (every distinct string once: `libc6` is named by thousands of paragraphs)
/// followed by records that refer to it by number, then an HMAC-SHA256 of everything before it, keyed with
/// this cache's own secret (`<cache>/parsed-index/secret`: 32 random bytes, made 0600 on first use, in a
/// 0700 directory). A truncated or altered file fails that check and is parsed again, never trusted; so
/// does one written by anyone who does not hold the secret (a plain checksum would let anyone who can
/// write the cache forge an entry, and with it which packages an image resolves to).
struct ParsedIndexCache {
    private let logger = Logger(label: "pkglayer.index-cache")
    /// 2: the trailing digest became an HMAC keyed by the cache's secret.
    static let formatVersion = 2
    static let magic = Array("pkglayer-parsed-index\n".utf8)
    static let secretSize = 32

    let directory: String

    init(root: String) { directory = "\(root)/parsed-index" }

    var secretPath: String { "\(directory)/secret" }

    func key(indexSHA256: String, baseURL: String, repository: String, location: String) -> String {
        Digest.sha256(Data("\(Self.formatVersion)\n\(indexSHA256)\n\(baseURL)\n\(repository)\n\(location)\n".utf8)).hex
    }

    func path(_ key: String) -> String { "\(directory)/\(key).pidx" }

    /// The cached records for `key`, else `parse()`'s, which are then kept (a failure to keep them is only logged:
    /// the cache is an optimisation).
    func packages(key: String, parse: () throws -> [AvailablePackage]) throws -> [AvailablePackage] {
        if let cached = load(key) {
            logger.debug("parsed index \(key): from the cache (\(cached.count) packages)")
            return cached
        }
        let parsed = try parse()
        do {
            try store(parsed, key: key)
        } catch {
            logger.warning("could not keep the parsed index in \(directory): \(error)")
        }
        return parsed
    }

    func load(_ key: String) -> [AvailablePackage]? {
        guard let data = FileManager.default.contents(atPath: path(key)) else { return nil }
        do {
            return try Self.decode(Array(data), secret: try secret(create: false))
        } catch {
            logger.debug("parsed index \(key) is unreadable (\(error)); parsing the index again")
            return nil
        }
    }

    func store(_ packages: [AvailablePackage], key: String) throws {
        try CacheLocation.makePrivateDirectory(directory)
        let bytes = Self.encode(packages, secret: try secret(create: true))
        let file = try AtomicFile(path: path(key), overwrite: true, mode: 0o600)
        try file.write(bytes)
        try file.commit()
    }

    // MARK: the secret

    /// This cache's secret: read from `secretPath` (a regular file of 32 bytes, ours, readable by no one
    /// else), else, with `create`, made. A secret file that fails those checks is replaced: every entry made
    /// with the old one is then parsed again.
    func secret(create: Bool) throws -> [UInt8] {
        if let existing = try readSecret() { return existing }
        guard create else { throw Corrupt(description: "no usable secret in \(directory)") }
        try CacheLocation.makePrivateDirectory(directory)
        var fresh = [UInt8](repeating: 0, count: Self.secretSize)
        var generator = SystemRandomNumberGenerator()
        for i in fresh.indices { fresh[i] = generator.next() }
        let temporary = "\(secretPath).\(getpid()).\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw PkgLayerError.posix("creating the parsed-index cache's secret", path: temporary) }
        defer { unlink(temporary) }
        let written = fresh.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == fresh.count, synced == 0 else { throw PkgLayerError.posix("writing the parsed-index cache's secret", path: temporary) }
        // link() publishes it only if there is none yet: two runs starting at once agree on the first one.
        if link(temporary, secretPath) == 0 { return fresh }
        guard errno == EEXIST else { throw PkgLayerError.posix("publishing the parsed-index cache's secret", path: secretPath) }
        if let winner = try readSecret() { return winner }
        // The file there is unusable (wrong size, owner or mode): replace it.
        guard rename(temporary, secretPath) == 0 else { throw PkgLayerError.posix("replacing the parsed-index cache's secret", path: secretPath) }
        logger.warning("the parsed-index cache's secret \(secretPath) was unusable and was replaced; indexes are parsed again")
        return fresh
    }

    /// The secret if `secretPath` holds a usable one; nil if it is missing or unusable.
    private func readSecret() throws -> [UInt8]? {
        let fd = open(secretPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size == Self.secretSize, st.st_uid == geteuid(),
              st.st_mode & 0o077 == 0 else { return nil }
        var bytes = [UInt8](repeating: 0, count: Self.secretSize)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        return n == Self.secretSize ? bytes : nil
    }

    // MARK: encoding

    /// The file's bytes, authenticated with `secret` (the cache's 32 bytes).
    static func encode(_ packages: [AvailablePackage], secret: [UInt8]) -> [UInt8] {
        var strings: [String: Int] = [:]
        var table: [String] = []
        func id(_ s: String) -> Int {
            if let existing = strings[s] { return existing }
            strings[s] = table.count
            table.append(s)
            return table.count - 1
        }
        var records = ByteWriter()
        records.varint(packages.count)
        func optional(_ s: String?) { records.varint(s.map { id($0) + 1 } ?? 0) }
        func clause(_ c: Dependency.Clause) {
            records.varint(id(c.name))
            records.varint(c.versionOperator.map { VersionOperator.allCases.firstIndex(of: $0)! + 1 } ?? 0)
            optional(c.version)
        }
        func dependencies(_ list: [Dependency]) {
            records.varint(list.count)
            for dependency in list {
                records.varint(dependency.alternatives.count)
                dependency.alternatives.forEach(clause)
            }
        }
        for p in packages {
            records.varint(id(p.name)); records.varint(id(p.version)); records.varint(id(p.architecture))
            dependencies(p.depends); dependencies(p.preDepends)
            records.varint(p.provides.count); p.provides.forEach(clause)
            dependencies(p.conflicts)
            records.varint(p.files.count); p.files.forEach { records.varint(id($0)) }
            optional(p.repository)
            records.varint(id(p.location)); records.varint(id(p.sha256)); records.varint(Int(p.size))
        }
        var out = ByteWriter()
        out.bytes += magic
        out.varint(formatVersion)
        out.varint(table.count)
        for s in table {
            let utf8 = Array(s.utf8)
            out.varint(utf8.count)
            out.bytes += utf8
        }
        out.bytes += records.bytes
        out.bytes += Array(HMAC<SHA256>.authenticationCode(for: out.bytes, using: SymmetricKey(data: secret)))
        return out.bytes
    }

    struct Corrupt: Error, CustomStringConvertible {
        var description: String
    }

    /// The records of a file `encode` wrote with the same `secret`; anything else throws.
    static func decode(_ bytes: [UInt8], secret: [UInt8]) throws -> [AvailablePackage] {
        guard bytes.count >= magic.count + 32 else { throw Corrupt(description: "too short") }
        let body = bytes[..<(bytes.count - 32)]
        guard HMAC<SHA256>.isValidAuthenticationCode(Array(bytes[(bytes.count - 32)...]), authenticating: body, using: SymmetricKey(data: secret)) else {
            throw Corrupt(description: "authentication code mismatch (altered, or written without this cache's secret)")
        }
        guard Array(bytes[..<magic.count]) == magic else { throw Corrupt(description: "not a parsed index") }
        var reader = ByteReader(bytes: body, position: magic.count)
        guard try reader.varint() == formatVersion else { throw Corrupt(description: "another format version") }
        let count = try reader.varint()
        guard count <= body.count else { throw Corrupt(description: "string count") }
        var table: [String] = []
        table.reserveCapacity(count)
        for _ in 0..<count { table.append(try reader.string()) }
        func string() throws -> String {
            let i = try reader.varint()
            guard i < table.count else { throw Corrupt(description: "string reference") }
            return table[i]
        }
        func optional() throws -> String? {
            let i = try reader.varint()
            guard i > 0 else { return nil }
            guard i - 1 < table.count else { throw Corrupt(description: "string reference") }
            return table[i - 1]
        }
        func clause() throws -> Dependency.Clause {
            let name = try string()
            let op = try reader.varint()
            guard op <= VersionOperator.allCases.count else { throw Corrupt(description: "operator") }
            let versionOperator = op == 0 ? nil : VersionOperator.allCases[op - 1]
            return Dependency.Clause(name: name, versionOperator: versionOperator, version: try optional())
        }
        func list<T>(_ element: () throws -> T) throws -> [T] {
            let n = try reader.varint()
            guard n <= body.count else { throw Corrupt(description: "list length") }
            var result: [T] = []
            result.reserveCapacity(n)
            for _ in 0..<n { result.append(try element()) }
            return result
        }
        func dependencies() throws -> [Dependency] {
            try list { Dependency(alternatives: try list(clause)) }
        }
        let packageCount = try reader.varint()
        guard packageCount <= body.count else { throw Corrupt(description: "package count") }
        var packages: [AvailablePackage] = []
        packages.reserveCapacity(packageCount)
        for _ in 0..<packageCount {
            let name = try string(), version = try string(), architecture = try string()
            let depends = try dependencies(), preDepends = try dependencies()
            let provides = try list(clause)
            let conflicts = try dependencies()
            let files = try list(string)
            let repository = try optional()
            let location = try string(), sha256 = try string()
            let size = Int64(try reader.varint())
            packages.append(AvailablePackage(name: name, version: version, architecture: architecture, depends: depends,
                                             preDepends: preDepends, provides: provides, conflicts: conflicts, files: files,
                                             repository: repository, location: location, sha256: sha256, size: size))
        }
        guard reader.position == body.endIndex else { throw Corrupt(description: "trailing bytes") }
        return packages
    }
}

private struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func varint(_ value: Int) {
        var v = UInt64(max(0, value))
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }
}

private struct ByteReader {
    let bytes: ArraySlice<UInt8>
    var position: Int

    mutating func varint() throws -> Int {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.endIndex, shift < 63 else { throw ParsedIndexCache.Corrupt(description: "truncated number") }
            let byte = bytes[position]
            position += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard result <= UInt64(Int.max) else { throw ParsedIndexCache.Corrupt(description: "number too large") }
        return Int(result)
    }

    mutating func string() throws -> String {
        let n = try varint()
        guard n <= bytes.endIndex - position else { throw ParsedIndexCache.Corrupt(description: "truncated string") }
        let s = String(decoding: bytes[position..<(position + n)], as: UTF8.self)
        position += n
        return s
    }
}
