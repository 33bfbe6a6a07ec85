import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Writes a binary .deb (format 2.0) natively: an ar archive holding `debian-binary`, `control.tar.*`
/// and `data.tar.*`, in that order, as deb(5) requires.
///
/// Choices, and why:
/// - **Data compression defaults to gzip, level 6.** fpm writes gzip, so users switching from fpm get
///   the same kind of package; every dpkg and every deb tool ever written reads it; and pkglayer's
///   gzip runs on all cores. dpkg-deb's own default is xz; pass `.xz(level: 6)` to match it. zstd
///   needs dpkg ≥ 1.21.18 (Debian 12, Ubuntu 21.10); lintian 2.116 (Debian 12) still calls a zstd
///   member `malformed-deb-archive`, and `.none` draws `uses-no-compression-for-*-tarball`.
/// - **Control compression follows the data compression** unless set. dpkg ≥ 1.17.6 reads an
///   uncompressed `control.tar`, which is what `.none` produces.
/// - **Tar members are GNU tar, as dpkg-deb writes them** (`ArchiveWriter(format: .tarGNU)`): dpkg's
///   unpacker refuses pax extended headers, which a pax writer needs for non-ASCII or long names and
///   long link targets.
/// - **Members are written as dpkg-deb writes them:** `./` first, then `./usr/`, `./usr/bin/x`, …:
///   every manifest entry, implicit parents included (a deb lists every directory it creates), in
///   manifest (sorted) order, directories with a trailing `/`, hardlinks as tar hardlinks to the
///   first member of their group.
/// - **md5sums** lists every regular file and hardlinked path, except conffiles (debhelper's
///   dh_md5sums convention: dpkg records conffile digests itself). Each md5 is computed while the file
///   streams into data.tar, so every file is read once.
/// - **Installed-Size** follows dpkg-gencontrol (see `DebPlan.installedSize`).
/// - **The rest of the control area** comes from `spec.extras` (DebWriter+Control.swift): extra
///   fields (replacing generated ones of the same name), a custom control file, debconf `config` and
///   `templates`, `shlibs`, `triggers`, the purge script, forced `set -e`, an Installed-Size override.
///   `spec.changelog` becomes `/usr/share/doc/NAME/changelog.Debian.gz` unless the manifest has it.
///   A spec without any of them gives the same bytes as before they existed.
/// - **Reproducible:** every header comes from the manifest or from `spec.sourceDateEpoch`; control
///   members are root:root, 0644 (scripts 0755), dated at the epoch; ar members are 0/0, 0100644, dated
///   at the epoch. Nothing depends on the clock, the directory or the umask.
/// - **Signing** (`signer`): debsigs' `_gpgorigin` member after data.tar, hashed while the members are
///   written (DebSigning.swift); the same bytes `DebSigning.sign(fileAt:with:)` gives afterwards.
public struct DebWriter: Packager {
    public static let format = PackageFormat.deb

    /// Compression of data.tar. Default gzip level 6 (see above).
    public var dataCompression: Compression
    /// Compression of control.tar; nil means "the same as the data".
    public var controlCompression: Compression?
    /// Replace an existing file at the output path.
    public var overwrite: Bool
    /// Cores for compression; the bytes do not depend on it.
    public var threads: Int
    /// Where data.tar is staged before it is copied into the ar archive; nil means $TMPDIR (or /tmp).
    public var scratchDirectory: String?
    /// Signs the package in debsigs' format (`_gpgorigin`, checked by debsig-verify); nil writes it unsigned.
    public var signer: (any PackageSigner)?

    public init(dataCompression: Compression = .gzip(level: 6), controlCompression: Compression? = nil,
                overwrite: Bool = false, threads: Int = Compression.defaultThreads, scratchDirectory: String? = nil,
                signer: (any PackageSigner)? = nil) {
        self.dataCompression = dataCompression
        self.controlCompression = controlCompression
        self.overwrite = overwrite
        self.threads = threads
        self.scratchDirectory = scratchDirectory
        self.signer = signer
    }

    /// `name_version[-revision]_arch.deb`: Debian leaves the epoch out of file names.
    public func fileName(for spec: PackageSpec) -> String {
        "\(spec.name)_\(DebVersion(spec: spec).fileNameForm)_\(spec.architecture.deb).deb"
    }

    /// What a write produced, with the warnings the caller should show (the writer never prints).
    public struct WriteResult: Sendable {
        public var output: PackageOutput
        /// Things the deb cannot express (rpm-only hooks, file capabilities, ghost files), one sentence each.
        public var warnings: [String]
        /// The control file as written.
        public var control: ControlParagraph
        public var installedSizeKiB: UInt64
        /// The key id of the `_gpgorigin` signature, nil when the package is unsigned.
        public var signedBy: String? = nil
    }

    public func write(spec: PackageSpec, manifest: FileManifest, to path: String) throws -> PackageOutput {
        try writePackage(spec: spec, manifest: manifest, to: path).output
    }

