import Foundation
import PkgLayerCore
import Yams

extension Recipe {
    /// Reads and validates the recipe at `path`. Relative paths inside it are resolved against its
    /// directory; script files are read now, local sources and patches must exist.
    ///
    /// Every problem found is reported in one `.invalidInput` error located at the first one
    /// (`recipes/nginx.yml:12:5`), with the others on the following lines, each `file:line:column: message`.
    ///
    /// `context`: the directory every file the recipe names must be in (default: the recipe's own
    /// directory); see `BuildContext`.
    public static func load(path: String, context: String? = nil) throws -> Recipe {
        try RecipeDecoder.checkFileSize(path, what: "the recipe")   // docs/limits.md
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
            throw PkgLayerError(.io, exists && isDir.boolValue ? "is a directory, not a recipe file" : "cannot read the recipe: no such file",
                                at: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw PkgLayerError(.invalidInput, "the recipe is not valid UTF-8 text", at: path)
        }
        let absolute = path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
        let directory = ((absolute as NSString).deletingLastPathComponent as NSString).standardizingPath
        try BuildContext.check(file: absolute, isInside: context, flagged: path)
        return try parse(yaml: text, file: path, directory: directory, context: context)
    }

    /// Reads a recipe from text. `file` is the name used in error locations; `directory` (absolute)
    /// is where relative paths start.
    public static func parse(yaml: String, file: String, directory: String, context: String? = nil) throws -> Recipe {
        try RecipeDecoder.checkShape(yaml, file: file)   // alias expansion and depth, before Yams walks the tree
        var decoder = RecipeDecoder(file: file, directory: directory, context: context)
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw PkgLayerError(.invalidInput, "the recipe is empty; it needs at least a 'package:' section with name, version and summary",
                                    at: "\(file):1:1")
            }
            root = node
        } catch let error as YamlError {
            throw decoder.translate(error)
        }
        decoder.collectPackageVariables(root: root)
        decoder.validate(root, as: .object(RecipeSchema.recipe), path: "")
        if let error = decoder.error() { throw error }
        let recipe = decoder.readRecipe(root)
        if let error = decoder.error() { throw error }
        return recipe!
    }
}

// MARK: - Pass 2: reading the validated tree

/// Reads one validated mapping. Only keys in the object's field table can be read (asking for
/// another is a programming error), and absent keys yield the table's default: the table stays the
/// one source of truth for keys and defaults.
struct ObjectReader {
    let type: ObjectType
    let mapping: Node.Mapping?
    let path: String
    /// Where the mapping is, or where it would have been.
    let location: SourceLocation
    let file: String

    func field(_ key: String) -> Field {
        guard let field = type[key] else { preconditionFailure("'\(key)' is not in the field table of \(type.name)") }
        #if DEBUG
        FieldUsage.record(type.name, key)
        #endif
        return field
    }

    /// The node under `key`, nil when absent or null.
    func node(_ key: String) -> Node? {
        _ = field(key)
        guard let node = mapping?[key], !RecipeDecoder.isNull(node) else { return nil }
        return node
    }

    func has(_ key: String) -> Bool { node(key) != nil }

    func loc(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? location.line, column: node.mark?.column ?? location.column)
    }

    func location(of key: String) -> SourceLocation { node(key).map(loc) ?? location }

    func path(_ key: String) -> String { RecipeDecoder.join(path, key) }

    /// The text under `key`, or the table's default.
    func string(_ key: String) -> String? {
        if let node = node(key) { return node.scalar?.string }
        return field(key).defaultValue
    }

    func located(_ key: String) -> Located<String>? {
        guard let text = string(key) else { return nil }
        return Located(text, at: location(of: key))
    }

    func bool(_ key: String) -> Bool { string(key) == "true" }

    func integer(_ key: String) -> Int64? { string(key).flatMap { Int64($0) } }

    func items(_ key: String) -> [Node] { node(key)?.sequence.map(Array.init) ?? [] }

    func strings(_ key: String) -> [Located<String>] {
        items(key).map { Located($0.scalar?.string ?? "", at: loc($0)) }
    }

    func object(_ key: String) -> ObjectReader {
        guard case .object(let t) = field(key).type else { preconditionFailure("'\(key)' is not a mapping") }
        let node = node(key)
        return ObjectReader(type: t, mapping: node?.mapping, path: path(key), location: node.map(loc) ?? location, file: file)
    }

    func objects(_ key: String) -> [ObjectReader] {
        guard case .list(.object(let t), _) = field(key).type else { preconditionFailure("'\(key)' is not a list of mappings") }
        return items(key).enumerated().map { i, node in
            ObjectReader(type: t, mapping: node.mapping, path: "\(path(key))[\(i)]", location: loc(node), file: file)
        }
    }

    func reader(for node: Node, as type: ObjectType, path: String) -> ObjectReader {
        ObjectReader(type: type, mapping: node.mapping, path: path, location: loc(node), file: file)
    }
}

