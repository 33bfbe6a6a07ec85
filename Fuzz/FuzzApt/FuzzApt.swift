import FuzzSupport
import Foundation
import PkgLayerCore
import PkgLayerDeb
@testable import PkgLayerRepositories

/// apt's indexes on one input: a Release file (and the same text as a clearsigned InRelease body of a
/// trusted repository), a Packages index (with its relation fields), sources.list lines and deb822
/// .sources paragraphs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzApt(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let text = String(decoding: bytes, as: UTF8.self)
    Fuzz.run("ReleaseFile") { _ = try ReleaseFile(parsing: text, location: "Release") }
    Fuzz.run("ReleaseFile(InRelease)") { _ = try ReleaseFile(parsing: AptRepository.clearsignedBody(text), location: "InRelease") }
    Fuzz.run("parsePackages") {
        _ = try AptRepository.parsePackages(bytes, baseURL: "http://deb.example/debian", repository: "fuzz", location: "Packages")
    }
    Fuzz.run("parseOneLineSources") { _ = try AptRepository.parseOneLineSources(text, file: "sources.list") }
    Fuzz.run("parseDeb822Sources") { _ = try AptRepository.parseDeb822Sources(text, file: "fuzz.sources") }
    return 0
}
