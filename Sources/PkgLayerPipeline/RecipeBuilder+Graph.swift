import Dispatch
import Foundation
import PkgLayerCore
import PkgLayerRecipe

/// How one recipe of a graph build ended.
public enum RecipeOutcome: Sendable {
    case done(RecipeBuilder.RecipeResult)
    case failed(String)
    /// Not built because a recipe it builds against failed.
    case skipped(because: String)
}

extension RecipeBuilder {
    /// Builds every recipe of `recipePaths` and what they build against, each once, dependencies
    /// first; `jobs` recipes whose dependencies are done build at the same time. A failure stops the
    /// recipes that need it and lets the others finish. Returns each recipe's outcome in build order.
    public func buildGraph(_ recipePaths: [String], jobs: Int = 1) throws -> [(recipe: Recipe, outcome: RecipeOutcome)] {
        let order = try RecipeGraph.order(roots: recipePaths, context: options.context)
        let keyOf: @Sendable (Recipe) -> String = { recipe in (recipe.absolutePath as NSString).standardizingPath }
        let dependencies: [String: [String]] = Dictionary(uniqueKeysWithValues: order.map { recipe in
            (keyOf(recipe), recipe.build.requires.recipes.map { ($0.path as NSString).standardizingPath })
        })
        let state = GraphState()
        let group = DispatchGroup()
        let slots = DispatchSemaphore(value: max(1, jobs))
        // nonisolated(unsafe): the builder's shared state (`done`) is only touched under `doneLock`,
        // and the graph's under `state`'s lock.
        nonisolated(unsafe) let builder = self
        nonisolated(unsafe) let recipes = order

        @Sendable func schedule() {
            let ready = state.takeReady(order.map(keyOf), dependencies: dependencies)
            for key in ready {
                guard let index = order.firstIndex(where: { keyOf($0) == key }) else { continue }
                if let failed = dependencies[key]?.first(where: { state.failedOrSkipped($0) }) {
                    state.finish(key, .skipped(because: (failed as NSString).lastPathComponent))
                    schedule()
                    continue
                }
                group.enter()
                DispatchQueue.global().async {
                    slots.wait()
                    let recipe = recipes[index]
                    let outcome: RecipeOutcome
                    do {
                        outcome = .done(try builder.buildRecorded(recipe))
                    } catch {
                        outcome = .failed(PkgLayerError.describe(error))
                    }
                    slots.signal()
                    state.finish(key, outcome)
                    schedule()
                    group.leave()
                }
            }
        }
        schedule()
        group.wait()
        return order.map { ($0, state.outcome(keyOf($0)) ?? .failed("not built")) }
    }

    /// One recipe, recorded for the recipes built against it.
    func buildRecorded(_ recipe: Recipe) throws -> RecipeResult {
        let key = recipe.absolutePath
        if let earlier = recorded(key) { return earlier }
        let result = try buildOne(recipe)
        record(result, for: key)
        return result
    }
}

extension RecipeBuilder {
    /// `root`'s results and those of everything it builds against, dependencies first (for its image).
    public func graphResults(root: String, from results: [RecipeResult]) throws -> [RecipeResult] {
        try RecipeGraph.order(root: root, context: options.context).compactMap { recipe in recorded(recipe.absolutePath) }
    }
}

/// The graph build's bookkeeping, shared between worker threads under one lock.
private final class GraphState: @unchecked Sendable {
    // @unchecked Sendable: every field is only touched under `lock`.
    private let lock = NSLock()
    private var started = Set<String>()
    private var outcomes: [String: RecipeOutcome] = [:]

    /// Recipes not started whose dependencies have all finished (in any way); marks them started.
    func takeReady(_ keys: [String], dependencies: [String: [String]]) -> [String] {
        lock.lock(); defer { lock.unlock() }
        var ready: [String] = []
        for key in keys where !started.contains(key) {
            if (dependencies[key] ?? []).allSatisfy({ outcomes[$0] != nil }) {
                started.insert(key)
                ready.append(key)
            }
        }
        return ready
    }

    func finish(_ key: String, _ outcome: RecipeOutcome) {
        lock.lock(); outcomes[key] = outcome; lock.unlock()
    }

    func failedOrSkipped(_ key: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        switch outcomes[key] {
        case .failed?, .skipped?: return true
        default: return false
        }
    }

    func outcome(_ key: String) -> RecipeOutcome? {
        lock.lock(); defer { lock.unlock() }
        return outcomes[key]
    }
}
