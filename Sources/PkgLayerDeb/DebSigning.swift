import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Signs .deb files in debsigs' format, which `debsig-verify` (and dpkg, when configured to call it)
/// checks: an ar member `_gpgorigin` holding a binary detached OpenPGP signature (what
/// `gpg --detach-sign` writes; gpg, which debsig-verify runs, reads binary and armored alike) over the
/// concatenated contents of `debian-binary`, `control.tar.*` and `data.tar.*`, in that order. The ar
/// headers and padding are not signed, and neither are other `_gpg*` members, so one signature type
/// can be added or replaced without touching another.
///
/// Two ways in, with identical results (the same key, package and creation time give the same bytes):
/// - at write time: `DebWriter(signer:)` hashes the three members while it writes them and appends
///   `_gpgorigin`; nothing is read twice and memory stays constant however large data.tar is;
/// - afterwards: `sign(fileAt:with:)` streams an existing .deb (ours or anyone's) into a new file next
///   to it, hashing as it copies, and renames it into place.
///
/// Where the member goes (debsigs' rules, as debsig-verify reads them: it finds members by name, so
/// order after data.tar does not matter to it):
/// - a deb without `_gpgorigin` gets it appended after every other member (debsigs appends with `ar`);
/// - a deb that already has one gets it replaced where it stood (a second one is dropped, and one
///   standing before data.tar, which no tool writes, goes to the end);
/// - other signature members (`_gpgmaint`, `_gpgbuilder`, …) are kept byte for byte where they are:
///   they sign the same three members, which signing never changes, so they stay valid.
/// Every member's header, data and padding is copied verbatim; the new member's header is
/// `_gpgorigin`, dated like `debian-binary`, uid and gid 0, mode 100644, as the writer writes it.
public enum DebSigning {
    /// The member debsigs' origin signature lives in (`Type="origin"` in a debsig-verify policy).
    public static let originMember = "_gpgorigin"

    /// Signs the .deb at `url` in place (a new file in the same directory, renamed over it; a symlink
    /// is followed and its target replaced). An existing `_gpgorigin` is replaced.
    /// - Returns: what the new signature says (issuer, creation time).
    @discardableResult
    public static func sign(fileAt url: URL, with signer: any PackageSigner) throws -> DebSignatureInfo {
        let path = url.resolvingSymlinksInPath().path
        let input = try DebArFile(path: path)
        let layout = try input.layout()
        let out = try AtomicFile(path: path, overwrite: true, mode: input.mode)
        try out.write(DebArFile.magic)

        // Everything up to data.tar is copied inside the signer's hashing pass, the three signed
        // members fed to the hasher as they stream through.
        var next = 0
        let signature = try signer.detachedSignature { hasher in
            while next <= layout.data {
                let index = next
                next += 1
                let member = layout.members[index]
                if member.name == originMember { continue } // an old signature before data.tar: replaced at the end
                let signed = index == layout.debianBinary || index == layout.control || index == layout.data
                try input.copy(member, to: out) { block in
                    if signed { hasher.update(data: block) }
                }
            }
        }
        let origin = arHeader(name: originMember, mtime: layout.members[layout.debianBinary].mtime, size: signature.count)
        var placed = false
        for member in layout.members[next...] {
            if member.name == originMember {
                if !placed { try writeMember(origin, signature, to: out) }
                placed = true
                continue
            }
            try input.copy(member, to: out) { _ in }
        }
        if !placed { try writeMember(origin, signature, to: out) }
        try out.commit()
        return try DebSignatureInfo(member: originMember, signature: signature, location: path)
    }

    /// The origin signature of the .deb at `url`, or nil when it has none. Reads only the ar headers
    /// and the signature member; checks nothing (that is debsig-verify's job).
    public static func signatureInfo(fileAt url: URL) throws -> DebSignatureInfo? {
        try signatures(fileAt: url).first { $0.member == originMember }
    }

