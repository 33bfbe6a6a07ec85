import Foundation
import PkgLayerCore
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches a URL, handing the body to `sink` as it arrives. A protocol so a test or a future registry
/// mirror can stand in for HTTP.
public protocol SourceDownloader {
    /// - Parameters:
    ///   - sink: receives the body in order; throwing from it aborts the transfer.
    ///   - progress: (received bytes, expected bytes if known, finished).
    func download(url: URL, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                  progress: @escaping (UInt64, UInt64?, Bool) -> Void) throws

    /// The same, for a file whose size is known or bounded.
    /// - Parameters:
    ///   - expectedSize: the size a signed index declares (apt's `Size`, yum's `<size package>`, a
    ///     Release entry): a body of any other length is an error, and the deadline is computed from it.
    ///   - maximumSize: the most the caller accepts when the size is not known (an InRelease): a longer
    ///     body (or Content-Length) is an error.
    func download(url: URL, expectedSize: UInt64?, maximumSize: UInt64?, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                  progress: @escaping (UInt64, UInt64?, Bool) -> Void) throws
}

extension SourceDownloader {
    /// A downloader that knows no sizes ignores them (the sink still sees every byte and the digest
    /// decides).
    public func download(url: URL, expectedSize: UInt64?, maximumSize: UInt64?, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                         progress: @escaping (UInt64, UInt64?, Bool) -> Void) throws {
        try download(url: url, to: sink, progress: progress)
    }
}

/// How long a download may take (docs/limits.md): every transfer may go `idle` seconds without a byte,
/// and must end within `floor + size / rate` seconds, where size is the larger of the size a signed
/// index declares and what arrived so far. The server's own Content-Length buys no time (a dripping
/// server could announce any length). So a server that stalls or drips fails in bounded time with an
/// error naming the URL, while a file of any size on a slow but working link (at least `rate` on
/// average) is never cut off.
public struct DownloadDeadline: Sendable, Equatable {
    public var idle: TimeInterval
    public var floor: TimeInterval
    /// Bytes per second.
    public var rate: Double

    public init(idle: TimeInterval, floor: TimeInterval, rate: Double) {
        self.idle = idle; self.floor = floor; self.rate = max(1, rate)
    }

    /// From `PKGLAYER_DOWNLOAD_IDLE_SECONDS`, `PKGLAYER_DOWNLOAD_FLOOR_SECONDS`, `PKGLAYER_DOWNLOAD_MIN_RATE`.
    public static func from(_ limits: InputLimits) -> DownloadDeadline {
        DownloadDeadline(idle: TimeInterval(limits[.downloadIdleSeconds]), floor: TimeInterval(limits[.downloadFloorSeconds]),
                         rate: Double(limits[.downloadRateBytes]))
    }

    /// Seconds allowed for a body of `size` bytes.
    public func seconds(for size: UInt64) -> TimeInterval { floor + Double(size) / rate }
}

/// HTTP(S) through URLSession (FoundationNetworking on Linux, which is libcurl underneath: redirects are
/// followed and the usual `https_proxy` variables apply). Chosen over shelling out to curl so the body
/// streams straight into the cache writer, hashed as it arrives, with no second copy and no extra
/// runtime dependency. Any status other than 2xx is an error naming the status; a transfer past its
/// `DownloadDeadline` (stalled, or dripping) is cancelled with an error naming the URL.
public struct HTTPDownloader: SourceDownloader {
    /// The deadlines; nil: `InputLimits.current`'s, read when a download starts.
    public var deadline: DownloadDeadline?

    public init(deadline: DownloadDeadline? = nil) {
        self.deadline = deadline
    }

    /// Seconds without any data before the transfer is abandoned (the other deadlines from the limits).
    public init(idleTimeout: TimeInterval) {
        var deadline = DownloadDeadline.from(.current)
        deadline.idle = idleTimeout
        self.deadline = deadline
    }

