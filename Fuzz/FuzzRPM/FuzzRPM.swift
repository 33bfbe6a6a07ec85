import FuzzSupport
import PkgLayerCore
import PkgLayerRPM

/// The rpm reader on one input: lead, signature header, main header (librpm), digests, file list,
/// dependencies, scripts and the payload (newc or stripped cpio) extracted under a fresh root.
///
/// Oracles: nothing lands beside the root; a failed read leaves no root behind (the extractor
/// removes what it made, and the root itself when it made it).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRPM(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Fuzz.write(Fuzz.bytes(data, size), to: "input.rpm")
    let staging = Fuzz.freshDirectory("staging")
    let root = "\(staging)/root"
    let ok = Fuzz.run("RPMReader.read") { _ = try RPMReader().read(path: input, extractTo: root) }
    let left = Fuzz.entries(staging)
    Fuzz.check(left.allSatisfy { $0 == "root" }, "the rpm reader created \(left) beside its extraction root")
    Fuzz.check(ok || !Fuzz.exists(root), "a failed rpm read left its extraction root behind: \(Fuzz.entries(root))")
    Fuzz.wipe(staging)
    return 0
}
