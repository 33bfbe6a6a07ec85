import Foundation
import PkgLayerCore
import Yams

extension ImageSpec {
    /// Reads an image file (`pkglayer image FILE`): the keys of a recipe's `image:` section at the top
    /// level, with `name` required. Errors are located `file:line:column`, all reported at once.
    /// `context`: the directory every file it names must be in (default: its own directory).
    public static func load(path: String, context: String? = nil) throws -> ImageSpec {
        try RecipeDecoder.checkFileSize(path, what: "the image file")   // docs/limits.md
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw PkgLayerError(.io, "cannot read the image file (missing, a directory, or not UTF-8 text)", at: path)
        }
        let absolute = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        let directory = ((absolute as NSString).deletingLastPathComponent as NSString).standardizingPath
        try BuildContext.check(file: absolute, isInside: context, flagged: path)
        try RecipeDecoder.checkShape(text, file: path)
        var decoder = RecipeDecoder(file: path, directory: directory, context: context)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PkgLayerError(.invalidInput, "the image file is empty; it needs at least 'name:' and 'packages:'", at: "\(path):1:1")
            }
            root = node
        } catch let error as YamlError {
            throw decoder.translate(error)
        }
        decoder.validate(root, as: .object(RecipeSchema.standaloneImage), path: "")
        if let error = decoder.error() { throw error }
        let reader = ObjectReader(type: RecipeSchema.standaloneImage, mapping: root.mapping, path: "", location: decoder.location(of: root),
                                  file: path)
        let spec = decoder.readImage(reader, defaultName: nil, packageAccounts: Accounts())
        if let error = decoder.error() { throw error }
        return spec
    }
}

extension RecipeDecoder {
    /// Reads a validated image mapping. `defaultName` is the recipe's package name.
    mutating func readImage(_ r: ObjectReader, defaultName: String?, packageAccounts: Accounts) -> ImageSpec {
        let file = self.file
        let origin = { (key: String) in "\(file): \(r.path(key))" }
        let accounts = readAccounts(r.object("accounts"))
        var spec = ImageSpec(name: expandPackage(r.string("name") ?? defaultName ?? "image"), file: file, directory: directory)
        spec.tag = expandPackage(r.string("tag")!)
        spec.format = PackageFormat(rawValue: r.string("format")!)!
        let arch = r.string("architecture")!
        spec.architecture = arch == "native" ? nil : Architecture(parsing: arch)
        spec.base = readBase(r.string("base")!, field: r.path("base"), at: r.location(of: "base"))
        spec.packages = r.strings("packages").enumerated().map { i, item in
            if ImagePackageText.isFile(item.value) {
                return .file(contextPath(expandPackage(item.value), field: "\(r.path("packages"))[\(i)]", at: item.location))
            }
            return .named((try? Dependency(parsing: expandPackage(item.value), field: r.path("packages"))) ?? Dependency(name: item.value))
        }
        for (i, package) in spec.packages.enumerated() {
            if case .file(let path) = package, !FileManager.default.fileExists(atPath: path) {
                report("\(r.path("packages"))[\(i)]: '\(path)' does not exist; package files are relative to the directory of \(file)",
                       at: r.strings("packages")[i].location)
            }
        }
        spec.repositories = r.objects("repositories").enumerated().map { i, repo in
            readRepository(repo, origin: "\(file): \(r.path("repositories"))[\(i)]")
        }
        if let lockfile = r.string("lockfile") {
            spec.lockfile = contextPath(expandPackage(lockfile), field: r.path("lockfile"), at: r.location(of: "lockfile"))
        }
        if let node = r.node("layering"), node.mapping != nil {
            let budget = r.reader(for: node, as: RecipeSchema.layeringBudget, path: r.path("layering"))
            spec.layering = .budget(Int(budget.integer("budget")!))
        } else {
            spec.layering = r.string("layering") == "squash" ? .squash : .perPackage
        }
        spec.scripts = ImageSpec.ScriptPolicy(rawValue: r.string("scripts")!)!
        spec.accounts = accounts
        let known = accounts.merged(with: packageAccounts)
        spec.files = r.objects("files").enumerated().map { i, f in readFileCopy(f, accounts: known, origin: "\(origin("files"))[\(i)]") }
        spec.config = readImageConfig(r.object("config"))
        spec.author = r.object("config").string("author")
        spec.annotations = stringMap(r.node("annotations"))
        if r.has("outputs") {
            spec.outputs = Set(r.strings("outputs").compactMap { ImageSpec.Output(rawValue: $0.value) })
        }
        return spec
    }

    mutating func readBase(_ text: String, field: String, at location: SourceLocation) -> ImageSpec.Base {
        if text == "scratch" { return .scratch }
        if text.hasPrefix("rootfs:") {
            return .rootfs(contextPath(String(text.dropFirst("rootfs:".count)), field: field, at: location))
        }
        if text.hasPrefix("oci-layout:") {
            let rest = String(text.dropFirst("oci-layout:".count))
            // PATH[:TAG]: a tag never holds '/', a path's last component may hold ':' only if a tag follows.
            if let colon = rest.lastIndex(of: ":"), !rest[rest.index(after: colon)...].contains("/") {
                return .ociLayout(path: contextPath(String(rest[..<colon]), field: field, at: location),
                                  tag: String(rest[rest.index(after: colon)...]))
            }
            return .ociLayout(path: contextPath(rest, field: field, at: location), tag: nil)
        }
        return .stored(text)
    }

