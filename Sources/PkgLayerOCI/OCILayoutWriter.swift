import Foundation
import PkgLayerArchive
import PkgLayerCore

/// An image and the tag it goes by in a layout's `index.json`.
public struct TaggedImage: Sendable {
    public var image: AssembledImage
    public var tag: String

    public init(_ image: AssembledImage, tag: String) {
        self.image = image
        self.tag = tag
    }
}

/// What an OCI image layout holds, independent of whether it lands in a directory or a tar: the
/// `oci-layout` marker, `index.json` and the blobs (sorted, each once).
struct OCILayoutContent {
    static let layoutFile = JSONValue.object(["imageLayoutVersion": .string("1.0.0")]).canonicalBytes

    let index: [UInt8]
    let blobs: [OCIDescriptor]

    init(_ images: [TaggedImage]) throws {
        try self.init(images.map { TaggedManifest(descriptor: $0.image.manifest, tag: $0.tag, blobs: $0.image.blobs) })
    }

    init(_ images: [TaggedManifest]) throws {
        var manifests: [OCIDescriptor] = []
        var blobs: [Digest: OCIDescriptor] = [:]
        for tagged in images {
            try OCIReference.validateTag(tagged.tag)
            var descriptor = tagged.descriptor
            descriptor.annotations = [OCIAnnotation.refName: tagged.tag]
            manifests.append(descriptor)
            for blob in tagged.blobs { blobs[blob.digest] = blob }
        }
        let tags = images.map(\.tag)
        if let duplicate = tags.first(where: { tag in tags.filter { $0 == tag }.count > 1 }) {
            throw PkgLayerError(.invalidInput, "two images share the tag; give each image its own", at: duplicate)
        }
        index = OCIImageIndex(manifests: manifests).json.canonicalBytes
        self.blobs = blobs.values.sorted { $0.digest.hex < $1.digest.hex }
    }
}

/// Tag and repository spellings.
public enum OCIReference {
    /// A layout tag (`org.opencontainers.image.ref.name`), as the image spec's grammar allows:
    /// alphanumeric components joined by `-`, `.`, `_`, `:`, `@`, `+`, `--`, and `/`.
    public static func validateTag(_ tag: String) throws {
        let separators: Set<Character> = ["-", ".", "_", ":", "@", "+", "/"]
        var previousWasSeparator = true
        var valid = !tag.isEmpty
        var run = ""
        for character in tag {
            if character.isASCII && (character.isLetter || character.isNumber) {
                previousWasSeparator = false
                run = ""
            } else if separators.contains(character) {
                run.append(character)
                if previousWasSeparator && run != "--" { valid = false }
                if run.count > 1 && run != "--" { valid = false }
                previousWasSeparator = true
            } else {
                valid = false
            }
        }
        if previousWasSeparator { valid = false }
        guard valid else {
            throw PkgLayerError(.invalidInput, "is not a valid image tag; use letters and digits joined by '.', '-', '_', ':', '@', '+' or '/' (e.g. nginx:1.22)",
                                at: tag)
        }
    }

    /// A `docker load` reference, `name:tag`, with a lowercase name.
    public static func validateRepoTag(_ reference: String) throws {
        let fail = PkgLayerError(.invalidInput, "is not a repository:tag reference such as 'example.org/nginx:1.22' (lowercase name, tag of letters, digits, '.', '_', '-')",
                                 at: reference)
        guard let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") else { throw fail }
        let name = reference[..<colon], tag = reference[reference.index(after: colon)...]
        guard !name.isEmpty, name.allSatisfy({ ($0.isASCII && ($0.isLowercase || $0.isNumber)) || "._-/:".contains($0) }),
              !tag.isEmpty, tag.count <= 128, tag.first != "." && tag.first != "-",
              tag.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else { throw fail }
    }
}

