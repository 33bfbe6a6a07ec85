import Foundation
import PkgLayerArchive
import PkgLayerCore

/// One installed package as dpkg records it: the control paragraph, the paths it owns, the control
/// members dpkg keeps in `info/`, and the md5 of each conffile.
///
/// What dpkg 1.21 keeps for an installed package (checked against `dpkg --root -i` on Debian 12):
/// - `info/<pkg>.list`: `/.` then every member of data.tar, directories included, one per line, in
///   archive order except that symlinks come last (dpkg extracts them after everything else; seen
///   with debs whose data.tar holds symlinks in sorted order);
/// - every control member except `control` copied verbatim to `info/<pkg>.<member>` (md5sums,
///   conffiles, preinst, postinst, prerm, postrm, config, templates, triggers, shlibs, symbols, …),
///   maintainer scripts (and `config`) mode 0755, the rest 0644;
/// - when the package has no `md5sums` member, dpkg generates `info/<pkg>.md5sums` at unpack time,
///   listing every regular file, conffiles included;
/// - the status paragraph (see `DpkgDatabase.statusParagraph`).
///
/// `<pkg>` is the package name, or `<name>:<arch>` when the control says `Multi-Arch: same` (dpkg's
/// database format 1, announced by `info/format`, which `DpkgDatabase.adminFiles` writes).
public struct DpkgInstalledPackage: Sendable {
    public var control: ControlParagraph
    /// Absolute package paths (`/usr/bin/x`) in the order dpkg lists them (see `listOrder`), without
    /// the root.
    public var paths: [String]
    /// Control members by name (`md5sums`, `postinst`, …); `control` itself is not among them.
    public var controlMembers: [String: [UInt8]]
    /// Conffiles in the order of the `conffiles` member, with the md5 (hex) of their content.
    public var conffiles: [(path: String, md5: String)]

