import Foundation

/// One `TestSigningKey` per algorithm for a test class (RSA generation takes a moment), each in its own
/// scratch directory: `keys.key("rsa2048")`, and `keys.removeAll()` in the class's `tearDown()`, which
/// stops the keys' gpg agents and removes their directories.
public final class TestSigningKeys: @unchecked Sendable {  // `keys` only under `lock`
    private final class Held {
        let scratch: ScratchDirectory
        let key: TestSigningKey
        init(_ algorithm: String) throws {
            scratch = try ScratchDirectory(prefix: "pkglayer-signing-key")
            key = try TestSigningKey(directory: scratch.path, name: "Signing Test \(algorithm)", algorithm: algorithm)
        }
        deinit { _ = try? TestProcess.run("gpgconf", ["--homedir", key.home, "--kill", "gpg-agent"]) }
    }

    private let lock = NSLock()
    private var keys: [String: Held] = [:]

    public init() {}

    public func key(_ algorithm: String) throws -> TestSigningKey {
        lock.lock()
        defer { lock.unlock() }
        if let held = keys[algorithm] { return held.key }
        let held = try Held(algorithm)
        keys[algorithm] = held
        return held.key
    }

    public func removeAll() {
        lock.lock()
        keys = [:]
        lock.unlock()
    }
}
