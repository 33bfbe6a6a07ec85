import Foundation

/// The one error type every room throws.
///
/// An error says what is wrong, where (a file, a field, a flag or a manifest entry) and how to fix it.
/// Its `description` is what the command line prints, so it must stand on its own.
public struct PkgLayerError: Error, CustomStringConvertible, Equatable {
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
        case registry         // a registry refused a request, could not be reached, or its TLS failed
        case auth             // credentials missing or rejected
    }

    public var code: Code
    /// What went wrong, followed by how to fix it.
    public var message: String
    /// The file, field, flag or manifest entry at fault.
    public var location: String?

    public init(_ code: Code, _ message: String, at location: String? = nil) {
        self.code = code
        self.message = message
        self.location = location
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }

    /// Wraps a POSIX failure with the path it concerns.
    public static func posix(_ what: String, path: String, errno code: Int32 = errno) -> PkgLayerError {
        PkgLayerError(.io, "\(what) failed: \(String(cString: strerror(code)))", at: path)
    }
}