    public func pack(spec: PackageSpec, manifest: FileManifest, to path: String) throws -> PackagerResult {
        let written = try writePackage(spec: spec, manifest: manifest, to: path)
        return PackagerResult(output: written.output, warnings: written.warnings)
    }

    public func writePackage(spec: PackageSpec, manifest: FileManifest, to path: String) throws -> WriteResult {
        try dataCompression.validateLevel(field: "deb data compression")
        try controlCompression?.validateLevel(field: "deb control compression")
        var warnings: [String] = []
        let scratch = try TemporaryDirectory(parent: scratchDirectory, prefix: "pkglayer-deb")
        var manifest = manifest
        if let changelog = try Self.changelogEntry(spec: spec, manifest: manifest, scratch: scratch.path) {
            manifest = try FileManifest(entries: manifest.entries + [changelog], implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
        }
        let plan = try DebPlan(manifest: manifest, warnings: &warnings)
        for hook in MaintainerScripts.unsupportedInDeb(spec.scripts) {
            warnings.append("the \(hook.rawValue) script is left out of the deb: dpkg has no transaction scripts (it is rpm only)")
        }
        let installedSize = spec.extras.debInstalledSizeKiB ?? plan.installedSizeKiB
        let control = try Self.controlParagraph(spec: spec, installedSizeKiB: installedSize)
        let members = try Self.extraControlMembers(spec: spec, scripts: MaintainerScripts.deb(spec.scripts))

        let dataName = "data.tar" + (dataCompression.fileExtension.isEmpty ? "" : ".\(dataCompression.fileExtension)")
        let dataSink = try ScratchFileSink(path: "\(scratch.path)/\(dataName)")
        let md5s = try writeData(plan: plan, epoch: spec.sourceDateEpoch.seconds, to: dataSink)

        let controlCodec = controlCompression ?? dataCompression
        let controlName = "control.tar" + (controlCodec.fileExtension.isEmpty ? "" : ".\(controlCodec.fileExtension)")
        let controlBytes = try controlTarball(control: control, plan: plan, md5s: md5s, extraMembers: members,
                                              epoch: spec.sourceDateEpoch.seconds, compression: controlCodec)

        let file = try AtomicFile(path: path, overwrite: overwrite, mode: 0o644)
        let hashing = HashingSink(next: file, algorithms: [.sha256])
        let ar = try ArchiveWriter(format: .arBSD, sink: hashing)
        // debian-binary, control.tar.*, data.tar.*, and _gpgorigin when signing (DebSigning+Writer.swift).
        let arMembers = DebSigning.WriterMembers(mtime: spec.sourceDateEpoch.seconds, controlName: controlName, controlBytes: controlBytes,
                                                 dataName: dataName, dataPath: dataSink.path, dataSize: dataSink.size)
        let signedBy = try DebSigning.writeMembers(arMembers, to: ar, signer: signer)
        try ar.finish()
        let size = hashing.count
        let sha = hashing.sha256Hex
        try file.commit()
        return WriteResult(output: PackageOutput(path: path, format: Self.format, sha256: sha, size: size),
                           warnings: warnings, control: control, installedSizeKiB: installedSize, signedBy: signedBy)
    }

    // MARK: - data.tar

    /// Streams every entry into data.tar and returns each regular file's md5 (hex) by path, computed
    /// as the file is read for the archive, so each file is read exactly once.
    private func writeData(plan: DebPlan, epoch: Int64, to sink: ScratchFileSink) throws -> [String: String] {
        let compressor = try dataCompression.makeSink(wrapping: sink, threads: threads)
        let tar = try ArchiveWriter(format: .tarGNU, sink: compressor)
        var root = ArchiveEntryHeader(path: "./", mode: 0o040755)
        root.userName = "root"
        root.groupName = "root"
        root.mtime = epoch
        try tar.writeHeader(root)

        var md5s: [String: String] = [:]
        for entry in plan.entries {
            var h = ArchiveEntryHeader(path: Self.memberName(entry), mode: entry.fullMode)
            h.uid = entry.uid
            h.gid = entry.gid
            h.userName = entry.user
            h.groupName = entry.group
            h.mtime = entry.mtime
            switch entry.kind {
            case .directory:
                try tar.writeHeader(h)
            case .symlink:
                h.symlinkTarget = entry.linkTarget
                try tar.writeHeader(h)
            case .hardlink:
                h.hardlinkTarget = "./" + String(entry.linkTarget!.dropFirst())
                try tar.writeHeader(h)
                md5s[entry.path] = md5s[entry.linkTarget!]
            case .file:
                h.size = entry.size
                // The md5 is taken as the file streams into the archive: each file is read once.
                var hasher = StreamingHasher([.md5])
                try tar.writeFile(h, contentsOf: entry.sourcePath!) { hasher.update($0) }
                md5s[entry.path] = hasher.finalizeMD5().hexString
            }
        }
        try tar.finish()
        return md5s
    }

    /// `./usr/bin/x`, or `./usr/share/` for a directory.
    static func memberName(_ entry: ManifestEntry) -> String {
        "./" + entry.relativePath + (entry.kind == .directory ? "/" : "")
    }

    // MARK: - control.tar

    private func controlTarball(control: ControlParagraph, plan: DebPlan, md5s: [String: String],
                                extraMembers: [(name: String, mode: UInt32, text: String)], epoch: Int64,
                                compression: Compression) throws -> [UInt8] {
        var members: [(name: String, mode: UInt32, text: String)] = []
        if !plan.conffiles.isEmpty {
            members.append(("conffiles", 0o644, plan.conffiles.map { $0 + "\n" }.joined()))
        }
        members.append(("control", 0o644, control.rendered))
        // debhelper's convention (dh_md5sums): conffiles are left out, since dpkg records their digests itself.
        let conffiles = Set(plan.conffiles)
        let sums = plan.entries.filter { ($0.kind == .file || $0.kind == .hardlink) && !conffiles.contains($0.path) }
            .map { "\(md5s[$0.path]!)  \($0.relativePath)\n" }.joined()
        if !sums.isEmpty { members.append(("md5sums", 0o644, sums)) }
        // In name order, as dpkg-deb lists them: conffiles, config, control, md5sums, the scripts, shlibs, templates, triggers.
        members = (members + extraMembers).sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }

        let memory = MemorySink()
        let compressor = try compression.makeSink(wrapping: memory, threads: 1)
        let tar = try ArchiveWriter(format: .tarGNU, sink: compressor)
        func header(_ path: String, _ mode: UInt32) -> ArchiveEntryHeader {
            var h = ArchiveEntryHeader(path: path, mode: mode)
            h.userName = "root"
            h.groupName = "root"
            h.mtime = epoch
            return h
        }
        try tar.writeHeader(header("./", 0o040755))
        for member in members {
            let bytes = Array(member.text.utf8)
            var h = header("./" + member.name, 0o100000 | member.mode)
            h.size = UInt64(bytes.count)
            try tar.writeMember(h, data: bytes)
        }
        try tar.finish()
        return memory.bytes
    }
}

