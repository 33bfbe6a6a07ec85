import CRPM
import Foundation
import PkgLayerArchive
import PkgLayerCore

extension PackageSpec {
    /// rpm's release: the spec's, or "1".
    var rpmRelease: String { release ?? "1" }
    /// `[epoch:]version-release`, as rpm spells the package's own EVR in provides.
    var rpmEVR: String { (epoch.map { "\($0):" } ?? "") + "\(version)-\(rpmRelease)" }
}

extension RPMWriter {
    /// The fixed RPMVERSION written into every package. It names the rpm format level pkglayer writes
    /// (rpm 4.18's), not the librpm on the build machine, so the bytes do not depend on the machine.
    static let rpmVersionTag = "4.18.0"

    /// The main header, built with librpm's header API the way rpmbuild builds it (build/pack.c and
    /// build/files.c), then re-laid out as the immutable region and exported with its magic.
    func buildMainHeader(spec: PackageSpec, files: RPMFileList, payload: RPMPayload, largeFiles: Bool) throws -> [UInt8] {
        try Self.checkHeaderText(spec)
        let h = RPMHeader()
        let release = spec.rpmRelease

        try h.put(tag(RPMTAG_NAME), string: spec.name)
        try h.put(tag(RPMTAG_VERSION), string: spec.version)
        try h.put(tag(RPMTAG_RELEASE), string: release)
        if let epoch = spec.epoch { try h.put(tag(RPMTAG_EPOCH), uint32: [epoch]) }
        try h.put(tag(RPMTAG_SUMMARY), i18n: spec.effectiveSummary)
        try h.put(tag(RPMTAG_DESCRIPTION), i18n: spec.description.flatMap { $0.isEmpty ? nil : $0 } ?? spec.effectiveSummary)
        try h.put(tag(RPMTAG_BUILDTIME), uint32: [UInt32(Self.headerTime(spec.sourceDateEpoch.seconds))])
        try h.put(tag(RPMTAG_BUILDHOST), string: buildHost)
        if files.installedSize < UInt64(UInt32.max) {
            try h.put(tag(RPMTAG_SIZE), uint32: [UInt32(files.installedSize)])
        } else {
            try h.put(tag(RPMTAG_LONGSIZE), uint64: [files.installedSize])
        }
        if let vendor = spec.vendor, !vendor.isEmpty { try h.put(tag(RPMTAG_VENDOR), string: vendor) }
        try h.put(tag(RPMTAG_LICENSE), string: spec.license.flatMap { $0.isEmpty ? nil : $0 } ?? "unknown")
        if let packager = spec.maintainer, !packager.isEmpty { try h.put(tag(RPMTAG_PACKAGER), string: packager) }
        try h.put(tag(RPMTAG_GROUP), i18n: spec.section.flatMap { $0.isEmpty ? nil : $0 } ?? "Unspecified")
        if let url = spec.url, !url.isEmpty { try h.put(tag(RPMTAG_URL), string: url) }
        let os = spec.extras.rpmOS.flatMap { $0.isEmpty ? nil : $0 }
        try h.put(tag(RPMTAG_OS), string: os ?? "linux")
        try h.put(tag(RPMTAG_ARCH), string: spec.architecture.rpm)
        try h.put(tag(RPMTAG_PLATFORM), string: "\(spec.architecture.rpm)-pc-\(os.map { $0 == "linux" ? "linux-gnu" : $0 } ?? "linux-gnu")")
        try h.put(tag(RPMTAG_SOURCERPM), string: "\(spec.name)-\(spec.version)-\(release).src.rpm")
        try h.put(tag(RPMTAG_RPMVERSION), string: Self.rpmVersionTag)
        try putChangelog(h, spec: spec)

        let slots = MaintainerScripts.rpm(spec.scripts)
        try putScripts(h, slots)
        try putVerifyScript(h, spec: spec)
        try putTriggers(h, spec: spec)
        try putFiles(h, files, largeFiles: largeFiles)
        try dependencies(spec: spec, files: files, slots: slots, largeFiles: largeFiles).put(into: h)

        try h.put(tag(RPMTAG_PAYLOADFORMAT), string: "cpio")
        if let compressor = payloadCompressorName {
            try h.put(tag(RPMTAG_PAYLOADCOMPRESSOR), string: compressor)
            if let level = compression.level { try h.put(tag(RPMTAG_PAYLOADFLAGS), string: String(level)) }
        }
        try h.put(tag(RPMTAG_PAYLOADDIGEST), strings: [payload.compressedSHA256])
        try h.put(tag(RPMTAG_PAYLOADDIGESTALGO), uint32: [Self.sha256Algorithm])
        try h.put(tag(RPMTAG_PAYLOADDIGESTALT), strings: [payload.uncompressedSHA256])
        try h.put(tag(RPMTAG_ENCODING), string: "utf-8")
        try putUserTags(h, spec: spec)

        try h.reload(region: tag(RPMTAG_HEADERIMMUTABLE))
        return try h.exportWithMagic()
    }

