import FuzzSupport
import Foundation
import PkgLayerCore
@testable import PkgLayerRepositories

/// yum's metadata on one input: repomd.xml (the primary entry) and primary.xml (packages, versions,
/// checksums, locations, rpm:provides/requires/conflicts, rich dependencies).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYum(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    Fuzz.run("YumRepomd") { _ = try YumRepomd(parsing: bytes, location: "repomd.xml") }
    Fuzz.run("YumPrimaryParser") {
        _ = try YumPrimaryParser.parse(Data(bytes), baseURL: "http://yum.example/repo", repository: "fuzz", location: "primary.xml")
    }
    return 0
}
