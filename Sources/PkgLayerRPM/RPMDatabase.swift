import CRPM
import Foundation
import PkgLayerCore

/// Writes an rpm database for packages whose files were unpacked without rpm (stacked as image
/// layers), through librpm itself: a transaction with the root directory set, `%_dbpath` pointing at
/// the image's database, and every package added as a `--justdb` install (no files, no scripts, no
/// triggers, no plugins, no dependency or file-conflict checks).
///
/// Reproducible: rpm 4.18 reads `SOURCE_DATE_EPOCH` when a transaction set is created and uses it
/// for INSTALLTID and INSTALLTIME (lib/rpmts.c, rpmtsCreate), so it is set in the environment for
/// the duration. INSTALLTID is the epoch; INSTALLTIME is the epoch plus the package's position in the
/// install order (rpmtsGetTime steps the override time by one second per package). Packages are added in NEVRA order whatever order they are given in. librpm's sqlite
/// backend closes the database with `PRAGMA wal_checkpoint = TRUNCATE` (lib/backend/sqlite.c,
/// sqlite_fini) but keeps the WAL file (SQLITE_FCNTL_PERSIST_WAL); `write` checks that the WAL is
/// empty and removes `-wal`, `-shm` and `.rpm.lock`, so the directory holds `rpmdb.sqlite` only.
///
/// librpm's macros and the environment are process-wide: writes are serialised by a lock, and the
/// macros and `SOURCE_DATE_EPOCH` are restored afterwards. Another thread using librpm's macros at
/// the same time could see the database path.
public struct RPMDatabase: Sendable {
    /// EL9 (and EL8's path, but EL8's rpm 4.14 reads only Berkeley DB; the database written here is
    /// sqlite, which rpm reads from 4.16 on: EL9, Fedora ≥ 33).
    public static let defaultPath = "/var/lib/rpm"
    /// Fedora and EL10.
    public static let sysimagePath = "/usr/lib/sysimage/rpm"

    /// The database directory inside the image.
    public var dbPath: String
    /// INSTALLTIME and INSTALLTID of every package.
    public var sourceDateEpoch: SourceDateEpoch

    public init(dbPath: String = RPMDatabase.defaultPath, sourceDateEpoch: SourceDateEpoch) {
        self.dbPath = dbPath
        self.sourceDateEpoch = sourceDateEpoch
    }

    public struct Result: Sendable {
        /// The database directory on this machine (`root` + `dbPath`).
        public var directory: String
        /// The files left in it (`rpmdb.sqlite`), sorted.
        public var files: [String]
        /// NEVRA of each package, in the order they were recorded.
        public var packages: [String]
        /// The side files librpm and sqlite left and `write` removed (`rpmdb.sqlite-wal`, …), sorted.
        public var removed: [String]
        /// The database's path in the image.
        public var dbPath: String
        public var sourceDateEpoch: SourceDateEpoch

        /// The database files as manifest entries (root-owned, 0644, dated at the epoch, `sourcePath`
        /// pointing at the written file), ready to join the top layer's FileManifest.
        public func manifestEntries() throws -> [ManifestEntry] {
            try files.map { name in
                let source = "\(directory)/\(name)"
                var st = stat()
                guard lstat(source, &st) == 0 else { throw PkgLayerError.posix("reading", path: source) }
                return ManifestEntry(path: "\(dbPath)/\(name)", kind: .file, mode: 0o644, mtime: sourceDateEpoch.seconds,
                                     size: UInt64(st.st_size), sha256: try FileDigest.sha256Hex(path: source), sourcePath: source)
            }
        }
    }

    private static let lock = NSLock()