    /// rpm's PGPHASHALGO_SHA256.
    static let sha256Algorithm: UInt32 = 8

    /// PAYLOADCOMPRESSOR. An uncompressed payload carries no compressor tag, exactly like rpmbuild's
    /// `w.ufdio` output; rpm then opens it through its gzip reader, which passes plain data through.
    var payloadCompressorName: String? {
        switch compression {
        case .none: return nil
        case .gzip: return "gzip"
        case .xz: return "xz"
        case .zstd: return "zstd"
        }
    }

    /// Scriptlets. The bodies come from Core's `MaintainerScripts.rpm`, which composes fpm-style hooks
    /// into upgrade-aware slots:
    ///
    /// | hook               | slot        | runs when                     |
    /// |--------------------|-------------|-------------------------------|
    /// | before-install     | %pre        | `$1` = 1 (first install)      |
    /// | before-upgrade     | %pre        | `$1` ≥ 2 (upgrade)            |
    /// | after-install      | %post       | `$1` = 1                      |
    /// | after-upgrade      | %post       | `$1` ≥ 2                      |
    /// | before-remove      | %preun      | `$1` = 0 (erase, not upgrade) |
    /// | after-remove       | %postun     | `$1` = 0                      |
    /// | before-transaction | %pretrans   | always                        |
    /// | after-transaction  | %posttrans  | always                        |
    ///
    /// Without an upgrade hook the install hook also runs on upgrade. Every slot runs under
    /// `/bin/sh` (its *PROG tag), and the package requires `/bin/sh` for each slot with the sense
    /// flags rpmbuild uses (`Requires(pre): /bin/sh` …), so rpm orders the shell's install first.
    private func putScripts(_ h: RPMHeader, _ slots: [RPMScriptSlot: String]) throws {
        for slot in RPMScriptSlot.allCases {
            guard let body = slots[slot] else { continue }
            let (bodyTag, progTag) = Self.scriptTags(slot)
            try h.put(tag(bodyTag), string: body)
            try h.put(tag(progTag), strings: [Self.scriptInterpreter])
        }
    }

    static let scriptInterpreter = "/bin/sh"

    static func scriptTags(_ slot: RPMScriptSlot) -> (body: rpmTag_e, prog: rpmTag_e) {
        switch slot {
        case .pre: return (RPMTAG_PREIN, RPMTAG_PREINPROG)
        case .post: return (RPMTAG_POSTIN, RPMTAG_POSTINPROG)
        case .preun: return (RPMTAG_PREUN, RPMTAG_PREUNPROG)
        case .postun: return (RPMTAG_POSTUN, RPMTAG_POSTUNPROG)
        case .pretrans: return (RPMTAG_PRETRANS, RPMTAG_PRETRANSPROG)
        case .posttrans: return (RPMTAG_POSTTRANS, RPMTAG_POSTTRANSPROG)
        }
    }

    /// The file arrays (rpm's "compressed file names": DIRNAMES + BASENAMES + DIRINDEXES).
    private func putFiles(_ h: RPMHeader, _ list: RPMFileList, largeFiles: Bool) throws {
        let files = list.files
        guard !files.isEmpty else { return }
        var dirNames: [String] = []
        var dirIndex: [String: UInt32] = [:]
        var baseNames: [String] = []
        var dirIndexes: [UInt32] = []
        for file in files {
            let dir = ManifestPath.parent(of: file.path)
            let dirName = dir == "/" ? "/" : dir + "/"
            if dirIndex[dirName] == nil {
                dirIndex[dirName] = UInt32(dirNames.count)
                dirNames.append(dirName)
            }
            dirIndexes.append(dirIndex[dirName]!)
            baseNames.append(ManifestPath.basename(of: file.path))
        }
        try h.put(tag(RPMTAG_DIRNAMES), strings: dirNames)
        try h.put(tag(RPMTAG_BASENAMES), strings: baseNames)
        try h.put(tag(RPMTAG_DIRINDEXES), uint32: dirIndexes)
        if largeFiles {
            try h.put(tag(RPMTAG_LONGFILESIZES), uint64: files.map(\.size))
        } else {
            try h.put(tag(RPMTAG_FILESIZES), uint32: files.map { UInt32($0.size) })
        }
        try h.put(tag(RPMTAG_FILEMODES), uint16: files.map { UInt16(truncatingIfNeeded: $0.entry.fullMode) })
        try h.put(tag(RPMTAG_FILERDEVS), uint16: files.map { _ in 0 })
        try h.put(tag(RPMTAG_FILEMTIMES), uint32: files.map { UInt32(Self.headerTime($0.entry.mtime)) })
        try h.put(tag(RPMTAG_FILEDIGESTS), strings: files.map(\.digest))
        try h.put(tag(RPMTAG_FILELINKTOS), strings: files.map { $0.entry.kind == .symlink ? ($0.entry.linkTarget ?? "") : "" })
        try h.put(tag(RPMTAG_FILEFLAGS), uint32: files.map(\.entry.flags.rawValue))
        try h.put(tag(RPMTAG_FILEUSERNAME), strings: files.map(\.entry.user))
        try h.put(tag(RPMTAG_FILEGROUPNAME), strings: files.map(\.entry.group))
        try h.put(tag(RPMTAG_FILEVERIFYFLAGS), uint32: files.map { $0.isGhost ? Self.ghostVerifyFlags : Self.allVerifyFlags })
        try h.put(tag(RPMTAG_FILEDEVICES), uint32: files.map { _ in 1 })
        try h.put(tag(RPMTAG_FILEINODES), uint32: files.map(\.inode))
        try h.put(tag(RPMTAG_FILELANGS), strings: files.map { _ in "" })
        if list.hasCapabilities {
            try h.put(tag(RPMTAG_FILECAPS), strings: files.map { $0.entry.capabilities ?? "" })
        }
        try h.put(tag(RPMTAG_FILEDIGESTALGO), uint32: [RPMFileDigest.algorithmNumber(list.digestAlgorithm)])
    }