    /// Checks what becomes a file name or a line: the package name and architecture name files under
    /// `info/`, control member names are suffixes, and `.list` holds one path per line. A hostile
    /// control file (`Package: ../../etc/x`) or member name is refused, naming the package.
    public init(control: ControlParagraph, paths: [String], controlMembers: [String: [UInt8]],
                conffiles: [(path: String, md5: String)]) throws {
        let name = control["Package"] ?? ""
        let location = "package '\(name)'"
        guard DebControl.isDebianName(Substring(name)) else {
            throw PkgLayerError(.deb, "Package '\(name)' is not a Debian package name; it cannot name files in dpkg's database", at: location)
        }
        let arch = control["Architecture"] ?? ""
        guard !arch.isEmpty, arch.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
            throw PkgLayerError(.deb, "Architecture '\(arch)' is not a Debian architecture name", at: location)
        }
        for path in paths + conffiles.map(\.path) {
            guard path.hasPrefix("/"), !path.contains("\n"), !path.contains("\r"),
                  (try? ManifestPath.normalize(path, field: location)) == path else {
                throw PkgLayerError(.deb, "path '\(path)' cannot be recorded in dpkg's database (it must be absolute and normalised, without line breaks)",
                                    at: location)
            }
        }
        for member in controlMembers.keys where member != "control" {
            guard !member.isEmpty, member.first != ".",
                  member.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.+-".contains($0)) }) else {
                throw PkgLayerError(.deb, "control member '\(member)' cannot name a file in dpkg's database", at: location)
            }
        }
        for conffile in conffiles where conffile.md5.count != 32 || !conffile.md5.allSatisfy(\.isHexDigit) {
            throw PkgLayerError(.deb, "conffile '\(conffile.path)' has '\(conffile.md5)' as its md5, which is not 32 hex digits", at: location)
        }
        self.control = control
        self.paths = paths
        self.controlMembers = controlMembers.filter { $0.key != "control" }
        self.conffiles = conffiles
    }

    public var name: String { control["Package"] ?? "" }
    public var architecture: String { control["Architecture"] ?? "" }
    public var version: String { control["Version"] ?? "" }
    public var isMultiArchSame: Bool { control["Multi-Arch"]?.lowercased() == "same" }

    /// The name of the package's files under `info/`: `name` or `name:arch` (Multi-Arch: same).
    public var infoName: String { isMultiArchSame ? "\(name):\(architecture)" : name }

    /// Maintainer scripts and debconf's `config` are executables; other control members are data.
    public static let executableMembers: Set<String> = ["preinst", "postinst", "prerm", "postrm", "config"]

    /// Reads what dpkg needs from a .deb: the verbatim control members from control.tar, the paths from
    /// `read`'s manifest (in `listOrder`), and
    /// the md5 of each conffile. md5s come from the staged files when `read` was made with `extractTo:`;
    /// otherwise, and when the deb has no `md5sums`, data.tar is read once more to compute them.
    /// `md5BySHA256`: md5s already known (hex, by the content's sha256), from a read that hashed both.
    public init(deb path: String, read: DebReader.ReadResult, md5BySHA256: [String: String] = [:]) throws {
        let scratch = try TemporaryDirectory(prefix: "pkglayer-dpkgdb")
        let members = try Self.controlMembers(deb: path, scratch: scratch.path)
        var conffilePaths: [String] = []
        if let bytes = members["conffiles"] {
            for line in ControlParagraph.lines(String(decoding: bytes, as: UTF8.self)) {
                let words = line.split(separator: " ", omittingEmptySubsequences: true)
                // dpkg ≥ 1.20 allows flags before the path (`remove-on-upgrade /etc/x`); such a conffile
                // is not shipped, so it has no content and no entry here.
                guard words.count == 1 else { continue }
                conffilePaths.append(try ManifestPath.normalize(String(words[0]), field: "\(path): conffiles"))
            }
        }
        let manifest = read.package.manifest
        let regular = manifest.entries.filter { $0.kind == .file || $0.kind == .hardlink }
        var md5ByPath: [String: String] = [:]
        let needed = members["md5sums"] == nil ? regular.map(\.path) : conffilePaths
        var missing: [String] = []
        let byPath = Dictionary(manifest.entries.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        for p in needed {
            let entry = byPath[p]
            if let sha256 = entry?.sha256, let md5 = md5BySHA256[sha256] {
                md5ByPath[p] = md5
                continue
            }
            let source = entry.flatMap { $0.kind == .hardlink ? byPath[$0.linkTarget!]?.sourcePath : $0.sourcePath }
            if let source, let hasher = try? FileDigest.compute(path: source, algorithms: [.md5]) {
                md5ByPath[p] = hasher.finalizeMD5().hexString
            } else {
                missing.append(p)
            }
        }
        if !missing.isEmpty {
            let fromData = try Self.dataMD5s(deb: path, scratch: scratch.path)
            for p in missing { md5ByPath[p] = fromData[p] }
        }
        var conffiles: [(path: String, md5: String)] = []
        for p in conffilePaths {
            guard let md5 = md5ByPath[p] else {
                throw PkgLayerError(.deb, "conffile '\(p)' is not a regular file in the package's data", at: path)
            }
            conffiles.append((p, md5))
        }
        var controlMembers = members
        if members["md5sums"] == nil, !regular.isEmpty {
            // As dpkg does at unpack time for a package without md5sums.
            var text = ""
            for entry in regular {
                guard let md5 = md5ByPath[entry.path] else { continue }
                text += "\(md5)  \(entry.relativePath)\n"
            }
            controlMembers["md5sums"] = Array(text.utf8)
        }
        do {
            try self.init(control: read.control, paths: Self.listOrder(manifest), controlMembers: controlMembers,
                          conffiles: conffiles)
        } catch var error as PkgLayerError {
            error.location = path
            throw error
        }
    }

    /// The manifest's paths in the order dpkg writes `info/<pkg>.list` for a data.tar in manifest
    /// order (pkglayer's debs; dpkg-deb's sorted ones): everything but symlinks, then the symlinks.
    public static func listOrder(_ manifest: FileManifest) -> [String] {
        manifest.entries.filter { $0.kind != .symlink }.map(\.path) + manifest.entries.filter { $0.kind == .symlink }.map(\.path)
    }

    /// Reads the .deb itself (without staging its files) and collects what dpkg keeps.
    public init(deb path: String) throws {
        try self.init(deb: path, read: try DebReader().readPackage(path: path, extractTo: nil))
    }

    // MARK: - Reading the .deb's members

    private static func arMembers(deb: String, scratch: String, want: (String) -> Bool) throws -> [String: String] {
        var found: [String: String] = [:]
        do {
            let ar = try ArchiveReader(path: deb)
            while let header = try ar.next() {
                let name = DebReader.memberName(header.path)
                guard want(name), found[name] == nil else { continue }
                let out = "\(scratch)/\(name)"
                try ar.extractData(to: out)
                found[name] = out
            }
        } catch {
            throw PkgLayerError(.deb, "cannot read it as a .deb: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        return found
    }

    static func controlMembers(deb: String, scratch: String) throws -> [String: [UInt8]] {
        let found = try arMembers(deb: deb, scratch: scratch) { $0.hasPrefix("control.tar") }
        guard let tarPath = found.keys.sorted().first.flatMap({ found[$0] }) else {
            throw PkgLayerError(.deb, "has no control.tar member", at: deb)
        }
        var members: [String: [UInt8]] = [:]
        do {
            let tar = try ArchiveReader(path: tarPath)
            while let header = try tar.next() {
                guard header.isRegular else { continue }
                let name = try ManifestPath.normalize(header.path, field: "\(deb): control member")
                // Only top-level members are control files; dpkg ignores anything deeper.
                guard name.dropFirst().contains("/") == false, name != "/" else { continue }
                members[String(name.dropFirst())] = try tar.readAll(limit: 64 << 20)
            }
        } catch let error as PkgLayerError where error.code == .pathEscapesRoot {
            throw error
        } catch {
            throw PkgLayerError(.deb, "cannot read its control member: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        members["control"] = nil
        return members
    }

    /// md5 (hex) of every regular file in data.tar, hardlinks under their own path too.
    static func dataMD5s(deb: String, scratch: String) throws -> [String: String] {
        let found = try arMembers(deb: deb, scratch: scratch) { $0.hasPrefix("data.tar") }
        guard let tarPath = found.keys.sorted().first.flatMap({ found[$0] }) else {
            throw PkgLayerError(.deb, "has no data.tar member", at: deb)
        }
        var sums: [String: String] = [:]
        do {
            let tar = try ArchiveReader(path: tarPath)
            while let header = try tar.next() {
                let path = try ManifestPath.normalizeMember(header.path, archive: deb)
                if let target = header.hardlinkTarget {
                    sums[path] = sums[try ManifestPath.normalizeMember(target, archive: deb)]
                } else if header.isRegular {
                    var hasher = StreamingHasher([.md5])
                    try tar.readData { hasher.update($0) }
                    sums[path] = hasher.finalizeMD5().hexString
                }
            }
        } catch let error as PkgLayerError where error.code == .pathEscapesRoot {
            throw error
        } catch {
            throw PkgLayerError(.deb, "cannot read its data member: \((error as? PkgLayerError)?.message ?? "\(error)")", at: deb)
        }
        return sums
    }
}

/// A file of the package database, ready to be put in a layer or written under a root.
public struct DpkgDatabaseFile: Sendable, Equatable {
    /// Absolute path in the image (`/var/lib/dpkg/info/hello.list`).
    public var path: String
    public var contents: [UInt8]
    public var mode: UInt32
}

/// Writes dpkg's database for packages that were unpacked without dpkg (stacked as image layers).
///
/// Two parts, so that each package's layer carries its own records and only one small file changes
/// when the set of packages changes:
/// - `packageFiles`: `info/<pkg>.list`, `.md5sums`, `.conffiles`, the scripts and other control
///   members, and `status.d/<pkg>`: the package's status paragraph, the distroless convention that
///   image scanners read (dpkg does not);
/// - `adminFiles`: the combined `status` that dpkg and dpkg-query read (paragraphs sorted by
///   package name, then architecture), and `info/format` ("1"), without which dpkg reads `info/`
///   with the pre-multiarch naming and does not find `name:arch.list`.
///
/// dpkg-query needs nothing else: `available`, `diversions`, `statoverride`, `triggers/` and
/// `updates/` may be absent for `dpkg-query -W/-L/-S` and `dpkg --verify` (checked with dpkg 1.21.23).
/// `dpkg -i` into the image needs `updates/` and creates the rest itself.
///
/// Everything is a function of the packages: no clock, no host state. Written files get mode
/// 0644 (scripts 0755) and, when given, the mtime `epoch`.
public struct DpkgDatabase: Sendable {
    /// The admin directory inside the image.
    public var adminDirectory: String

    public init(adminDirectory: String = "/var/lib/dpkg") {
        self.adminDirectory = adminDirectory
    }

    /// dpkg's field order for a status paragraph (lib/dpkg/parse.c's field table as written by
    /// dpkg 1.21); fields it does not know follow in their control-file order.
    public static let statusFieldOrder = [
        "Package", "Essential", "Protected", "Status", "Priority", "Section", "Installed-Size", "Origin", "Maintainer", "Bugs",
        "Architecture", "Multi-Arch", "Source", "Version", "Config-Version", "Replaces", "Provides", "Depends", "Pre-Depends",
        "Recommends", "Suggests", "Breaks", "Conflicts", "Enhances", "Conffiles", "Filename", "Size", "MD5sum",
        "MSDOS-Filename", "Description", "Triggers-Pending", "Triggers-Awaited",
    ]

    /// The package's paragraph in the status file: its control fields, `Status: install ok installed`
    /// and its `Conffiles:`, in dpkg's order. `Essential` and `Protected` appear only when `yes`, as dpkg
    /// writes them.
    public func statusParagraph(for package: DpkgInstalledPackage) -> ControlParagraph {
        var byName: [String: (name: String, value: String)] = [:]
        var unknown: [(name: String, value: String)] = []
        let known = Dictionary(uniqueKeysWithValues: Self.statusFieldOrder.map { ($0.lowercased(), $0) })
        for field in package.control.fields {
            let lower = field.name.lowercased()
            if let canonical = known[lower] {
                if lower == "status" || lower == "conffiles" || lower == "config-version" { continue }
                byName[lower] = (canonical, field.value)
            } else {
                unknown.append(field)
            }
        }
        byName["status"] = ("Status", "install ok installed")
        if !package.conffiles.isEmpty {
            byName["conffiles"] = ("Conffiles", package.conffiles.map { "\n \($0.path) \($0.md5)" }.joined())
        }
        for flag in ["essential", "protected"] where byName[flag]?.value.lowercased() != "yes" {
            byName[flag] = nil
        }
        var paragraph = ControlParagraph()
        for name in Self.statusFieldOrder {
            if let field = byName[name.lowercased()] { paragraph.append(field.name, field.value) }
        }
        for field in unknown { paragraph.append(field.name, field.value) }
        return paragraph
    }

    /// `Conffiles:` has no value on its first line; ControlParagraph renders `Name: value`, so the
    /// space before the newline is removed, as dpkg writes it.
    static func render(_ paragraph: ControlParagraph) -> String {
        paragraph.rendered.replacingOccurrences(of: "Conffiles: \n", with: "Conffiles:\n")
    }

    /// The files that belong in the package's own layer: `info/<pkg>.*` and `status.d/<pkg>`.
    /// Sorted by path.
    public func packageFiles(for package: DpkgInstalledPackage) -> [DpkgDatabaseFile] {
        let info = "\(adminDirectory)/info/\(package.infoName)"
        var files: [DpkgDatabaseFile] = []
        var list = "/.\n"
        for path in package.paths where path != "/" { list += path + "\n" }
        files.append(DpkgDatabaseFile(path: "\(info).list", contents: Array(list.utf8), mode: 0o644))
        for (member, bytes) in package.controlMembers {
            let mode: UInt32 = DpkgInstalledPackage.executableMembers.contains(member) ? 0o755 : 0o644
            files.append(DpkgDatabaseFile(path: "\(info).\(member)", contents: bytes, mode: mode))
        }
        let fragment = Self.render(statusParagraph(for: package))
        files.append(DpkgDatabaseFile(path: "\(adminDirectory)/status.d/\(package.infoName)", contents: Array(fragment.utf8),
                                      mode: 0o644))
        return files.sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
    }

    /// The combined status file: every package's paragraph followed by an empty line, sorted by package
    /// name and then architecture. Two packages with the same name and architecture are an error.
    public func status(for packages: [DpkgInstalledPackage]) throws -> String {
        try status(fragments: packages.map { (name: $0.name, architecture: $0.architecture, paragraph: Self.render(statusParagraph(for: $0))) })
    }

    /// The combined status file from rendered status paragraphs (the `status.d/<pkg>` fragments, as
    /// ``packageFiles(for:)`` writes them), for when the packages themselves are not at hand (a layer
    /// taken from the cache).
    public func status(fragments: [(name: String, architecture: String, paragraph: String)]) throws -> String {
        let sorted = fragments.sorted { ($0.name, $0.architecture) < ($1.name, $1.architecture) }
        var text = ""
        var previous: (String, String)?
        for package in sorted {
            if let previous, previous == (package.name, package.architecture) {
                throw PkgLayerError(.duplicatePath, "two packages are both \(package.name):\(package.architecture); an image holds each once",
                                    at: "\(adminDirectory)/status")
            }
            previous = (package.name, package.architecture)
            text += package.paragraph + "\n"
        }
        return text
    }

    /// The files for the image's top layer: `status` and `info/format`.
    public func adminFiles(for packages: [DpkgInstalledPackage]) throws -> [DpkgDatabaseFile] {
        adminFiles(status: try status(for: packages))
    }

    /// `status` (the combined text) and `info/format`.
    public func adminFiles(status: String) -> [DpkgDatabaseFile] {
        [
            DpkgDatabaseFile(path: "\(adminDirectory)/info/format", contents: Array("1\n".utf8), mode: 0o644),
            DpkgDatabaseFile(path: "\(adminDirectory)/status", contents: Array(status.utf8), mode: 0o644),
        ]
    }

    /// Writes files under `root` (created as needed, directories 0755), replacing existing files.
    /// With `epoch`, the files and every directory between them and `root` get that mtime, so a tree
    /// written in several calls ends up the same whatever the order of the calls.
    public static func write(_ files: [DpkgDatabaseFile], under root: String, epoch: SourceDateEpoch? = nil) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        var directories = Set<String>()
        for file in files {
            let relative = try ManifestPath.normalize(file.path, field: file.path)
            guard relative != "/" else { continue }
            var parent = ManifestPath.parent(of: relative)
            var missing: [String] = []
            while parent != "/" {
                directories.insert(parent)
                if !FileManager.default.fileExists(atPath: root + parent) { missing.append(parent) }
                parent = ManifestPath.parent(of: parent)
            }
            for d in missing.reversed() {
                guard mkdir(root + d, 0o755) == 0 || errno == EEXIST else { throw PkgLayerError.posix("creating a directory", path: root + d) }
                chmod(root + d, 0o755)
            }
            let destination = root + relative
            let out = try AtomicFile(path: destination, overwrite: true, mode: mode_t(file.mode))
            try out.write(file.contents)
            try out.commit()
            if let epoch { try setMtime(destination, epoch.seconds) }
        }
        if let epoch {
            for d in directories { try setMtime(root + d, epoch.seconds) }
        }
    }

    private static func setMtime(_ path: String, _ seconds: Int64) throws {
        var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw PkgLayerError.posix("setting the mtime", path: path)
        }
    }

    /// Writes `files` under `stagingRoot` and returns the manifest entries for them (root-owned, dated
    /// at `epoch`, `sourcePath` pointing at the staged copy), ready to join a layer's FileManifest.
    public static func manifestEntries(_ files: [DpkgDatabaseFile], stagingRoot: String,
                                       epoch: SourceDateEpoch) throws -> [ManifestEntry] {
        try write(files, under: stagingRoot, epoch: epoch)
        return try files.map { file in
            let path = try ManifestPath.normalize(file.path, field: file.path)
            return ManifestEntry(path: path, kind: .file, mode: file.mode, mtime: epoch.seconds, size: UInt64(file.contents.count),
                                 sha256: Digest.sha256(file.contents).hex, sourcePath: stagingRoot + path)
        }
    }

    /// Writes the package's own files (`packageFiles`) under `root`.
    public func writePackageFiles(for package: DpkgInstalledPackage, under root: String, epoch: SourceDateEpoch? = nil) throws {
        try Self.write(packageFiles(for: package), under: root, epoch: epoch)
    }

    /// Writes the combined status and `info/format` (`adminFiles`) under `root`.
    public func writeAdminFiles(for packages: [DpkgInstalledPackage], under root: String, epoch: SourceDateEpoch? = nil) throws {
        try Self.write(adminFiles(for: packages), under: root, epoch: epoch)
    }
}
