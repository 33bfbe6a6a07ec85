import Foundation
import PkgLayerCore

/// fpm's `--deb-generate-changes`: a `NAME_VERSION_ARCH.changes` file beside the .deb (deb-changes(5)),
/// for upload tools such as dput and reprepro.
extension PackageJob {
    func writeChanges(for spec: PackageSpec, deb: PackageOutput) throws {
        let debPath = deb.path
        let debName = (debPath as NSString).lastPathComponent
        guard let data = FileManager.default.contents(atPath: debPath) else { throw PkgLayerError.posix("read", path: debPath) }
        var version = spec.version
        if let release = spec.release, !release.isEmpty { version += "-" + release }
        if let epoch = spec.epoch { version = "\(epoch):" + version }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let date = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(spec.sourceDateEpoch.seconds)))
        let section = spec.section ?? "misc", priority = spec.priority ?? "optional"
        let maintainer = spec.maintainer ?? "<root@localhost>"
        let summary = spec.effectiveSummary
        let dist = request.deb.dist ?? "unstable"
        let md5 = StreamingHasher.digestHex(data, .md5), sha1 = StreamingHasher.digestHex(data, .sha1)
        let sha256 = Digest.sha256(data).hex
        let size = data.count
        var changes = """
        Format: 1.8
        Date: \(date)
        Source: \(spec.name)
        Binary: \(spec.name)
        Architecture: \(spec.architecture.deb)
        Version: \(version)
        Distribution: \(dist)
        Urgency: medium
        Maintainer: \(maintainer)
        Description:
         \(spec.name) - \(summary)
        Changes:
         \(spec.name) (\(version)) \(dist); urgency=medium
         .
         * Package created with pkglayer.
        Checksums-Sha1:
         \(sha1) \(size) \(debName)
        Checksums-Sha256:
         \(sha256) \(size) \(debName)
        Files:
         \(md5) \(size) \(section) \(priority) \(debName)

        """
        if !changes.hasSuffix("\n") { changes += "\n" }
        let changesPath = (debPath as NSString).deletingPathExtension + ".changes"
        let file = try AtomicFile(path: changesPath, overwrite: true)
        try file.write(changes)
        try file.commit()
    }
}

extension StreamingHasher {
    static func digestHex(_ data: Data, _ algorithm: Algorithm) -> String {
        var hasher = StreamingHasher([algorithm])
        hasher.update(data)
        let bytes: [UInt8]
        switch algorithm {
        case .md5: bytes = hasher.finalizeMD5()
        case .sha1: bytes = hasher.finalizeSHA1()
        case .sha256: bytes = hasher.finalizeSHA256()
        }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}
