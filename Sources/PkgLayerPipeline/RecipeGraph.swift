import Foundation
import PkgLayerCore
import PkgLayerRecipe

/// Orders recipes so that every build dependency (`build.requires.recipes`) comes before the recipes
/// that need it. A cycle is an error that names it.
enum RecipeGraph {
    /// `context`: the build context every recipe must stay in (nil: each recipe's own directory).
    static func order(root: String, context: String? = nil) throws -> [Recipe] {
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
        try visit(root)
        return order
    }
}