    /// Records `packages` (paths of .rpm files) in a new database under `root`. The database
    /// directory must not hold a database yet: appending would make the bytes depend on history.
    public func write(packages: [String], root: String) throws -> Result {
        guard !packages.isEmpty else {
            throw PkgLayerError(.usage, "no packages to record; give at least one .rpm", at: root)
        }
        let normalizedDB = try ManifestPath.normalize(dbPath, field: "rpm database path")
        guard normalizedDB != "/" else {
            throw PkgLayerError(.usage, "the rpm database path must be a directory below the root, such as \(Self.defaultPath)",
                                at: dbPath)
        }
        let rootPath = URL(fileURLWithPath: root).standardizedFileURL.path
        let directory = rootPath + normalizedDB
        if let existing = try? FileManager.default.contentsOfDirectory(atPath: directory), !existing.isEmpty {
            throw PkgLayerError(.fileExists, "already holds files (\(existing.sorted().joined(separator: ", "))); write the database into an empty directory",
                                at: directory)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])

        Self.lock.lock()
        defer { Self.lock.unlock() }
        try RPMLibrary.configure()
        let restoreEnvironment = Self.setEnvironment("SOURCE_DATE_EPOCH", String(sourceDateEpoch.seconds))
        defer { restoreEnvironment() }
        let macros = try RPMMacros()
        try macros.push("_dbpath", normalizedDB)
        try macros.push("_db_backend", "sqlite")
        // Read by rpmtsCreate; a host's value would mark files "not installed" in FILESTATES.
        try macros.push("_netsharedpath", "%{nil}")
        try macros.push("_install_langs", "all")
        defer { macros.popAll() }

        let recorded: [String]
        do {
            recorded = try Self.runTransaction(packages: packages, root: rootPath)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        let (files, removed) = try Self.tidy(directory: directory, epoch: sourceDateEpoch)
        return Result(directory: directory, files: files, packages: recorded, removed: removed, dbPath: normalizedDB,
                      sourceDateEpoch: sourceDateEpoch)
    }

    // MARK: - The transaction

    /// The one open package file while librpm reads it back (for verification and for the header).
    private final class CallbackState {
        var open: OpaquePointer?
    }

    private static let callback: rpmCallbackFunction = { _, what, _, _, key, data in
        guard let data else { return nil }
        let state = Unmanaged<CallbackState>.fromOpaque(data).takeUnretainedValue()
        switch what {
        case RPMCALLBACK_INST_OPEN_FILE:
            guard let key else { return nil }
            let fd = Fopen(key.assumingMemoryBound(to: CChar.self), "r.ufdio")
            if let fd, Ferror(fd) != 0 {
                Fclose(fd)
                return nil
            }
            state.open = fd
            return fd.map { UnsafeMutableRawPointer($0) }
        case RPMCALLBACK_INST_CLOSE_FILE:
            if let fd = state.open { Fclose(fd) }
            state.open = nil
            return nil
        default:
            return nil
        }
    }

    private struct Entry {
        var path: String
        var header: OpaquePointer
        var nevra: String
        var sortKey: [String]
    }

