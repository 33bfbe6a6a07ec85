import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Reads a binary .deb (ours or anyone's) back into a PackageSpec and a FileManifest.
///
/// The ar container must start with `debian-binary` holding a 2.x format version, then
/// `control.tar[.gz|.xz|.zst|.bz2|.lzma]`, then `data.tar[…]`; members whose names begin with `_`
/// are skipped, as dpkg skips them.
///
/// Security: every data member must stay inside the package root. An absolute member name, a `..`
/// component, a hardlink to something outside the archive or a symlink whose target climbs out of the
/// root is refused with `.pathEscapesRoot`, naming the .deb and the member. Extraction (when asked)
/// never follows a symlink and never overwrites, and a failed read leaves the staging directory empty.
public struct DebReader: PackageReading {
    public static let format = PackageFormat.deb

    public init() {}

    public struct ReadResult {
        public var package: ReadPackage
        /// Things the manifest or spec cannot carry (triggers, debconf templates, …), one sentence each.
        public var warnings: [String]
        /// The control file as read.
        public var control: ControlParagraph
    }

    public func read(path: String, extractTo stagingDir: String?) throws -> ReadPackage {
        try readPackage(path: path, extractTo: stagingDir).package
    }

    public func readPackage(path: String, extractTo stagingDir: String?) throws -> ReadResult {
        try readPackage(path: path, extractTo: stagingDir, content: nil)
    }

    /// `content` receives every regular file's bytes as they are read (DebReader+Stream.swift).
    func readPackage(path: String, extractTo stagingDir: String?, content: (any DebContentSink)?) throws -> ReadResult {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-debread")
        let members = try extractMembers(deb: path, into: scratch.path)
        var warnings = members.warnings
        let control = try readControl(members.controlPath, deb: path, warnings: &warnings)
        var spec = try DebControl.spec(from: control.paragraph, sourceDateEpoch: members.epoch, location: path)
        spec.scripts = control.scripts
        spec.extras.debTriggers = control.triggers
        spec.extras.debConfig = control.debconfConfig
        spec.extras.debTemplates = control.debconfTemplates
        spec.extras.debShlibs = control.shlibs

        let extractor = try stagingDir.map { dir -> ArchiveExtractor in
            try Self.requireEmptyStaging(dir)
            // Staged content is for reading; the manifest carries the real modes.
            return try ArchiveExtractor(root: dir, archiveName: path, keepSpecialBits: false)
        }
        do {
            let manifest = try readData(members.dataPath, deb: path, conffiles: Set(control.conffiles), md5sums: control.md5sums,
                                        epoch: members.epoch, extractor: extractor, content: content)
            return ReadResult(package: ReadPackage(spec: spec, manifest: manifest), warnings: warnings, control: control.paragraph)
        } catch {
            extractor?.removeAll()
            throw error
        }
    }

    /// The staging directory must be new or empty: a failed read removes what it extracted, and must
    /// not take anything of the caller's with it.
    private static func requireEmptyStaging(_ dir: String) throws {
        var st = stat()
        guard lstat(dir, &st) == 0 else { return }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw PkgLayerError(.invalidInput, "staging path exists and is not a directory", at: dir)
        }
        guard ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).isEmpty else {
            throw PkgLayerError(.invalidInput, "staging directory is not empty; give an empty or new directory", at: dir)
        }
    }

    /// Runs an extractor call; a member the extractor refuses as invalid (a duplicate, a collision) is
    /// a malformed .deb.
    private static func staging<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch var error as PkgLayerError where error.code == .invalidInput {
            error.code = .deb
            throw error
        }
    }

    // MARK: - ar

    private struct Members {
        var controlPath: String
        var dataPath: String
        var epoch: SourceDateEpoch
        var warnings: [String]
    }

    private static let tarSuffixes = ["", ".gz", ".xz", ".zst", ".bz2", ".lzma"]

    private func extractMembers(deb: String, into dir: String) throws -> Members {
        var st = stat()
        guard stat(deb, &st) == 0 else { throw PkgLayerError.posix("opening the package", path: deb) }
        func malformed(_ error: Error) -> PkgLayerError {
            if let e = error as? PkgLayerError, e.code == .deb || e.code == .pathEscapesRoot || e.code == .limitExceeded { return e }
            let detail = (error as? PkgLayerError)?.message ?? "\(error)"
            return PkgLayerError(.deb, "is not a readable .deb (ar archive): \(detail)", at: deb)
        }
        var controlPath: String?
        var dataPath: String?
        var epoch: Int64?
        var warnings: [String] = []
        do {
            let ar = try ArchiveReader(path: deb)
            guard let first = try ar.next() else {
                throw PkgLayerError(.deb, "is empty; a .deb starts with a 'debian-binary' member", at: deb)
            }
            guard Self.memberName(first.path) == "debian-binary" else {
                throw PkgLayerError(.deb, "first member is '\(Self.memberName(first.path))', not 'debian-binary'; this is not a .deb", at: deb)
            }
            let versionBytes = try ar.readAll(limit: 64)
            let version = String(decoding: versionBytes, as: UTF8.self)
            guard version.hasPrefix("2."), version.hasSuffix("\n") else {
                throw PkgLayerError(.deb, "debian-binary says '\(version.trimmingCharacters(in: .whitespacesAndNewlines))'; only format 2.x is supported",
                                    at: deb)
            }
            while let header = try ar.next() {
                let name = Self.memberName(header.path)
                if name.hasPrefix("_") { continue }
                if controlPath == nil, Self.tarSuffixes.contains(where: { name == "control.tar" + $0 }) {
                    controlPath = "\(dir)/\(name)"
                    epoch = header.mtime
                    try ar.extractData(to: controlPath!)
                } else if dataPath == nil, Self.tarSuffixes.contains(where: { name == "data.tar" + $0 }) {
                    guard controlPath != nil else {
                        throw PkgLayerError(.deb, "member '\(name)' comes before the control member; dpkg requires control.tar first", at: deb)
                    }
                    dataPath = "\(dir)/\(name)"
                    try ar.extractData(to: dataPath!)
                } else if dataPath == nil {
                    throw PkgLayerError(.deb, "has an unexpected member '\(name)' (expected control.tar.* then data.tar.*)", at: deb)
                } else {
                    warnings.append("\(deb): ignoring member '\(name)' after the data member")
                }
            }
        } catch {
            throw malformed(error)
        }
        guard let controlPath else {
            throw PkgLayerError(.deb, "has no control.tar member; it is truncated or not a binary package", at: deb)
        }
        guard let dataPath else {
            throw PkgLayerError(.deb, "has no data.tar member; it is truncated or not a binary package", at: deb)
        }
        return Members(controlPath: controlPath, dataPath: dataPath, epoch: SourceDateEpoch(max(0, epoch ?? 0)), warnings: warnings)
    }

    /// ar member names as libarchive reports them may carry GNU's trailing `/`.
    static func memberName(_ raw: String) -> String {
        var name = Substring(raw)
        while name.hasSuffix("/") || name.hasSuffix(" ") { name = name.dropLast() }
        return String(name)
    }

    // MARK: - control.tar

    private struct Control {
        var paragraph: ControlParagraph
        var conffiles: [String] = []
        var md5sums: [String: String] = [:]
        var scripts: [ScriptHook: String] = [:]
        /// The control files `spec.extras` carries: `triggers` (its directive lines), debconf
        /// `config` and `templates`, `shlibs`.
        var triggers: [String] = []
        var debconfConfig: String?
        var debconfTemplates: String?
        var shlibs: String?
    }

    private static let fallbackHooks: [DebScriptSlot: ScriptHook] = [
        .preinst: .beforeInstall, .postinst: .afterInstall, .prerm: .beforeRemove, .postrm: .afterRemove,
    ]

    private func readControl(_ tarPath: String, deb: String, warnings: inout [String]) throws -> Control {
        var files: [String: [UInt8]] = [:]
        var held: UInt64 = 0
        do {
            let tar = try ArchiveReader(path: tarPath)
            while let header = try tar.next() {
                let name = try ManifestPath.normalize(header.path, field: "\(deb): control member '\(header.path)'")
                if header.isDirectory || name == "/" { continue }
                guard header.isRegular else {
                    warnings.append("\(deb): ignoring control member '\(header.path)', which is not a regular file")
                    continue
                }
                files[String(name.dropFirst())] = try Self.readControlMember(tar, header, name: String(name.dropFirst()), deb: deb, held: &held)
            }
        } catch let error as PkgLayerError where error.code == .pathEscapesRoot {
            throw error
        } catch let error as PkgLayerError where error.code == .limitExceeded {
            throw Self.locatedInDeb(error, scratchPath: tarPath, deb: deb)
        } catch {
            throw PkgLayerError(.deb, "cannot read its control member: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        guard let controlBytes = files.removeValue(forKey: "control") else {
            throw PkgLayerError(.deb, "control.tar has no 'control' file", at: deb)
        }
        var control = Control(paragraph: try ControlParagraph(parsing: String(decoding: controlBytes, as: UTF8.self),
                                                              location: "\(deb): control"))
        if let bytes = files.removeValue(forKey: "conffiles") {
            for line in ControlParagraph.lines(String(decoding: bytes, as: UTF8.self)) {
                // dpkg ≥ 1.20 allows a `remove-on-upgrade` flag before the path.
                var text = line.trimmingCharacters(in: .whitespaces)
                if let space = text.firstIndex(of: " "), !text.hasPrefix("/") { text = String(text[text.index(after: space)...]) }
                guard !text.isEmpty else { continue }
                control.conffiles.append(try ManifestPath.normalize(text, field: "\(deb): conffiles"))
            }
        }
        if let bytes = files.removeValue(forKey: "md5sums") {
            for line in ControlParagraph.lines(String(decoding: bytes, as: UTF8.self)) where !line.isEmpty {
                guard line.count > 34, let space = line.firstIndex(of: " ") else {
                    throw PkgLayerError(.deb, "md5sums line '\(line.prefix(80))' is not '<md5>  <path>'", at: deb)
                }
                let sum = line[..<space].lowercased()
                let path = line[space...].drop { $0 == " " }
                control.md5sums[try ManifestPath.normalize(String(path), field: "\(deb): md5sums")] = sum
            }
        }
        for slot in DebScriptSlot.allCases {
            guard let bytes = files.removeValue(forKey: slot.rawValue) else { continue }
            let hooks = MaintainerScripts.parse(String(decoding: bytes, as: UTF8.self), fallback: Self.fallbackHooks[slot]!)
            for (hook, text) in hooks {
                if let existing = control.scripts[hook], existing != text {
                    warnings.append("\(deb): \(slot.rawValue) and another script both map to \(hook.rawValue); keeping both, \(slot.rawValue)'s last")
                    control.scripts[hook] = existing + "\n" + text
                } else {
                    control.scripts[hook] = text
                }
            }
        }
        if let bytes = files.removeValue(forKey: "triggers") {
            control.triggers = ControlParagraph.lines(String(decoding: bytes, as: UTF8.self))
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        control.debconfConfig = files.removeValue(forKey: "config").map { String(decoding: $0, as: UTF8.self) }
        control.debconfTemplates = files.removeValue(forKey: "templates").map { String(decoding: $0, as: UTF8.self) }
        control.shlibs = files.removeValue(forKey: "shlibs").map { String(decoding: $0, as: UTF8.self) }
        for name in files.keys.sorted() {
            warnings.append("\(deb): control file '\(name)' has no equivalent in pkglayer's spec and is dropped")
        }
        return control
    }

    // MARK: - data.tar

    private static let docPrefixes = ["/usr/share/doc/", "/usr/share/man/", "/usr/share/info/"]

    private func readData(_ tarPath: String, deb: String, conffiles: Set<String>, md5sums: [String: String],
                          epoch: SourceDateEpoch, extractor: ArchiveExtractor?, content: (any DebContentSink)?) throws -> FileManifest {
        let tar: ArchiveReader
        do { tar = try ArchiveReader(path: tarPath) } catch {
            throw PkgLayerError(.deb, "cannot read its data member: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        var entries: [ManifestEntry] = []
        var indexByPath: [String: Int] = [:]
        var md5ByPath: [String: String] = [:]
        while true {
            let next: ArchiveEntryHeader?
            do { next = try tar.next() } catch let error as PkgLayerError where error.code == .limitExceeded {
                throw Self.locatedInDeb(error, scratchPath: tarPath, deb: deb)
            } catch {
                throw PkgLayerError(.deb, "data member is malformed: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
            }
            guard let header = next else { break }
            let member = header.path
            let path = try Self.insidePath(member, deb: deb)
            if path == "/" { continue }
            var entry = ManifestEntry(path: path, kind: .file, mode: header.mode & 0o7777, uid: header.uid, gid: header.gid,
                                      user: header.userName ?? (header.uid == 0 ? "root" : String(header.uid)),
                                      group: header.groupName ?? (header.gid == 0 ? "root" : String(header.gid)),
                                      mtime: header.mtime)
            if let rawTarget = header.hardlinkTarget {
                let target = try Self.insidePath(rawTarget, deb: deb)
                guard let index = indexByPath[target], entries[index].kind == .file || entries[index].kind == .hardlink else {
                    throw PkgLayerError(.deb, "member '\(member)' is a hardlink to '\(rawTarget)', which is not an earlier regular file in the package",
                                        at: deb)
                }
                // Point at the group's file, so chains (c → b → a) all name a.
                let file = entries[index].kind == .file ? entries[index] : entries[indexByPath[entries[index].linkTarget!]!]
                entry.kind = .hardlink
                entry.linkTarget = file.path
                entry.size = file.size
                entry.sha256 = file.sha256
                md5ByPath[path] = md5ByPath[file.path]
                if let extractor {
                    var link = header
                    link.hardlinkTarget = "." + file.path
                    try Self.staging { try extractor.extract(link, from: tar) }
                }
            } else if header.isDirectory {
                entry.kind = .directory
                entry.isImplicitDirectory = StandardDirectories.all.contains(path)
                if let extractor { try Self.staging { try extractor.extract(header, from: tar) } }
            } else if header.isSymlink {
                guard let target = header.symlinkTarget, !target.isEmpty else {
                    throw PkgLayerError(.deb, "symlink member '\(member)' has no target", at: deb)
                }
                guard ManifestPath.symlinkStaysInside(linkPath: path, target: target) else {
                    throw PkgLayerError(.pathEscapesRoot, "symlink member '\(member)' points to '\(target)', which leaves the package root; refusing it",
                                        at: deb)
                }
                entry.kind = .symlink
                entry.linkTarget = target
                if let extractor { try Self.staging { try extractor.extract(header, from: tar) } }
            } else if header.isRegular {
                entry.kind = .file
                var hasher = StreamingHasher([.sha256, .md5])
                var size: UInt64 = 0
                // Hashed on the way to the staged file, so the content is read once.
                let file = try extractor.map { extractor in try Self.staging { try extractor.createFile(header) } }
                content?.beginFile()
                do {
                    try tar.readData { block in
                        hasher.update(block)
                        size += UInt64(block.count)
                        try file?.write(block)
                        try content?.write(block)
                    }
                } catch let error as PkgLayerError where error.code == .limitExceeded {
                    throw Self.locatedInDeb(error, scratchPath: tarPath, deb: deb)
                } catch {
                    throw PkgLayerError(.deb, "member '\(member)' cannot be read: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
                }
                try file?.finish()
                entry.size = size
                entry.sha256 = hasher.finalizeSHA256().hexString
                md5ByPath[path] = hasher.finalizeMD5().hexString
                entry.sourcePath = file?.extractedPath
                content?.endFile(sha256: entry.sha256!, md5: md5ByPath[path]!)
            } else {
                throw PkgLayerError(.unsupportedFileType,
                                    "member '\(member)' is a device, fifo or socket (mode \(String(header.mode, radix: 8))); pkglayer manifests hold only files, directories and links",
                                    at: deb)
            }
            if conffiles.contains(path) && entry.kind != .directory { entry.flags.formUnion([.config, .noReplace]) }
            if entry.kind != .directory && Self.docPrefixes.contains(where: { path.hasPrefix($0) }) { entry.flags.insert(.doc) }
            if indexByPath[path] != nil {
                throw PkgLayerError(.deb, "member '\(member)' appears twice in the data archive", at: deb)
            }
            indexByPath[path] = entries.count
            entries.append(entry)
        }
        for (path, expected) in md5sums {
            if let actual = md5ByPath[path], actual != expected {
                throw PkgLayerError(.deb, "'\(path)' does not match its md5sums entry (\(expected), content \(actual)); the package is corrupt",
                                    at: deb)
            }
        }
        return try FileManifest(entries: Self.reorderHardlinkGroups(entries), implicitDirectoryMtime: epoch.seconds)
    }

    /// A member name as a package path, refusing anything that leaves the root.
    static func insidePath(_ member: String, deb: String) throws -> String {
        do {
            return try ManifestPath.normalizeMember(member, archive: deb)
        } catch var error as PkgLayerError {
            if error.code != .pathEscapesRoot { error.code = .deb }
            error.location = deb
            throw error
        }
    }

    /// The manifest wants each hardlink group's file to sort first. A tar names the first member it
    /// wrote, which may sort later; make the group's smallest path the file and the rest links to it.
    static func reorderHardlinkGroups(_ entries: [ManifestEntry]) -> [ManifestEntry] {
        var groups: [String: [Int]] = [:]
        for (i, e) in entries.enumerated() where e.kind == .hardlink { groups[e.linkTarget!, default: []].append(i) }
        guard !groups.isEmpty else { return entries }
        var out = entries
        let index = Dictionary(uniqueKeysWithValues: entries.enumerated().map { ($0.element.path, $0.offset) })
        for (target, links) in groups {
            let fileIndex = index[target]!
            let members = [fileIndex] + links
            let first = members.min { out[$0].path.utf8.lexicographicallyPrecedes(out[$1].path.utf8) }!
            guard first != fileIndex else { continue }
            let file = out[fileIndex]
            for i in members {
                let path = out[i].path
                var e = out[i]
                if i == first {
                    e.kind = .file
                    e.linkTarget = nil
                    // Staged hardlinks share one inode, so the new first member's own staged path has the content.
                    e.sourcePath = file.sourcePath.map { stagedSibling($0, fromPackagePath: file.path, to: path) }
                } else {
                    e.kind = .hardlink
                    e.linkTarget = out[first].path
                    e.sourcePath = nil
                }
                out[i] = e
            }
        }
        return out
    }

    /// The staged path of `packagePath`, given the staged path of another package path.
    private static func stagedSibling(_ staged: String, fromPackagePath: String, to packagePath: String) -> String {
        String(staged.dropLast(fromPackagePath.utf8.count)) + packagePath
    }
}
