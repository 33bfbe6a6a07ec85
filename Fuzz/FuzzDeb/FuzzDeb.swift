import FuzzSupport
import PkgLayerCore
import PkgLayerDeb

/// The deb reader on one input: the ar container, debian-binary, control.tar (control, conffiles,
/// md5sums, maintainer scripts) and data.tar, extracted under a fresh staging directory.
///
/// Oracles: nothing lands beside the staging directory; a failed read leaves it empty or absent
/// (DebReader documents "a failed read leaves the staging directory empty").
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeb(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Fuzz.write(Fuzz.bytes(data, size), to: "input.deb")
    let staging = Fuzz.freshDirectory("staging")
    let root = "\(staging)/root"
    let ok = Fuzz.run("DebReader.readPackage") { _ = try DebReader().readPackage(path: input, extractTo: root) }
    let left = Fuzz.entries(staging)
    Fuzz.check(left.allSatisfy { $0 == "root" }, "the deb reader created \(left) beside its staging directory")
    Fuzz.check(ok || Fuzz.entries(root).isEmpty, "a failed deb read left files in the staging directory: \(Fuzz.entries(root))")
    Fuzz.wipe(staging)
    return 0
}
