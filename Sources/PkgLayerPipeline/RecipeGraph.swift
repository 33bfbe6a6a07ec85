import Foundation
import PkgLayerCore
import PkgLayerRecipe

/// Orders recipes so that every build dependency (`build.requires.recipes`) comes before the recipes
/// that need it. A cycle is an error that names it.
public enum RecipeGraph {
    /// `context`: the build context every recipe must stay in (nil: each recipe's own directory).
    static func order(root: String, context: String? = nil) throws -> [Recipe] {
        try order(roots: [root], context: context)
    }

    /// Every recipe of `roots` and what they build against, each once, dependencies first (roots in
    /// the order given, ties by that order).
    static func order(roots: [String], context: String? = nil) throws -> [Recipe] {
        var loaded: [String: Recipe] = [:]
        var order: [Recipe] = []
        var state: [String: Bool] = [:]   // false: in progress, true: done
        var stack: [String] = []

        func visit(_ path: String) throws {
            let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
            let key = (absolute as NSString).standardizingPath
            if state[key] == true { return }
            if state[key] == false {
                let start = stack.firstIndex(of: key) ?? 0
                let cycle = (stack[start...] + [key]).map { ($0 as NSString).lastPathComponent }
                throw PkgLayerError(.invalidInput, "build dependencies form a cycle: \(cycle.joined(separator: " -> ")); remove one of these requires.recipes entries",
                                    at: path)
            }
            state[key] = false
            stack.append(key)
            let recipe = try loaded[key] ?? Recipe.load(path: path, context: context)
            loaded[key] = recipe
            for dependency in recipe.build.requires.recipes { try visit(dependency.path) }
            stack.removeLast()
            state[key] = true
            order.append(recipe)
        }
        for root in roots { try visit(root) }
        return order
    }
}

extension RecipeGraph {
    /// The recipes a command line names: files as given, and for a directory every `*.yml`/`*.yaml`
    /// in it that is a recipe (has a top-level `package:`), sorted by name.
    public static func expand(_ arguments: [String]) throws -> [String] {
        var paths: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
                throw PkgLayerError(.usage, "no such recipe file or directory", at: argument)
            }
            guard isDirectory.boolValue else { paths.append(argument); continue }
            let names = try FileManager.default.contentsOfDirectory(atPath: argument).sorted()
            for name in names where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
                let path = (argument as NSString).appendingPathComponent(name)
                guard let text = try? String(contentsOfFile: path, encoding: .utf8),
                      text.split(separator: "\n").contains(where: { $0.hasPrefix("package:") }) else { continue }
                paths.append(path)
            }
        }
        guard !paths.isEmpty else { throw PkgLayerError(.usage, "names no recipe (a directory holds no *.yml with a package: section)", at: arguments.joined(separator: " ")) }
        return paths
    }
}
