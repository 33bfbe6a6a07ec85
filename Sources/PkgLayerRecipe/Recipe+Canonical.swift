import Foundation
import PkgLayerCore

extension Recipe {
    /// The recipe in one stable spelling, for the output-cache key: JSON with sorted keys and no
    /// insignificant whitespace, defaults filled in, no positions and no absolute paths (so the same
    /// recipe in another directory gives the same text). Script files appear as their content, and
    /// local sources and patches as their path relative to the recipe plus the sha256 of their
    /// content (a tree digest for a directory), so editing a patch changes the key.
    ///
    /// Reordering keys, reformatting or commenting the YAML does not change it; changing any value does.
    public func canonicalJSON() throws -> String {
        try canonicalValue().canonical
    }

    /// sha256 (lowercase hex) of ``canonicalJSON()``.
    public func canonicalDigest() throws -> String {
        Digest.sha256(Data(try canonicalJSON().utf8)).hex
    }

    func canonicalValue() throws -> JSONValue {
        .object([
            ("schema", .string("pkglayer-recipe/1")),
            ("package", packageValue()),
            ("sources", .array(try sources.map(sourceValue))),
            ("patches", .array(try patches.map { p in
                .object([("path", .string(p.relativePath)), ("strip", .int(Int64(p.strip))),
                         ("sha256", .string(try Self.fileDigest(p.path, at: p.location)))])
            })),
            ("build", buildValue()),
            ("subpackages", .array(subpackages.map(subpackageValue))),
        ])
    }

    private func packageValue() -> JSONValue {
        let p = package
        return .object([
            ("name", .string(p.name)), ("version", .string(p.version)), ("release", .string(p.release)),
            ("epoch", p.epoch.map { .int(Int64($0)) }),
            ("summary", .string(p.summary)), ("description", p.description.map(JSONValue.string)),
            ("license", p.license.map(JSONValue.string)), ("url", p.url.map(JSONValue.string)),
            ("maintainer", p.maintainer.map(JSONValue.string)), ("vendor", p.vendor.map(JSONValue.string)),
            ("arch", Self.archValue(p.arch)), ("section", p.section.map(JSONValue.string)),
            ("priority", .string(p.priority)),
            ("source-date-epoch", p.sourceDateEpoch.map(JSONValue.int)),
            ("dependencies", Self.dependenciesValue(p.dependencies)),
            ("scripts", Self.scriptsValue(p.scripts)),
            ("conffiles", .strings(p.conffiles)),
            ("attributes", .array(p.attributes.map { a in
                .object([("path", .string(a.glob.pattern)),
                         ("mode", a.mode.map { .string(String($0, radix: 8)) }),
                         ("owner", a.user.map { .string("\($0.name):\($0.id)") }),
                         ("group", a.group.map { .string("\($0.name):\($0.id)") })])
            })),
            ("accounts", .object([
                ("groups", .array(p.accounts.groups.map { g in
                    .object([("name", .string(g.name)), ("gid", g.gid.map { .int(Int64($0)) }), ("system", .bool(g.system))])
                })),
                ("users", .array(p.accounts.users.map { u in
                    .object([("name", .string(u.name)), ("uid", u.uid.map { .int(Int64($0)) }), ("group", u.group.map(JSONValue.string)),
                             ("groups", .strings(u.groups)), ("home", .string(u.home)), ("shell", .string(u.shell)),
                             ("system", .bool(u.system)), ("comment", u.comment.map(JSONValue.string))])
                })),
            ])),
            // Only when present, so recipes without them keep their cache keys.
            ("changelog", p.changelog.isEmpty ? nil : .array(p.changelog.map { c in
                .object([("date", .int(c.date)), ("author", .string(c.author)), ("version", c.version.map(JSONValue.string)),
                         ("changes", .string(c.text))])
            })),
            ("services", p.services.isEmpty ? nil : .array(p.services.map { s in
                .object([("unit", .string(s.relativeUnit)), ("sha256", .string((try? Self.fileDigest(s.unit, at: s.location)) ?? "unreadable")),
                         ("enable", .bool(s.enable)), ("start", .bool(s.start)), ("restart-after-upgrade", .bool(s.restartAfterUpgrade))])
            })),
        ])
    }

    private func sourceValue(_ s: Source) throws -> JSONValue {
        var pairs: [(String, JSONValue?)] = [
            ("strip-components", s.stripComponents.map { .int(Int64($0)) }),
            ("extract-to", .string(s.extractTo)),
            ("sha256", s.sha256.map(JSONValue.string)),
        ]
        switch s.origin {
        case .url(let url):
            pairs.append(("url", .string(url)))
        case .local(let path, let relative):
            pairs.append(("path", .string(relative)))
            pairs.append(("content", .string(try Self.contentDigest(path, at: s.location))))
        }
        return .object(pairs)
    }