#if DEBUG
/// Which table keys the reader has asked for, so a test can check that every key in the table is
/// actually read into the model (debug builds only).
enum FieldUsage {
    // nonisolated(unsafe): a debug-build check, touched only under its lock.
    nonisolated(unsafe) private static var seen = Set<String>()
    private static let lock = NSLock()

    static func record(_ object: String, _ key: String) {
        lock.lock(); defer { lock.unlock() }
        seen.insert("\(object).\(key)")
    }

    static var recorded: Set<String> {
        lock.lock(); defer { lock.unlock() }
        return seen
    }
}
#endif

extension RecipeDecoder {
    func expandPackage(_ text: String) -> String {
        (try? Interpolation.expand(text, variables: packageVariables, at: nil)) ?? text
    }

    func absolute(_ path: String) -> String {
        let joined = path.hasPrefix("/") ? path : (directory as NSString).appendingPathComponent(path)
        return (joined as NSString).standardizingPath
    }

    mutating func readRecipe(_ root: Node) -> Recipe? {
        let top = ObjectReader(type: RecipeSchema.recipe, mapping: root.mapping, path: "", location: location(of: root), file: file)
        let pkg = readPackage(top.object("package"))
        let sources = top.objects("sources").map { readSource($0) }
        let patches = readPatches(top)
        let build = readBuild(top.object("build"))
        var subpackages: [Recipe.Subpackage] = []
        var names = [pkg.name: top.object("package").location(of: "name")]
        for sub in top.objects("subpackages") {
            let s = readSubpackage(sub, accounts: pkg.accounts)
            if let first = names[s.name] {
                report("subpackage name '\(s.name)' is already used at \(first.line):\(first.column); every package needs its own name",
                       at: sub.location(of: "name"))
            }
            names[s.name] = sub.location(of: "name")
            subpackages.append(s)
        }
        let image = top.has("image") ? readImage(top.object("image"), defaultName: pkg.name, packageAccounts: pkg.accounts) : nil
        let absolutePath = file.hasPrefix("/") ? (file as NSString).standardizingPath
            : (directory as NSString).appendingPathComponent((file as NSString).lastPathComponent)
        return Recipe(file: file, directory: directory, absolutePath: absolutePath, package: pkg, sources: sources, patches: patches, build: build,
                      subpackages: subpackages, image: image)
    }

    mutating func readPackage(_ r: ObjectReader) -> Recipe.Package {
        let accounts = readAccounts(r.object("accounts"))
        return Recipe.Package(
            name: expandPackage(r.string("name")!),
            version: r.string("version")!,
            release: r.string("release")!,
            epoch: r.integer("epoch").map { UInt32($0) },
            summary: expandPackage(r.string("summary")!),
            description: r.string("description").map(expandPackage),
            license: r.string("license"),
            url: r.string("url"),
            maintainer: r.string("maintainer"),
            vendor: r.string("vendor"),
            arch: Recipe.ArchitectureChoice(parsing: r.string("arch")!),
            section: r.string("section"),
            priority: r.string("priority")!,
            sourceDateEpoch: r.string("source-date-epoch").flatMap(RecipeDate.seconds(from:)),
            dependencies: readDependencies(r.object("dependencies")),
            scripts: readScripts(r.object("scripts")),
            conffiles: r.strings("conffiles").map(\.value),
            attributes: r.objects("attributes").map { readAttribute($0, accounts: accounts) },
            accounts: accounts,
            changelog: r.objects("changelog").map(readChangelogEntry),
            services: r.objects("services").map { readService($0) })
    }