    /// RPMVERIFY_ALL, and for ghosts the same without digest, size, link target and mtime (the
    /// content of a ghost is not the package's), as rpmbuild does.
    static let allVerifyFlags: UInt32 = 0xFFFF_FFFF
    static let ghostVerifyFlags: UInt32 = allVerifyFlags & ~(1 << 0 | 1 << 1 | 1 << 2 | 1 << 5)

    /// Every dependency the header carries.
    ///
    /// - depends → Requires; preDepends → `Requires(pre)`; conflicts and breaks → Conflicts;
    ///   obsoletes and replaces → Obsoletes (Debian's Replaces has no rpm equivalent, and a package
    ///   that replaces another's files is, to rpm, obsoleting it); recommends/suggests → the weak
    ///   dependency tags (rpm ≥ 4.12). Alternatives (`a | b`) become rich dependencies `(a or b)`.
    /// - Automatic, as rpmbuild adds them: `name = EVR` and `name(isa) = EVR` provides (no isa
    ///   provide for noarch), `config(name) = EVR` provided and required when there are config files,
    ///   `/bin/sh` per scriptlet, and the rpmlib() features the package uses.
    func dependencies(spec: PackageSpec, files: RPMFileList, slots: [RPMScriptSlot: String], largeFiles: Bool) throws -> RPMDependencySet {
        var deps = RPMDependencySet()
        let evr = spec.rpmEVR
        deps.requires = spec.depends.map { RPMDependency($0) } + spec.preDepends.map { RPMDependency($0, extraFlags: RPMSense.scriptPre) }
        deps.conflicts = (spec.conflicts + spec.breaks).map { RPMDependency($0) }
        deps.recommends = spec.recommends.map { RPMDependency($0) }
        deps.suggests = spec.suggests.map { RPMDependency($0) }
        for (field, list) in [("provides", spec.provides), ("obsoletes", spec.obsoletes + spec.replaces)] {
            if let rich = list.first(where: { $0.alternatives.count > 1 }) {
                throw PkgLayerError(.invalidInput, "'\(rich)' has alternatives, which rpm allows only in requires, conflicts, recommends and suggests",
                                    at: field)
            }
        }
        deps.provides = spec.provides.map { RPMDependency($0) }
        deps.obsoletes = (spec.obsoletes + spec.replaces).map { RPMDependency($0) }
        if !spec.extras.rpmTags.isEmpty {
            let user = try userTagDependencies(spec)
            deps.requires += user.requires; deps.provides += user.provides; deps.conflicts += user.conflicts
            deps.obsoletes += user.obsoletes; deps.recommends += user.recommends; deps.suggests += user.suggests
        }

        deps.provides.append(RPMDependency(name: spec.name, version: evr, flags: RPMSense.equal))
        if let isa = spec.architecture.rpmISA {
            deps.provides.append(RPMDependency(name: "\(spec.name)(\(isa))", version: evr, flags: RPMSense.equal))
        }
        if files.hasConfigFiles {
            let config = RPMDependency(name: "config(\(spec.name))", version: evr, flags: RPMSense.equal | RPMSense.config)
            deps.provides.append(config)
            deps.requires.append(config)
        }
        for slot in RPMScriptSlot.allCases where slots[slot] != nil {
            deps.requires.append(RPMDependency(name: Self.scriptInterpreter, flags: RPMSense.interp | slot.interpreterRequirementFlag))
        }

        var features: [RPMLibFeature] = [.compressedFileNames, .fileDigests, .payloadFilesHavePrefix]
        switch compression {
        case .xz: features.append(.payloadIsXz)
        case .zstd: features.append(.payloadIsZstd)
        case .gzip, .none: break
        }
        if largeFiles { features.append(.largeFiles) }
        if files.hasCapabilities { features.append(.fileCaps) }
        let all = deps.all
        if all.contains(where: \.isRich) { features.append(.richDependencies) }
        if all.contains(where: { $0.version.contains("~") }) { features.append(.tildeInVersions) }
        if all.contains(where: { $0.version.contains("^") }) { features.append(.caretInVersions) }
        deps.requires += features.map(\.requirement)
        return deps
    }
}