    private func buildValue() -> JSONValue {
        var env: [String: JSONValue] = [:]
        for v in build.environment { env[v.name] = .string(v.value) }
        return .object([
            ("network", .bool(build.network)),
            ("jobs", build.jobs.map { .int(Int64($0)) } ?? .string("auto")),
            ("environment", .object(env)),
            ("requires", .object([
                ("commands", .strings(build.requires.commands)),
                ("packages", .strings(build.requires.packages)),
                ("recipes", .strings(build.requires.recipes.map(\.name))),
            ])),
            ("steps", .array(build.steps.map { .object([("name", .string($0.name)), ("run", .string($0.run))]) })),
        ])
    }

    private func subpackageValue(_ s: Subpackage) -> JSONValue {
        .object([
            ("name", .string(s.name)), ("summary", s.summary.map(JSONValue.string)),
            ("description", s.description.map(JSONValue.string)), ("license", s.license.map(JSONValue.string)),
            ("arch", s.arch.map(Self.archValue)), ("section", s.section.map(JSONValue.string)),
            ("files", .strings(s.files)),
            ("dependencies", Self.dependenciesValue(s.dependencies)),
            ("scripts", Self.scriptsValue(s.scripts)),
        ])
    }

    private static func archValue(_ a: ArchitectureChoice) -> JSONValue {
        switch a {
        case .native: return .string("native")
        case .fixed(let arch): return .string(arch.rpm)
        }
    }

    private static func dependenciesValue(_ d: Dependencies) -> JSONValue {
        func list(_ l: [Located<String>]) -> JSONValue { .strings(l.map(\.value)) }
        return .object([
            ("runtime", list(d.runtime)), ("rpm", list(d.rpm)), ("deb", list(d.deb)), ("pre-depends", list(d.preDepends)),
            ("provides", list(d.provides)), ("conflicts", list(d.conflicts)), ("replaces", list(d.replaces)),
            ("breaks", list(d.breaks)), ("obsoletes", list(d.obsoletes)), ("recommends", list(d.recommends)),
            ("suggests", list(d.suggests)), ("shlibs", .bool(d.sharedLibraries)),
        ])
    }

    private static func scriptsValue(_ scripts: Scripts) -> JSONValue {
        var out: [String: JSONValue] = [:]
        for (key, hook) in RecipeDecoder.scriptKeys { if let s = scripts[hook] { out[key] = .string(s.text) } }
        return .object(out)
    }

    static func nodeValue(_ node: RecipeNode) -> JSONValue {
        switch node {
        case .scalar(let s, _): return .string(s)
        case .null: return .null
        case .sequence(let items, _): return .array(items.map(nodeValue))
        case .mapping(let entries, _):
            var out: [String: JSONValue] = [:]
            for e in entries { out[e.key] = nodeValue(e.value) }
            return .object(out)
        }
    }

    // MARK: Content digests

    static func fileDigest(_ path: String, at location: SourceLocation) throws -> String {
        do {
            return try FileDigest.compute(path: path, algorithms: [.sha256]).finalizeSHA256().hexString
        } catch {
            throw PkgLayerError(.io, "cannot read '\(path)' to compute the cache key: \(error)", at: location.description)
        }
    }

    /// A file's sha256, or for a directory the sha256 of a sorted listing of every entry below it
    /// (relative path, type, executable bit, and content digest or link target). Ownership, times and
    /// other permission bits are left out: they differ between checkouts without changing the build.
    static func contentDigest(_ path: String, at location: SourceLocation) throws -> String {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            throw PkgLayerError(.io, "cannot read local source '\(path)'", at: location.description)
        }
        if (st.st_mode & S_IFMT) != S_IFDIR { return try fileDigest(path, at: location) }
        var listing = ""
        func walk(_ dir: String, _ prefix: String) throws {
            let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted {
                Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8))
            }
            for name in names {
                let full = (dir as NSString).appendingPathComponent(name)
                let rel = prefix.isEmpty ? name : prefix + "/" + name
                var s = stat()
                guard lstat(full, &s) == 0 else { throw PkgLayerError.posix("lstat", path: full) }
                switch s.st_mode & S_IFMT {
                case S_IFDIR:
                    listing += "d \(rel)\n"
                    try walk(full, rel)
                case S_IFLNK:
                    listing += "l \(rel) -> \(try FileManager.default.destinationOfSymbolicLink(atPath: full))\n"
                case S_IFREG:
                    let exec = (s.st_mode & 0o111) != 0 ? "x" : "-"
                    listing += "f\(exec) \(rel) \(try fileDigest(full, at: location))\n"
                default:
                    throw PkgLayerError(.unsupportedFileType, "'\(rel)' in a local source is not a file, directory or symlink",
                                        at: location.description)
                }
            }
        }
        try walk(path, "")
        return "tree:" + Digest.sha256(Data(listing.utf8)).hex
    }
}