    private static func runTransaction(packages: [String], root: String) throws -> [String] {
        guard let ts = rpmtsCreate() else { throw PkgLayerError(.rpm, "librpm could not create a transaction set") }
        var keys: [UnsafeMutablePointer<CChar>] = []
        var entries: [Entry] = []
        let state = CallbackState()
        defer {
            // Closing the set closes the database, which checkpoints the WAL.
            rpmtsFree(ts)
            for entry in entries { headerFree(entry.header) }
            keys.forEach { free($0) }
            if let fd = state.open { Fclose(fd) }
        }
        guard rpmtsSetRootDir(ts, root) == 0 else {
            throw PkgLayerError(.rpm, "librpm refused the root directory", at: root)
        }
        let flags = RPMTRANS_FLAG_JUSTDB.rawValue | RPMTRANS_FLAG_NOSCRIPTS.rawValue | RPMTRANS_FLAG_NOTRIGGERS.rawValue
            | RPMTRANS_FLAG_NOPLUGINS.rawValue | RPMTRANS_FLAG_NOCONTEXTS.rawValue
        _ = rpmtsSetFlags(ts, rpmtransFlags(flags))
        // The image has no keyring: check digests, not signatures.
        let noSignatures = RPMVSF_NODSAHEADER.rawValue | RPMVSF_NORSAHEADER.rawValue | RPMVSF_NODSA.rawValue | RPMVSF_NORSA.rawValue
        _ = rpmtsSetVSFlags(ts, rpmVSFlags(noSignatures))
        _ = rpmtsSetVfyLevel(ts, Int32(RPMSIG_DIGEST_TYPE))
        _ = rpmtsSetNotifyCallback(ts, callback, Unmanaged.passUnretained(state).toOpaque())

        for path in packages {
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            guard let fd = Fopen(absolute, "r.ufdio"), Ferror(fd) == 0 else {
                throw PkgLayerError.posix("opening the package", path: path)
            }
            var header: OpaquePointer?
            let rc = rpmReadPackageFile(ts, fd, absolute, &header)
            Fclose(fd)
            guard let header, rc == RPMRC_OK || rc == RPMRC_NOTTRUSTED || rc == RPMRC_NOKEY else {
                if let header { headerFree(header) }
                throw PkgLayerError(.rpm, "librpm cannot read it as a package (rpmReadPackageFile: \(rc.rawValue)); it is damaged or not an rpm",
                                    at: path)
            }
            func string(_ t: rpmTag_e) -> String {
                guard let s = headerGetAsString(header, tag(t)) else { return "" }
                defer { free(s) }
                return String(cString: s)
            }
            let nevra = string(RPMTAG_NEVRA)
            entries.append(Entry(path: absolute, header: header, nevra: nevra,
                                 sortKey: [string(RPMTAG_NAME), string(RPMTAG_ARCH), nevra, absolute]))
        }
        entries.sort { $0.sortKey.lexicographicallyPrecedes($1.sortKey) }
        for i in entries.indices.dropFirst() where entries[i].nevra == entries[i - 1].nevra {
            throw PkgLayerError(.duplicatePath, "\(entries[i].nevra) is given twice (\(entries[i - 1].path) and \(entries[i].path))",
                                at: entries[i].path)
        }
        for entry in entries {
            let key = strdup(entry.path)!
            keys.append(key)
            guard rpmtsAddInstallElement(ts, entry.header, UnsafeRawPointer(key), 0, nil) == 0 else {
                throw PkgLayerError(.rpm, "librpm refused to add \(entry.nevra) to the transaction", at: entry.path)
            }
        }
        guard rpmtsOrder(ts) == 0 else {
            throw PkgLayerError(.rpm, "librpm could not order the transaction")
        }
        // Debian's rpm refuses installs unless told otherwise (--force-debian); the host's arch and OS
        // are not the image's; the image's files are laid out by the layers, not checked here.
        let ignore = RPMPROB_FILTER_IGNOREOS.rawValue | RPMPROB_FILTER_IGNOREARCH.rawValue | RPMPROB_FILTER_REPLACEPKG.rawValue
            | RPMPROB_FILTER_REPLACENEWFILES.rawValue | RPMPROB_FILTER_REPLACEOLDFILES.rawValue | RPMPROB_FILTER_OLDPACKAGE.rawValue
            | RPMPROB_FILTER_DISKSPACE.rawValue | RPMPROB_FILTER_DISKNODES.rawValue | RPMPROB_FILTER_DEBIAN.rawValue
        let rc = rpmtsRun(ts, nil, rpmprobFilterFlags(ignore))
        if rc != 0 {
            var problems: [String] = []
            if let ps = rpmtsProblems(ts) {
                let iterator = rpmpsInitIterator(ps)
                while rpmpsNextIterator(iterator) >= 0 {
                    if let p = rpmpsGetProblem(iterator), let text = rpmProblemString(p) {
                        problems.append(String(cString: text))
                        free(text)
                    }
                }
                rpmpsFreeIterator(iterator)
                rpmpsFree(ps)
            }
            let detail = problems.isEmpty ? "see librpm's messages above" : problems.joined(separator: "; ")
            throw PkgLayerError(.rpm, "librpm could not record the packages (rpmtsRun returned \(rc)): \(detail)", at: root)
        }
        return entries.map(\.nevra)
    }

    // MARK: - Leaving only the database