    public func download(url: URL, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                         progress: @escaping (UInt64, UInt64?, Bool) -> Void) throws {
        try download(url: url, expectedSize: nil, maximumSize: nil, to: sink, progress: progress)
    }

    public func download(url: URL, expectedSize: UInt64?, maximumSize: UInt64?, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                         progress: @escaping (UInt64, UInt64?, Bool) -> Void) throws {
        let deadline = self.deadline ?? .from(.current)
        let delegate = TransferDelegate(url: url, expectedSize: expectedSize, maximumSize: maximumSize, sink: sink, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        // libcurl's own timeouts only back up the watch below, which names the limit.
        configuration.timeoutIntervalForRequest = deadline.idle + 30
        configuration.timeoutIntervalForResource = 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        // Invalidated off this thread: FoundationNetworking's invalidate and cancel wait on its work
        // queue, which may be busy delivering a flood of data; a failed download must not wait for it.
        defer { DispatchQueue.global().async { session.invalidateAndCancel() } }
        var request = URLRequest(url: url)
        request.setValue("pkglayer", forHTTPHeaderField: "User-Agent")
        // The bytes on the wire are the pinned file: never let a Content-Encoding be decoded away.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        let task = session.dataTask(with: request)
        let started = Date()
        task.resume()
        while true {
            _ = delegate.wake.wait(timeout: .now() + 0.2)
            if delegate.finished { break }
            // Failed in the delegate (a refused response or body: the delegate never cancels from its
            // own queue, which can deadlock FoundationNetworking), or past the deadline: end it now.
            guard let problem = delegate.failure ?? delegate.overdue(started: started, deadline: deadline) else { continue }
            DispatchQueue.global().async { task.cancel() }
            // Cancelling ends the transfer at once; should libcurl not report back, do not wait for it
            // (the delegate hands nothing more to the sink once it has failed).
            let giveUp = Date().addingTimeInterval(5)
            while !delegate.finished && Date() < giveUp { _ = delegate.wake.wait(timeout: .now() + 0.2) }
            throw problem
        }
        if let failure = delegate.failure { throw failure }
    }
}

/// Receives the response on the session's serial queue; the downloading thread watches its progress.
// @unchecked Sendable: the mutable state is read and written only under `lock`.
private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let url: URL
    let expectedSize: UInt64?
    let maximumSize: UInt64?
    let sink: (UnsafeRawBufferPointer) throws -> Void
    let progress: (UInt64, UInt64?, Bool) -> Void
    /// Signalled on the first failure and at the end.
    let wake = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var _failure: Error?
    private var received: UInt64 = 0
    private var declared: UInt64?
    private var lastData = Date()
    private var lastReport = Date.distantPast

    init(url: URL, expectedSize: UInt64?, maximumSize: UInt64?, sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
         progress: @escaping (UInt64, UInt64?, Bool) -> Void) {
        self.url = url
        self.expectedSize = expectedSize
        self.maximumSize = maximumSize
        self.sink = sink
        self.progress = progress
    }

    private var _finished = false

    var failure: Error? { lock.withLock { _failure } }
    var finished: Bool { lock.withLock { _finished } }

    /// Records the first failure (later ones are consequences of it) and wakes the downloading thread,
    /// which cancels the task.
    private func fail(_ error: Error) {
        let first = lock.withLock { () -> Bool in
            guard _failure == nil else { return false }
            _failure = error
            return true
        }
        if first { wake.signal() }
    }

    private var location: String { url.absoluteString }

