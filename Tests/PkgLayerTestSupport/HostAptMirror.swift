import Foundation

/// A loopback mirror of the host's own apt sources: for every `*_InRelease` in /var/lib/apt/lists, the
/// real (Debian-signed) InRelease and its uncompressed `main/binary-ARCH/Packages`, plus the .deb files
/// install-deps fetched, each placed where its index says. With `PKGLAYER_APT_MIRROR` set to
/// ``mirrorEnvironment``, pkglayer resolves the host's sources exactly as it would online, verifying
/// Debian's signatures, while every byte comes from 127.0.0.1.
public final class HostAptMirror {
    public let root: String
    public let server: TestHTTPServer
    /// Archive URLs mirrored (`http://deb.debian.org/debian`).
    public private(set) var archives: [String] = []

    public static let debDirectories = ["/var/cache/pkglayer-test/debs-candidate", "/var/cache/pkglayer-test/debs"]

    public init(root: String, architecture: String = "amd64") throws {
        self.root = root
        let lists = "/var/lib/apt/lists"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: lists)) ?? []
        var indexes: [String] = []
        for name in names.sorted() where name.hasSuffix("_InRelease") {
            // deb.debian.org_debian-security_dists_bookworm-security_InRelease
            guard let range = name.range(of: "_dists_") else { continue }
            let archivePath = name[..<range.lowerBound].replacingOccurrences(of: "_", with: "/")
            let suite = String(name[range.upperBound...].dropLast("_InRelease".count))
            let base = "\(root)/\(archivePath)"
            try FileManager.default.createDirectory(atPath: "\(base)/dists/\(suite)/main/binary-\(architecture)", withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: "\(lists)/\(name)", toPath: "\(base)/dists/\(suite)/InRelease")
            let stem = "\(lists)/\(name.dropLast("InRelease".count))main_binary-\(architecture)_Packages"
            guard let compressed = ["", ".lz4", ".xz", ".gz"].map({ stem + $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) else { continue }
            let packages = "\(base)/dists/\(suite)/main/binary-\(architecture)/Packages"
            try TestProcess.runChecked("/bin/sh", ["-c", "/usr/lib/apt/apt-helper cat-file '\(compressed)' > '\(packages)'"])
            indexes.append(packages)
            let archive = "http://\(archivePath)"
            if !archives.contains(archive) { archives.append(archive) }
        }
        // Pool files where the indexes put them.
        var debs: [String: String] = [:]
        for dir in Self.debDirectories {
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".deb") {
                let pool = poolName(file)
                if debs[pool] == nil { debs[pool] = "\(dir)/\(file)" }
            }
        }
        for index in indexes {
            let base = (index.components(separatedBy: "/dists/").first)!
            let text = try String(contentsOfFile: index, encoding: .utf8)
            for line in text.split(separator: "\n") where line.hasPrefix("Filename: ") {
                let relative = String(line.dropFirst("Filename: ".count))
                guard let deb = debs[(relative as NSString).lastPathComponent] else { continue }
                let target = "\(base)/\(relative)"
                if FileManager.default.fileExists(atPath: target) { continue }
                try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try FileManager.default.copyItem(atPath: deb, toPath: target)
            }
        }
        server = try TestHTTPServer(directory: root)
    }

    /// `PKGLAYER_APT_MIRROR`: every mirrored archive URL → its loopback copy.
    public var mirrorEnvironment: String {
        archives.map { "\($0)=\(server.baseURL)/\($0.dropFirst("http://".count))" }.joined(separator: ",")
    }

    public func stop() { server.stop() }
}
