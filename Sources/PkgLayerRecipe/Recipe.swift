import Foundation
import PkgLayerCore

/// A validated recipe: what to build, from which sources, how, and into which packages.
///
/// Read one with ``load(path:)``. Every field below mirrors a recipe key; docs/recipe.md documents the
/// keys, and `RecipeSchema.json` is the JSON schema editors can check them with. All text is kept as
/// written; `${{…}}` is already expanded in fields that only use `package.*` variables (summary,
/// description, source URLs and paths, subpackage names) and kept for later expansion elsewhere
/// (dependencies at lowering, steps and environment at build time).
public struct Recipe: Sendable, Equatable {
    /// The recipe path as given (`recipes/nginx.yml`); error locations use it.
    public var file: String
    /// The recipe's directory, absolute. Relative paths in the recipe start here.
    public var directory: String
    /// The recipe file, absolute and standardised: the identity to key a build graph on (it equals
    /// ``RecipeReference/path`` of a recipe that requires this one).
    public var absolutePath: String
    /// The main package.
    public var package: Package
    /// What goes into the source tree, in order.
    public var sources: [Source]
    /// Patches applied in order after the sources are in place.
    public var patches: [Patch]
    /// How to compile and install.
    public var build: Build
    /// Packages split off the main one.
    public var subpackages: [Subpackage]
    /// The container image (`image:`), nil when absent.
    public var image: ImageSpec?
}

extension Recipe {
    /// `native` (whatever machine builds) or a fixed architecture (`noarch` included).
    public enum ArchitectureChoice: Sendable, Equatable {
        case native
        case fixed(Architecture)

        init(parsing text: String) {
            self = text == "native" ? .native : .fixed(Architecture(parsing: text) ?? .native)
        }

        /// The architecture a package gets when building for `target`.
        public func resolved(target: Architecture) -> Architecture {
            switch self {
            case .native: return target
            case .fixed(let a): return a
            }
        }
    }

    /// The main package's metadata (`package:`).
    public struct Package: Sendable, Equatable {
        public var name: String
        /// The upstream version, as written (`1.10` stays `"1.10"`).
        public var version: String
        /// rpm Release / Debian revision. Default `"1"`.
        public var release: String
        /// nil when the recipe sets none.
        public var epoch: UInt32?
        public var summary: String
        public var description: String?
        /// An SPDX expression.
        public var license: String?
        /// The home page.
        public var url: String?
        public var maintainer: String?
        public var vendor: String?
        public var arch: ArchitectureChoice
        /// Debian Section / rpm Group.
        public var section: String?
        /// Debian Priority. Default `optional`.
        public var priority: String
        /// The recipe's declared date, in seconds since 1970 (`source-date-epoch`).
        public var sourceDateEpoch: Int64?
        public var dependencies: Dependencies
        public var scripts: Scripts
        /// Conffile globs as written (`/etc/nginx/**`).
        public var conffiles: [String]
        /// Attribute rules in order; owners named in `accounts` with a fixed id carry that id.
        public var attributes: [AttributeRule]
        public var accounts: Accounts
        /// The history, as written (newest first); the writers sort by date.
        public var changelog: [ChangelogEntry] = []
        /// systemd units to install and integrate (`services:`).
        public var services: [Service] = []

        /// `[epoch:]version-release`; the epoch only when above 0.
        public var fullVersion: String { Self.fullVersion(epoch: epoch, version: version, release: release) }

        static func fullVersion(epoch: UInt32?, version: String, release: String) -> String {
            let prefix = (epoch ?? 0) > 0 ? "\(epoch!):" : ""
            return "\(prefix)\(version)-\(release)"
        }

        /// ``conffiles`` as globs, for `ManifestBuilder.configFiles`.
        public var conffileGlobs: [Glob] { conffiles.map(Glob.init) }
    }

    /// Relations to other packages (`dependencies:`). Entries are kept as written, with `${{…}}`
    /// unexpanded; ``Recipe/packages(for:architecture:sourceDateEpoch:)`` expands and parses them.
    public struct Dependencies: Sendable, Equatable {
        /// Both formats.
        public var runtime: [Located<String>] = []
        /// rpm only, added to `runtime` in the .rpm.
        public var rpm: [Located<String>] = []
        /// Debian only, added to `runtime` in the .deb.
        public var deb: [Located<String>] = []
        public var preDepends: [Located<String>] = []
        public var provides: [Located<String>] = []
        public var conflicts: [Located<String>] = []
        public var replaces: [Located<String>] = []
        public var breaks: [Located<String>] = []
        public var obsoletes: [Located<String>] = []
        public var recommends: [Located<String>] = []
        public var suggests: [Located<String>] = []
        /// Add automatic shared-library dependencies (`shlibs`, default true).
        public var sharedLibraries = true

        public init() {}
    }

    /// A maintainer script's text, read from the recipe or from its file when the recipe was loaded.
    public struct Script: Sendable, Equatable {
        public var text: String
        /// The absolute path it was read from, nil for inline text.
        public var file: String?
        public var location: SourceLocation
    }

    /// Scripts by hook (`scripts:`): pre-install → `.beforeInstall`, post-install → `.afterInstall`,
    /// pre-remove → `.beforeRemove`, post-remove → `.afterRemove`, pre-upgrade → `.beforeUpgrade`,
    /// post-upgrade → `.afterUpgrade`, pre/post-transaction → `.before/afterTransaction`.
    public typealias Scripts = [ScriptHook: Script]

