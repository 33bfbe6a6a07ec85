import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb

/// One binary package as an apt repository lists it: the .deb's control fields, where it lies in the
/// pool, and its size and digests. `Codable`, so the publisher's index (`.pkglayer/index.json`) can keep
/// entries between runs and rewrite the indexes without opening a .deb again.
///
/// `fields` is the package's control paragraph as the .deb carries it (Package, Version, Architecture,
/// Depends, Description, …), in the .deb's order, without the fields an index adds (Filename, Size and
/// the digests: those are the properties below, so a stale copy can never disagree with them).
public struct AptPackageEntry: Codable, Sendable, Equatable {
    public struct Field: Codable, Sendable, Equatable {
        public var name: String
        /// The value as a control file holds it: continuation lines start with a space or a tab.
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public var fields: [Field]
    /// The component (`main`, `contrib`, …) whose indexes list the package.
    public var component: String
    /// The path of the .deb relative to the repository root, as the index's `Filename:` says
    /// (`pool/main/h/hello/hello_1.0-1_amd64.deb`).
    public var filename: String
    public var size: UInt64
    /// Lower-case hex digests of the whole .deb.
    public var md5sum: String
    public var sha256: String

    public init(fields: [Field], component: String = "main", filename: String, size: UInt64, md5sum: String, sha256: String) {
        self.fields = fields
        self.component = component
        self.filename = filename
        self.size = size
        self.md5sum = md5sum
        self.sha256 = sha256
    }

    /// The value of a control field (case-insensitive name), as dpkg compares field names.
    public subscript(field name: String) -> String? {
        fields.first { Self.sameFieldName($0.name, name) }?.value
    }

    /// ASCII case-insensitive equality of field names (they are ASCII; anything else compares exactly).
    static func sameFieldName(_ a: String, _ b: String) -> Bool {
        a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8) { x, y in
            x == y || (x | 0x20 == y | 0x20 && (x | 0x20) >= 0x61 && (x | 0x20) <= 0x7a)
        }
    }

    public var package: String { self[field: "Package"] ?? "" }
    public var version: String { self[field: "Version"] ?? "" }
    public var architecture: String { self[field: "Architecture"] ?? "" }

    /// Fields the index writes itself; a .deb's own copies of them are dropped.
    static let indexFields: Set<String> = ["filename", "size", "md5sum", "sha1", "sha256", "sha512", "description-md5"]

    /// Reads a .deb's control paragraph and digests it (MD5 and SHA-256 in one streaming pass, in
    /// constant memory). Only the ar container and control.tar are opened; data.tar is not decompressed.
    ///
    /// - Parameters:
    ///   - debAt: the .deb on disk.
    ///   - poolPath: where the repository serves it, relative to the repository root
    ///     (`pool/main/h/hello/hello_1.0_amd64.deb`); it becomes `Filename:`.
    ///   - component: the component whose indexes list it.
    public static func read(debAt url: URL, poolPath: String, component: String = "main") throws -> AptPackageEntry {
        try read(debAt: url.path, poolPath: poolPath, component: component).entry
    }

    /// `read(debAt:poolPath:component:)`, plus the time of the .deb's first ar member (its build time:
    /// dpkg-deb writes SOURCE_DATE_EPOCH or the build time there), found on the way.
    static func read(debAt path: String, poolPath: String, component: String) throws -> (entry: AptPackageEntry, buildTime: Int64) {
        try validatePoolPath(poolPath, at: path)
        try validateComponent(component, at: path)
        let (paragraph, buildTime) = try readControl(deb: path)
        var fields: [Field] = []
        for (name, value) in paragraph.fields where !indexFields.contains(name.lowercased()) {
            fields.append(Field(name: name, value: value))
        }
        // Package first, as every index writer puts it (apt does not care; people reading it do).
        if let index = fields.firstIndex(where: { $0.name.lowercased() == "package" }), index > 0 {
            fields.insert(fields.remove(at: index), at: 0)
        }
        // Digests and size from one pass over one open file.
        var hasher = StreamingHasher([.md5, .sha256])
        var size: UInt64 = 0
        try FileReader.forEachBlock(path: path) { block in
            hasher.update(block)
            size += UInt64(block.count)
        }
        let entry = AptPackageEntry(fields: fields, component: component, filename: poolPath, size: size,
                                    md5sum: hasher.finalizeMD5().hexString, sha256: hasher.finalizeSHA256().hexString)
        try entry.validate(at: path)
        return (entry, buildTime)
    }

    /// The paragraph this entry contributes to a `Packages` file, ending in one newline.
    public var stanza: String {
        var out = ""
        for field in fields { out += "\(field.name): \(field.value)\n" }
        out += "Filename: \(filename)\nSize: \(size)\nMD5sum: \(md5sum)\nSHA256: \(sha256)\n"
        return out
    }

    // MARK: - Validation

