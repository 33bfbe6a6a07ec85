import CRPM
import Foundation
import PkgLayerCore

/// Reads .rpm packages (pkglayer's own and third-party ones) back into a spec and a manifest, and
/// optionally extracts their content.
///
/// Every package is checked before anything is believed: lead, header structure (by librpm), the
/// main header's SHA256 (or SHA1) against the signature, the payload's SHA256 against PAYLOADDIGEST,
/// the legacy MD5 and the size. A damaged package fails with an error naming the file. Cryptographic
/// signatures are not checked (there is no keyring here); digests are.
///
/// What comes back:
/// - the spec's fields from the header; `Unspecified` (rpm's "no group") becomes a nil section;
/// - depends = Requires without the rpmlib() features, scriptlet interpreters and the automatic
///   `config(name)`; `Requires(pre)` → preDepends; provides without the automatic `name = EVR`,
///   `name(isa) = EVR` and `config(name)`; conflicts, obsoletes, recommends, suggests as they are;
/// - scripts: slots pkglayer composed are taken apart into their hooks again (MaintainerScripts.parse);
///   other packages' slots map %pre → before-install, %post → after-install, %preun →
///   before-remove, %postun → after-remove, %pretrans/%posttrans → before/after-transaction, with
///   a `#!` line added when the slot ran under another interpreter than /bin/sh;
/// - the manifest from the header's file list. Owners are rpm's user and group names; the numeric
///   ids are 0 unless the payload was extracted, in which case they are the cpio header's (rpm
///   itself maps names to ids on the installing machine).
public struct RPMReader: PackageReading {
    public static let format = PackageFormat.rpm

    public init() {}

    /// - Parameter stagingDir: when given, the payload is extracted under it (created if missing) and
    ///   each file entry's `sourcePath` points at its content there.
    public func read(path: String, extractTo stagingDir: String? = nil) throws -> ReadPackage {
        let package = try RPMPackageFile(path: path)
        try package.verifyPayload()
        let spec = try Self.spec(from: package.header, path: path)
        let files = try RPMHeaderFiles(header: package.header, path: path)
        var extracted = Extracted()
        if let stagingDir {
            extracted = try extract(package, files, to: stagingDir)
        }
        do {
            let entries = try files.manifestEntries(sha256: extracted.sha256, sourcePaths: extracted.sourcePaths, ids: extracted.ids,
                                                    rpmPath: path)
            let manifest = try FileManifest(entries: entries, implicitDirectoryMtime: spec.sourceDateEpoch.seconds)
            return ReadPackage(spec: spec, manifest: manifest)
        } catch {
            extracted.removeAll?()   // a manifest the header cannot make fails the read: leave nothing staged
            throw error
        }
    }

    static func spec(from h: RPMHeader, path: String) throws -> PackageSpec {
        guard let name = h.string(tag(RPMTAG_NAME)), let version = h.string(tag(RPMTAG_VERSION)) else {
            throw PkgLayerError(.rpm, "the header has no NAME or VERSION; the package is malformed", at: path)
        }
        let archText = h.string(tag(RPMTAG_ARCH)) ?? "noarch"
        guard let arch = Architecture(parsing: archText) else {
            throw PkgLayerError(.rpm, "architecture '\(archText)' is not one pkglayer knows (x86_64, aarch64, i686, armv7hl, ppc64le, s390x, riscv64, noarch)",
                                at: path)
        }
        // BUILDTIME is an INT32, but librpm also accepts an INT64 there, which may not fit an Int64.
        guard let buildTime = Int64(exactly: h.number(tag(RPMTAG_BUILDTIME)) ?? 0) else {
            throw PkgLayerError(.rpm, "the header's BUILDTIME \(h.number(tag(RPMTAG_BUILDTIME)) ?? 0) is out of range; the package is malformed", at: path)
        }
        var spec = PackageSpec(name: name, version: version, release: h.string(tag(RPMTAG_RELEASE)),
                               epoch: h.number(tag(RPMTAG_EPOCH)).map { UInt32(truncatingIfNeeded: $0) },
                               architecture: arch, sourceDateEpoch: SourceDateEpoch(buildTime))
        spec.summary = h.string(tag(RPMTAG_SUMMARY))
        spec.description = h.string(tag(RPMTAG_DESCRIPTION))
        spec.license = h.string(tag(RPMTAG_LICENSE))
        spec.vendor = h.string(tag(RPMTAG_VENDOR))
        spec.url = h.string(tag(RPMTAG_URL))
        spec.maintainer = h.string(tag(RPMTAG_PACKAGER))
        let group = h.string(tag(RPMTAG_GROUP))
        spec.section = group == "Unspecified" ? nil : group
        try readDependencies(h, into: &spec, path: path)
        spec.scripts = readScripts(h)
        readControl(h, into: &spec)
        return spec
    }

    private static func readDependencies(_ h: RPMHeader, into spec: inout PackageSpec, path: String) throws {
        let deps = try RPMDependencySet(reading: h, path: path)
        let evr = spec.rpmEVR
        let configName = "config(\(spec.name))"
        for dep in deps.requires {
            if dep.flags & (RPMSense.rpmlib | RPMSense.interp) != 0 { continue }
            if dep.name == configName && dep.flags & RPMSense.config != 0 { continue }
            if dep.flags & (RPMSense.scriptPre | RPMSense.prereq) != 0 {
                spec.preDepends.append(dep.dependency)
            } else {
                spec.depends.append(dep.dependency)
            }
        }
        let selfNames = [spec.name] + (spec.architecture.rpmISA.map { ["\(spec.name)(\($0))"] } ?? [])
        for dep in deps.provides {
            if selfNames.contains(dep.name) && dep.version == evr && dep.flags & RPMSense.senseMask == RPMSense.equal { continue }
            if dep.name == configName && dep.flags & RPMSense.config != 0 { continue }
            spec.provides.append(dep.dependency)
        }
        spec.conflicts = deps.conflicts.map(\.dependency)
        spec.obsoletes = deps.obsoletes.map(\.dependency)
        spec.recommends = deps.recommends.map(\.dependency)
        spec.suggests = deps.suggests.map(\.dependency)
    }

    private static func readScripts(_ h: RPMHeader) -> [ScriptHook: String] {
        let fallbacks: [RPMScriptSlot: ScriptHook] = [
            .pre: .beforeInstall, .post: .afterInstall, .preun: .beforeRemove, .postun: .afterRemove,
            .pretrans: .beforeTransaction, .posttrans: .afterTransaction,
        ]
        var hooks: [ScriptHook: String] = [:]
        for slot in RPMScriptSlot.allCases {
            let (bodyTag, progTag) = RPMWriter.scriptTags(slot)
            let prog = h.strings(tag(progTag))
            var body = h.string(tag(bodyTag))
            let interpreter = prog.joined(separator: " ")
            if body == nil, prog.first?.hasPrefix("/") == true {
                body = interpreter + "\n"   // `%post -p /sbin/ldconfig`: the program is the script
            } else if let text = body, !text.hasPrefix("#!"), !interpreter.isEmpty,
                      interpreter != RPMWriter.scriptInterpreter, prog.first?.hasPrefix("/") == true {
                body = "#!\(interpreter)\n" + text
            }
            guard let body else { continue }
            for (hook, text) in MaintainerScripts.parse(body, fallback: fallbacks[slot]!) {
                hooks[hook] = text
            }
        }
        return hooks
    }
}