    /// The error for a transfer past its idle time or deadline (and records it), or nil while it is within them.
    func overdue(started: Date, deadline: DownloadDeadline) -> PkgLayerError? {
        lock.lock()
        defer { lock.unlock() }
        guard _failure == nil else { return nil }
        let now = Date()
        let of = (expectedSize ?? declared).map { " of \($0)" } ?? ""
        let problem: PkgLayerError
        if now.timeIntervalSince(lastData) > deadline.idle {
            problem = PkgLayerError(.limitExceeded, """
                the server sent nothing for \(Int(deadline.idle)) s (after \(received)\(of) bytes): it stalled. \
                Try again or use another mirror; if the link is that slow, wait longer: \
                \(InputLimits.Name.downloadIdleSeconds.environmentVariable)=\(Int(deadline.idle) * 4) (docs/limits.md)
                """, at: location)
        } else {
            let allowed = deadline.seconds(for: max(expectedSize ?? 0, received))
            guard now.timeIntervalSince(started) > allowed else { return nil }
            problem = PkgLayerError(.limitExceeded, """
                the download is too slow: \(received)\(of) bytes in \(Int(allowed)) s, the most allowed for it \
                (\(Int(deadline.floor)) s, plus its size at \(Int(deadline.rate)) bytes/s); the server stalled or drips. \
                Use another mirror; if the link is that slow, allow more: \
                \(InputLimits.Name.downloadFloorSeconds.environmentVariable)=\(Int(deadline.floor) * 4) or \
                \(InputLimits.Name.downloadRateBytes.environmentVariable)=\(max(1, Int(deadline.rate) / 4)) (docs/limits.md)
                """, at: location)
        }
        _failure = problem
        return problem
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            let reason = HTTPURLResponse.localizedString(forStatusCode: http.statusCode)
            fail(PkgLayerError(.io, "the server answered HTTP \(http.statusCode) \(reason)", at: location))
            completionHandler(.cancel)
            return
        }
        let length = response.expectedContentLength >= 0 ? UInt64(response.expectedContentLength) : nil
        if let length, let expectedSize, length != expectedSize {
            fail(PkgLayerError(.invalidInput, """
                the server announces \(length) bytes, but the signed index gives the file's size as \(expectedSize); \
                the mirror is out of date (a sync in progress?) or was tampered with. Try again later or use another mirror
                """, at: location))
            completionHandler(.cancel)
            return
        }
        if let length, let maximumSize, length > maximumSize {
            fail(PkgLayerError(.io, "the server announces \(length) bytes, more than the \(maximumSize) such a file may have", at: location))
            completionHandler(.cancel)
            return
        }
        lock.withLock {
            declared = length
            lastData = Date()
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let (failed, total) = lock.withLock { () -> (Bool, UInt64) in
            lastData = Date()
            return (_failure != nil, received + UInt64(data.count))
        }
        guard !failed else { return }
        if let expectedSize, total > expectedSize {
            fail(PkgLayerError(.invalidInput, """
                the server sent more than the \(expectedSize) bytes the signed index gives as the file's size; nothing was kept. \
                The mirror is out of date or was tampered with; use another mirror
                """, at: location))
            return
        }
        if let maximumSize, total > maximumSize {
            fail(PkgLayerError(.io, "the server sent more than the \(maximumSize) bytes such a file may have; nothing was kept", at: location))
            return
        }
        do {
            try data.withUnsafeBytes { try sink($0) }
        } catch {
            fail(error)
            return
        }
        lock.withLock { received = total }
        let now = Date()
        if now.timeIntervalSince(lastReport) >= 0.2 {
            lastReport = now
            progress(total, expectedSize ?? declared, false)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let (received, declared) = lock.withLock { (self.received, self.declared) }
        if let error {
            fail(PkgLayerError(.io, "download failed: \(error.localizedDescription)", at: location))
        }
        if let declared, received != declared {
            fail(PkgLayerError(.io, "download ended after \(received) of \(declared) bytes", at: location))
        }
        if let expectedSize, received != expectedSize {
            fail(PkgLayerError(.invalidInput, """
                the server sent \(received) bytes, but the signed index gives the file's size as \(expectedSize); nothing was kept. \
                The mirror is out of date or was tampered with; use another mirror
                """, at: location))
        }
        if failure == nil { progress(received, expectedSize ?? declared, true) }
        lock.withLock { _finished = true }
        wake.signal()
    }
}