    /// Every `_gpg*` signature member of the .deb at `url`, in archive order.
    public static func signatures(fileAt url: URL) throws -> [DebSignatureInfo] {
        let path = url.path
        let input = try DebArFile(path: path)
        let layout = try input.layout()
        return try layout.members.filter { $0.name.hasPrefix("_gpg") }.map { member in
            guard member.size <= 64 << 10 else {
                throw PkgLayerError(.deb, "signature member '\(member.name)' claims \(member.size) bytes; an OpenPGP signature takes a few hundred",
                                    at: path)
            }
            return try DebSignatureInfo(member: member.name, signature: try input.read(member), location: "\(path): \(member.name)")
        }
    }

    // MARK: - ar headers

    /// A 60-byte ar member header as dpkg-deb and pkglayer's writer write them: the name padded with
    /// spaces to 16 bytes, decimal mtime, uid and gid 0, octal mode 100644, decimal size, "`\n".
    static func arHeader(name: String, mtime: Int64, size: Int) -> [UInt8] {
        func field(_ text: String, _ width: Int) -> [UInt8] {
            Array(text.utf8.prefix(width)) + Array(repeating: UInt8(ascii: " "), count: max(0, width - text.utf8.count))
        }
        return field(name, 16) + field(String(mtime), 12) + field("0", 6) + field("0", 6) + field("100644", 8)
            + field(String(size), 10) + Array("`\n".utf8)
    }

    private static func writeMember(_ header: [UInt8], _ data: Data, to out: AtomicFile) throws {
        try out.write(header)
        try out.write(Array(data))
        if data.count % 2 == 1 { try out.write([UInt8(ascii: "\n")]) }
    }
}

// MARK: - The ar container, read raw

/// One member of a .deb's ar container as its header says. Its header and padding are copied as they are.
struct DebArMember {
    /// The name with ar's space padding and binutils' trailing `/` removed.
    var name: String
    var header: [UInt8]
    var mtime: Int64
    var size: UInt64
    var dataOffset: UInt64
}

/// Which members a .deb's signature covers.
struct DebArLayout {
    var members: [DebArMember]
    var debianBinary: Int
    var control: Int
    var data: Int
}

/// A .deb opened for reading its ar container directly (dpkg's layout: "!<arch>\n", 60-byte headers,
/// data padded to an even length; no long-name tables, which dpkg does not read either).
final class DebArFile {
    static let magic = Array("!<arch>\n".utf8)
    /// More members than any .deb has (they have 3 to 6); a bound for a hostile file.
    static let memberLimit = 4096
    static let controlNames = ["control.tar", "control.tar.gz", "control.tar.xz", "control.tar.zst"]
    static let dataNames = ["data.tar", "data.tar.gz", "data.tar.xz", "data.tar.zst", "data.tar.bz2", "data.tar.lzma"]

