import Foundation
import PkgLayerCore
import PkgLayerFetch

/// Where a resolved source came from.
public enum SourceOrigin: Sendable, Equatable, CustomStringConvertible {
    /// It was already in the cache.
    case cache
    /// Copied from a mirror directory (the file that matched).
    case mirror(String)
    /// Downloaded from the URL.
    case download(String)

    public var description: String {
        switch self {
        case .cache: return "cache"
        case .mirror(let path): return "mirror \(path)"
        case .download(let url): return "download \(url)"
        }
    }
}

/// A source file that is in the cache and matches its pinned digest.
public struct ResolvedSource: Sendable, Equatable {
    public var url: String
    public var sha256: String
    /// The cache entry (`…/sources/sha256/<hex>`).
    public var path: String
    public var origin: SourceOrigin
}

/// Download progress, for a progress line on stderr.
public struct DownloadProgress: Sendable, Equatable {
    public var url: String
    public var fileName: String
    public var receivedBytes: UInt64
    /// From Content-Length; nil when the server does not say.
    public var expectedBytes: UInt64?
    public var finished: Bool
}

/// Resolves `url + sha256` to a verified file in the cache, trying in order:
/// 1. the content-addressed cache;
/// 2. the mirror directories (`--sources DIR`, then `$PKGLAYER_SOURCES`), matched by the URL's file
///    name, by a file named after the digest, by a `SHA256SUMS` file, or by hashing the directory's files;
/// 3. an HTTP(S) download (unless `allowDownload` is false).
/// Whatever matches is copied into the cache through `SourceCache`, which verifies the digest.
public final class SourceResolver {
    public let cache: SourceCache
    public let mirrorDirectories: [String]
    public var allowDownload: Bool
    public var downloader: SourceDownloader
    /// Called on the downloading thread, at most every 200 ms and once at the end.
    public var progress: ((DownloadProgress) -> Void)?
    /// Digests of mirror files already hashed in this run, by path, size and mtime.
    private var mirrorDigests: [String: (size: Int64, mtime: Int, sha256: String)] = [:]

    public init(cache: SourceCache = .default, mirrorDirectories: [String] = [], allowDownload: Bool = true,
                downloader: SourceDownloader = HTTPDownloader(), progress: ((DownloadProgress) -> Void)? = nil) {
        self.cache = cache
        self.mirrorDirectories = mirrorDirectories
        self.allowDownload = allowDownload
        self.downloader = downloader
        self.progress = progress
    }

    /// The mirror list: the `--sources` flags in order, then `$PKGLAYER_SOURCES` (colon-separated).
    public static func mirrorDirectories(flags: [String], environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var dirs = flags
        if let env = environment["PKGLAYER_SOURCES"] {
            dirs += env.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        var seen = Set<String>()
        return dirs.filter { seen.insert($0).inserted }
    }

    /// Resolves one pinned URL. `sha256` may be `<hex>` or `sha256:<hex>`.
    public func resolve(url: String, sha256: String) throws -> ResolvedSource {
        let hex = try SourceRequest.checkedDigest(sha256, field: url)
        if let path = try cache.lookup(sha256: hex) {
            return ResolvedSource(url: url, sha256: hex, path: path, origin: .cache)
        }
        let name = SourceRequest.fileName(ofURL: url)
        var notes: [String] = []
        var mismatches: [(file: String, sha256: String)] = []

        if let parsed = URL(string: url), parsed.scheme?.lowercased() == "file" {
            let local = parsed.path
            guard FileManager.default.fileExists(atPath: local) else {
                throw PkgLayerError(.io, "file not found: \(local)", at: url)
            }
            let path = try cache.insert(copyOf: local, expectedSHA256: hex, origin: url)
            return ResolvedSource(url: url, sha256: hex, path: path, origin: .mirror(local))
        }

        for dir in mirrorDirectories {
            if let match = try findInMirror(dir, name: name, sha256: hex, notes: &notes, mismatches: &mismatches) {
                let path = try cache.insert(copyOf: match, expectedSHA256: hex, origin: match)
                return ResolvedSource(url: url, sha256: hex, path: path, origin: .mirror(match))
            }
        }

        var downloadFailure: String?
        if allowDownload {
            let writer: SourceCacheWriter
            do {
                writer = try transfer(url: url, name: name, sha256: hex)
            } catch {
                downloadFailure = (error as? PkgLayerError)?.message ?? "\(error)"
                throw notFound(url: url, name: name, sha256: hex, mismatches: mismatches, notes: notes, downloadFailure: downloadFailure)
            }
            // A mismatch here is the error (naming the URL and both digests); the bytes are deleted.
            let path = try writer.commit(origin: url)
            return ResolvedSource(url: url, sha256: hex, path: path, origin: .download(url))
        }
        throw notFound(url: url, name: name, sha256: hex, mismatches: mismatches, notes: notes, downloadFailure: nil)
    }

    /// Downloads into a cache writer; the caller commits (verifies) it.
    private func transfer(url: String, name: String, sha256 hex: String) throws -> SourceCacheWriter {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            throw PkgLayerError(.invalidInput, "cannot download '\(url)': only http and https URLs are downloaded", at: url)
        }
        let writer = try cache.makeWriter(expectedSHA256: hex)
        do {
            try downloader.download(url: parsed, to: { try writer.write($0) }, progress: { [progress] received, expected, finished in
                progress?(DownloadProgress(url: url, fileName: name, receivedBytes: received, expectedBytes: expected, finished: finished))
            })
        } catch {
            // The session may still hold the writer for a moment; delete the partial file now.
            writer.discard()
            throw error
        }
        return writer
    }

