import Foundation
import PkgLayerArchive
import PkgLayerCore

/// The member rules for image layers pkglayer did not write itself (a registry's, a layout's, the
/// store's), applied to the tar headers without extracting anything: the same rules the safe extractor
/// (`ArchiveExtractor`) enforces, stretched over the image's layer stack, bottom layer first.
///
/// - no member name with a `..` component, a NUL byte, or an absolute path (also for hardlink targets);
/// - no device nodes, fifos or sockets (a runtime makes /dev; a layer that ships nodes is refused);
/// - no member beneath a path that an earlier member (in this layer or a lower one) made a symlink:
///   unpacking it would write through the symlink, wherever it points;
/// - a hardlink only to a path an earlier member (this layer or a lower one) made a regular file.
///
/// Whiteouts (`.wh.NAME`, `.wh..wh..opq`) remove what lower layers made, so a symlink that a layer
/// whites out (or replaces with a directory) no longer counts. Symlink targets are not judged: they
/// resolve inside the container, and no member may be written through one.
///
/// `pkglayer pull` and registry bases check every layer before anything is stored; image assembly
/// on a base checks the base's layers as it reads them (`ImageBuilder.baseFiles`), so a base that
/// reached the store or a layout some other way is refused too. Errors name the image, the layer
/// digest, the member and the rule.
public struct LayerMemberCheck {
    /// The image's name in errors (a registry reference, a layout tag, a store name).
    public let image: String
    /// How many layers the image has, for errors that say `layer 2 of 3`; nil when unknown.
    public var layerCount: Int?
    private var nodes: [String: Node] = [:]
    private var layerIndex = -1
    private var layer: Digest?

    private enum Kind { case file, directory, symlink(target: String) }
    private struct Node {
        var kind: Kind
        var layer: Int
    }

    public init(image: String, layerCount: Int? = nil) { self.image = image; self.layerCount = layerCount }

    /// Whether a layer of `mediaType` is a file-system tar (OCI or Docker, any compression) that these
    /// rules apply to. Other blobs (an artifact's, a foreign layer the registry does not serve) are not tars.
    public static func isFilesystemLayer(_ mediaType: String) -> Bool {
        let type = mediaType.lowercased()
        if type.contains("foreign") { return false }
        return type.hasPrefix("application/vnd.oci.image.layer.") || type.hasPrefix("application/vnd.docker.image.rootfs.diff.")
    }

    /// Reads the layer blob at `path` (a tar, gzip'd, zstd'd or not), header by header, and applies the
    /// rules to each member. Layers must come bottom first.
    public mutating func check(layerAt path: String, digest: Digest) throws {
        beginLayer(digest)
        let here = location
        do {
            let reader = try ArchiveReader(path: path)
            while let header = try reader.next() { try admit(header) }
        } catch let error as PkgLayerError where error.location == here || error.code == .limitExceeded {
            throw error
        } catch {
            throw PkgLayerError(.invalidInput, "the layer is not a readable tar (gzip, zstd or uncompressed); the image is damaged or not an image",
                                at: here, cause: error as? PkgLayerError)
        }
    }

    /// Starts the next layer up; `admit` then takes its members in order.
    public mutating func beginLayer(_ digest: Digest) {
        layerIndex += 1
        layer = digest
    }

    private var location: String {
        "\(image): layer \(layerIndex + 1)\(layerCount.map { " of \($0)" } ?? "") (\(layer.map(\.description) ?? "?"))"
    }

    private func refuse(_ code: PkgLayerError.Code, _ message: String) -> PkgLayerError {
        PkgLayerError(code, message + "; pkglayer neither stores nor builds on such a layer. Rebuild the image from a trusted source, or pull it from a registry you trust",
                      at: location)
    }

