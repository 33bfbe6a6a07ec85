/// A container image, as a recipe's `image:` section or an image file (`pkglayer image FILE`)
/// describes it: which packages, from where, stacked how, with which configuration. Plain values; the
/// executable resolves the packages and hands layers to the OCI room.
public struct ImageSpec: Sendable, Equatable {
    /// The repository name (`nginx`, `example.com/team/nginx`).
    public var name: String
    public var tag: String
    /// Which package format the image installs: its package database is this format's.
    public var format: PackageFormat
    /// nil: the host's architecture.
    public var architecture: Architecture?
    public var base: Base
    /// What to install, in the order written.
    public var packages: [PackageReference]
    public var repositories: [RepositorySpec]
    /// The lockfile, absolute; nil means `<file name without extension>.lock.json` beside the file.
    public var lockfile: String?
    public var layering: Layering
    public var scripts: ScriptPolicy
    /// Accounts declared by the image itself (packages from recipes add theirs).
    public var accounts: Accounts
    public var files: [FileCopy]
    public var config: ContainerConfig
    /// The image's author (config `author`, history entries, the authors annotation).
    public var author: String?
    /// Extra image manifest annotations (`org.opencontainers.image.source`).
    public var annotations: [String: String]
    public var outputs: Set<Output>
    /// The file that declared the image (errors name it).
    public var file: String
    /// The declaring file's directory, absolute: relative paths start here.
    public var directory: String

    public init(name: String, tag: String = "latest", format: PackageFormat = .deb, architecture: Architecture? = nil,
                base: Base = .scratch, packages: [PackageReference] = [], repositories: [RepositorySpec] = [],
                lockfile: String? = nil, layering: Layering = .perPackage, scripts: ScriptPolicy = .none,
                accounts: Accounts = Accounts(), files: [FileCopy] = [], config: ContainerConfig = ContainerConfig(), author: String? = nil,
                annotations: [String: String] = [:], outputs: Set<Output> = Set(Output.allCases), file: String, directory: String) {
        self.name = name; self.tag = tag; self.format = format; self.architecture = architecture; self.base = base
        self.packages = packages; self.repositories = repositories; self.lockfile = lockfile; self.layering = layering
        self.scripts = scripts; self.accounts = accounts; self.files = files; self.config = config; self.author = author
        self.annotations = annotations; self.outputs = outputs; self.file = file; self.directory = directory
    }


    /// What the image starts from.
    public enum Base: Sendable, Equatable {
        /// Nothing (the default).
        case scratch
        /// An image in the local store (`pkglayer import rootfs.tar NAME`, or a pulled image): `NAME[:TAG]`.
        case stored(String)
        /// An OCI image layout directory (absolute), and the tag in it (nil: its only image).
        case ociLayout(path: String, tag: String?)
        /// A root file system tarball (absolute path), imported as one layer.
        case rootfs(String)
    }

    /// One entry of `packages:`.
    public enum PackageReference: Sendable, Equatable {
        /// A package by name, optionally with a version constraint: the recipe's own outputs first, then
        /// the repositories.
        case named(Dependency)
        /// A local .deb or .rpm file (absolute path).
        case file(String)
    }


    public enum ScriptPolicy: String, Sendable, Equatable {
        /// No maintainer script runs; their common effects (accounts) are done natively.
        case none
        /// Each package's post-install script runs in a sandbox over the assembled root; the changes
        /// become one extra layer.
        case run
    }

    /// A local file copied into the image (a Dockerfile's COPY).
    public struct FileCopy: Sendable, Equatable {
        /// Absolute path on the host (a file or a directory, copied recursively).
        public var source: String
        /// Absolute path in the image.
        public var destination: String
        /// nil: the file's own permission bits (directories 0755).
        public var mode: UInt32?
        public var owner: Owner
        public var group: Owner
        /// Where it was declared (`nginx.yml: image.files[0]`).
        public var origin: String

        public init(source: String, destination: String, mode: UInt32? = nil, owner: Owner = .root, group: Owner = .root, origin: String) {
            self.source = source; self.destination = destination; self.mode = mode; self.owner = owner; self.group = group
            self.origin = origin
        }
    }

    public enum Output: String, Sendable, Equatable, CaseIterable {
        /// An OCI image layout directory.
        case ociLayout = "oci-layout"
        case ociArchive = "oci-archive"
        /// `docker load`'s format.
        case dockerArchive = "docker-archive"
        /// An SPDX 2.3 JSON document.
        case sbom
    }

    /// `name:tag`.
    public var reference: String { "\(name):\(tag)" }
}
