import Foundation
import PkgLayerCore
import XCTest

/// Helpers for the `*LimitsTests` (docs/limits.md): lowered limits for one test, hostile inputs
/// generated with Python, and the assertion that an input was refused with a clear limit error.
extension InputLimits {
    /// The built-in defaults with some limits changed.
    public static func lowered(_ changes: [InputLimits.Name: UInt64]) -> InputLimits {
        changes.reduce(InputLimits.defaults) { $0.with($1.key, $1.value) }
    }
}

/// Runs `python3 -c script args…` (skipped when python3 is missing, failing under PKGLAYER_REQUIRE_ALL).
public func generateWithPython(_ script: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
    try requireTool("python3", file: file, line: line)
    try TestProcess.runChecked("python3", ["-c", script] + arguments)
}

/// Asserts that `body` throws a `.limitExceeded` error for `name`: the message names the limit's
/// environment variable and docs/limits.md, and each of `mentions`; it has a location. Returns it.
@discardableResult
public func assertLimitExceeded<T>(_ name: InputLimits.Name, mentions: [String] = [], within seconds: Double = 5,
                                   file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) -> PkgLayerError? {
    let start = Date()
    defer {
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, seconds, "refusing took \(elapsed) s", file: file, line: line)
    }
    do {
        _ = try body()
        XCTFail("expected a limit error for \(name.environmentVariable), got success", file: file, line: line)
        return nil
    } catch let error as PkgLayerError {
        checkLimitError(error, name, mentions: mentions, file: file, line: line)
        return error
    } catch {
        XCTFail("expected a PkgLayerError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

/// The async form of `assertLimitExceeded`.
@discardableResult
public func assertLimitExceeded<T>(_ name: InputLimits.Name, mentions: [String] = [], within seconds: Double = 5,
                                   file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> T) async -> PkgLayerError? {
    let start = Date()
    do {
        _ = try await body()
        XCTFail("expected a limit error for \(name.environmentVariable), got success", file: file, line: line)
        return nil
    } catch let error as PkgLayerError {
        checkLimitError(error, name, mentions: mentions, file: file, line: line)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, seconds, "refusing took \(elapsed) s", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a PkgLayerError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}

private func checkLimitError(_ error: PkgLayerError, _ name: InputLimits.Name, mentions: [String], file: StaticString, line: UInt) {
    XCTAssertEqual(error.code, .limitExceeded, "\(error)", file: file, line: line)
    XCTAssertNotNil(error.location, "\(error)", file: file, line: line)
    let text = error.description
    let raisable = name.ceiling == nil || InputLimits.current[name] < name.ceiling!
    if raisable {
        XCTAssertTrue(text.contains(name.environmentVariable + "="), "the message does not say how to raise it: \(text)", file: file, line: line)
        XCTAssertTrue(text.contains("docs/limits.md"), text, file: file, line: line)
    }
    XCTAssertTrue(text.contains("past the limit of"), text, file: file, line: line)
    for mention in mentions {
        XCTAssertTrue(text.contains(mention), "'\(mention)' missing from: \(text)", file: file, line: line)
    }
}

/// Every file and directory under `directory` (relative paths), or nil when it does not exist.
public func contentsUnder(_ directory: String) -> [String]? {
    guard FileManager.default.fileExists(atPath: directory) else { return nil }
    return (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).sorted()
}
