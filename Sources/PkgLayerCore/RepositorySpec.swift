/// A package repository an image takes packages from: an apt archive or a yum/dnf repository.
///
/// The value is plain configuration; the Deb room (`AptRepository`) and the RPM room (`YumRepository`)
/// read it, and `PackageResolution` in the executable resolves packages over a list of them.
public struct RepositorySpec: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case apt, yum
    }

    public var kind: Kind
    /// apt: the archive root URL (http, https or file), e.g. `http://deb.debian.org/debian`; `nil` means the
    /// host's configured apt sources (/etc/apt/sources.list and sources.list.d/*.list|*.sources).
    /// yum: the baseurl (the directory holding `repodata/`).
    public var url: String?
    /// apt: the suites (distributions), e.g. `["bookworm", "bookworm-updates"]`. Unused for yum.
    public var suites: [String]
    /// apt: the components; `["main"]` when not given. Unused for yum.
    public var components: [String]
    /// apt: the keyring (binary .gpg or armored .asc) InRelease must verify against; `nil` means
    /// /usr/share/keyrings/debian-archive-keyring.gpg (host sources use their own Signed-By).
    /// yum: the key repomd.xml.asc must verify against (gpgcheck).
    public var keyring: String?
    /// apt `[trusted=yes]` / yum `gpgcheck=0`: skip the signature check, explicitly. pkglayer prints a warning.
    public var trusted: Bool
    /// Where this repository was declared, for errors (`nginx.yml: image.repositories[1]`).
    public var origin: String

    public init(kind: Kind, url: String? = nil, suites: [String] = [], components: [String] = ["main"],
                keyring: String? = nil, trusted: Bool = false, origin: String) {
        self.kind = kind
        self.url = url
        self.suites = suites
        self.components = components.isEmpty ? ["main"] : components
        self.keyring = keyring
        self.trusted = trusted
        self.origin = origin
    }

    /// The default keyring apt repositories verify against when none is named.
    public static let debianArchiveKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

    /// A stable one-line description, used in errors, logs and the lockfile's input digest.
    public var summary: String {
        var parts = [kind.rawValue, url ?? "<host apt sources>"]
        if kind == .apt { parts.append(suites.joined(separator: ",")); parts.append(components.joined(separator: ",")) }
        if let keyring { parts.append("keyring=\(keyring)") }
        if trusted { parts.append("trusted") }
        return parts.joined(separator: " ")
    }
}
