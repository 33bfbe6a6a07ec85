import Foundation
import PkgLayerCore

/// What `pkglayer store verify` found.
public struct StoreVerification: Sendable {
    /// One thing wrong with the store.
    public struct Problem: Sendable, Equatable {
        /// The file or image at fault.
        public var location: String
        /// What is wrong and what to do.
        public var message: String
    }

    /// Blob files hashed.
    public var blobs = 0
    /// Their bytes together.
    public var bytes: Int64 = 0
    /// Tagged images whose references were followed.
    public var images = 0
    public var problems: [Problem] = []
    public var isClean: Bool { problems.isEmpty }
}

extension ImageStore {
    /// The store's fsck: every file under `blobs/sha256` is a regular file named by a sha256 that its
    /// content hashes to, and every blob a tagged image reaches (manifests, indexes, configs, layers) is
    /// present with the size its descriptor gives. Temporary files of a writer (`.tmp-*`) are skipped.
    /// Reads every blob once; changes nothing.
    public func verify() throws -> StoreVerification {
        var result = StoreVerification()
        let directory = blobs.blobDirectory
        let names = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var bad = Set<Digest>()
        for name in names where !name.hasPrefix(".tmp") {
            let path = "\(directory)/\(name)"
            guard name.count == 64, name.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                result.problems.append(.init(location: path, message: "is not named by a sha256 digest; it does not belong in the blob store, remove it"))
                continue
            }
            let digest = Digest(hex: name)
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
                result.problems.append(.init(location: path, message: "is not a regular file (a symlink?); remove it and load, pull or build the image again"))
                bad.insert(digest)
                continue
            }
            result.blobs += 1
            result.bytes += Int64(info.st_size)
            do {
                let actual = try blobs.hash(digest)
                if actual != digest {
                    result.problems.append(.init(location: path, message: "content hashes to \(actual), not to its name: the blob is damaged; remove it (and the images that use it) and load, pull or build them again"))
                    bad.insert(digest)
                }
            } catch {
                result.problems.append(.init(location: path, message: "cannot be read: \(PkgLayerError.describe(error))"))
                bad.insert(digest)
            }
        }
        let reader = try OCILayoutReader(path: path)
        for descriptor in try readIndex() {
            let reference = descriptor.annotations[OCIAnnotation.refName] ?? descriptor.digest.description
            result.images += 1
            do {
                for blob in try reader.reachableBlobs(from: descriptor) where !bad.contains(blob.digest) {
                    guard blobs.has(blob.digest) else {
                        result.problems.append(.init(location: reference, message: "needs blob \(blob.digest), which the store does not hold; remove the image (pkglayer rmi) and load, pull or build it again"))
                        continue
                    }
                    if !blobs.has(blob.digest, size: blob.size) {
                        result.problems.append(.init(location: reference, message: "needs blob \(blob.digest) of \(blob.size) bytes, but the store's file has another size"))
                    }
                }
            } catch {
                let text = PkgLayerError.describe(error)
                if let damaged = bad.first(where: { text.contains($0.hex) }) {
                    result.problems.append(.init(location: reference, message: "needs the damaged blob \(damaged); remove the image (pkglayer rmi \(reference)) and load, pull or build it again"))
                } else {
                    result.problems.append(.init(location: reference, message: "cannot be followed: \(text)"))
                }
            }
        }
        return result
    }
}
