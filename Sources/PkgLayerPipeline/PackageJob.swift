import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerRPM

/// The work behind `pkglayer package`: read the source into (spec, manifest), apply the request's
/// metadata, and hand the same manifest to each format's packager.
public struct PackageJob {
    public let request: PackageRequest
    let logger = Logger(label: "pkglayer.package")

    public init(request: PackageRequest) { self.request = request }

    public func run() throws -> [PackageOutput] {
        let command = request
        for flag in Set(command.noEffect).sorted() { logger.warning("\(flag): \(Self.noEffectReason(flag))") }
        let targets = try PackageFormat.parseList(command.outputTypes, field: "-t")
        guard !targets.isEmpty else {
            throw PkgLayerError(.usage, "no output type given; add -t rpm, -t deb, or both", at: "-t")
        }
        let unused = formatOnlyOptionsWithoutTheirFormat(targets: targets)
        if !unused.isEmpty {
            logger.warning("\(unused.joined(separator: ", ")) \(unused.count == 1 ? "has" : "have") no effect: no package of that format is written (-t)")
        }
        let rpmCompression = try compression(command.rpmCompression, level: command.rpmCompressionLevel, field: "--rpm-compression")
        let debCompression = try compression(command.debCompression, level: command.debCompressionLevel, field: "--deb-compression")
        if let workdir = command.workdir {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: workdir, isDirectory: &isDir), isDir.boolValue else {
                throw PkgLayerError(.usage, "'\(workdir)' is not an existing directory", at: "--workdir")
            }
        }
        if command.rpmSign, command.signing == nil {
            throw PkgLayerError(.usage, "needs a key to sign with: add --sign-key FILE|KEYID or set \(SigningOptions.keyVariable)", at: "--rpm-sign")
        }
        // The key is loaded (and its passphrase checked) before any work.
        let signingKey = try command.signing.map { try SigningKey($0) }
        let work = try Workspace(parent: command.workdir, keep: command.debugWorkspace)
        if command.debugWorkspace { logger.warning("--debug-workspace: the work directory is kept at \(work.path)") }

        defer { withExtendedLifetime(work) {} }

        let source = try readSource(workdir: work.path)
        var spec = source.0
        var manifest = source.1
        try applyMetadataFlags(to: &spec)
        try applyExtras(to: &spec)
        if command.sourceDateEpochFromChangelog {
            try clockFromChangelog(&spec)
            let clock = spec.sourceDateEpoch
            manifest = manifest.mapEntries { $0.mtime = clock.clamp($0.mtime) }
        }
        try spec.validate()

