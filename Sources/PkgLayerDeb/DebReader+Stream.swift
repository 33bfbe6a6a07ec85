import PkgLayerCore

/// Receives a package's file contents while `DebReader.readPackage(path:content:)` reads its data
/// member, so a caller can keep them where it likes (an image layer's spool) instead of a staged tree.
/// Calls come in archive order: `beginFile()`, `write` any number of times, `endFile` with the
/// content's digests (lower-case hex), for each regular file; hardlinks and empty files included
/// only through their regular file.
public protocol DebContentSink: AnyObject {
    func beginFile()
    func write(_ bytes: UnsafeRawBufferPointer) throws
    func endFile(sha256: String, md5: String)
}

extension DebReader {
    /// Reads a .deb without staging its files: the manifest's regular files carry their size and
    /// sha256 but no `sourcePath`; their bytes go to `content` as the data member is decompressed, once.
    /// The same checks apply as with `readPackage(path:extractTo:)`.
    public func readPackage(path: String, content: any DebContentSink) throws -> ReadResult {
        try readPackage(path: path, extractTo: nil, content: content)
    }
}
