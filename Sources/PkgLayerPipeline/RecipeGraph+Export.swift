import Foundation
import PkgLayerBuild
import PkgLayerCore
import PkgLayerRecipe
import PkgLayerRegistry

/// `pkglayer graph`: the recipe DAG for a CI engine to run, with no scheduler of pkglayer's own.
public struct GraphExport {
    public struct Node: Sendable {
        public var id: String
        public var file: String
        public var name: String
        public var version: String
        public var cacheKey: String
        /// Whether the remote cache holds this key (nil: no cache was asked).
        public var cached: Bool?
        public var needs: [String]
    }

    public var nodes: [Node]
    /// The build command each job runs, before the recipe's file (`pkglayer build`).
    public var command: String
    /// `--cache REF` added to every job's command.
    public var cacheReference: String?
    /// Commands every job runs first (`--setup`): install pkglayer and its dependencies.
    public var setup: [String] = []

    /// The cache registry's host, for the login step.
    var cacheHost: String? { cacheReference.flatMap { $0.split(separator: "/").first.map(String.init) } }

    /// The graph of `roots` (files or directories): one node per recipe, edges from build dependencies.
    /// With `remote`, each node says whether its key is in the remote cache.
    public static func make(roots: [String], builder: RecipeBuilder, remote: RemoteCacheOptions?, command: String = "pkglayer build",
                            relativeTo base: String = FileManager.default.currentDirectoryPath) throws -> GraphExport {
        let order = try RecipeGraph.order(roots: try RecipeGraph.expand(roots), context: builder.options.context)
        let keys = try builder.cacheKeys(for: order).mapValues(\.key)
        func id(_ recipe: Recipe) -> String {
            recipe.package.name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }.reduce("") { $0 + String($1) }
        }
        func relative(_ path: String) -> String {
            let standard = (path as NSString).standardizingPath
            let prefix = (base as NSString).standardizingPath + "/"
            return standard.hasPrefix(prefix) ? String(standard.dropFirst(prefix.count)) : standard
        }
        let byPath = Dictionary(order.map { (($0.absolutePath as NSString).standardizingPath, $0) }, uniquingKeysWith: { a, _ in a })
        var nodes: [Node] = []
        for recipe in order {
            let key = keys[(recipe.absolutePath as NSString).standardizingPath] ?? ""
            var cached: Bool?
            if let remote { cached = (try? RegistryArtifacts.exists(remote.reference(for: key), options: remote.registry)) ?? false }
            let needs = recipe.build.requires.recipes.compactMap { byPath[($0.path as NSString).standardizingPath].map(id) }
            nodes.append(Node(id: id(recipe), file: relative(recipe.absolutePath), name: recipe.package.name,
                              version: recipe.package.fullVersion, cacheKey: key, cached: cached, needs: needs))
        }
        return GraphExport(nodes: nodes, command: command, cacheReference: remote.map { "\($0.repository.registry)/\($0.repository.repository)" })
    }

    /// Nodes left to build: those whose key is not in the remote cache, and everything that needs them.
    public func pruned() -> GraphExport {
        var keep = Set(nodes.filter { $0.cached != true }.map(\.id))
        var changed = true
        while changed {
            changed = false
            for node in nodes where !keep.contains(node.id) && node.needs.contains(where: keep.contains) {
                keep.insert(node.id); changed = true
            }
        }
        var copy = self
        copy.nodes = nodes.filter { keep.contains($0.id) }.map { node in
            var n = node; n.needs = node.needs.filter(keep.contains); return n
        }
        return copy
    }

    func jobCommand(_ node: Node, cacheMode: String? = nil) -> String {
        command + " " + node.file + (cacheReference.map { " --cache \($0)" + (cacheMode.map { " --cache-mode \($0)" } ?? "") } ?? "")
    }

    /// The login line, for a job whose secrets may be missing: a pull request from a fork gets none, and
    /// its build then reads the cache anonymously (or builds uncached) instead of failing at the login.
    func loginCommand(host: String) -> String {
        "if [ -n \"$PKGLAYER_CACHE_PASSWORD\" ]; then echo \"$PKGLAYER_CACHE_PASSWORD\" | pkglayer login \(host) -u \"$PKGLAYER_CACHE_USER\" --password-stdin; "
            + "else echo 'no cache credentials (a pull request from a fork?): the cache is read anonymously, if at all'; fi"
    }

    public var json: String {
        let nodesJSON = JSONValue.array(nodes.map { node in
            .object([("id", .string(node.id)), ("file", .string(node.file)), ("name", .string(node.name)), ("version", .string(node.version)),
                     ("cacheKey", .string(node.cacheKey)), ("cached", node.cached.map(JSONValue.bool)),
                     ("needs", .array(node.needs.map(JSONValue.string)))])
        })
        let edges = JSONValue.array(nodes.flatMap { node in node.needs.map { JSONValue.object([("from", .string($0)), ("to", .string(node.id))]) } })
        return JSONValue.object([("nodes", nodesJSON), ("edges", edges)]).pretty
    }

    public var dot: String {
        var text = "digraph recipes {\n  rankdir=LR;\n"
        for node in nodes {
            text += "  \"\(node.id)\" [label=\"\(node.name) \(node.version)\\n\(node.file)\"\(node.cached == true ? ", style=dashed" : "")];\n"
        }
        for node in nodes { for need in node.needs { text += "  \"\(need)\" -> \"\(node.id)\";\n" } }
        return text + "}\n"
    }

    /// A GitHub Actions workflow: one job per recipe, `needs:` for each build dependency.
    public var githubActions: String {
        var text = """
            # Generated by `pkglayer graph --format github-actions`: one job per recipe, `needs:` for each
            # build dependency; every job shares work through the registry cache.
            # Pull requests read the cache and never write it (anyone can open one; an entry they pushed would be
            # taken by the main branch's runners); pushes read and write it.
            name: pkglayer
            on:
              push:
              pull_request:
            permissions:
              contents: read
            jobs:

            """
        for node in nodes {
            text += "  \(node.id):\n"
            text += "    name: \(yamlQuoted("\(node.name) \(node.version)"))\n"
            text += "    runs-on: ubuntu-latest\n"
            if !node.needs.isEmpty { text += "    needs: [\(node.needs.joined(separator: ", "))]\n" }
            text += "    steps:\n"
            text += "      - uses: actions/checkout@v4\n"
            for command in setup { text += "      - run: \(yamlQuoted(command))\n" }
            if let host = cacheHost {
                text += "      - name: log in to the build cache\n"
                text += "        run: \(yamlQuoted(loginCommand(host: host)))\n"
                text += "        env:\n"
                text += "          PKGLAYER_CACHE_USER: ${{ secrets.PKGLAYER_CACHE_USER }}\n"
                text += "          PKGLAYER_CACHE_PASSWORD: ${{ secrets.PKGLAYER_CACHE_PASSWORD }}\n"
            }
            text += "      - name: build \(node.file)\n"
            text += "        run: \(yamlQuoted(jobCommand(node, cacheMode: "${{ github.event_name == 'pull_request' && 'read' || 'readwrite' }}")))\n"
        }
        return text
    }

    /// A GitLab CI pipeline: one job per recipe, `needs:` for each build dependency.
    public var gitlabCI: String {
        var text = "# Generated by `pkglayer graph --format gitlab-ci`: one job per recipe, `needs:` for each build dependency.\n"
        text += "stages: [build]\n"
        for node in nodes {
            text += "\n\(node.id):\n"
            text += "  stage: build\n"
            text += "  needs: [\(node.needs.joined(separator: ", "))]\n"
            if !setup.isEmpty || cacheHost != nil {
                text += "  before_script:\n"
                for command in setup { text += "    - \(yamlQuoted(command))\n" }
                if let host = cacheHost {
                    text += "    - \(yamlQuoted(loginCommand(host: host)))\n"
                }
            }
            text += "  script:\n"
            if cacheReference != nil {
                // Merge requests read the cache and never write it.
                text += "    - \(yamlQuoted("if [ \"$CI_PIPELINE_SOURCE\" = merge_request_event ]; then PKGLAYER_CACHE_MODE=read; else PKGLAYER_CACHE_MODE=readwrite; fi; " + jobCommand(node, cacheMode: "\"$PKGLAYER_CACHE_MODE\"")))\n"
            } else {
                text += "    - \(yamlQuoted(jobCommand(node)))\n"
            }
        }
        return text
    }

    private func yamlQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

extension RecipeBuilder {
    /// Every recipe's cache key and what it hashes, by absolute path, computed without building.
    func cacheKeys(for order: [Recipe]) throws -> [String: (key: String, text: String)] {
        var keys: [String: (key: String, text: String)] = [:]
        for recipe in order {
            let toolchain = try HostRequirements.check(commands: recipe.build.requires.commands, packages: recipe.build.requires.packages)
            let dependencies = try recipe.build.requires.recipes.map { ref -> (name: String, key: String) in
                guard let key = keys[(ref.path as NSString).standardizingPath]?.key else {
                    throw PkgLayerError(.invalidInput, "build dependency '\(ref.name)' has no key yet", at: ref.location.description)
                }
                return (try Recipe.load(path: ref.path, context: options.context).package.name, key)
            }
            let text = try cacheKeyText(recipe: recipe, toolchain: toolchain, dependencies: dependencies)
            keys[(recipe.absolutePath as NSString).standardizingPath] = (Digest.sha256(Array(text.utf8)).hex, text)
        }
        return keys
    }
}