    /// One entry of `package.services`: a systemd unit file in the build context.
    public struct Service: Sendable, Equatable {
        /// The unit file, absolute.
        public var unit: String
        /// As written, relative to the recipe (what the cache key records, with the content's digest).
        public var relativeUnit: String
        public var enable: Bool
        public var start: Bool
        public var restartAfterUpgrade: Bool
        public var location: SourceLocation

        /// Core's description of the unit, for `ServiceIntegration`.
        public var serviceUnit: ServiceUnit {
            ServiceUnit(kind: .systemd, source: unit, enable: enable, start: start, restartAfterUpgrade: restartAfterUpgrade)
        }
    }

    /// Users and groups to create on install (`accounts:`); the type is Core's, shared with images.
    public typealias Accounts = PkgLayerCore.Accounts

    /// One entry of `sources:`.
    public struct Source: Sendable, Equatable {
        public enum Origin: Sendable, Equatable {
            /// A download (`http`, `https` or `file` URL), `${{…}}` expanded.
            case url(String)
            /// A file or directory beside the recipe: the absolute path, and the path as written
            /// (relative to the recipe), which is what the cache key records.
            case local(path: String, relative: String)
        }

        public var origin: Origin
        /// Lowercase hex. Always set for URLs; optional for local paths.
        public var sha256: String?
        /// As written; nil means the default (see ``effectiveStripComponents``).
        public var stripComponents: Int?
        /// Where in the source tree it goes, relative (default `.`).
        public var extractTo: String
        public var location: SourceLocation

        /// The last path component of the URL or path (`nginx-1.22.1.tar.gz`); mirrors are searched for it.
        public var fileName: String {
            switch origin {
            case .url(let url):
                let withoutQuery = url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url
                return (withoutQuery as NSString).lastPathComponent
            case .local(let path, _):
                return (path as NSString).lastPathComponent
            }
        }

        /// Whether the file name names an archive pkglayer extracts.
        public var isArchive: Bool {
            let name = fileName.lowercased()
            return [".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.bz2", ".tbz2", ".tar.zst", ".tar.lz", ".zip"]
                .contains { name.hasSuffix($0) }
        }

        /// Components to strip: as written, else 1 for archives and 0 otherwise.
        public var effectiveStripComponents: Int { stripComponents ?? (isArchive ? 1 : 0) }
    }

    /// One entry of `patches:`.
    public struct Patch: Sendable, Equatable {
        /// Absolute path.
        public var path: String
        /// The path as written, relative to the recipe.
        public var relativePath: String
        /// `patch -pN`, default 1.
        public var strip: Int
        public var location: SourceLocation
    }

    /// `build:`.
    public struct Build: Sendable, Equatable {
        public var network = false
        /// nil for `auto`.
        public var jobs: Int?
        /// In the order written; values with `${{…}}` unexpanded.
        public var environment: [EnvironmentVariable] = []
        public var requires = Requirements()
        public var steps: [Step] = []
        /// Seconds all steps together may run (`build.timeout`, default 6 h).
        public var timeout: TimeInterval = Recipe.Build.defaultTimeout

        public static let defaultTimeout: TimeInterval = 6 * 3600

        public init() {}

        /// The parallelism to use: `jobs`, or for `auto` the CPU count.
        public func resolvedJobs(cpuCount: Int = ProcessInfo.processInfo.activeProcessorCount) -> Int {
            jobs ?? max(1, cpuCount)
        }

        public struct EnvironmentVariable: Sendable, Equatable {
            public var name: String
            public var value: String
            public var location: SourceLocation
        }

        public struct Requirements: Sendable, Equatable {
            /// Commands that must be on PATH.
            public var commands: [String] = []
            /// Debian packages that must be installed on the host.
            public var packages: [String] = []
            /// Other recipes built first.
            public var recipes: [RecipeReference] = []
            public init() {}
        }

        public struct Step: Sendable, Equatable {
            /// As written, or `step N` (counting from 1).
            public var name: String
            /// The shell text, `${{…}}` unexpanded.
            public var run: String
            public var location: SourceLocation
            /// Seconds this step may run (`timeout:`); nil: only the build's timeout bounds it.
            public var timeout: TimeInterval?
        }
    }

    /// Another recipe named in `build.requires.recipes`.
    public struct RecipeReference: Sendable, Equatable {
        /// As written (`pcre2.yml`, `pcre2`).
        public var name: String
        /// The recipe file, absolute; it existed when this recipe was loaded.
        public var path: String
        public var location: SourceLocation
    }

    /// One entry of `subpackages:`.
    public struct Subpackage: Sendable, Equatable {
        /// `${{…}}` expanded.
        public var name: String
        /// nil: the main package's.
        public var summary: String?
        public var description: String?
        public var license: String?
        /// nil: the main package's.
        public var arch: ArchitectureChoice?
        public var section: String?
        /// Globs of the package paths that move into it.
        public var files: [String]
        public var dependencies: Dependencies
        public var scripts: Scripts
        public var location: SourceLocation

        public var fileGlobs: [Glob] { files.map(Glob.init) }
    }
}
