import CArchive
import Foundation
import PkgLayerCore

/// File-type bits of `st_mode`. libarchive's `AE_IF*` macros do not import into Swift; these are the
/// POSIX values, which libarchive uses too.
enum FileTypeBits {
    static let mask: UInt32 = 0o170000
    static let regular: UInt32 = 0o100000
    static let directory: UInt32 = 0o040000
    static let symlink: UInt32 = 0o120000
}

/// The one place where libarchive's status codes become `PkgLayerError`s.
///
/// `ARCHIVE_OK` passes. `ARCHIVE_WARN` passes only when `allowWarning` is set (the reader accepts
/// warnings such as an unknown pax keyword; the writer does not, because a warning there means
/// something was not recorded as asked). Everything else throws `.archive` with libarchive's own
/// message, located at `location` (a member path, or `archive: member` for the reader).
@discardableResult
func checkArchive(_ status: CInt, _ archive: OpaquePointer?, at location: String?,
                  allowWarning: Bool = false) throws -> CInt {
    if status == ARCHIVE_OK || (allowWarning && status == ARCHIVE_WARN) { return status }
    throw archiveError(archive, status: status, at: location)
}

/// The error for the last failure recorded on `archive`.
func archiveError(_ archive: OpaquePointer?, status: CInt, at location: String?) -> PkgLayerError {
    var message = "libarchive failed (status \(status))"
    if let archive, let text = archive_error_string(archive) {
        message = String(cString: text)
    }
    return PkgLayerError(.archive, message, at: location)
}

/// Runs `body` with this thread's character type set to UTF-8 (`uselocale`, not the process-wide
/// `setlocale`).
///
/// libarchive converts every path, link and user name between the "current locale" and the header's
/// charset. A Swift program runs in the "C" locale, whose charset is ASCII: there libarchive cannot
/// translate a non-ASCII name to pax's UTF-8, warns, and falls back to `hdrcharset=BINARY` headers;
/// reading, `archive_entry_pathname_utf8` returns NULL. Under a UTF-8 locale Swift's UTF-8 strings pass
/// through unchanged, so the bytes never depend on the caller's environment. Checked here with
/// libarchive 3.6.2: a name like `déjà vu/fü le.txt` gets a plain `path=` pax record this way.
func withUTF8Locale<T>(_ body: () throws -> T) rethrows -> T {
    guard let locale = UTF8Locale.shared else { return try body() }
    let previous = uselocale(locale)
    defer { uselocale(previous) }
    return try body()
}

private enum UTF8Locale {
    /// Created once and kept for the life of the process.
    /// nonisolated(unsafe): a `locale_t` is never mutated after creation and is safe to share across threads.
    nonisolated(unsafe) static let shared: locale_t? = {
        for name in ["C.UTF-8", "C.utf8", "en_US.UTF-8"] {
            if let loc = newlocale(Int32(1 << LC_CTYPE), name, nil) { return loc }
        }
        return nil
    }()
}

extension String {
    /// A C string from libarchive: UTF-8 if valid, otherwise decoded with replacement characters.
    init?(archiveCString pointer: UnsafePointer<CChar>?) {
        guard let pointer else { return nil }
        self = String(decoding: UnsafeRawBufferPointer(start: pointer, count: strlen(pointer)), as: UTF8.self)
    }
}