    /// A member name (or hardlink target) as a package path, `..`, NUL bytes and absolute names refused.
    private func normalized(_ raw: String, member: String, what: String) throws -> String {
        if raw.hasPrefix("/") {
            throw refuse(.pathEscapesRoot, "\(what) '\(raw)'\(what == "member" ? "" : " of member '\(member)'") is an absolute path; a layer holds paths relative to the image root")
        }
        do {
            return try ManifestPath.normalize(raw, field: "")
        } catch {
            throw refuse(.pathEscapesRoot, "\(what) '\(raw)'\(what == "member" ? "" : " of member '\(member)'") has a '..' component or a NUL byte and could write outside the image root")
        }
    }

    /// The nearest proper ancestor of `path` that is currently a symlink, with its target and layer.
    private func symlinkAbove(_ path: String) -> (path: String, target: String, layer: Int)? {
        var index = path.index(after: path.startIndex)
        while let slash = path[index...].firstIndex(of: "/") {
            let ancestor = String(path[..<slash])
            if let node = nodes[ancestor], case .symlink(let target) = node.kind { return (ancestor, target, node.layer) }
            index = path.index(after: slash)
        }
        return nil
    }

    private func layerWords(_ index: Int) -> String {
        index == layerIndex ? "this layer" : "layer \(index + 1)\(layerCount.map { " of \($0)" } ?? "")"
    }

    /// Applies the rules to one member of the current layer.
    public mutating func admit(_ header: ArchiveEntryHeader) throws {
        let member = header.path
        let path = try normalized(member, member: member, what: "member")
        if path == "/" { return }
        if let above = symlinkAbove(path) {
            throw refuse(.pathEscapesRoot, "member '\(member)' lies beneath '\(above.path.dropFirst())', which is not a real directory: an earlier member (\(layerWords(above.layer))) made it a symlink to '\(above.target)', and unpacking the member would write through that symlink")
        }
        let name = ManifestPath.basename(of: path), parent = ManifestPath.parent(of: path)
        if name.hasPrefix(".wh.") {
            if name == ".wh..wh..opq" {
                // Opaque: the directory's contents from lower layers are gone.
                let prefix = parent == "/" ? "/" : parent + "/"
                nodes = nodes.filter { !($0.key.hasPrefix(prefix) && $0.value.layer < layerIndex) }
            } else {
                remove((parent == "/" ? "" : parent) + "/" + name.dropFirst(4))
            }
            return
        }
        if let target = header.hardlinkTarget {
            let targetPath = try normalized(target, member: member, what: "hardlink target")
            guard let node = nodes[targetPath], case .file = node.kind, symlinkAbove(targetPath) == nil else {
                throw refuse(.pathEscapesRoot, "member '\(member)' is a hardlink to '\(target)', which no earlier member of the image made a regular file")
            }
            replace(path, with: .file)
            return
        }
        switch header.mode & 0o170000 {
        case 0o100000, 0:
            replace(path, with: .file)
        case 0o040000:
            nodes[path] = Node(kind: .directory, layer: layerIndex)
        case 0o120000:
            replace(path, with: .symlink(target: header.symlinkTarget ?? ""))
        default:
            throw refuse(.unsupportedFileType, "member '\(member)' is a \(Self.kindName(header.mode)); a layer may hold only files, directories, symlinks and hardlinks (device nodes are for the container runtime to make)")
        }
    }

    /// `path` becomes a non-directory: whatever was beneath it is gone.
    private mutating func replace(_ path: String, with kind: Kind) {
        if let old = nodes[path], case .directory = old.kind { remove(path) }
        nodes[path] = Node(kind: kind, layer: layerIndex)
    }

    /// A whiteout or a replacement: `path` and, when it was a directory, everything beneath it.
    private mutating func remove(_ path: String) {
        guard let old = nodes.removeValue(forKey: path) else { return }
        if case .directory = old.kind {
            let prefix = path + "/"
            nodes = nodes.filter { !$0.key.hasPrefix(prefix) }
        }
    }

    static func kindName(_ mode: UInt32) -> String {
        switch mode & 0o170000 {
        case 0o020000: return "character device"
        case 0o060000: return "block device"
        case 0o010000: return "fifo"
        case 0o140000: return "socket"
        default: return "member of unknown type (mode 0\(String(mode, radix: 8)))"
        }
    }
}
