import PkgLayerArchive
import PkgLayerCore
import PkgLayerDeb
import PkgLayerRPM

/// The one place that knows which room writes and reads each format. Everything else in the pipeline
/// asks here by `PackageFormat` and talks to the `Packager`/`PackageReading` seam.
public enum Packagers {
    /// A writer for `format`: `compression` nil keeps the format's default (rpm gzip 6, deb gz 6).
    /// With a `signer`, the package is signed as it is written (rpm: a header signature; deb: debsigs'
    /// `_gpgorigin`), byte for byte what signing it afterwards gives.
    public static func packager(for format: PackageFormat, compression: Compression? = nil, overwrite: Bool,
                                signer: (any PackageSigner)? = nil) -> any Packager {
        switch format {
        case .rpm: return RPMWriter(compression: compression ?? .gzip(level: 6), overwrite: overwrite, signer: signer)
        case .deb: return DebWriter(dataCompression: compression ?? .gzip(level: 6), overwrite: overwrite, signer: signer)
        }
    }

    /// A reader for `format`'s package files.
    public static func reader(for format: PackageFormat) -> any PackageReading {
        switch format {
        case .rpm: return RPMReader()
        case .deb: return DebReader()
        }
    }
}
