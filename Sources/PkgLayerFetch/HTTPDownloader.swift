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
}

/// HTTP(S) through URLSession (FoundationNetworking on Linux, which is libcurl underneath: redirects are
/// followed and the usual `https_proxy` variables apply). Chosen over shelling out to curl so the body
/// streams straight into the cache writer, hashed as it arrives, with no second copy and no extra
/// runtime dependency. Any status other than 2xx is an error naming the status.
public struct HTTPDownloader: SourceDownloader {
    /// Seconds without any data before the transfer is abandoned.
    public var idleTimeout: TimeInterval

    public init(idleTimeout: TimeInterval = 60) {
        self.idleTimeout = idleTimeout
    }

    public func download(url: URL, to sink: @escaping (UnsafeRawBufferPointer) throws -> Void,
                         progress: @escaping (UInt64, UInt64?, Bool) -> Void) throws {
        let delegate = TransferDelegate(url: url, sink: sink, progress: progress)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.timeoutIntervalForResource = 24 * 3600
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        let session = URLSession(configuration: configuration, delegate: delegate, delegateQueue: queue)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: url)
        request.setValue("pkglayer", forHTTPHeaderField: "User-Agent")
        // The bytes on the wire are the pinned file: never let a Content-Encoding be decoded away.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        session.dataTask(with: request).resume()
        delegate.done.wait()
        if let failure = delegate.failure { throw failure }
    }
}

/// Receives the response on the session's serial queue.
// @unchecked Sendable: URLSession calls the delegate on its serial delegate queue only.
private final class TransferDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    let url: URL
    let sink: (UnsafeRawBufferPointer) throws -> Void
    let progress: (UInt64, UInt64?, Bool) -> Void
    let done = DispatchSemaphore(value: 0)
    var failure: Error?
    private var received: UInt64 = 0
    private var expected: UInt64?
    private var lastReport = Date.distantPast

    init(url: URL, sink: @escaping (UnsafeRawBufferPointer) throws -> Void, progress: @escaping (UInt64, UInt64?, Bool) -> Void) {
        self.url = url
        self.sink = sink
        self.progress = progress
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
                    completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
        if let http = response as? HTTPURLResponse, !(200..<300).contains(http.statusCode) {
            let reason = HTTPURLResponse.localizedString(forStatusCode: http.statusCode)
            failure = PkgLayerError(.io, "the server answered HTTP \(http.statusCode) \(reason)", at: url.absoluteString)
            completionHandler(.cancel)
            return
        }
        if response.expectedContentLength >= 0 { expected = UInt64(response.expectedContentLength) }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        do {
            try data.withUnsafeBytes { try sink($0) }
        } catch {
            failure = error
            dataTask.cancel()
            return
        }
        received += UInt64(data.count)
        let now = Date()
        if now.timeIntervalSince(lastReport) >= 0.2 {
            lastReport = now
            progress(received, expected, false)
        }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        if failure == nil, let error {
            failure = PkgLayerError(.io, "download failed: \(error.localizedDescription)", at: url.absoluteString)
        }
        if failure == nil, let expected, received != expected {
            failure = PkgLayerError(.io, "download ended after \(received) of \(expected) bytes", at: url.absoluteString)
        }
        if failure == nil { progress(received, expected, true) }
        done.signal()
    }
}
