import Foundation

// Small helpers shared by the test targets: run a real program and capture what it printed, and make
// scratch directories that clean up after themselves. They use nothing but Foundation, so any test
// target can depend on them without pulling in a room.

/// What a finished process left behind.
public struct ProcessOutput: Sendable {
    /// The exit status, or 128 + the signal number when a signal ended the process.
    public var status: Int32
    public var stdout: Data
    public var stderr: Data

    public var succeeded: Bool { status == 0 }
    /// stdout decoded as UTF-8 (invalid bytes replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// stderr decoded as UTF-8 (invalid bytes replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// A process that exited non-zero when the caller required success. Its description carries the
/// command line and stderr, so an XCTest failure says what went wrong without re-running anything.
public struct ProcessFailure: Error, CustomStringConvertible {
    public var command: [String]
    public var output: ProcessOutput
    public var description: String {
        "\(command.joined(separator: " ")) exited with \(output.status): \(output.stderrText)\(output.stdoutText)"
    }
}

public enum TestProcess {
    /// Finds `name` on `PATH`, then in the sbin directories a user's PATH often lacks (runc, setcap and
    /// useradd live there), or returns it as is when it already contains a `/`; nil when absent.
    public static func which(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let sbin: [Substring] = ["/usr/local/sbin", "/usr/sbin", "/sbin"]
        for dir in path.split(separator: ":") + sbin where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `command` with `arguments` to completion and captures stdout and stderr.
    ///
    /// - Parameters:
    ///   - command: an absolute path or a program name looked up on `PATH`.
    ///   - directory: the working directory (default: the test's own).
    ///   - environment: variables added to (and overriding) the inherited environment.
    ///   - stdin: bytes fed to the process; without it, stdin is /dev/null.
    /// - Throws: only when the program cannot be started; a non-zero exit is reported in the result.
    @discardableResult
    public static func run(_ command: String, _ arguments: [String] = [], in directory: String? = nil,
                           environment: [String: String] = [:], stdin: Data? = nil) throws -> ProcessOutput {
        guard let executable = which(command) else {
            throw ProcessFailure(command: [command] + arguments,
                                 output: ProcessOutput(status: 127, stdout: Data(), stderr: Data("\(command): not found on PATH".utf8)))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        // stdin comes from an unlinked temporary file, not a pipe: a process that never reads it
        // cannot make the test die of SIGPIPE.
        process.standardInput = try stdin.map(inputFile) ?? FileHandle(forReadingAtPath: "/dev/null")
        try process.run()

        // Drain both pipes on their own threads so a chatty process cannot fill one and block.
        let group = DispatchGroup()
        let box = OutputBox()
        DispatchQueue.global().async(group: group) { box.stdout = out.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { box.stderr = err.fileHandleForReading.readDataToEndOfFile() }
        process.waitUntilExit()
        group.wait()
        let status = process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return ProcessOutput(status: status, stdout: box.stdout, stderr: box.stderr)
    }

    private static func inputFile(_ data: Data) throws -> FileHandle {
        var template = Array("/tmp/pkglayer-stdin-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        handle.write(data)
        handle.seek(toFileOffset: 0)
        return handle
    }

    /// Like `run`, but throws `ProcessFailure` unless the process exits 0.
    @discardableResult
    public static func runChecked(_ command: String, _ arguments: [String] = [], in directory: String? = nil,
                                  environment: [String: String] = [:], stdin: Data? = nil) throws -> ProcessOutput {
        let output = try run(command, arguments, in: directory, environment: environment, stdin: stdin)
        guard output.succeeded else { throw ProcessFailure(command: [command] + arguments, output: output) }
        return output
    }
}

// @unchecked Sendable: each field is written by its own draining thread and read after both threads finish.
private final class OutputBox: @unchecked Sendable {
    var stdout = Data()
    var stderr = Data()
}

/// A fresh directory under `$TMPDIR` (or /tmp), removed with everything in it when the value is dropped.
/// Keep a reference for as long as the test uses it.
public final class ScratchDirectory {
    public let path: String

    public init(prefix: String = "pkglayer-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: base])
        }
        path = String(cString: template)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// The absolute path of `relative` inside this directory.
    public func path(_ relative: String) -> String {
        relative.isEmpty ? path : "\(path)/\(relative)"
    }

    /// Creates a directory (and its parents) and returns its absolute path.
    @discardableResult
    public func makeDirectory(_ relative: String, mode: mode_t? = nil) throws -> String {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: true)
        if let mode { try chmodOrThrow(full, mode) }
        return full
    }

    /// Writes `contents` to `relative` (creating parent directories) and returns the absolute path.
    /// `mode` is applied with chmod afterwards, so the umask does not interfere.
    @discardableResult
    public func write(_ relative: String, _ contents: String = "", mode: mode_t? = nil) throws -> String {
        try write(relative, Data(contents.utf8), mode: mode)
    }

    @discardableResult
    public func write(_ relative: String, _ contents: Data, mode: mode_t? = nil) throws -> String {
        let full = path(relative)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(to: URL(fileURLWithPath: full))
        if let mode { try chmodOrThrow(full, mode) }
        return full
    }

    /// Creates a symlink at `relative` whose text is `target` (not resolved) and returns its path.
    @discardableResult
    public func symlink(_ relative: String, to target: String) throws -> String {
        let full = path(relative)
        try FileManager.default.createSymbolicLink(atPath: full, withDestinationPath: target)
        return full
    }

    private func chmodOrThrow(_ path: String, _ mode: mode_t) throws {
        guard chmod(path, mode) == 0 else {
            throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
        }
    }
}
