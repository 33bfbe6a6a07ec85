import Foundation
import PkgLayerCore

/// What every fuzz target shares: a per-process scratch directory, the input written to a file, thrown
/// errors caught (only crashes, hangs and sanitizer reports are findings), and the few oracles a
/// reader documents beyond "does not crash" (an extraction stays inside its root; a failed read leaves
/// nothing behind), which abort like a crash when broken.
///
/// Environment: `PKGLAYER_FUZZ_VERBOSE=1` prints every caught error (for running one input by hand);
/// `PKGLAYER_FUZZ_STRICT=1` aborts on a thrown error that is not a `PkgLayerError` (readers promise
/// PkgLayerErrors; by default such an error is only noted once per type on stderr).
public enum Fuzz {
    /// A directory of this process's own under `$TMPDIR`, created on first use. scripts/fuzz.sh points
    /// TMPDIR at .build-fuzz/fuzz/tmp/TARGET and removes it after the run.
    public static let scratch: String = {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/pkglayer-fuzz-XXXXXX".utf8CString)
        guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
            fatalError("fuzz: cannot create a scratch directory under \(base)")
        }
        return String(cString: template)
    }()

    nonisolated(unsafe) private static var noted: Set<String> = []   // fuzz targets are single-threaded
    private static let verbose = ProcessInfo.processInfo.environment["PKGLAYER_FUZZ_VERBOSE"] == "1"
    private static let strict = ProcessInfo.processInfo.environment["PKGLAYER_FUZZ_STRICT"] == "1"

    /// The input as bytes.
    public static func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
        guard let data, size > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// Writes `bytes` to `scratch/name` (replacing it) and returns the path.
    @discardableResult
    public static func write(_ bytes: [UInt8], to name: String) -> String {
        let path = "\(scratch)/\(name)"
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { fatalError("fuzz: cannot write \(path): \(String(cString: strerror(errno)))") }
        var offset = 0
        bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let n = Foundation.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                guard n > 0 else { fatalError("fuzz: short write to \(path)") }
                offset += n
            }
        }
        close(fd)
        return path
    }

    /// A fresh, empty directory `scratch/name` (whatever was there is removed).
    public static func freshDirectory(_ name: String) -> String {
        let path = "\(scratch)/\(name)"
        wipe(path)
        guard mkdir(path, 0o755) == 0 else { fatalError("fuzz: cannot create \(path)") }
        return path
    }

    /// Removes a tree, making directories writable first (extracted modes may be 0500).
    public static func wipe(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            chmod(path, 0o700)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] { wipe("\(path)/\(name)") }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Runs one reader call; returns whether it succeeded. Thrown errors are expected.
    @discardableResult
    public static func run(_ what: String, _ body: () throws -> Void) -> Bool {
        do {
            try body()
            if verbose { FileHandle.standardError.write(Data("fuzz: \(what): ok\n".utf8)) }
            return true
        } catch let error as PkgLayerError {
            if verbose { FileHandle.standardError.write(Data("fuzz: \(what): \(error)\n".utf8)) }
            return false
        } catch {
            let type = String(reflecting: Swift.type(of: error))
            if strict { fail("\(what) threw \(type), not a PkgLayerError: \(error)") }
            if verbose || noted.insert("\(what) \(type)").inserted {
                FileHandle.standardError.write(Data("fuzz-note: \(what) threw \(type), not a PkgLayerError: \(String(describing: error).prefix(300))\n".utf8))
            }
            return false
        }
    }

    /// An oracle: a reader broke a promise it documents. Aborts, so libFuzzer saves the input.
    public static func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
        if !condition() { fail(message()) }
    }

    public static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data("fuzz-oracle: \(message)\n".utf8))
        abort()
    }

    /// The names in a directory (empty when it does not exist).
    public static func entries(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// Whether anything exists at `path` (without following a symlink).
    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Splits `bytes` at each occurrence of `separator`.
    public static func split(_ bytes: [UInt8], separator: [UInt8], limit: Int = 16) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0, i = 0
        while i + separator.count <= bytes.count, parts.count < limit - 1 {
            if bytes[i..<(i + separator.count)].elementsEqual(separator) {
                parts.append(Array(bytes[start..<i]))
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(Array(bytes[start...]))
        return parts
    }
}
