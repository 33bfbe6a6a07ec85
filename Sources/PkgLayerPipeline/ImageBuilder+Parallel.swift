import Dispatch
import Foundation
import PkgLayerArchive
import PkgLayerCore

/// Package layers side by side: each package is decompressed and recompressed on its own core, which
/// is where an image's time goes (the gzip of one small layer cannot use two cores, two packages can).
extension ImageBuilder {
    /// `PKGLAYER_JOBS` (1 or more), else one job per core (as many as the gzip sinks use).
    static var defaultJobs: Int {
        if let text = ProcessInfo.processInfo.environment["PKGLAYER_JOBS"], let jobs = Int(text), jobs >= 1 { return jobs }
        return Compression.defaultThreads
    }

    /// `PKGLAYER_LAYER_STREAM=0` stages every package on disk as merged layerings do (for comparing;
    /// the layers are the same bytes either way).
    static var streamLayers: Bool {
        ProcessInfo.processInfo.environment["PKGLAYER_LAYER_STREAM"] != "0"
    }

    /// Package indexes, largest package file first (ties by index): the order work is handed out in.
    static func largestFirst(_ packages: [ImagePackage]) -> [Int] {
        let sizes = packages.map { package -> Int64 in
            var info = stat()
            return stat(package.path, &info) == 0 ? Int64(info.st_size) : 0
        }
        return packages.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
    }

    /// `body(i)` for every index in `order` on `jobs` workers; the results come back by index, so they
    /// do not depend on which worker ran what. After a failure no new index is started, and the error
    /// of the lowest failed index is thrown.
    static func inParallel<T>(_ count: Int, jobs: Int, order: [Int], _ body: (Int) throws -> T) throws -> [T] {
        if jobs <= 1 || count <= 1 { return try (0..<count).map(body) }
        let queue = WorkQueue<T>(order: order, count: count)
        try withoutActuallyEscaping(body) { body in
            // nonisolated(unsafe): `body` only reads the builder's immutable state; every index's work
            // writes its own scratch directory, temporary blob files and cache entries.
            nonisolated(unsafe) let work = body
            DispatchQueue.concurrentPerform(iterations: min(jobs, count)) { _ in
                while let index = queue.take() {
                    do { queue.finish(index, .success(try work(index))) } catch { queue.finish(index, .failure(error)) }
                }
            }
        }
        return try queue.results()
    }
}

/// The indexes still to run and the results so far, behind one lock.
// @unchecked Sendable: every property is read and written only under `lock`.
private final class WorkQueue<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: ArraySlice<Int>
    private var slots: [Result<T, any Error>?]
    private var failed = false

    init(order: [Int], count: Int) {
        pending = order[...]
        slots = Array(repeating: nil, count: count)
    }

    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard !failed else { return nil }
        return pending.popFirst()
    }

    func finish(_ index: Int, _ result: Result<T, any Error>) {
        lock.lock(); defer { lock.unlock() }
        if case .failure = result { failed = true }
        slots[index] = result
    }

    func results() throws -> [T] {
        lock.lock(); defer { lock.unlock() }
        if let failure = slots.lazy.compactMap({ slot -> (any Error)? in
            if case .failure(let error)? = slot { return error }
            return nil
        }).first {
            throw failure
        }
        return slots.map { slot in
            guard case .success(let value)? = slot else { preconditionFailure("an index was never run") }
            return value
        }
    }
}
