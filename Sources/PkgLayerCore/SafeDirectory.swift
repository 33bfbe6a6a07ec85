import Foundation

/// Opens a directory beneath another one component at a time, never following a symlink: the walk
/// every writer into an untrusted tree needs (the archive extractor, the build's source tree), so
/// that nothing planted in the tree can send a later write outside it.
public enum SafeDirectory {
    /// A component on the way is a symlink, is not a directory, or (without `create`) is missing.
    public struct NotADirectory: Error {
        /// The component that stopped the walk.
        public let component: String
    }

    /// Opens `relativePath` (components separated by `/`; empty for `fd` itself) beneath `fd` with
    /// O_DIRECTORY | O_NOFOLLOW on every component and returns a new descriptor, which the caller
    /// closes.
    ///
    /// - Parameters:
    ///   - create: make missing components (mode 0755, less the umask); `created` is told the path,
    ///     relative to `fd`, of each one made.
    ///   - location: where a failure to make a directory is reported.
    /// - Throws: `NotADirectory` for a component that is not a real directory; `.io` otherwise.
    public static func open(_ relativePath: String, beneath fd: Int32, create: Bool, location: String,
                            created: (String) -> Void = { _ in }) throws -> Int32 {
        var current = dup(fd)
        guard current >= 0 else { throw PkgLayerError.posix("dup", path: location) }
        var walked = ""
        for component in relativePath.split(separator: "/") {
            let name = String(component)
            walked += walked.isEmpty ? name : "/" + name
            if create {
                if mkdirat(current, name, 0o755) == 0 {
                    created(walked)
                } else if errno != EEXIST {
                    let error = PkgLayerError.posix("mkdir", path: location)
                    close(current)
                    throw error
                }
            }
            let next = openat(current, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            close(current)
            guard next >= 0 else { throw NotADirectory(component: name) }
            current = next
        }
        return current
    }
}
