import Dispatch
import Foundation

/// Work spread over all cores with `DispatchQueue.concurrentPerform`, results in input order.
public enum Parallel {
    /// `body(i)` for every `i` in `0..<count`, concurrently; the first error thrown is rethrown after all finish.
    public static func map<T: Sendable>(_ count: Int, _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let results = Slots<T>(count: count)
        DispatchQueue.concurrentPerform(iterations: count) { i in
            do { results.set(i, .success(try body(i))) } catch { results.set(i, .failure(error)) }
        }
        return try results.values()
    }

    /// Each index is written by exactly one iteration; the lock orders the writes before `values()`.
    // @unchecked Sendable: `slots` is only touched under `lock`.
    private final class Slots<T: Sendable>: @unchecked Sendable {
        // @unchecked: `slots` is only touched under `lock`.
        private let lock = NSLock()
        private var slots: [Result<T, any Error>?]

        init(count: Int) { slots = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ value: Result<T, any Error>) {
            lock.lock(); slots[index] = value; lock.unlock()
        }

        func values() throws -> [T] {
            lock.lock(); defer { lock.unlock() }
            return try slots.map { try $0!.get() }
        }
    }
}
