import Foundation
import PkgLayerCore
import PkgLayerDeb

extension SharedLibraryDependencies {
    /// The Debian multiarch triplet for an ELF machine and class.
    static func multiarchTriplet(machine: UInt16, is64Bit: Bool) -> String? {
        switch machine {
        case 62: return "x86_64-linux-gnu"
        case 183: return "aarch64-linux-gnu"
        case 3: return "i386-linux-gnu"
        case 40: return "arm-linux-gnueabihf"
        case 21: return is64Bit ? "powerpc64le-linux-gnu" : nil
        case 22: return is64Bit ? "s390x-linux-gnu" : nil
        case 243: return is64Bit ? "riscv64-linux-gnu" : nil
        default: return nil
        }
    }

    /// Where the dynamic loader would look for a library needed by `elf` (RUNPATH's absolute entries,
    /// the multiarch directories, the classic ones, then ld.so.conf.d).
    func librarySearchPath(for elf: ELFFile) -> [String] {
        var dirs = elf.runpath.filter { $0.hasPrefix("/") }
        if let triplet = Self.multiarchTriplet(machine: elf.machine, is64Bit: elf.is64Bit) {
            dirs += ["/lib/\(triplet)", "/usr/lib/\(triplet)"]
        }
        dirs += elf.is64Bit ? ["/lib64", "/usr/lib64"] : ["/lib32", "/usr/lib32"]
        dirs += ["/lib", "/usr/lib"]
        dirs += Self.ldSoConfDirectories()
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    static func ldSoConfDirectories() -> [String] {
        let confDir = "/etc/ld.so.conf.d"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: confDir)) ?? []).filter { $0.hasSuffix(".conf") }.sorted()
        var dirs: [String] = []
        for file in files {
            guard let text = try? String(contentsOfFile: "\(confDir)/\(file)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let trimmed = line.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix("/") { dirs.append(trimmed) }
            }
        }
        return dirs
    }

    /// A host file for `soname` that matches the requiring object's class and machine.
    func locateLibrary(_ soname: String, for elf: ELFFile) -> String? {
        guard !soname.contains("/") else { return nil }
        for dir in librarySearchPath(for: elf) {
            let candidate = "\(dir)/\(soname)"
            guard access(candidate, R_OK) == 0, let library = try? ELFFile.read(path: candidate) else { continue }
            if library.is64Bit == elf.is64Bit && library.machine == elf.machine { return candidate }
        }
        return nil
    }

    /// Paths under which dpkg may have recorded the file: as found, with and without the `/usr`
    /// prefix (merged-usr), and the same for the symlink's resolved target.
    static func dpkgPathAliases(_ path: String) -> [String] {
        var paths = [path]
        if let real = realpath(path, nil) {
            let resolved = String(cString: real)
            free(real)
            if resolved != path { paths.append(resolved) }
        }
        var aliases: [String] = []
        for p in paths {
            aliases.append(p)
            for top in ["/lib", "/lib64", "/lib32", "/bin", "/sbin"] {
                if p.hasPrefix("/usr\(top)/") { aliases.append(String(p.dropFirst(4))) }
                if p.hasPrefix("\(top)/") { aliases.append("/usr\(p)") }
            }
        }
        var seen = Set<String>()
        return aliases.filter { seen.insert($0).inserted }
    }

    func debianDependencies(for external: [String: ELFFile], neededBy: [String: [String]],
                            warnings: inout [String]) throws -> [Dependency] {
        var dependencies: [Dependency] = []
        var unresolved: [(soname: String, path: String)] = []
        for soname in external.keys.sorted() {
            if let known = knownProviders[soname] {
                dependencies.append(known)
                continue
            }
            guard let path = locateLibrary(soname, for: external[soname]!) else {
                let users = neededBy[soname, default: []].joined(separator: ", ")
                warnings.append("\(soname) (needed by \(users)) is not in this package and not installed on this host; the deb gets no dependency for it")
                continue
            }
            unresolved.append((soname, path))
        }
        guard !unresolved.isEmpty else { return merge(dependencies) }
        guard Subprocess.which("dpkg-query", path: Subprocess.hostPath) != nil else {
            warnings.append("dpkg-query is not available, so the Debian packages of \(unresolved.map(\.soname).joined(separator: ", ")) are unknown; the deb gets no dependency for them")
            return merge(dependencies)
        }

        let owners = try dpkgOwners(of: unresolved.flatMap { Self.dpkgPathAliases($0.path) })
        var byPackage: [String: [String]] = [:]   // package → sonames
        for item in unresolved {
            guard let owner = Self.dpkgPathAliases(item.path).lazy.compactMap({ owners[$0] }).first else {
                let users = neededBy[item.soname, default: []].joined(separator: ", ")
                warnings.append("\(item.soname) (needed by \(users)) is \(item.path) on this host, which no Debian package owns; the deb gets no dependency for it")
                continue
            }
            byPackage[owner, default: []].append(item.soname)
        }
        let installed = try installedVersions(Array(byPackage.keys))
        for (package, libraries) in byPackage.sorted(by: { $0.key < $1.key }) {
            let shlibs = Self.readShlibs(adminDirectory: dpkgAdminDirectory, package: package)
            for soname in libraries {
                if let declared = Self.shlibsDependencies(shlibs, soname: soname) {
                    dependencies += declared
                } else if let version = installed[package] {
                    dependencies.append(Dependency(name: Self.bareName(package), versionOperator: .greaterOrEqual,
                                                   version: DebianVersionOrder.withoutRevision(version)))
                } else {
                    dependencies.append(Dependency(name: Self.bareName(package)))
                }
            }
        }
        return merge(dependencies)
    }

    /// `libc6:amd64` → `libc6`.
    static func bareName(_ package: String) -> String {
        package.split(separator: ":").first.map(String.init) ?? package
    }

    /// One `dpkg-query -S` for all paths; maps each recorded path to its (first) owner, arch-qualified
    /// as dpkg prints it (`libc6:amd64`).
    func dpkgOwners(of paths: [String]) throws -> [String: String] {
        guard !paths.isEmpty else { return [:] }
        let result = try Subprocess.run("dpkg-query", ["--admindir=\(dpkgAdminDirectory)", "-S"] + paths,
                                        environment: Subprocess.cLocaleEnvironment)
        // Exit 1 only means some paths are unowned; the rest are listed.
        guard result.status == .exited(0) || result.status == .exited(1) else {
            throw PkgLayerError(.io, "dpkg-query -S failed (\(result.status)): \(result.text)", at: "shared-library dependencies")
        }
        var owners: [String: String] = [:]
        for line in result.text.split(separator: "\n") {
            if line.hasPrefix("diversion by") || line.hasPrefix("dpkg-query:") { continue }
            guard let separator = line.range(of: ": ") else { continue }
            let packages = line[..<separator.lowerBound].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let path = String(line[separator.upperBound...])
            if let first = packages.first, !first.isEmpty, owners[path] == nil { owners[path] = first }
        }
        return owners
    }

    /// Installed versions of the given packages (names as dpkg prints them, possibly arch-qualified).
    func installedVersions(_ packages: [String]) throws -> [String: String] {
        guard !packages.isEmpty else { return [:] }
        let result = try Subprocess.run("dpkg-query", ["--admindir=\(dpkgAdminDirectory)", "-W", "-f", "${binary:Package}\t${Package}\t${Version}\n"] + packages,
                                        environment: Subprocess.cLocaleEnvironment)
        var versions: [String: String] = [:]
        for line in result.text.split(separator: "\n") {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, !fields[2].isEmpty else { continue }
            versions[fields[0]] = fields[2]
            if versions[fields[1]] == nil { versions[fields[1]] = fields[2] }
        }
        return versions
    }

    /// The package's shlibs file (`info/<package>.shlibs`, arch-qualified or not), or "".
    static func readShlibs(adminDirectory: String, package: String) -> String {
        var names = [package]
        if !package.contains(":") { names.append("\(package):\(Architecture.native.deb)") } else { names.append(bareName(package)) }
        for name in names {
            if let text = try? String(contentsOfFile: "\(adminDirectory)/info/\(name).shlibs", encoding: .utf8) { return text }
        }
        return ""
    }

    /// The library name and version a shlibs file uses for a soname:
    /// `libpcre2-8.so.0` → (`libpcre2-8`, `0`); `libfoo-1.2.so` → (`libfoo`, `1.2`).
    static func shlibsKey(_ soname: String) -> (name: String, version: String)? {
        if let range = soname.range(of: ".so.") {
            return (String(soname[..<range.lowerBound]), String(soname[range.upperBound...]))
        }
        if soname.hasSuffix(".so") {
            let stem = soname.dropLast(3)
            if let dash = stem.lastIndex(of: "-"), stem[stem.index(after: dash)...].first?.isNumber == true {
                return (String(stem[..<dash]), String(stem[stem.index(after: dash)...]))
            }
            return (String(stem), "")
        }
        return nil
    }

    /// The dependencies a shlibs file declares for `soname` (lines typed `udeb:` and others skipped).
    static func shlibsDependencies(_ shlibs: String, soname: String) -> [Dependency]? {
        guard let key = shlibsKey(soname) else { return nil }
        for line in shlibs.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            var fields = trimmed.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(String.init)
            if let first = fields.first, first.hasSuffix(":") { continue }   // a typed line (udeb:)
            if key.version.isEmpty && fields.count == 2 { fields.insert("", at: 1) }
            guard fields.count == 3, fields[0] == key.name, fields[1] == key.version else { continue }
            let parsed = fields[2].split(separator: ",").compactMap {
                try? Dependency(parsing: $0.trimmingCharacters(in: .whitespaces), field: "shlibs")
            }
            return parsed.isEmpty ? nil : parsed
        }
        return nil
    }

    /// One entry per package: `>=` floors of the same package keep the highest; other relations are
    /// kept once each. Sorted by name.
    func merge(_ dependencies: [Dependency]) -> [Dependency] {
        var floors: [String: Dependency] = [:]
        var others: [String: Dependency] = [:]
        for dependency in dependencies {
            if dependency.alternatives.count == 1 {
                let clause = dependency.alternatives[0]
                if clause.versionOperator == nil || clause.versionOperator == .greaterOrEqual {
                    if let existing = floors[clause.name] {
                        let old = existing.alternatives[0].version, new = clause.version
                        if let new, old == nil || DebianVersionOrder.compare(new, old!) > 0 { floors[clause.name] = dependency }
                    } else {
                        floors[clause.name] = dependency
                    }
                    continue
                }
            }
            others[Self.debString(dependency)] = dependency
        }
        return (Array(floors.values) + Array(others.values)).sorted { Self.debString($0) < Self.debString($1) }
    }

    /// Debian spelling: `libc6 (>= 2.36)`, alternatives joined with ` | `.
    static func debString(_ dependency: Dependency) -> String {
        dependency.alternatives.map { clause in
            if let op = clause.versionOperator, let version = clause.version { return "\(clause.name) (\(op.deb) \(version))" }
            return clause.name
        }.joined(separator: " | ")
    }
}

extension SharedLibraryRequirements {
    /// The Debian Depends as strings: `libc6 (>= 2.36)`.
    public var debDependsStrings: [String] { debDepends.map(SharedLibraryDependencies.debString) }
}
