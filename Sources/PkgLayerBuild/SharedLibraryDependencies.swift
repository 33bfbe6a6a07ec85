import Foundation
import PkgLayerCore

/// The automatic dependencies of a staged package, from the ELF files in it.
public struct SharedLibraryRequirements: Sendable, Equatable {
    /// rpm Requires, sorted: `libc.so.6()(64bit)`, `libc.so.6(GLIBC_2.34)(64bit)`, `rtld(GNU_HASH)`.
    public var rpmRequires: [String]
    /// rpm Provides for the package's own libraries, sorted: `libpcre2-8.so.0()(64bit)`.
    public var rpmProvides: [String]
    /// Debian Depends, one per package, sorted by name: `libc6 (>= 2.36)`, `libpcre2-8-0 (>= 10.42)`.
    public var debDepends: [Dependency]
    /// Every needed soname that the package does not provide itself, with the package paths needing it.
    public var needed: [String: [String]]
    /// The sonames of the package's own shared libraries.
    public var providedSonames: [String]
    /// Needed libraries that could not be attributed: no host package owns them (deb gets no
    /// dependency for them) or they are not on the host at all.
    public var warnings: [String]

    public var rpmRequiresDependencies: [Dependency] { rpmRequires.map { Dependency(name: $0) } }
    public var rpmProvidesDependencies: [Dependency] { rpmProvides.map { Dependency(name: $0) } }
}

/// Finds the shared libraries a staged package needs (ELF DT_NEEDED of every regular file) and turns
/// them into dependencies:
///
/// - **rpm**: soname requires as rpm's own dependency generator spells them: `libpcre2-8.so.0()(64bit)`
///   (the `(64bit)` marker on 64-bit objects, nothing on 32-bit ones), symbol-version requires
///   `libc.so.6(GLIBC_2.34)(64bit)` from DT_VERNEED (weak ones and GLIBC_PRIVATE left out), and
///   `rtld(GNU_HASH)` for objects with only a GNU hash table. The package's libraries get Provides:
///   `soname()(64bit)` and `soname(VERSION)(64bit)` for each version they define. Libraries the package
///   provides itself (by soname or by file name) are not required.
/// - **deb**: the Debian package that owns each needed library on this host: the library is looked up
///   in the requiring file's RUNPATH, the multiarch and the ld.so.conf directories; its owner comes from
///   `dpkg-query -S` (trying both `/lib/…` and `/usr/lib/…`: Debian 12 is merged-usr but dpkg's database
///   still records the paths each package ships). The version floor comes from the owner's `shlibs`
///   file in the dpkg database (`libpcre2-8 0 libpcre2-8-0 (>= 10.42)` → `libpcre2-8-0 (>= 10.42)`),
///   which is what the library's maintainer declares as the oldest compatible version. Without a
///   shlibs entry the floor is the installed version without its Debian revision
///   (`libfoo1 (>= 1.2.3)`): safe, if stricter than needed. Several libraries of one package keep the
///   highest floor. `knownProviders` maps sonames to dependencies for libraries that come from
///   packages pkglayer builds itself (build dependencies, sibling subpackages).
public struct SharedLibraryDependencies {
    /// Soname → Debian dependency for libraries that are not the host's (for example our own pcre2).
    public var knownProviders: [String: Dependency]
    /// The dpkg database (`--admindir`).
    public var dpkgAdminDirectory: String
    /// Whether to emit rpm symbol-version requires and provides.
    public var symbolVersions: Bool

    public init(knownProviders: [String: Dependency] = [:], dpkgAdminDirectory: String = "/var/lib/dpkg", symbolVersions: Bool = true) {
        self.knownProviders = knownProviders
        self.dpkgAdminDirectory = dpkgAdminDirectory
        self.symbolVersions = symbolVersions
    }

    /// Scans with the default settings.
    /// - Parameter stagingRoot: where the files are, for entries without a `sourcePath`.
    public static func scan(manifest: FileManifest, stagingRoot: String? = nil,
                            knownProviders: [String: Dependency] = [:]) throws -> SharedLibraryRequirements {
        try SharedLibraryDependencies(knownProviders: knownProviders).scan(manifest: manifest, stagingRoot: stagingRoot)
    }

    struct Object {
        var path: String
        var elf: ELFFile
    }

    public func scan(manifest: FileManifest, stagingRoot: String? = nil) throws -> SharedLibraryRequirements {
        var objects: [Object] = []
        for entry in manifest.entries where entry.kind == .file {
            if entry.path.hasPrefix("/usr/lib/debug/") { continue }
            guard let content = entry.sourcePath ?? stagingRoot.map({ $0 + entry.path }) else { continue }
            guard ELFFile.hasELFMagic(path: content), let elf = try ELFFile.read(path: content) else { continue }
            objects.append(Object(path: entry.path, elf: elf))
        }

        // What the package provides itself.
        var sonames = Set<String>()
        var ownNames = Set<String>()
        var provides = Set<String>()
        for object in objects where object.elf.type == ELFFile.FileType.sharedObject.rawValue {
            ownNames.insert(ManifestPath.basename(of: object.path))
            guard let soname = object.elf.soname, !soname.isEmpty else { continue }
            sonames.insert(soname)
            ownNames.insert(soname)
            let marker = Self.marker(object.elf)
            provides.insert(Self.rpmName(soname, version: nil, marker: marker))
            if symbolVersions {
                for version in object.elf.versionDefinitions { provides.insert(Self.rpmName(soname, version: version, marker: marker)) }
            }
        }

        // What it needs from elsewhere.
        var requires = Set<String>()
        var needed: [String: [String]] = [:]
        var external: [String: ELFFile] = [:]   // soname → a requiring object (for class, machine, runpath)
        for object in objects {
            let marker = Self.marker(object.elf)
            var needsSomething = false
            for library in object.elf.needed where !ownNames.contains(library) {
                needsSomething = true
                requires.insert(Self.rpmName(library, version: nil, marker: marker))
                needed[library, default: []].append(object.path)
                if external[library] == nil { external[library] = object.elf }
            }
            if symbolVersions {
                for need in object.elf.versionNeeds where !ownNames.contains(need.file) {
                    for version in need.versions where version != "GLIBC_PRIVATE" {
                        requires.insert(Self.rpmName(need.file, version: version, marker: marker))
                    }
                }
            }
            if needsSomething && object.elf.hasGNUHash && !object.elf.hasSysVHash {
                requires.insert("rtld(GNU_HASH)")
            }
        }

        var warnings: [String] = []
        let debDepends = try debianDependencies(for: external, neededBy: needed, warnings: &warnings)
        return SharedLibraryRequirements(
            rpmRequires: requires.sorted(), rpmProvides: provides.sorted(), debDepends: debDepends,
            needed: needed.mapValues { $0.sorted() }, providedSonames: sonames.sorted(), warnings: warnings)
    }

    /// rpm's `(64bit)` marker: on every 64-bit ELF except Alpha, nothing on 32-bit ones.
    static func marker(_ elf: ELFFile) -> String {
        elf.is64Bit && elf.machine != 41 && elf.machine != 0x9026 ? "(64bit)" : ""
    }

    /// `soname(version)marker`, or just `soname` when there is neither (32-bit, unversioned).
    static func rpmName(_ soname: String, version: String?, marker: String) -> String {
        if version == nil && marker.isEmpty { return soname }
        return "\(soname)(\(version ?? ""))\(marker)"
    }
}