    /// Checks what a `Packages` file needs of an entry, whether it came from a .deb or from an index
    /// file someone may have edited: the three identifying fields, field names and values that cannot
    /// break the paragraph, a pool path inside the repository, and well-formed digests.
    public func validate(at location: String? = nil) throws {
        let here = location ?? (filename.isEmpty ? "apt package entry" : filename)
        for name in ["Package", "Version", "Architecture"] where (self[field: name] ?? "").isEmpty {
            throw PkgLayerError(.deb, "has no '\(name)' control field; a binary package needs Package, Version and Architecture",
                                at: here)
        }
        guard Self.isPackageName(package) else {
            throw PkgLayerError(.deb, "package name '\(package)' is not a Debian package name (lower-case letters, digits, '+', '-', '.'; at least two characters, starting with a letter or digit)",
                                at: here)
        }
        guard version.allSatisfy({ $0.isASCII && !$0.isWhitespace }), version.first?.isNumber == true else {
            throw PkgLayerError(.deb, "version '\(version)' is not a Debian version (it must start with a digit and hold no spaces)", at: here)
        }
        guard Self.isArchitectureName(architecture) else {
            throw PkgLayerError(.deb, "architecture '\(architecture)' is not an architecture name (lower-case letters, digits and '-')", at: here)
        }
        var seen = Set<String>()
        for field in fields {
            guard Self.isFieldName(field.name) else {
                throw PkgLayerError(.deb, "control field name '\(field.name.prefix(60))' is not valid (printable ASCII, no ':' or spaces, not starting with '#' or '-')",
                                    at: here)
            }
            guard seen.insert(field.name.lowercased()).inserted else {
                throw PkgLayerError(.deb, "control field '\(field.name)' appears twice", at: here)
            }
            guard !Self.indexFields.contains(field.name.lowercased()) else {
                throw PkgLayerError(.deb, "control field '\(field.name)' is one the index writes itself; remove it from the entry's fields",
                                    at: here)
            }
            // Over Unicode scalars: "\r\n" is one Character, so a Character split would let a CR LF (or a
            // lone CR, U+2028, …) through and begin a field of its own in the Packages file.
            let first = field.value.unicodeScalars.first
            guard !field.value.isEmpty, first != " ", first != "\t" else {
                throw PkgLayerError(.deb, "control field '\(field.name)' has an empty value or one that starts with a space; it would break the Packages paragraph",
                                    at: here)
            }
            if let problem = ControlParagraph.problem(inValue: field.value) {
                throw PkgLayerError(.deb, "control field '\(field.name)' \(problem); it would break the Packages paragraph (a line break would begin another field)",
                                    at: here)
            }
        }
        try Self.validatePoolPath(filename, at: here)
        try Self.validateComponent(component, at: here)
        guard md5sum.utf8.count == 32, sha256.utf8.count == 64,
              (md5sum + sha256).utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw PkgLayerError(.invalidInput, "MD5sum and SHA256 must be 32 and 64 lower-case hex digits", at: here)
        }
    }

    static func isPackageName(_ name: String) -> Bool {
        guard name.utf8.count >= 2, let first = name.unicodeScalars.first,
              ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) }
    }

    static func isArchitectureName(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    static func isFieldName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first != "#", first != "-" else { return false }
        return name.unicodeScalars.allSatisfy { $0.value > 32 && $0.value < 127 && $0 != ":" }
    }

    /// A component or suite name: one path segment of letters, digits and `._+-` (suites may hold `/`,
    /// like `bookworm/updates`; `AptRepositoryWriter` checks those itself).
    static func validateComponent(_ component: String, at location: String) throws {
        guard !component.isEmpty, component != ".", component != "..",
              component.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII || "._+-".unicodeScalars.contains($0) }) else {
            throw PkgLayerError(.usage, "component '\(component)' must be one name of letters, digits, '.', '_', '+' or '-' (for example 'main')",
                                at: location)
        }
    }

    /// The pool path must stay inside the repository and fit on one `Filename:` line.
    static func validatePoolPath(_ path: String, at location: String) throws {
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"), segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }),
              path.unicodeScalars.allSatisfy({ $0.value > 32 && $0.value != 127 }) else {
            throw PkgLayerError(.pathEscapesRoot, "pool path '\(path.prefix(200))' must be relative to the repository root, without '.', '..', empty segments, spaces or control characters (for example 'pool/main/h/hello/hello_1.0_amd64.deb')",
                                at: location)
        }
    }

    // MARK: - Reading the control paragraph

    /// The control file of a .deb: the ar container's `debian-binary` (2.x), then `control.tar[.*]`,
    /// whose `./control` is parsed. Nothing of data.tar is read.
    ///
    /// libarchive lists the ar members. An uncompressed or gzip control.tar (pkglayer's and fpm's debs)
    /// is then read in place, by a second reader that starts at the member's data (its offset follows
    /// from the sizes before it: 8 bytes of magic, then a 60-byte header and the data, padded to even,
    /// per member), provided the header found at that offset names the member. Otherwise (xz and zstd,
    /// dpkg-deb's defaults, whose decoders run on past the member's end) the member is extracted to a
    /// scratch file and read from there.
    static func readControl(deb: String) throws -> (paragraph: ControlParagraph, firstMemberTime: Int64) {
        var member: (name: String, dataOffset: UInt64)?
        var firstMemberTime: Int64 = 0
        var extracted: ScratchCopy?
        do {
            let ar = try ArchiveReader(path: deb)
            guard let first = try ar.next(), memberName(first.path) == "debian-binary" else {
                throw PkgLayerError(.deb, "does not start with a 'debian-binary' member; it is not a .deb", at: deb)
            }
            firstMemberTime = first.mtime
            let version = String(decoding: try ar.readAll(limit: 64), as: UTF8.self)
            guard version.hasPrefix("2."), version.hasSuffix("\n") else {
                throw PkgLayerError(.deb, "debian-binary says '\(version.trimmingCharacters(in: .whitespacesAndNewlines))'; only format 2.x is supported",
                                    at: deb)
            }
            var offset = 8 + 60 + first.size + first.size % 2
            while let header = try ar.next() {
                let name = memberName(header.path)
                if name.hasPrefix("_") {
                    offset += 60 + header.size + header.size % 2
                    continue
                }
                guard name == "control.tar" || name.hasPrefix("control.tar.") else {
                    throw PkgLayerError(.deb, "member '\(name)' comes where control.tar belongs; dpkg requires control.tar right after debian-binary",
                                        at: deb)
                }
                // In place only where the stream's end is self-evident: libarchive's xz and zstd readers
                // decode on past the member into the next ar header and fail ("Corrupted input data").
                if name == "control.tar" || name == "control.tar.gz", try arHeader(in: deb, at: offset, names: name) {
                    member = (name, offset + 60)
                } else {
                    let limits = InputLimits.current
                    guard header.size <= limits[.debControlTarBytes] else {
                        throw limits.exceeded(.debControlTarBytes, "the control member", actual: header.size, at: "\(deb): \(name)",
                                              hint: "control files, md5sums and scripts take a few MiB even for the largest packages; the package is damaged or hostile")
                    }
                    extracted = try ScratchCopy(try ar.readAll(limit: limits.int(.debControlTarBytes)))
                    member = (name, 0)
                }
                break
            }
        } catch let error as PkgLayerError where [.deb, .limitExceeded, .io].contains(error.code) {
            throw error
        } catch {
            throw PkgLayerError(.deb, "is not a readable .deb (ar archive): \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        guard let member else {
            throw PkgLayerError(.deb, "has no control.tar member; it is truncated or not a binary package", at: deb)
        }
        let limits = InputLimits.current
        do {
            let tar = try extracted.map { try ArchiveReader(path: $0.path) }
                ?? ArchiveReader(path: deb, offset: member.dataOffset)
            // Only the members up to `control` are read; the reader stops there, before control.tar's end.
            while let header = try tar.next() {
                var name = Substring(header.path)
                while name.hasPrefix("./") { name = name.dropFirst(2) }
                guard name == "control", header.isRegular else { continue }
                let limit = limits.int(.debControlBytes)
                guard header.size <= UInt64(limit) else {
                    throw limits.exceeded(.debControlBytes, "the control file", actual: header.size, at: "\(deb): control",
                                          hint: "a control file is a few KiB of fields; the package is damaged or hostile")
                }
                let bytes = try tar.readAll(limit: limit)
                return (try ControlParagraph(parsing: String(decoding: bytes, as: UTF8.self), location: "\(deb): control"), firstMemberTime)
            }
        } catch let error as PkgLayerError where [.deb, .limitExceeded].contains(error.code) {
            throw error
        } catch {
            throw PkgLayerError(.deb, "cannot read its \(member.name) member: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        throw PkgLayerError(.deb, "\(member.name) has no 'control' file", at: deb)
    }

    /// A member's bytes in a scratch file (libarchive reads nested archives from files), removed when
    /// dropped. One file, not a directory: this runs once per deb.
    private final class ScratchCopy {
        let path: String

        init(_ bytes: [UInt8]) throws {
            let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
            let (fd, path) = try WorkOwnership.makeFile(in: base, prefix: "pkglayer-aptcontrol")
            self.path = path
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    let error = PkgLayerError.posix("write", path: path)
                    unlink(path)
                    throw error
                }
                offset += n
            }
        }

        deinit { unlink(path) }
    }

    /// Whether the 60-byte ar header at `offset` names `name` (GNU `name/` or plain, space-padded) and
    /// ends with the header magic.
    private static func arHeader(in path: String, at offset: UInt64, names name: String) throws -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("open", path: path) }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 60)
        let n = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 60, off_t(offset)) }
        guard n == 60, header[58] == UInt8(ascii: "`"), header[59] == UInt8(ascii: "\n") else { return false }
        return memberName(String(decoding: header[0..<16], as: UTF8.self)) == name
    }

    /// ar member names as libarchive reports them may carry GNU's trailing `/`.
    private static func memberName(_ raw: String) -> String {
        var name = Substring(raw)
        while name.hasSuffix("/") || name.hasSuffix(" ") { name = name.dropLast() }
        return String(name)
    }
}