    // MARK: Mirrors

    /// Looks for the file in one mirror directory. A file that has the right name but the wrong digest
    /// is reported in `notes` and left alone (it belongs to the user, not to the cache).
    private func findInMirror(_ dir: String, name: String, sha256 hex: String, notes: inout [String],
                              mismatches: inout [(file: String, sha256: String)]) throws -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            notes.append("source directory \(dir) does not exist")
            return nil
        }
        var candidates: [String] = []
        if !name.isEmpty, name != ".", name != ".." { candidates.append("\(dir)/\(name)") }
        candidates += ["\(dir)/\(hex)", "\(dir)/sha256/\(hex)", "\(dir)/sources/sha256/\(hex)"]
        candidates += sumsFileNames(in: dir, sha256: hex).map { "\(dir)/\($0)" }
        var checked = Set<String>()
        for candidate in candidates where checked.insert(candidate).inserted {
            guard isRegularFile(candidate) else { continue }
            let digest = try mirrorDigest(candidate)
            if digest == hex { return candidate }
            mismatches.append((candidate, digest))
        }
        // Last resort: hash every regular file in the directory (not recursive).
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for entry in names.sorted() where !entry.hasPrefix(".") {
            let candidate = "\(dir)/\(entry)"
            guard !checked.contains(candidate), isRegularFile(candidate) else { continue }
            if try mirrorDigest(candidate) == hex { return candidate }
        }
        return nil
    }

    /// File names that a `SHA256SUMS` (or `sha256sums.txt`) file in `dir` lists for `hex`.
    private func sumsFileNames(in dir: String, sha256 hex: String) -> [String] {
        var names: [String] = []
        for sums in ["SHA256SUMS", "sha256sums", "sha256sums.txt", "SHA256SUMS.txt"] {
            guard let text = try? String(contentsOfFile: "\(dir)/\(sums)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
                guard parts.count == 2, parts[0].lowercased() == hex else { continue }
                var file = parts[1].trimmingCharacters(in: .whitespaces)
                if file.hasPrefix("*") { file.removeFirst() }
                if !file.contains("/") && !file.isEmpty { names.append(file) }
            }
        }
        return names
    }

    private func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    private func mirrorDigest(_ path: String) throws -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { throw PkgLayerError.posix("stat", path: path) }
        let size = Int64(st.st_size), mtime = Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
        if let memo = mirrorDigests[path], memo.size == size, memo.mtime == mtime { return memo.sha256 }
        let digest = try FileDigest.sha256Hex(path: path)
        mirrorDigests[path] = (size, mtime, digest)
        return digest
    }

    // MARK: Errors

    private func notFound(url: String, name: String, sha256 hex: String, mismatches: [(file: String, sha256: String)],
                          notes: [String], downloadFailure: String?) -> PkgLayerError {
        var lines: [String] = []
        if let first = mismatches.first {
            // The file was found under its name but is not the pinned one: that is a mismatch, say so first.
            lines.append("sha256 mismatch: expected \(hex), got \(first.sha256) from \(first.file); the file was not used or cached.")
            for other in mismatches.dropFirst() { lines.append("  also \(other.file): sha256 \(other.sha256)") }
            lines.append("If that file is the one you want, put its sha256 in the recipe. Also looked in:")
        } else {
            lines.append("cannot get this source (sha256 \(hex)). Looked in:")
        }
        lines.append("  - the cache: \(cache.path(forSHA256: hex)) (not there)")
        if mirrorDirectories.isEmpty {
            lines.append("  - source directories: none given (--sources DIR or PKGLAYER_SOURCES)")
        } else {
            let what = mismatches.isEmpty ? "no file named \(name) or with that sha256" : "no file with that sha256"
            lines.append("  - source directories \(mirrorDirectories.joined(separator: ", ")): \(what)")
        }
        for note in notes { lines.append("      \(note)") }
        if let downloadFailure {
            lines.append("  - downloading it: \(downloadFailure)")
        } else {
            lines.append("  - downloading it: not tried, downloads are off (offline)")
        }
        lines.append("Fix: put \(name) in a directory and pass --sources DIR (or set PKGLAYER_SOURCES=DIR)"
                     + (allowDownload ? ", or check the URL." : ", or allow downloads."))
        return PkgLayerError(mismatches.isEmpty ? .io : .invalidInput, lines.joined(separator: "\n"), at: url)
    }
}

extension SourceResolver {
    /// Reports downloads to the process's progress reporter (`Progress`): `downloading hello-2.10.tar.gz`.
    public static func progressReporter() -> (DownloadProgress) -> Void {
        { p in
            Progress.report(.transfer(verb: "downloading", subject: p.fileName, bytes: p.receivedBytes, total: p.expectedBytes,
                                      finished: p.finished))
        }
    }
}
