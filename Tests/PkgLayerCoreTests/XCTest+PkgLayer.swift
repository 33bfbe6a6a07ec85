import Foundation
import PkgLayerCore
import XCTest

/// Asserts that `expression` throws a `PkgLayerError` with `code` and returns it, so the test can
/// check where it points and what it says. Any other outcome is a test failure.
@discardableResult
func XCTAssertThrowsPkgLayerError<T>(_ expression: @autoclosure () throws -> T, code: PkgLayerError.Code,
                                     _ message: String = "", file: StaticString = #filePath, line: UInt = #line) -> PkgLayerError? {
    do {
        let value = try expression()
        XCTFail("expected PkgLayerError(.\(code)), got a value: \(value) \(message)", file: file, line: line)
        return nil
    } catch let error as PkgLayerError {
        XCTAssertEqual(error.code, code, "wrong code for: \(error) \(message)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected PkgLayerError(.\(code)), got \(type(of: error)): \(error) \(message)", file: file, line: line)
        return nil
    }
}

/// Sets a path's mtime (not following symlinks).
func setModificationTime(_ path: String, _ seconds: Int64, file: StaticString = #filePath, line: UInt = #line) {
    var times = [timespec(tv_sec: Int(seconds), tv_nsec: 0), timespec(tv_sec: Int(seconds), tv_nsec: 0)]
    XCTAssertEqual(utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW), 0, "utimensat \(path)", file: file, line: line)
}

/// Every path below `root` (relative, sorted), found by walking without following symlinks.
func listTree(_ root: String) -> [String] {
    guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
    return (walker.allObjects as? [String] ?? []).sorted()
}