    mutating func readRepository(_ r: ObjectReader, origin: String) -> RepositorySpec {
        let keyring = r.string("keyring").map { keyringPath($0, field: r.path("keyring"), at: r.location(of: "keyring")) }
        if let yum = r.string("yum") {
            return RepositorySpec(kind: .yum, url: yum, keyring: keyring, trusted: r.bool("trusted"), origin: origin)
        }
        let apt = r.string("apt")!
        return RepositorySpec(kind: .apt, url: apt == "host" ? nil : apt, suites: r.strings("suites").map(\.value),
                              components: r.strings("components").map(\.value), keyring: keyring,
                              trusted: r.bool("trusted"), origin: origin)
    }

    mutating func readFileCopy(_ r: ObjectReader, accounts: Accounts, origin: String) -> ImageSpec.FileCopy {
        let relative = expandPackage(r.string("src")!)
        let source = contextPath(relative, field: r.path("src"), at: r.location(of: "src"))
        if !FileManager.default.fileExists(atPath: source) {
            report("\(r.path("src")): '\(relative)' does not exist (looked for \(source)); files are relative to the directory of \(file)",
                   at: r.location(of: "src"))
        }
        func owner(_ key: String, ids: [String: UInt32?], kind: String) -> Owner {
            guard let text = r.string(key), var owner = try? Owner(parsing: text, field: r.path(key)) else { return .root }
            if text.contains(":") || UInt32(text) != nil || owner.name == "root" { return owner }
            guard let declared = ids[text] else {
                report("\(r.path(key)): \(kind) '\(text)' is not declared in the image's accounts or a recipe package's; declare it, or write name:id",
                       at: r.location(of: key))
                return owner
            }
            // An account without a fixed id gets its id when the image is assembled; 0 marks "look it up".
            owner.id = declared ?? 0
            return owner
        }
        var users: [String: UInt32?] = [:], groups: [String: UInt32?] = [:]
        for u in accounts.users { users[u.name] = u.uid; if groups[u.primaryGroup] == nil { groups[u.primaryGroup] = .some(nil) } }
        for g in accounts.groups { groups[g.name] = g.gid }
        return ImageSpec.FileCopy(source: source, destination: r.string("dest")!, mode: r.string("mode").flatMap { UInt32($0, radix: 8) },
                                  owner: owner("owner", ids: users, kind: "user"), group: owner("group", ids: groups, kind: "group"),
                                  origin: origin)
    }

    func readImageConfig(_ r: ObjectReader) -> ContainerConfig {
        var c = ContainerConfig()
        if r.has("entrypoint") { c.entrypoint = r.strings("entrypoint").map { expandPackage($0.value) } }
        if r.has("cmd") { c.cmd = r.strings("cmd").map { expandPackage($0.value) } }
        c.env = orderedMap(r.node("env")).map { "\($0.0)=\($0.1)" }
        c.workingDir = r.string("workdir")
        c.user = r.string("user")
        c.exposedPorts = r.strings("ports").map { $0.value.contains("/") ? $0.value : "\($0.value)/tcp" }
        c.volumes = r.strings("volumes").map(\.value)
        c.labels = stringMap(r.node("labels"))
        c.stopSignal = r.string("stop-signal")
        if r.has("healthcheck") {
            let h = r.object("healthcheck")
            c.healthcheck = Healthcheck(
                test: h.strings("test").map(\.value), intervalSeconds: h.string("interval").flatMap(Self.seconds),
                timeoutSeconds: h.string("timeout").flatMap(Self.seconds), startPeriodSeconds: h.string("start-period").flatMap(Self.seconds),
                retries: h.integer("retries").map { Int($0) })
        }
        return c
    }

    /// `30s` → 30; `500ms` rounds up to whole seconds (the image config's unit is nanoseconds, kept in seconds here).
    static func seconds(_ text: String) -> Int64? {
        for (suffix, factor) in [("ms", 0), ("s", 1), ("m", 60), ("h", 3600)] where text.hasSuffix(suffix) {
            guard let n = Int64(text.dropLast(suffix.count)) else { return nil }
            return factor == 0 ? (n + 999) / 1000 : n * Int64(factor)
        }
        return nil
    }

    func orderedMap(_ node: Node?) -> [(String, String)] {
        guard let map = node?.mapping else { return [] }
        return map.map { (($0.key.scalar?.string ?? ""), expandPackage($0.value.scalar?.string ?? "")) }
    }

    func stringMap(_ node: Node?) -> [String: String] {
        Dictionary(orderedMap(node), uniquingKeysWith: { _, last in last })
    }
}