    let path: String
    let size: UInt64
    let mode: mode_t
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw PkgLayerError.posix("opening the package", path: path) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            close(fd)
            throw PkgLayerError.posix("fstat", path: path)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw PkgLayerError(.deb, "is not a regular file; give a .deb", at: path)
        }
        self.path = path
        size = UInt64(st.st_size)
        mode = st.st_mode & 0o7777
    }

    deinit { close(fd) }

    private func notDeb(_ why: String) -> PkgLayerError {
        PkgLayerError(.deb, "is not a .deb: \(why); give a Debian binary package (an ar archive of debian-binary, control.tar.*, data.tar.*)",
                      at: path)
    }

    /// Reads and checks the member table: `debian-binary` first, then `control.tar.*`, then `data.tar.*`,
    /// with only `_`-members (which dpkg skips) between them; anything may follow data.tar.
    func layout() throws -> DebArLayout {
        var members: [DebArMember] = []
        guard size >= 8, try read(at: 0, count: 8) == Self.magic else { throw notDeb("it does not start with ar's '!<arch>' magic") }
        var offset: UInt64 = 8
        while offset < size {
            if members.count >= Self.memberLimit { throw notDeb("it has more than \(Self.memberLimit) ar members") }
            guard size - offset >= 60 else { throw notDeb("it ends inside an ar member header at byte \(offset)") }
            let header = try read(at: offset, count: 60)
            guard header[58] == UInt8(ascii: "`"), header[59] == UInt8(ascii: "\n") else {
                throw notDeb("the ar member header at byte \(offset) is damaged")
            }
            func text(_ range: Range<Int>) -> String {
                String(decoding: header[range], as: UTF8.self).trimmingCharacters(in: .whitespaces)
            }
            var name = text(0..<16)
            if name.hasSuffix("/"), name != "/", name != "//" { name.removeLast() }
            guard let memberSize = UInt64(text(48..<58)) else {
                throw notDeb("ar member '\(name)' has the size '\(text(48..<58))', not a decimal number")
            }
            let dataOffset = offset + 60
            guard memberSize <= size - dataOffset else {
                throw notDeb("ar member '\(name)' claims \(memberSize) bytes, past the end of the file (truncated?)")
            }
            members.append(DebArMember(name: name, header: header, mtime: Int64(text(16..<28)) ?? 0, size: memberSize, dataOffset: dataOffset))
            offset = dataOffset + memberSize + (memberSize % 2)
        }
        guard let first = members.first, first.name == "debian-binary" else {
            throw notDeb(members.first.map { "its first member is '\($0.name)', not 'debian-binary'" } ?? "it holds no members")
        }
        let version = try read(at: first.dataOffset, count: Int(min(first.size, 16)))
        guard version.starts(with: Array("2.".utf8)) else {
            throw notDeb("debian-binary says '\(String(decoding: version.prefix(16), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))', not format 2.x")
        }
        var control: Int?
        var data: Int?
        for (index, member) in members.enumerated().dropFirst() where data == nil {
            if member.name.hasPrefix("_") { continue }
            if control == nil {
                guard Self.controlNames.contains(member.name) else {
                    throw notDeb("'\(member.name)' follows debian-binary where control.tar.* belongs")
                }
                control = index
            } else {
                guard Self.dataNames.contains(member.name) else {
                    throw notDeb("'\(member.name)' follows \(members[control!].name) where data.tar.* belongs")
                }
                data = index
            }
        }
        guard let control else { throw notDeb("it has no control.tar.* member") }
        guard let data else { throw notDeb("it has no data.tar.* member") }
        return DebArLayout(members: members, debianBinary: 0, control: control, data: data)
    }

    /// A small member's data.
    func read(_ member: DebArMember) throws -> [UInt8] {
        try read(at: member.dataOffset, count: Int(member.size))
    }

    private func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw PkgLayerError.posix("read", path: path) }
            if n == 0 { throw PkgLayerError(.io, "ended at byte \(offset + UInt64(done)) while reading; was it truncated while being signed?", at: path) }
            done += n
        }
        return bytes
    }

    /// Copies a member (header, data and padding) to `out`, showing each data block to `observe`.
    func copy(_ member: DebArMember, to out: AtomicFile, observe: (UnsafeRawBufferPointer) -> Void) throws {
        try out.write(member.header)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: FileReader.blockSize, alignment: 16)
        defer { buffer.deallocate() }
        var offset = member.dataOffset
        let end = member.dataOffset + member.size
        while offset < end {
            let want = Int(min(UInt64(buffer.count), end - offset))
            let n = pread(fd, buffer.baseAddress, want, off_t(offset))
            if n < 0, errno == EINTR { continue }
            if n < 0 { throw PkgLayerError.posix("read", path: path) }
            if n == 0 { throw PkgLayerError(.io, "ended inside member '\(member.name)'; was it truncated while being signed?", at: path) }
            let block = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            observe(block)
            try out.write(block)
            offset += UInt64(n)
        }
        if member.size % 2 == 1 {
            // The padding byte as it was ('\n' from dpkg-deb and pkglayer); written when the file's last member lacks it.
            let pad = end < size ? try read(at: end, count: 1) : [UInt8(ascii: "\n")]
            try out.write(pad)
        }
    }
}