/// The manifest as a deb will hold it: the entries to archive, the conffiles, the Installed-Size.
struct DebPlan {
    var entries: [ManifestEntry] = []
    var conffiles: [String] = []
    var installedSizeKiB: UInt64 = 0

    init(manifest: FileManifest, warnings: inout [String]) throws {
        var dropped: [String] = []
        var capabilities: [String] = []
        for entry in manifest.entries {
            if entry.path.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D }) {  // a byte scan: Foundation's contains(String) is slow per entry
                throw PkgLayerError(.invalidInput, "a path holding a line break cannot be listed in a deb's md5sums or conffiles; rename it",
                                    at: entry.path.debugDescription)
            }
            if entry.flags.contains(.ghost) {
                dropped.append(entry.path)
                continue
            }
            if entry.kind == .file && entry.sourcePath == nil {
                throw PkgLayerError(.invalidInput, "regular file has no source to read its content from", at: entry.path)
            }
            if entry.capabilities != nil { capabilities.append(entry.path) }
            if entry.flags.contains(.config) {
                if entry.kind == .file {
                    conffiles.append(entry.path)
                } else if entry.kind != .directory {
                    warnings.append("\(entry.path) is marked as a config file but is a \(entry.kind.rawValue); dpkg conffiles must be regular files, so it is an ordinary file in the deb")
                }
            }
            entries.append(entry)
        }
        if !dropped.isEmpty {
            warnings.append("ghost files have no deb equivalent and are left out: \(dropped.joined(separator: ", "))")
        }
        if !capabilities.isEmpty {
            warnings.append("dpkg does not apply file capabilities, so these files are installed without them (set them with setcap in an after-install script): \(capabilities.joined(separator: ", "))")
        }
        installedSizeKiB = Self.installedSize(entries)
    }

    /// Installed-Size in KiB, as dpkg-gencontrol computes it (deb-substvars(5)): every regular file
    /// and symlink counts its size rounded up to whole KiB (a symlink's size is the length of its
    /// target), each hardlink group's content once; every other object — each directory, including
    /// the root `./` — counts 1 KiB.
    static func installedSize(_ entries: [ManifestEntry]) -> UInt64 {
        func kib(_ bytes: UInt64) -> UInt64 { (bytes + 1023) / 1024 }
        var total: UInt64 = 1 // ./
        for entry in entries {
            switch entry.kind {
            case .file: total += kib(entry.size)
            case .symlink: total += kib(UInt64(entry.linkTarget?.utf8.count ?? 0))
            case .hardlink: break
            case .directory: total += 1
            }
        }
        return total
    }
}
