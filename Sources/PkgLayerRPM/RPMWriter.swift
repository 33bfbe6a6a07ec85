import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Writes binary .rpm packages natively: no rpmbuild, no spec file.
///
/// The package is laid out as rpm lays it out: a 96-byte lead, the signature header (digests and
/// sizes, padded to 8 bytes), the main header (metadata, file list, dependencies, scriptlets; built
/// with librpm's header API) and the compressed cpio payload.
///
/// Reproducible by construction: the same spec and manifest give the same bytes on any machine, at
/// any time, in any directory. BUILDTIME (and the changelog date, when the spec has no changelog) is
/// `spec.sourceDateEpoch`, the
/// build host is a fixed name, RPMVERSION is a constant, file times and owners come from the
/// manifest, and the compressors are deterministic whatever the thread count.
///
/// Mapping notes: see `dependencies(spec:files:slots:largeFiles:)` for the dependency fields,
/// `putScripts` for the scriptlet table (before-install → `%pre` with `$1 = 1`, …), and
/// RPMWriter+Control.swift for `spec.changelog` and the rpm extras (triggers, %verifyscript, file
/// digest algorithm, OS, `--rpm-tag` tags).
public struct RPMWriter: Packager {
    public static let format = PackageFormat.rpm

    /// Payload compression (PAYLOADCOMPRESSOR / PAYLOADFLAGS). Default: gzip level 6.
    public var compression: Compression
    /// BUILDHOST. Never the machine's real host name, so builds on different machines agree.
    public var buildHost: String
    /// Replace an existing file at the output path (fpm's `-f`); without it, that is an error.
    public var overwrite: Bool
    /// Compressor threads; the bytes do not depend on it.
    public var threads: Int
    /// Signs the package while it is written (RSAHEADER or DSAHEADER, as `rpmsign --addsign` would);
    /// nil writes it unsigned. The bytes equal those of `RPMSigning.sign(fileAt:with:)` run afterwards.
    public var signer: (any PackageSigner)?
    /// When to use rpm's 64-bit size tags and stripped cpio payload. `.automatic` does what rpmbuild
    /// does: only when a file reaches 4 GiB. `.always` exists so tests can exercise the format with
    /// small files.
    var largeFileFormat: LargeFileFormat = .automatic

    enum LargeFileFormat { case automatic, always }

    public init(compression: Compression = .gzip(level: 6), buildHost: String = "pkglayer", overwrite: Bool = false,
                threads: Int = Compression.defaultThreads, signer: (any PackageSigner)? = nil) {
        self.compression = compression
        self.buildHost = buildHost
        self.overwrite = overwrite
        self.threads = threads
        self.signer = signer
    }

    /// `name-version-release.arch.rpm` (release "1" when the spec has none; the epoch is not part
    /// of rpm file names).
    public func fileName(for spec: PackageSpec) -> String {
        "\(spec.name)-\(spec.version)-\(spec.rpmRelease).\(spec.architecture.rpm).rpm"
    }

    public func pack(spec: PackageSpec, manifest: FileManifest, to path: String) throws -> PackagerResult {
        PackagerResult(output: try write(spec: spec, manifest: manifest, to: path))
    }

    public func write(spec: PackageSpec, manifest: FileManifest, to path: String) throws -> PackageOutput {
        try spec.validate()
        try compression.validateLevel(field: "rpm compression")
        if !overwrite, FileManager.default.fileExists(atPath: path) {
            throw PkgLayerError(.fileExists, "already exists; pass -f to overwrite it", at: path)
        }
        let files = try RPMFileList(manifest: manifest, digestAlgorithm: spec.extras.rpmFileDigest ?? .sha256)
        let largeFiles = largeFileFormat == .always || files.needsLargeFiles

        // The payload goes to a scratch file beside the output (same file system, removed on return):
        // the headers need its digests and sizes, and they come first in the file.
        let scratch = try TemporaryDirectory(parent: directory(containing: path), prefix: ".pkglayer-rpm")
        let payload = try writePayload(files, stripped: largeFiles, to: scratch.path + "/payload")

        return try assemble(spec: spec, files: files, payload: payload, largeFiles: largeFiles, to: path)
    }

    /// Writes lead, signature, main header and an already written payload into the package file.
    func assemble(spec: PackageSpec, files: RPMFileList, payload: RPMPayload, largeFiles: Bool, to path: String) throws -> PackageOutput {
        let header = try buildMainHeader(spec: spec, files: files, payload: payload, largeFiles: largeFiles)
        let (headerSHA256, headerSHA1) = RPMSignature.headerDigests(header)
        var md5 = StreamingHasher([.md5])
        md5.update(header)
        try FileReader.forEachBlock(path: payload.path) { md5.update($0) }
        var signature = try RPMSignature.build(.init(headerSHA256: headerSHA256, headerSHA1: headerSHA1, md5: md5.finalizeMD5(),
                                                     size: UInt64(header.count) + payload.compressedSize,
                                                     payloadSize: payload.archiveSize))
        if let signer {
            signature = try RPMSigning.signedSignatureHeader(signature, over: header, with: signer, path: path).bytes
        }
        let lead = RPMLead(name: "\(spec.name)-\(spec.rpmEVR)", architecture: spec.architecture).bytes

        let output = try AtomicFile(path: path, overwrite: overwrite)
        var fileHash = StreamingHasher([.sha256])
        for part in [lead, signature, header] {
            fileHash.update(part)
            try output.write(part)
        }
        try FileReader.forEachBlock(path: payload.path) { block in
            fileHash.update(block)
            try output.write(block)
        }
        let size = output.bytesWritten
        try output.commit()
        return PackageOutput(path: path, format: Self.format, sha256: fileHash.finalizeSHA256().hexString, size: size)
    }
}

/// The directory a path is in ("." for a bare name): where scratch files go so that renames stay on
/// one file system.
func directory(containing path: String) -> String {
    let parent = (path as NSString).deletingLastPathComponent
    return parent.isEmpty ? "." : parent
}
