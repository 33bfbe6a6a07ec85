import Foundation
import PkgLayerArchive
import PkgLayerCore
import PkgLayerRPM

/// Writes a yum repository's metadata (`repodata/`) for rpms already in place, as createrepo_c lays it
/// out: `repomd.xml` naming `<sha256>-primary.xml.gz`, `<sha256>-filelists.xml.gz` and
/// `<sha256>-other.xml.gz` with their checksums and sizes, compressed and open; with a signer, also
/// `repomd.xml.asc` (an armored detached signature, what dnf's `repo_gpgcheck=1` verifies) and
/// `repomd.xml.key` (the public key).
///
/// Deterministic: packages are written in (name, arch, EVR, path) order, every time is `timestamp`, and
/// the compressors' output does not depend on the machine, so the same packages give the same bytes.
public struct YumRepositoryWriter {
    public var timestamp: Int64
    public var compression: YumMetadataCompression
    public var signer: (any PackageSigner)?
    /// How many changelog entries `other.xml` keeps per package (the newest), as createrepo_c's default.
    public var changelogLimit: Int = 10

    public init(timestamp: Int64, compression: YumMetadataCompression = .gzip, signer: (any PackageSigner)? = nil) {
        self.timestamp = timestamp
        self.compression = compression
        self.signer = signer
    }

    /// One metadata file as repomd.xml describes it.
    public struct DataFile: Sendable, Equatable {
        public var type: String
        /// `repodata/<sha256>-primary.xml.gz`
        public var location: String
        public var checksum: String
        public var openChecksum: String
        public var size: UInt64
        public var openSize: UInt64
    }

    /// Writes `repodata/` under `root` (which must not hold one yet) for `packages` (those without an rpm
    /// entry are ignored). Returns the data files, in repomd's order.
    @discardableResult
    public func write(packages: [PublishedPackage], into root: String) throws -> [DataFile] {
        let rpms = Self.ordered(packages.filter { $0.rpm != nil })
        let repodata = root + "/repodata"
        guard mkdir(repodata, 0o755) == 0 else { throw PkgLayerError.posix("creating repodata", path: repodata) }
        var files: [DataFile] = []
        files.append(try writeData("primary", into: repodata) { out in
            try out.append(#"<?xml version="1.0" encoding="UTF-8"?>"# + "\n")
            try out.append(#"<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="\#(rpms.count)">"# + "\n")
            for package in rpms { try out.append(YumXML.primary(package)) }
            try out.append("</metadata>\n")
        })
        files.append(try writeData("filelists", into: repodata) { out in
            try out.append(#"<?xml version="1.0" encoding="UTF-8"?>"# + "\n")
            try out.append(#"<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="\#(rpms.count)">"# + "\n")
            for package in rpms { try out.append(YumXML.filelists(package)) }
            try out.append("</filelists>\n")
        })
        files.append(try writeData("other", into: repodata) { out in
            try out.append(#"<?xml version="1.0" encoding="UTF-8"?>"# + "\n")
            try out.append(#"<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="\#(rpms.count)">"# + "\n")
            for package in rpms { try out.append(YumXML.other(package, changelogLimit: changelogLimit)) }
            try out.append("</otherdata>\n")
        })

        let repomd = Data(YumXML.repomd(files, revision: timestamp, timestamp: timestamp).utf8)
        try PublishFiles.write(repomd, to: repodata + "/repomd.xml")
        if let signer {
            let signature = try signer.armoredDetachedSignature(over: repomd)
            try PublishFiles.write(Data(signature.utf8), to: repodata + "/repomd.xml.asc")
            try PublishFiles.write(Data(signer.armoredPublicKey.utf8), to: repodata + "/repomd.xml.key")
        }
        return files
    }

    /// The order packages appear in the metadata: name, arch, then rpm's version order, then path.
    static func ordered(_ packages: [PublishedPackage]) -> [PublishedPackage] {
        packages.sorted { a, b in
            let x = a.rpm!, y = b.rpm!
            if x.name != y.name { return x.name.utf8.lexicographicallyPrecedes(y.name.utf8) }
            if x.arch != y.arch { return x.arch.utf8.lexicographicallyPrecedes(y.arch.utf8) }
            let c = RPMVersionOrder.compare("\(x.epoch):\(x.version)-\(x.release)", "\(y.epoch):\(y.version)-\(y.release)")
            if c != 0 { return c < 0 }
            return a.path.utf8.lexicographicallyPrecedes(b.path.utf8)
        }
    }

    /// Streams one XML document through a hasher (open checksum), the compressor and a second hasher
    /// into a scratch file, then names it by its checksum.
    private func writeData(_ type: String, into repodata: String, _ body: (XMLStream) throws -> Void) throws -> DataFile {
        let scratch = "\(repodata)/.\(type).tmp"
        let file = try ScratchFileSink(path: scratch)
        let closed = HashingSink(next: file)
        let compressor: ByteSink
        switch compression {
        case .gzip: compressor = try ParallelGzipSink(next: closed, level: 6, threads: Compression.defaultThreads)
        case .zstd: compressor = try ZstdSink(next: closed, level: 10, threads: Compression.defaultThreads)
        }
        let open = HashingSink(next: compressor)
        let stream = XMLStream(sink: open)
        try body(stream)
        try stream.flush()
        try open.finish()
        let checksum = closed.sha256Hex
        let name = "\(checksum)-\(type).xml.\(compression.fileExtension)"
        guard chmod(scratch, 0o644) == 0, rename(scratch, "\(repodata)/\(name)") == 0 else {
            throw PkgLayerError.posix("naming \(type) metadata", path: repodata)
        }
        return DataFile(type: type, location: "repodata/\(name)", checksum: checksum, openChecksum: open.sha256Hex,
                        size: closed.count, openSize: open.count)
    }
}

/// Text into a byte sink in blocks.
final class XMLStream {
    private let sink: ByteSink
    private var buffer: [UInt8] = []

    init(sink: ByteSink) {
        self.sink = sink
        buffer.reserveCapacity(1 << 17)
    }

    func append(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 16 { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        try buffer.withUnsafeBytes { try sink.write($0) }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Small whole files in a metadata generation: written, made readable by everyone (a web server
/// serves them), not yet synced (the generation is synced as a whole before it is switched to).
enum PublishFiles {
    static func write(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw PkgLayerError.posix("creating", path: path) }
        defer { close(fd) }
        fchmod(fd, 0o644)
        try data.withUnsafeBytes { try FileWriter.writeAll(fd, $0, path: path) }
    }
}
