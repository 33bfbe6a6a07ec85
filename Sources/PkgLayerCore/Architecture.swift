/// A CPU architecture, with the spelling each ecosystem uses for it.
public enum Architecture: String, CaseIterable, Sendable, Codable {
    case x86_64, aarch64, i686, armv7hl, ppc64le, s390x, riscv64, noarch

    /// Accepts any ecosystem's spelling: `x86_64`/`amd64`, `aarch64`/`arm64`, `noarch`/`all`/`any`,
    /// and `native` for the machine pkglayer runs on.
    public init?(parsing text: String) {
        switch text.lowercased() {
        case "x86_64", "amd64", "x86-64", "x64": self = .x86_64
        case "aarch64", "arm64": self = .aarch64
        case "i686", "i386", "i586", "386", "x86": self = .i686
        case "armv7hl", "armhf", "armv7", "arm": self = .armv7hl
        case "ppc64le", "ppc64el": self = .ppc64le
        case "s390x": self = .s390x
        case "riscv64": self = .riscv64
        case "noarch", "all", "any": self = .noarch
        case "native": self = .native
        default: return nil
        }
    }

    public static var native: Architecture {
        #if arch(x86_64)
        return .x86_64
        #elseif arch(arm64)
        return .aarch64
        #elseif arch(i386)
        return .i686
        #else
        return .x86_64
        #endif
    }

    /// rpm's spelling (`x86_64`, `aarch64`, `noarch`).
    public var rpm: String { rawValue }

    /// rpm's provides suffix: `name(x86-64)`. nil for noarch.
    public var rpmISA: String? {
        switch self {
        case .x86_64: return "x86-64"
        case .aarch64: return "aarch-64"
        case .i686: return "x86-32"
        case .armv7hl: return "arm-32"
        case .ppc64le: return "ppc-64"
        case .s390x: return "s390-64"
        case .riscv64: return "riscv-64"
        case .noarch: return nil
        }
    }

    /// Debian's spelling (`amd64`, `arm64`, `all`).
    public var deb: String {
        switch self {
        case .x86_64: return "amd64"
        case .aarch64: return "arm64"
        case .i686: return "i386"
        case .armv7hl: return "armhf"
        case .ppc64le: return "ppc64el"
        case .s390x: return "s390x"
        case .riscv64: return "riscv64"
        case .noarch: return "all"
        }
    }

    /// The OCI platform architecture and variant.
    public var oci: (architecture: String, variant: String?) {
        switch self {
        case .x86_64: return ("amd64", nil)
        case .aarch64: return ("arm64", "v8")
        case .i686: return ("386", nil)
        case .armv7hl: return ("arm", "v7")
        case .ppc64le: return ("ppc64le", nil)
        case .s390x: return ("s390x", nil)
        case .riscv64: return ("riscv64", nil)
        case .noarch: return ("amd64", nil)
        }
    }

    /// Whether binaries of this architecture are 64-bit (rpm's `()(64bit)` soname marker).
    public var is64Bit: Bool {
        switch self {
        case .x86_64, .aarch64, .ppc64le, .s390x, .riscv64: return true
        case .i686, .armv7hl, .noarch: return false
        }
    }
}
