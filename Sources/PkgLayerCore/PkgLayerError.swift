import Foundation

/// The one error type every room throws.
///
/// An error says what is wrong, where (a file, a field, a flag or a manifest entry) and how to fix it.
/// Its `description` is what the command line prints, so it must stand on its own.
public struct PkgLayerError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Code: String, Sendable {
        case usage            // a flag or argument is wrong
        case invalidInput     // a value is malformed (version, dependency, owner, …)
        case pathEscapesRoot  // `..`, an absolute path or a symlink leaving the tree
        case duplicatePath    // two sources map to one destination
        case unsupportedFileType
        case fileExists       // refusing to overwrite without -f
        case io
        case archive          // libarchive reported a failure
        case rpm              // librpm reported a failure or an rpm is malformed
        case deb              // a deb is malformed
        case toolMissing
        case sandboxUnavailable  // bubblewrap cannot create namespaces here (a locked-down CI container)
        case registry         // a registry refused a request, could not be reached, or its TLS failed
        case auth             // credentials missing or rejected
        case limitExceeded    // an input is past one of InputLimits (size, count, depth); docs/limits.md
    }

    public var code: Code
    /// What went wrong, followed by how to fix it.
    public var message: String
    /// The file, field, flag or manifest entry at fault.
    public var location: String?
    /// What went wrong underneath (a system or library error), when there was one. Printed after the
    /// message; not part of equality.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, at location: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.location = location
        self.cause = cause
    }

    public var description: String {
        var text = location.map { "\($0): \(message)" } ?? message
        if let cause { text += " (caused by: \(Self.describe(cause)))" }
        return text
    }

    public static func == (a: PkgLayerError, b: PkgLayerError) -> Bool {
        a.code == b.code && a.message == b.message && a.location == b.location
    }

    /// Any error in pkglayer's one-line form: its own errors as they describe themselves, others with
    /// their type (`NSError`'s domain and code, a decoding error's path) so a bug report can name them.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as PkgLayerError: return error.description
        case let error as DecodingError: return "malformed data: \(error)"
        default:
            if Swift.type(of: error) == NSError.self {
                let ns = error as NSError
                return "\(ns.localizedDescription) (\(ns.domain) \(ns.code))"
            }
            let text = String(describing: error)
            let type = String(describing: Swift.type(of: error))
            return text.hasPrefix(type) ? text : "\(text) (\(type))"
        }
    }

    /// Wraps a POSIX failure with the path it concerns.
    public static func posix(_ what: String, path: String, errno code: Int32 = errno) -> PkgLayerError {
        PkgLayerError(.io, "\(what) failed: \(String(cString: strerror(code)))", at: path)
    }
}