/// Writes an OCI image layout directory: `oci-layout`, `index.json` (each image tagged with
/// `org.opencontainers.image.ref.name`) and `blobs/sha256/`. The directory is built under a temporary
/// name next to the destination and renamed into place, so the destination is either the old layout
/// or the complete new one.
public enum OCILayoutWriter {
    public static func write(_ images: [TaggedImage], from store: BlobStore, to path: String, overwrite: Bool = false) throws {
        let content = try OCILayoutContent(images)
        let exists = FileManager.default.fileExists(atPath: path)
        if exists && !overwrite {
            throw PkgLayerError(.fileExists, "already exists; pass -f to overwrite it", at: path)
        }
        let parent = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let staging = try makeSiblingDirectory(parent: parent.isEmpty ? "." : parent, name: ".\(base).tmp")
        do {
            let target = try BlobStore(root: staging)
            for blob in content.blobs { try store.transfer(blob.digest, size: blob.size, to: target) }
            try writeSmallFile("\(staging)/oci-layout", OCILayoutContent.layoutFile)
            try writeSmallFile("\(staging)/index.json", content.index)
            for dir in [staging, "\(staging)/blobs", "\(staging)/blobs/sha256"] { chmod(dir, 0o755) }
            try replace(path, with: staging, exists: exists, parent: parent.isEmpty ? "." : parent, base: base)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    /// Adds images to a layout, keeping what it already holds: a tag given again moves to the new image,
    /// other tags stay. Only blobs some tag still reaches are carried over, so a replaced image's
    /// layers do not pile up. Creates the layout when there is none. Atomic like `write`.
    public static func add(_ images: [TaggedImage], from store: BlobStore, to path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            try write(images, from: store, to: path)
            return
        }
        let existing = try OCILayoutReader(path: path)
        let newTags = Set(images.map(\.tag))
        var kept: [OCIDescriptor] = []
        var keptBlobs: [OCIDescriptor] = []
        for descriptor in try existing.index() {
            if let tag = descriptor.annotations[OCIAnnotation.refName], newTags.contains(tag) { continue }
            kept.append(descriptor)
            keptBlobs += try existing.reachableBlobs(from: descriptor)
        }
        var manifests = kept
        var blobs = keptBlobs
        for tagged in images {
            try OCIReference.validateTag(tagged.tag)
            var descriptor = tagged.image.manifest
            descriptor.annotations = [OCIAnnotation.refName: tagged.tag]
            manifests.append(descriptor)
            blobs += tagged.image.blobs
        }
        let index = OCIImageIndex(manifests: manifests).json.canonicalBytes
        let parent = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        let staging = try makeSiblingDirectory(parent: parent.isEmpty ? "." : parent, name: ".\(base).tmp")
        do {
            let target = try BlobStore(root: staging)
            let keptDigests = Set(keptBlobs.map(\.digest))
            for blob in blobs {
                try (keptDigests.contains(blob.digest) ? existing.store : store).transfer(blob.digest, size: blob.size, to: target)
            }
            try writeSmallFile("\(staging)/oci-layout", OCILayoutContent.layoutFile)
            try writeSmallFile("\(staging)/index.json", index)
            for dir in [staging, "\(staging)/blobs", "\(staging)/blobs/sha256"] { chmod(dir, 0o755) }
            try replace(path, with: staging, exists: true, parent: parent.isEmpty ? "." : parent, base: base)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }

    static func writeSmallFile(_ path: String, _ bytes: [UInt8]) throws {
        let file = try AtomicFile(path: path, overwrite: true, mode: 0o644)
        try file.write(bytes)
        try file.commit()
    }

    static func makeSiblingDirectory(parent: String, name: String) throws -> String {
        try WorkOwnership.makeDirectory(in: parent, prefix: name)
    }

    /// Renames `staging` to `path`; an existing directory is first moved aside, then removed.
    static func replace(_ path: String, with staging: String, exists: Bool, parent: String, base: String) throws {
        if !exists {
            guard rename(staging, path) == 0 else { throw PkgLayerError.posix("rename into place", path: path) }
            return
        }
        // Linux swaps the two directories in one step: no moment without a layout at `path`.
        if let exchange = renameExchange, exchange(AT_FDCWD, staging, AT_FDCWD, path, 2 /* RENAME_EXCHANGE */) == 0 {
            try? FileManager.default.removeItem(atPath: staging)
            return
        }
        let aside = try makeSiblingDirectory(parent: parent, name: ".\(base).old")
        rmdir(aside)
        guard rename(path, aside) == 0 else { throw PkgLayerError.posix("moving the old layout aside", path: path) }
        guard rename(staging, path) == 0 else {
            let error = PkgLayerError.posix("rename into place", path: path)
            rename(aside, path)
            throw error
        }
        try? FileManager.default.removeItem(atPath: aside)
    }
}

private typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>?, Int32, UnsafePointer<CChar>?, UInt32) -> Int32

/// glibc's `renameat2` (2.28+), which Glibc's Swift module does not export; looked up at run time.
private let renameExchange: RenameAt2? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return nil }
    return unsafeBitCast(symbol, to: RenameAt2.self)
}()