    /// sqlite's and rpm's side files: the WAL (empty after librpm's checkpoint), the shared-memory
    /// index and the transaction lock. None belongs in an image layer.
    public static let transientSuffixes = ["-wal", "-shm", "-journal"]
    public static let lockFiles = [".rpm.lock", ".dbenv.lock"]

    private static func tidy(directory: String, epoch: SourceDateEpoch) throws -> (left: [String], removed: [String]) {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
        for name in names where name.hasSuffix("-wal") {
            var st = stat()
            if lstat("\(directory)/\(name)", &st) == 0, st.st_size != 0 {
                throw PkgLayerError(.rpm, "the database's write-ahead log was not checkpointed (\(st.st_size) bytes left); its content would be lost",
                                    at: "\(directory)/\(name)")
            }
        }
        var removed: [String] = []
        for name in names.sorted() where lockFiles.contains(name) || transientSuffixes.contains(where: { name.hasSuffix($0) }) {
            guard unlink("\(directory)/\(name)") == 0 else { throw PkgLayerError.posix("removing", path: "\(directory)/\(name)") }
            removed.append(name)
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
        var times = [timespec(tv_sec: Int(epoch.seconds), tv_nsec: 0), timespec(tv_sec: Int(epoch.seconds), tv_nsec: 0)]
        for name in left {
            chmod("\(directory)/\(name)", 0o644)
            utimensat(AT_FDCWD, "\(directory)/\(name)", &times, AT_SYMLINK_NOFOLLOW)
        }
        utimensat(AT_FDCWD, directory, &times, 0)
        return (left, removed)
    }

    /// Sets an environment variable and returns what puts the old value back.
    private static func setEnvironment(_ name: String, _ value: String) -> () -> Void {
        let old = getenv(name).map { String(cString: $0) }
        setenv(name, value, 1)
        return {
            if let old { setenv(name, old, 1) } else { unsetenv(name) }
        }
    }
}

/// librpm's process-wide configuration, read once.
enum RPMLibrary {
    private static let lock = NSLock()
    // nonisolated(unsafe): read and written only under `lock`.
    nonisolated(unsafe) private static var configured = false

    static func configure() throws {
        lock.lock()
        defer { lock.unlock() }
        guard !configured else { return }
        guard rpmReadConfigFiles(nil, nil) == 0 else {
            throw PkgLayerError(.rpm, "librpm could not read its configuration (rpmrc, macros)")
        }
        configured = true
    }
}

/// Pushes macros on librpm's global context and pops them again. The CRPM module map does not
/// include rpmmacro.h, so `rpmPushMacro` and `rpmPopMacro` are looked up in the already loaded
/// librpmio, with their C signatures from rpmmacro.h.
final class RPMMacros {
    private typealias Push = @convention(c) (OpaquePointer?, UnsafePointer<CChar>, UnsafePointer<CChar>?, UnsafePointer<CChar>, Int32) -> Int32
    private typealias Pop = @convention(c) (OpaquePointer?, UnsafePointer<CChar>) -> Int32
    /// RMIL_CMDLINE in rpmmacro.h: above the configuration files, as `rpm --define` is.
    private static let levelCommandLine: Int32 = -7

    private let push: Push
    private let pop: Pop
    private var pushed: [String] = []

    init() throws {
        guard let handle = dlopen(nil, RTLD_NOW), let pushSymbol = dlsym(handle, "rpmPushMacro"),
              let popSymbol = dlsym(handle, "rpmPopMacro") else {
            throw PkgLayerError(.rpm, "librpmio's rpmPushMacro/rpmPopMacro are not available")
        }
        push = unsafeBitCast(pushSymbol, to: Push.self)
        pop = unsafeBitCast(popSymbol, to: Pop.self)
    }

    func push(_ name: String, _ body: String) throws {
        guard push(nil, name, nil, body, Self.levelCommandLine) == 0 else {
            throw PkgLayerError(.rpm, "librpm refused the macro %\(name) = \(body)")
        }
        pushed.append(name)
    }

    func popAll() {
        for name in pushed.reversed() { _ = pop(nil, name) }
        pushed.removeAll()
    }
}