    func readChangelogEntry(_ r: ObjectReader) -> ChangelogEntry {
        let changes: String
        if let node = r.node("changes"), let items = node.sequence {
            changes = items.compactMap { $0.scalar?.string }.joined(separator: "\n")
        } else {
            changes = r.string("changes") ?? ""
        }
        return ChangelogEntry(date: r.string("date").flatMap(RecipeDate.seconds(from:)) ?? 0, author: r.string("author")!,
                              version: r.string("version").map(expandPackage), text: changes)
    }

    mutating func readService(_ r: ObjectReader) -> Recipe.Service {
        let relative = expandPackage(r.string("unit")!)
        let at = r.location(of: "unit")
        let path = contextPath(relative, field: r.path("unit"), at: at)
        var isDir: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) || isDir.boolValue {
            report("\(r.path("unit")): '\(relative)' is not a file (looked for \(path)); unit files are relative to the recipe's directory", at: at)
        } else if !(path as NSString).lastPathComponent.hasSuffix(".service") {
            report("\(r.path("unit")): '\(relative)' is not a systemd service unit (its name must end in .service)", at: at)
        }
        return Recipe.Service(unit: path, relativeUnit: relative, enable: r.bool("enable"), start: r.bool("start"),
                              restartAfterUpgrade: r.bool("restart-after-upgrade"), location: at)
    }

    func readDependencies(_ r: ObjectReader) -> Recipe.Dependencies {
        var d = Recipe.Dependencies()
        d.runtime = r.strings("runtime")
        d.rpm = r.strings("rpm")
        d.deb = r.strings("deb")
        d.preDepends = r.strings("pre-depends")
        d.provides = r.strings("provides")
        d.conflicts = r.strings("conflicts")
        d.replaces = r.strings("replaces")
        d.breaks = r.strings("breaks")
        d.obsoletes = r.strings("obsoletes")
        d.recommends = r.strings("recommends")
        d.suggests = r.strings("suggests")
        d.sharedLibraries = r.bool("shlibs")
        return d
    }

    static let scriptKeys: [(String, ScriptHook)] = [
        ("pre-install", .beforeInstall), ("post-install", .afterInstall),
        ("pre-remove", .beforeRemove), ("post-remove", .afterRemove),
        ("pre-upgrade", .beforeUpgrade), ("post-upgrade", .afterUpgrade),
        ("pre-transaction", .beforeTransaction), ("post-transaction", .afterTransaction),
    ]

    mutating func readScripts(_ r: ObjectReader) -> Recipe.Scripts {
        var scripts: Recipe.Scripts = [:]
        for (key, hook) in Self.scriptKeys {
            guard let node = r.node(key) else { continue }
            if case .scalar(let s) = node {
                scripts[hook] = Recipe.Script(text: s.string, file: nil, location: r.loc(node))
                continue
            }
            let fileReader = r.reader(for: node, as: RecipeSchema.scriptFile, path: r.path(key))
            let relative = fileReader.string("file")!
            let at = fileReader.location(of: "file")
            let path = contextPath(relative, field: fileReader.path("file"), at: at)
            do {
                try RecipeDecoder.checkFileSize(path, what: "the script file")
            } catch let error as PkgLayerError {
                report("\(fileReader.path("file")): \(error.message)", at: at)
                continue
            } catch {}
            guard let data = FileManager.default.contents(atPath: path), !isDirectory(path) else {
                report("\(fileReader.path("file")): cannot read '\(relative)' (looked for \(path)); paths are relative to the recipe's directory",
                       at: at)
                continue
            }
            guard let text = String(data: data, encoding: .utf8) else {
                report("\(fileReader.path("file")): '\(relative)' is not UTF-8 text", at: at)
                continue
            }
            scripts[hook] = Recipe.Script(text: text, file: path, location: at)
        }
        return scripts
    }

    func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }

    func readAttribute(_ r: ObjectReader, accounts: Recipe.Accounts) -> AttributeRule {
        func owner(_ key: String, ids: [String: UInt32]) -> Owner? {
            guard let text = r.string(key), var owner = try? Owner(parsing: text, field: r.path(key)) else { return nil }
            if !text.contains(":"), UInt32(text) == nil, let id = ids[text] { owner.id = id }
            return owner
        }
        var userIDs: [String: UInt32] = [:], groupIDs: [String: UInt32] = [:]
        for u in accounts.users { if let uid = u.uid { userIDs[u.name] = uid } }
        for g in accounts.groups { if let gid = g.gid { groupIDs[g.name] = gid } }
        return AttributeRule(glob: Glob(r.string("path")!),
                             mode: r.string("mode").flatMap { UInt32($0, radix: 8) },
                             user: owner("owner", ids: userIDs),
                             group: owner("group", ids: groupIDs))
    }

    func readAccounts(_ r: ObjectReader) -> Recipe.Accounts {
        var a = Recipe.Accounts()
        a.groups = r.objects("groups").map { g in
            Recipe.Accounts.Group(name: g.string("name")!, gid: g.integer("gid").map { UInt32(clamping: $0) }, system: g.bool("system"))
        }
        a.users = r.objects("users").map { u in
            Recipe.Accounts.User(name: u.string("name")!, uid: u.integer("uid").map { UInt32(clamping: $0) }, group: u.string("group"),
                                 groups: u.strings("groups").map(\.value), home: u.string("home")!, shell: u.string("shell")!,
                                 system: u.bool("system"), comment: u.string("comment"))
        }
        return a
    }

    mutating func readSource(_ r: ObjectReader) -> Recipe.Source {
        let origin: Recipe.Source.Origin
        if let url = r.string("url") {
            origin = .url(expandPackage(url))
        } else {
            let relative = expandPackage(r.string("path")!)
            let path = contextPath(relative, field: r.path("path"), at: r.location(of: "path"))
            if !FileManager.default.fileExists(atPath: path) {
                report("\(r.path("path")): '\(relative)' does not exist (looked for \(path)); local sources are relative to the recipe's directory",
                       at: r.location(of: "path"))
            }
            origin = .local(path: path, relative: relative)
        }
        var extractTo = expandPackage(r.string("extract-to")!)
        if extractTo.isEmpty { extractTo = "." }
        return Recipe.Source(origin: origin, sha256: r.string("sha256"), stripComponents: r.integer("strip-components").map { Int($0) },
                             extractTo: extractTo, location: r.location)
    }

    mutating func readPatches(_ top: ObjectReader) -> [Recipe.Patch] {
        top.items("patches").enumerated().compactMap { i, node in
            let relative: String, strip: Int, at: SourceLocation
            if case .scalar(let s) = node {
                relative = expandPackage(s.string)
                strip = Int(RecipeSchema.patchObject["strip"]!.defaultValue!)!
                at = top.loc(node)
            } else {
                let r = top.reader(for: node, as: RecipeSchema.patchObject, path: "patches[\(i)]")
                relative = expandPackage(r.string("path")!)
                strip = Int(r.integer("strip")!)
                at = r.location(of: "path")
            }
            let path = contextPath(relative, field: "patches[\(i)]", at: at)
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDir) || isDir.boolValue {
                report("patches[\(i)]: '\(relative)' is not a file (looked for \(path)); patches are relative to the recipe's directory", at: at)
            }
            return Recipe.Patch(path: path, relativePath: relative, strip: strip, location: at)
        }
    }

    mutating func readBuild(_ r: ObjectReader) -> Recipe.Build {
        var b = Recipe.Build()
        b.network = r.bool("network")
        b.timeout = r.string("timeout").flatMap(Recipe.seconds(fromDuration:)) ?? Recipe.Build.defaultTimeout
        b.jobs = r.string("jobs").flatMap { Int($0) }
        if let env = r.node("environment")?.mapping {
            b.environment = env.map { key, value in
                Recipe.Build.EnvironmentVariable(name: key.scalar?.string ?? "", value: value.scalar?.string ?? "", location: r.loc(value))
            }
        }
        let req = r.object("requires")
        b.requires.commands = req.strings("commands").map(\.value)
        b.requires.packages = req.strings("packages").map(\.value)
        b.requires.recipes = req.strings("recipes").compactMap { ref in
            let name = ref.value
            let candidates = name.hasSuffix(".yml") || name.hasSuffix(".yaml") || name.contains("/")
                ? [absolute(name)] : [absolute(name + ".yml"), absolute(name + ".yaml")]
            guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) && !isDirectory($0) }) else {
                report("build.requires.recipes: cannot find recipe '\(name)' (looked for \(candidates.joined(separator: ", "))); name a recipe file relative to this one",
                       at: ref.location)
                return nil
            }
            return Recipe.RecipeReference(name: name, path: contextPath(found, field: "build.requires.recipes", at: ref.location),
                                          location: ref.location)
        }
        b.steps = r.objects("steps").enumerated().map { i, s in
            Recipe.Build.Step(name: s.string("name") ?? "step \(i + 1)", run: s.string("run")!, location: s.location(of: "run"),
                              timeout: s.string("timeout").flatMap(Recipe.seconds(fromDuration:)))
        }
        return b
    }

    mutating func readSubpackage(_ r: ObjectReader, accounts: Recipe.Accounts) -> Recipe.Subpackage {
        Recipe.Subpackage(
            name: expandPackage(r.string("name")!),
            summary: r.string("summary").map(expandPackage),
            description: r.string("description").map(expandPackage),
            license: r.string("license"),
            arch: r.string("arch").map(Recipe.ArchitectureChoice.init(parsing:)),
            section: r.string("section"),
            files: r.strings("files").map(\.value),
            dependencies: readDependencies(r.object("dependencies")),
            scripts: readScripts(r.object("scripts")),
            location: r.location)
    }

    func recipeNode(_ node: Node) -> RecipeNode {
        let at = location(of: node)
        if Self.isNull(node) { return .null(at) }
        switch node {
        case .scalar(let s): return .scalar(s.string, at)
        case .sequence(let seq): return .sequence(seq.map(recipeNode), at)
        case .mapping(let map):
            return .mapping(map.map { RecipeNode.MappingEntry(key: $0.key.scalar?.string ?? "\($0.key)", value: recipeNode($0.value)) }, at)
        case .alias: return .null(at)
        }
    }

    // MARK: YAML syntax errors

    func translate(_ error: YamlError) -> PkgLayerError {
        func at(_ mark: Mark) -> String { SourceLocation(file: file, line: mark.line, column: mark.column).description }
        switch error {
        case .scanner(let context, let problem, let mark, let yaml), .parser(let context, let problem, let mark, let yaml),
             .composer(let context, let problem, let mark, let yaml):
            var message = "YAML syntax error: \(problem)"
            if let context { message += " (\(context.text) at line \(context.mark.line), column \(context.mark.column))" }
            let lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
            let line = mark.line >= 1 && mark.line <= lines.count ? Array(lines[mark.line - 1].unicodeScalars) : []
            if problem.contains("tab") || (mark.column >= 1 && mark.column <= line.count && line[mark.column - 1] == "\t") {
                message += "; indent with spaces, not tabs"
            } else if problem.contains("another document") {
                message += "; a recipe is a single YAML document: remove the '---' line and what follows, or merge the two"
            }
            return PkgLayerError(.invalidInput, message, at: at(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return PkgLayerError(.invalidInput,
                                 "duplicate key \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in one mapping; each key may appear only once",
                                 at: at(context.mark))
        case .reader(let problem, let offset, _, _):
            return PkgLayerError(.invalidInput, "cannot read the recipe: \(problem)\(offset.map { " at byte \($0)" } ?? "")", at: file)
        default:
            return PkgLayerError(.invalidInput, "cannot read the recipe: \(error)", at: file)
        }
    }
}
