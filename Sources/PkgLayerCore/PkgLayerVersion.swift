/// pkglayer's own version: `pkglayer --version`, and part of every build's cache key.
public enum PkgLayerVersion {
    public static let current = "0.1.0"
}
