import FuzzSupport
import Foundation
import PkgLayerCore
@testable import PkgLayerOCI

/// The OCI layout reader, a base image's manifest and its config on one input.
///
/// The input is parts separated by a line `=====` (`\n=====\n`): part 0 is `index.json`, parts 1…
/// are blobs. A part may name a later part's digest as `@blobN` (N its index, 1–9); the harness
/// substitutes `sha256:<hex>`, so the fuzzer can change a manifest without having to find its digest.
/// The layout is written afresh, then read as `pkglayer image` reads a base: the index, every blob
/// each descriptor reaches, and `BaseImage.fromManifest` for linux/amd64 (the config's `config`
/// object becomes a ContainerConfig). Every blob part is also read directly as an image config.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOCI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    var parts = Fuzz.split(Fuzz.bytes(data, size), separator: Array("\n=====\n".utf8), limit: 10)
    for i in stride(from: parts.count - 1, through: 0, by: -1) {
        for j in (i + 1)..<max(i + 1, parts.count) {
            parts[i] = replace(parts[i], Array("@blob\(j)".utf8), with: Array(Digest.sha256(parts[j]).description.utf8))
        }
    }
    let layout = Fuzz.freshDirectory("layout")
    Fuzz.write(Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8), to: "layout/oci-layout")
    Fuzz.write(parts[0], to: "layout/index.json")
    Fuzz.run("OCI layout") {
        let reader = try OCILayoutReader(path: layout)
        for part in parts.dropFirst() { try reader.store.put(part, mediaType: "application/octet-stream") }
        let target = try BlobStore(root: Fuzz.freshDirectory("target"))
        for descriptor in try reader.index().prefix(4) {
            Fuzz.run("reachableBlobs") { _ = try reader.reachableBlobs(from: descriptor) }
            Fuzz.run("BaseImage.fromManifest") {
                _ = try BaseImage.fromManifest(descriptor, in: reader.store, into: target, name: "fuzz", architecture: .x86_64)
            }
        }
    }
    for part in parts.dropFirst() {
        guard let object = try? JSONSerialization.jsonObject(with: Data(part)) as? [String: Any] else { continue }
        Fuzz.run("ContainerConfig(json:)") { _ = try ContainerConfig(json: object["config"] as? [String: Any] ?? object, at: "config") }
    }
    return 0
}

private func replace(_ bytes: [UInt8], _ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
    guard bytes.count >= pattern.count else { return bytes }
    var out: [UInt8] = []
    var i = 0
    while i < bytes.count {
        if i + pattern.count <= bytes.count, bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
            out += replacement
            i += pattern.count
        } else {
            out.append(bytes[i])
            i += 1
        }
    }
    return out
}
