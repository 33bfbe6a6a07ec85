import Foundation
import PkgLayerCore

/// How long one registry request may take in all, body included: a floor plus its bytes at a minimum
/// speed. A blob download counts the size the manifest declares; an upload the bytes it sends; any
/// other answer (a manifest, a token, an error) the most pkglayer reads of it (docs/limits.md:
/// `PKGLAYER_MAX_OCI_JSON_BYTES`, `PKGLAYER_MAX_REGISTRY_RESPONSE_BYTES`). A server that stalls or
/// drips its answer (a body without Content-Length, one byte now and then) is cut off at the deadline
/// and the request fails naming its URL, instead of holding a build for hours; the connection's idle
/// read timeout is the floor too, so a silent server fails sooner.
///
/// Defaults: 60 s plus 256 KiB/s (a 1 GiB layer may take 68 minutes, a 4 MiB manifest 76 s).
/// `PKGLAYER_REGISTRY_TIMEOUT=SECONDS` sets the floor, `PKGLAYER_REGISTRY_MIN_SPEED=BYTES[k|m]` the
/// speed (bytes per second; `k` KiB, `m` MiB).
public struct RegistryDeadline: Sendable, Equatable {
    /// Seconds every request may take whatever its size; also the idle read timeout.
    public var floorSeconds: Double
    /// The slowest average speed, in bytes per second, that still counts as moving.
    public var minimumBytesPerSecond: Double

    public static let floorVariable = "PKGLAYER_REGISTRY_TIMEOUT"
    public static let speedVariable = "PKGLAYER_REGISTRY_MIN_SPEED"

    public init(floorSeconds: Double = 60, minimumBytesPerSecond: Double = 256 * 1024) {
        self.floorSeconds = max(0.1, floorSeconds)
        self.minimumBytesPerSecond = max(1, minimumBytesPerSecond)
    }

    /// The defaults, changed by `PKGLAYER_REGISTRY_TIMEOUT` and `PKGLAYER_REGISTRY_MIN_SPEED` when they are set.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RegistryDeadline {
        var deadline = RegistryDeadline()
        if let text = environment[floorVariable], !text.isEmpty {
            guard let seconds = Double(text), seconds > 0, seconds.isFinite else {
                throw PkgLayerError(.usage, "is not a number of seconds above 0 (the shortest time any registry request may take, default 60)",
                                    at: "\(floorVariable)=\(text)")
            }
            deadline.floorSeconds = max(0.1, seconds)
        }
        if let text = environment[speedVariable], !text.isEmpty {
            let lower = text.lowercased()
            let (digits, scale): (Substring, Double) = lower.hasSuffix("k") ? (lower.dropLast(), 1024)
                : lower.hasSuffix("m") ? (lower.dropLast(), 1024 * 1024) : (Substring(lower), 1)
            guard let value = Double(digits), value > 0, value.isFinite else {
                throw PkgLayerError(.usage, "is not a speed in bytes per second above 0 (e.g. 262144, 256k or 1m; default 256k)",
                                    at: "\(speedVariable)=\(text)")
            }
            deadline.minimumBytesPerSecond = max(1, value * scale)
        }
        return deadline
    }

    /// The environment's deadline, or the defaults when a variable is malformed (the command line
    /// checks the variables first, so that a typo is an error there).
    public static var current: RegistryDeadline { (try? fromEnvironment()) ?? RegistryDeadline() }

    /// Seconds a request that moves `bytes` may take.
    public func seconds(forBytes bytes: Int64) -> Double {
        floorSeconds + Double(max(0, bytes)) / minimumBytesPerSecond
    }

    /// `3.5 s`, `76 s`.
    static func format(_ seconds: Double) -> String {
        seconds < 10 ? String(format: "%.1f s", seconds) : "\(Int(seconds.rounded())) s"
    }
}
