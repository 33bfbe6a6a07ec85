import Foundation
import PkgLayerArchive
import PkgLayerCore

/// The bounds on what a .deb may make pkglayer hold in memory (docs/limits.md). The ar container,
/// control.tar and data.tar are read through `ArchiveReader`, which bounds members, extracted bytes
/// and (for the uncompressed ar) sizes a member claims past the end of the file; here:
///
/// - the `control` file: at most `debControlBytes` (1 MiB; dpkg's own control files are a few KiB,
///   and the largest in Debian, with long Description and Provides fields, are far below it);
/// - all control.tar members read into memory together (control, md5sums, conffiles, scripts, …):
///   at most `debControlTarBytes` (64 MiB; md5sums of a package with 100 000 files is about 10 MiB).
extension DebReader {
    /// Reads the current control.tar member (`name`, without the leading `/`) into memory, counting it
    /// in `held`.
    static func readControlMember(_ tar: ArchiveReader, _ header: ArchiveEntryHeader, name: String, deb: String,
                                  held: inout UInt64) throws -> [UInt8] {
        let limits = InputLimits.current
        let location = "\(deb): control.tar member '\(name)'"
        let tarLeft = limits[.debControlTarBytes] - min(limits[.debControlTarBytes], held)
        let isControl = name == "control"
        func refuse(_ size: UInt64?) -> PkgLayerError {
            if isControl, (size ?? .max) > limits[.debControlBytes] {
                return limits.exceeded(.debControlBytes, "the control file", actual: size, at: location,
                                       hint: "a control file is a few KiB of fields; the package is damaged or hostile")
            }
            return limits.exceeded(.debControlTarBytes, "control.tar's files together", actual: size.map { held + $0 }, at: location,
                                   hint: "control files, md5sums and scripts take a few MiB even for the largest packages; the package is damaged or hostile")
        }
        let room = isControl ? min(limits[.debControlBytes], tarLeft) : tarLeft
        if header.size > room { throw refuse(header.size) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(header.size))
        try tar.readData { chunk in
            if UInt64(bytes.count + chunk.count) > room { throw refuse(nil) }
            bytes.append(contentsOf: chunk)
        }
        held += UInt64(bytes.count)
        return bytes
    }

    /// A limit error raised while reading a member extracted to `scratchPath` (control.tar.xz,
    /// data.tar.xz), located in the .deb instead of the scratch copy. Other errors are returned as they are.
    static func locatedInDeb(_ error: PkgLayerError, scratchPath: String, deb: String) -> PkgLayerError {
        var error = error
        if let location = error.location, location.hasPrefix(scratchPath) {
            error.location = "\(deb): \((scratchPath as NSString).lastPathComponent)" + location.dropFirst(scratchPath.count)
        }
        return error
    }
}
