import Foundation

/// pkglayer's cache directory: `$PKGLAYER_CACHE`, else `$XDG_CACHE_HOME/pkglayer`, else
/// `~/.cache/pkglayer`. Sources live under `sources/`, build outputs under `outputs/`.
public enum CacheLocation {
    public static func root(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let explicit = env["PKGLAYER_CACHE"], !explicit.isEmpty { return explicit }
        if let xdg = env["XDG_CACHE_HOME"], !xdg.isEmpty { return (xdg as NSString).appendingPathComponent("pkglayer") }
        let home = env["HOME"] ?? NSHomeDirectory()
        return (home as NSString).appendingPathComponent(".cache/pkglayer")
    }
}