        // Each target's spec, manifest, packager and path first: a previous run's output lying in the input
        // tree (`package -f .` run twice) is this run's output, and is never packed into the next package.
        var planned: [(target: PackageFormat, spec: PackageSpec, manifest: FileManifest, packager: any Packager, path: String, signer: (any PackageSigner)?)] = []
        for target in targets {
            var targetSpec = spec
            var targetManifest = manifest
            if let from = PackageFormat(rawValue: command.inputType) { let c = try PackageConversion.adapt(targetSpec, manifest: targetManifest, from: from, to: target); (targetSpec, targetManifest) = (c.0, c.1); for w in c.warnings { logger.warning("\(w)") } }
            try adapt(&targetSpec, &targetManifest, for: target, workdir: work.path)
            let user = try (target == .rpm ? command.rpmUser : command.debUser).map { try Owner(parsing: $0, field: "--\(target)-user") }
            let group = try (target == .rpm ? command.rpmGroup : command.debGroup).map { try Owner(parsing: $0, field: "--\(target)-group") }
            let rules = target == .rpm ? try command.rpmAttr.map { try AttributeRule(parsingRPMAttr: $0) } : []
            targetManifest = targetManifest.mapEntries { entry in
                entry.setOwner(user: user, group: group)
                for rule in rules { entry.apply(rule) }
            }
            let signer = try signingKey?.signer(at: targetSpec.sourceDateEpoch.seconds)
            let packager = Packagers.packager(for: target, compression: target == .rpm ? rpmCompression : debCompression,
                                              overwrite: command.force, signer: signer)
            let path = try outputPath(for: targetSpec, target: target, packager: packager, multiple: targets.count > 1)
            planned.append((target, targetSpec, targetManifest, packager, path, signer))
        }
        let outputPaths = Set(planned.map { Self.resolved($0.path) })
        var outputs: [PackageOutput] = []
        for plan in planned {
            let (target, targetSpec, packager, path, signer) = (plan.target, plan.spec, plan.packager, plan.path, plan.signer)
            var targetManifest = plan.manifest
            let ownOutputs = targetManifest.entries.filter { entry in entry.sourcePath.map { outputPaths.contains(Self.resolved($0)) } ?? false }
            if !ownOutputs.isEmpty {
                for entry in ownOutputs { logger.warning("left out \(entry.path): it is this run's own output (\(entry.sourcePath ?? "")), written by an earlier run") }
                let skipped = Set(ownOutputs.map(\.path))
                targetManifest = try FileManifest(entries: targetManifest.entries.filter { !skipped.contains($0.path) },
                                                  implicitDirectoryMtime: targetSpec.sourceDateEpoch.seconds)
            }
            let result = try packager.pack(spec: targetSpec, manifest: targetManifest, to: path)
            for warning in result.warnings { logger.warning("\(warning)") }
            if let signer { Progress.note("signed \((result.output.path as NSString).lastPathComponent) with \(signer.summary)") }
            outputs.append(result.output)
            if target == .deb, command.deb.generateChanges {
                try writeChanges(for: targetSpec, deb: result.output)
            }
        }
        return outputs
    }

    /// A path with symlinks resolved (the file may not exist yet: its directory is resolved).
    static func resolved(_ path: String) -> String {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let directory = url.deletingLastPathComponent().resolvingSymlinksInPath()
        return directory.appendingPathComponent(url.lastPathComponent).path
    }

    // MARK: - Sources

    private func clockDefault() -> Int64? { request.sourceDateEpochDefault }

    private func readSource(workdir: String) throws -> (PackageSpec, FileManifest) {
        let command = request
        switch command.inputType {
        case "dir":
            var arguments = command.inputs + (try listFiles(command.inputsFiles, flag: "--inputs"))
            if arguments.isEmpty, command.chdir != nil { arguments = ["."] }  // fpm: -C DIR alone means DIR's content
            guard !arguments.isEmpty else {
                throw PkgLayerError(.usage, "-s dir needs at least one path (for example '.' with -C DIR)", at: "-s dir")
            }
            let chdir = command.chdir ?? FileManager.default.currentDirectoryPath
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: chdir, isDirectory: &isDir), isDir.boolValue else {
                throw PkgLayerError(.usage, "'\(chdir)' is not a directory", at: "-C")
            }
            let inputs = arguments.map { ManifestBuilder.Input.fromArgument($0, chdir: chdir, prefix: command.prefix) }
            return try fromTree(inputs: inputs)
        case "tar", "zip":
            let type = command.inputType
            guard command.inputs.count == 1, let tarball = command.inputs.first else {
                throw PkgLayerError(.usage, "-s \(type) takes exactly one \(type == "tar" ? "tarball" : "zip file")", at: "-s \(type)")
            }
            let staging = (workdir as NSString).appendingPathComponent("\(type)-root")
            let extractor = try ArchiveExtractor(root: staging, archiveName: tarball)
            let reader = try ArchiveReader(path: tarball)
            while let header = try reader.next() { try extractor.extract(header, from: reader) }
            let inputs = [ManifestBuilder.Input(source: staging, destination: command.prefix ?? "/")]
            return try fromTree(inputs: inputs)
        case "rpm", "deb":
            guard command.inputs.count == 1, let file = command.inputs.first else {
                throw PkgLayerError(.usage, "-s \(command.inputType) takes exactly one package file", at: "-s \(command.inputType)")
            }
            let staging = (workdir as NSString).appendingPathComponent("\(command.inputType)-root")
            let read = try Packagers.reader(for: command.inputType == "rpm" ? .rpm : .deb).read(path: file, extractTo: staging)
            var manifest = read.manifest
            let excludes = try allExcludes()
            if !excludes.isEmpty {
                let globs = excludes.map(Glob.init)
                manifest = try FileManifest(entries: manifest.entries.filter { e in !globs.contains { $0.matches(e.path) } },
                                            implicitDirectoryMtime: read.spec.sourceDateEpoch.seconds)
            }
            if let env = try SourceDateEpoch.fromEnvironment() {
                var spec = read.spec
                spec.sourceDateEpoch = env
                manifest = manifest.mapEntries { $0.mtime = env.clamp($0.mtime) }
                return (spec, manifest)
            }
            return (read.spec, manifest)
        case "empty":
            return try emptySource()
        case "python":
            guard command.inputs.count == 1, let argument = command.inputs.first else {
                throw PkgLayerError(.usage, "-s python takes exactly one wheel, sdist, project directory or package name", at: "-s python")
            }
            return try PythonSource.read(argument, options: command.python, workdir: workdir)
        default:
            throw Self.unsupportedInputType(command.inputType)
        }
    }

    private func fromTree(inputs: [ManifestBuilder.Input]) throws -> (PackageSpec, FileManifest) {
        let command = request
        var builder = ManifestBuilder(inputs: inputs)
        builder.excludes = try allExcludes().map(Glob.init)
        builder.configFiles = command.configFiles.map(Glob.init)
        builder.directories = command.directories.map(Glob.init)
        builder.autoConfigUnderEtc = !command.noDefaultConfigFiles
        builder.sourceDateEpoch = try SourceDateEpoch.fromEnvironment() ?? clockDefault().map(SourceDateEpoch.init)
        builder.ownersFromDisk = command.rpm.useFilePermissions || command.deb.useFilePermissions
        // Only an rpm reads the manifest's sha256 (its file digests); a deb takes each file's md5 as the
        // file streams into data.tar, so a deb-only run skips the second read of every file.
        builder.hashContents = try PackageFormat.parseList(command.outputTypes, field: "-t").contains { $0 != .deb }
        let result = try builder.build()
        guard let name = command.name else {
            throw PkgLayerError(.usage, "a package name is required for -s \(command.inputType)", at: "-n/--name")
        }
        let arch = try parseArchitecture() ?? .native
        let spec = PackageSpec(name: name, version: command.version ?? "1.0", architecture: arch,
                               sourceDateEpoch: result.sourceDateEpoch)
        return (spec, result.manifest)
    }

    private func parseArchitecture() throws -> Architecture? {
        let command = request
        guard let text = command.architecture else { return nil }
        guard let arch = Architecture(parsing: text) else {
            throw PkgLayerError(.usage, "unknown architecture '\(text)'; use x86_64/amd64, aarch64/arm64, noarch/all or native", at: "-a")
        }
        return arch
    }

    // MARK: - Flags onto the spec

    private func applyMetadataFlags(to spec: inout PackageSpec) throws {
        let command = request
        if let name = command.name { spec.name = name }
        if let suffix = command.packageNameSuffix, !suffix.isEmpty { spec.name += "-\(suffix)" }
        if let version = command.version { spec.version = version }
        if let iteration = command.iteration { spec.release = iteration }
        if let epoch = command.epoch { spec.epoch = epoch }
        if let arch = try parseArchitecture() { spec.architecture = arch }
        if let m = command.maintainer { spec.maintainer = m }
        if let l = command.license { spec.license = l }
        if let v = command.vendor { spec.vendor = v }
        if let u = command.url { spec.url = u }
        if let d = command.descriptionText { spec.description = d.replacingOccurrences(of: "\\n", with: "\n") }
        if let s = command.rpmSummary { spec.summary = s }
        if let c = command.category { spec.section = c }
        if let p = command.debPriority { spec.priority = p }

        func deps(_ values: [String], _ flag: String) throws -> [Dependency] {
            try values.flatMap { try DependencyList.parse($0, field: flag) }
        }
        spec.depends += try deps(command.depends, "-d/--depends")
        spec.provides += try deps(command.provides, "--provides")
        spec.conflicts += try deps(command.conflicts, "--conflicts")
        spec.replaces += try deps(command.replaces, "--replaces")
        spec.preDepends += try deps(command.debPreDepends, "--deb-pre-depends")
        spec.recommends += try deps(command.debRecommends, "--deb-recommends")
        spec.suggests += try deps(command.debSuggests, "--deb-suggests")
        spec.breaks += try deps(command.debBreaks, "--deb-breaks")
        spec.obsoletes += try deps(command.rpmObsoletes, "--rpm-obsoletes")
        if command.noDepends { spec.depends = []; spec.preDepends = [] }

        let scriptFlags: [(String?, ScriptHook, String)] = [
            (command.beforeInstall, .beforeInstall, "--before-install"), (command.afterInstall, .afterInstall, "--after-install"),
            (command.beforeRemove, .beforeRemove, "--before-remove"), (command.afterRemove, .afterRemove, "--after-remove"),
            (command.beforeUpgrade, .beforeUpgrade, "--before-upgrade"), (command.afterUpgrade, .afterUpgrade, "--after-upgrade"),
            (command.rpmPretrans, .beforeTransaction, "--rpm-pretrans"), (command.rpmPosttrans, .afterTransaction, "--rpm-posttrans"),
        ]
        for (file, hook, flag) in scriptFlags {
            guard let file else { continue }
            spec.scripts[hook] = try readText(file, flag: flag)
        }
    }

    // MARK: - Output names

    private func outputPath(for spec: PackageSpec, target: PackageFormat, packager: any Packager, multiple: Bool) throws -> String {
        let command = request
        let fallback = packager.fileName(for: spec)
        guard let given = command.packagePath else {
            return (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(fallback)
        }
        var isDir: ObjCBool = false
        if given.hasSuffix("/") || (FileManager.default.fileExists(atPath: given, isDirectory: &isDir) && isDir.boolValue) {
            try FileManager.default.createDirectory(atPath: given, withIntermediateDirectories: true)
            return (given as NSString).appendingPathComponent(fallback)
        }
        let placeholders = ["FULLVERSION", "NAME", "VERSION", "ITERATION", "EPOCH", "ARCH", "TYPE"]
        if placeholders.contains(where: { given.contains($0) }) {
            let release = spec.release ?? (target == .rpm ? "1" : "")
            var full = spec.version + (release.isEmpty ? "" : "-\(release)")
            if let epoch = spec.epoch { full = "\(epoch):" + full }
            let arch = target == .rpm ? spec.architecture.rpm : spec.architecture.deb
            return given.replacingOccurrences(of: "FULLVERSION", with: full)
                .replacingOccurrences(of: "NAME", with: spec.name)
                .replacingOccurrences(of: "VERSION", with: spec.version)
                .replacingOccurrences(of: "ITERATION", with: release)
                .replacingOccurrences(of: "EPOCH", with: spec.epoch.map(String.init) ?? "")
                .replacingOccurrences(of: "ARCH", with: arch)
                .replacingOccurrences(of: "TYPE", with: target.rawValue)
        }
        if multiple {
            throw PkgLayerError(.usage, "'\(given)' names one file but several output types were asked for; give a directory or a template containing TYPE",
                                at: "-p")
        }
        return given
    }
}
