import PkgLayerCore
import PkgLayerOCI

/// What one blob is doing, for a progress display (bytes per blob).
public struct RegistryProgress: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        case uploading, downloading
        /// The registry already had it (HEAD), so nothing was sent.
        case exists
        /// Mounted from another repository of the same registry.
        case mounted(from: String)
        case done
    }
    public var digest: Digest
    public var total: Int64
    public var transferred: Int64
    public var state: State

    public init(digest: Digest, total: Int64, transferred: Int64, state: State) {
        self.digest = digest; self.total = total; self.transferred = transferred; self.state = state
    }
}

/// How push and pull reach a registry. The defaults are what the command line uses.
public struct RegistryOptions: Sendable {
    /// Which CAs to trust, or plain HTTP.
    public var trust: RegistryTrust
    /// Credentials to use; when nil, docker's config.json (and its credential helpers) is consulted.
    public var credential: RegistryCredential?
    /// The docker config file; nil means `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
    public var dockerConfigPath: String?
    /// Tries per request (and per blob upload) before a 5xx or a dropped connection is an error.
    public var maxAttempts: Int
    /// The wait before the first retry, in seconds; doubled for each further retry.
    public var retryDelay: Double
    /// Blobs larger than this are uploaded in PATCH chunks of this size; smaller ones in one PUT.
    public var chunkSize: Int64
    /// Repositories of the same registry to mount blobs from (`POST …?mount=DIGEST&from=REPO`).
    public var mountFrom: [String]
    /// The platform pulled from an index; nil means this machine's (linux and the native architecture).
    public var platform: OCIPlatform?
    /// Called as blobs move; nil for silence (the default, and in tests).
    public var progress: (@Sendable (RegistryProgress) -> Void)?
    /// The transport to use; nil means HTTP(S) with `trust`. Tests pass an in-memory registry.
    public var transport: RegistryTransport?
    /// Blobs moved at the same time.
    public var concurrency: Int
    /// A `RegistryBlobLocations` file: pushes and pulls record which repositories hold which blobs,
    /// and a push mounts from them without being told. nil (the default) keeps no such record.
    public var blobLocations: String?
    /// How long each request may take, its body included (RegistryDeadline.swift); by default from
    /// `PKGLAYER_REGISTRY_TIMEOUT` and `PKGLAYER_REGISTRY_MIN_SPEED`.
    public var deadline: RegistryDeadline

    public init(trust: RegistryTrust = RegistryTrust(), credential: RegistryCredential? = nil, dockerConfigPath: String? = nil,
                maxAttempts: Int = 5, retryDelay: Double = 0.5, chunkSize: Int64 = 32 << 20, mountFrom: [String] = [],
                platform: OCIPlatform? = nil, progress: (@Sendable (RegistryProgress) -> Void)? = nil,
                transport: RegistryTransport? = nil, concurrency: Int = 3, blobLocations: String? = nil,
                deadline: RegistryDeadline = .current) {
        self.trust = trust; self.credential = credential; self.dockerConfigPath = dockerConfigPath
        self.maxAttempts = max(1, maxAttempts); self.retryDelay = retryDelay; self.chunkSize = max(1, chunkSize)
        self.mountFrom = mountFrom; self.platform = platform; self.progress = progress; self.transport = transport
        self.concurrency = max(1, concurrency)
        self.blobLocations = blobLocations
        self.deadline = deadline
    }
}

/// What a push or pull did, counted by the client.
public struct RegistryStats: Sendable, Equatable {
    public var requests = 0
    /// Requests (or uploads) tried again after a 5xx, a 429 or a dropped connection.
    public var retries = 0
    public var blobsUploaded = 0
    /// Blob bytes sent (a resumed chunk counts again).
    public var bytesUploaded: Int64 = 0
    public var blobsExisting = 0
    public var blobsMounted = 0
    public var chunks = 0
    /// Chunked uploads resumed from the registry's reported offset after a failure.
    public var resumes = 0
    public var blobsDownloaded = 0
    public var bytesDownloaded: Int64 = 0
    public var manifestsPut = 0

    public init() {}
}
