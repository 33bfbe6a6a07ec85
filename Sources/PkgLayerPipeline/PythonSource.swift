import Foundation
import Logging
import PkgLayerArchive
import PkgLayerCore

/// fpm's `--python-*` options (jordansissel/fpm `lib/fpm/package/python.rb`), as plain values. Each
/// field names the flag it comes from; defaults are fpm's unless a note says why not.
///
/// fpm's boolean flags also have `--no-` forms (`--no-python-fix-name`, `--no-python-dependencies`,
/// …): they set the field to false.
public struct PythonOptions: Sendable, Equatable {
    /// `--python-bin`: the interpreter that evaluates dependency markers and names the default install
    /// directory. fpm tries `python`, then `python3`; pkglayer uses `python3`.
    public var bin: String = "python3"
    /// `--python-pip`: a pip executable. nil: `BIN -m pip` (fpm's `--python-internal-pip`, on by default).
    public var pip: String? = nil
    /// `--[no-]python-internal-pip`: run pip as `BIN -m pip` when `pip` is not given.
    public var internalPip: Bool = true
    /// `--python-easyinstall`: accepted for fpm's command lines; pkglayer always uses pip (a warning says so).
    public var easyinstall: String? = nil
    /// `--python-pypi` (and pkglayer's `--python-index-url`): the index pip downloads from. nil: pip's
    /// own configuration (pip.conf, `PIP_INDEX_URL`), which is PyPI unless the host says otherwise.
    public var indexURL: String? = nil
    /// `--python-trusted-host`: passed to pip as `--trusted-host`.
    public var trustedHost: String? = nil
    /// `--python-package-name-prefix`: `NAME` becomes `PREFIX-NAME` (with `fixName`).
    public var packageNamePrefix: String = "python"
    /// `--python-package-prefix`: fpm's deprecated spelling of `--python-package-name-prefix`; wins when set.
    public var packagePrefix: String? = nil
    /// `--[no-]python-fix-name`: prefix the package name (`six` → `python-six`; `python-foo` →
    /// `python-foo`, not `python-python-foo`) and spell `_` as `-` (Debian names have no `_`).
    public var fixName: Bool = true
    /// `--[no-]python-fix-dependencies`: the same for every dependency taken from the metadata.
    public var fixDependencies: Bool = true
    /// `--[no-]python-downcase-name`: lower-case the package name.
    public var downcaseName: Bool = true
    /// `--[no-]python-downcase-dependencies`: lower-case dependency names.
    public var downcaseDependencies: Bool = true
    /// `--python-install-lib`: where modules land. nil: the host's system site directory, asked of
    /// python (`/usr/lib/python3/dist-packages` on Debian; the `/usr` purelib elsewhere); when the
    /// interpreter is not a system one (a venv, pyenv) `/usr/bin/python3` is asked, and failing that
    /// `/usr/lib/python3/dist-packages` is used.
    public var installLib: String? = nil
    /// `--python-install-bin`: where scripts and entry points land. nil: `/usr/bin`.
    public var installBin: String? = nil
    /// `--python-install-data`: where a wheel's `.data/data` files land. nil: `/usr`.
    public var installData: String? = nil
    /// `--[no-]python-dependencies`: turn `Requires-Dist` into package dependencies. fpm's
    /// `--no-auto-depends` should set this to false too.
    public var dependencies: Bool = true
    /// `--[no-]python-obey-requirements-txt`: take dependencies from the sdist's top-level
    /// `requirements.txt` instead of the metadata (a wheel has none; then the metadata is used).
    public var obeyRequirementsTxt: Bool = false
    /// `--python-disable-dependency NAME` (repeatable): python names left out of the dependencies.
    public var disableDependency: [String] = []
    /// `--python-setup-py-arguments` (repeatable): fpm passed these to `setup.py install`; pkglayer
    /// builds with `pip wheel`, so they have no effect (a warning says so).
    public var setupPyArguments: [String] = []
    /// `--python-scripts-executable`: the `#!` interpreter of installed scripts. nil: `--python-bin`
    /// when it is an absolute path, else `/usr/bin/python3`.
    public var scriptsExecutable: String? = nil
    /// `-v`: for a name resolved from the index, the version to download (`NAME==VERSION`), as fpm does.
    public var version: String? = nil

    public init() {}
}

/// `pkglayer package -s python ARG`: a wheel (`.whl`), an sdist (`.tar.gz`, `.tgz`, `.zip`, …), a
/// project directory (`setup.py`/`pyproject.toml`), or `NAME[==VERSION]` downloaded with pip from
/// the configured index (a wheel preferred, else the sdist). An sdist or project is built into a
/// wheel with `pip wheel --no-deps`. The wheel's content is laid out as pip would install it into the
/// system: modules under the install lib, `.data/scripts` and entry points in the install bin,
/// `.data/data` under the install data prefix.
///
/// The spec: `python-NAME` (see `PythonOptions.fixName`), the version from METADATA (a PEP 440 epoch
/// `N!` becomes the package epoch), Summary, description, License-Expression/License, Home-page or
/// Project-URL, Maintainer-email/Author-email; `noarch` for a pure wheel, the native architecture
/// otherwise; `Requires-Dist` entries whose markers hold on the host (no extras) become dependencies
/// with the same prefix (`~=`, `==X.*` become a pair of bounds; `!=` has no package equivalent and is left out).
public enum PythonSource {
    static let logger = Logger(label: "pkglayer.python")

    public static func read(_ argument: String, options: PythonOptions, workdir: String) throws -> (PackageSpec, FileManifest) {
        guard !argument.isEmpty else {
            throw PkgLayerError(.usage, "-s python takes a wheel, an sdist, a project directory or a package name", at: "-s python")
        }
        if options.easyinstall != nil {
            logger.warning("--python-easyinstall has no effect: pkglayer always uses pip (easy_install is gone from current Python)")
        }
        if !options.setupPyArguments.isEmpty {
            logger.warning("--python-setup-py-arguments has no effect: pkglayer builds wheels with 'pip wheel', not 'setup.py install'")
        }
        let tools = try Tools(options: options)
        let base = (workdir as NSString).appendingPathComponent("python")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)

        var requirementsTxt: [String]?
        let wheel: String
        var artifact = try locate(argument, options: options, tools: tools, into: base)
        if artifact.hasSuffix(".whl") {
            wheel = artifact
        } else {
            if options.obeyRequirementsTxt { requirementsTxt = try readRequirementsTxt(from: artifact) }
            if artifact.hasSuffix("/setup.py") || artifact.hasSuffix("/pyproject.toml") {
                artifact = (artifact as NSString).deletingLastPathComponent
            }
            wheel = try buildWheel(artifact, tools: tools, into: (base as NSString).appendingPathComponent("wheel"))
        }
        return try fromWheel(wheel, options: options, tools: tools, requirementsTxt: requirementsTxt, workdir: base)
    }

    // MARK: - Tools

    /// The interpreter and pip command, resolved once.
    struct Tools {
        var python: String
        var pip: [String]

        init(options: PythonOptions) throws {
            python = options.bin
            guard Subprocess.which(python, path: Subprocess.hostPath) != nil || FileManager.default.isExecutableFile(atPath: python) else {
                throw PkgLayerError(.toolMissing, "python interpreter '\(python)' was not found in PATH; install python3 or give --python-bin",
                                    at: "--python-bin")
            }
            if let pip = options.pip {
                self.pip = [pip]
            } else if options.internalPip {
                self.pip = [python, "-m", "pip"]
            } else {
                self.pip = ["pip"]
            }
        }

        var pipEnvironment: [String: String] {
            var env = ProcessInfo.processInfo.environment
            env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
            env["PIP_NO_INPUT"] = "1"
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            return env
        }

        /// Runs pip; a failure is an error that carries pip's last lines.
        func runPip(_ arguments: [String], what: String) throws {
            let result = try Subprocess.run(pip[0], Array(pip.dropFirst()) + arguments, environment: pipEnvironment)
            guard result.status.succeeded else {
                let tail = result.text.split(separator: "\n").suffix(8).joined(separator: "\n")
                throw PkgLayerError(.invalidInput, "\(what) failed (\(result.status)): \(tail)", at: "-s python")
            }
        }
    }

    // MARK: - Finding the wheel

    static let sdistSuffixes = [".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz", ".tar"]

    /// A local wheel, sdist or project directory as given; a name is downloaded.
    static func locate(_ argument: String, options: PythonOptions, tools: Tools, into base: String) throws -> String {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: argument, isDirectory: &isDir) {
            let path = argument.hasPrefix("/") ? argument : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(argument)
            if isDir.boolValue {
                let project = ["setup.py", "pyproject.toml"].contains { FileManager.default.fileExists(atPath: (path as NSString).appendingPathComponent($0)) }
                guard project else {
                    throw PkgLayerError(.usage, "'\(argument)' is a directory without setup.py or pyproject.toml; give a wheel, an sdist, a project directory or a package name",
                                        at: "-s python")
                }
                return path
            }
            let name = (path as NSString).lastPathComponent
            if name.hasSuffix(".whl") || name == "setup.py" || name == "pyproject.toml" || sdistSuffixes.contains(where: name.hasSuffix) {
                return path
            }
            throw PkgLayerError(.usage, "'\(argument)' is not a python package: expected a .whl, an sdist (.tar.gz, .zip), setup.py, pyproject.toml or a project directory",
                                at: "-s python")
        }
        guard argument.first.map({ $0.isLetter || $0.isNumber }) == true, !argument.contains("/") else {
            throw PkgLayerError(.usage, "'\(argument)' is neither an existing file nor a python package name", at: "-s python")
        }
        var requirement = argument
        if let version = options.version, !argument.contains(where: { "=<>!~".contains($0) }) { requirement += "==\(version)" }
        let target = (base as NSString).appendingPathComponent("download")
        var common = ["download", "--no-deps", "-d", target]
        if let index = options.indexURL { common += ["-i", index] }
        if let host = options.trustedHost { common += ["--trusted-host", host] }
        do {
            try tools.runPip(common + ["--only-binary=:all:", requirement], what: "pip download \(requirement)")
        } catch {
            logger.debug("no wheel for \(requirement); trying the sdist", metadata: ["error": "\(error)"])
            try? FileManager.default.removeItem(atPath: target)
            try tools.runPip(common + ["--no-binary=:all:", requirement], what: "pip download \(requirement)")
        }
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: target)) ?? []).filter { name in
            name.hasSuffix(".whl") || sdistSuffixes.contains(where: name.hasSuffix)
        }.sorted()
        guard files.count == 1, let file = files.first else {
            throw PkgLayerError(.invalidInput, "pip download left \(files.count) package files (\(files.joined(separator: ", "))); expected exactly one",
                                at: "-s python")
        }
        return (target as NSString).appendingPathComponent(file)
    }

    /// `pip wheel --no-deps` of an sdist or project directory; returns the one wheel it made.
    static func buildWheel(_ source: String, tools: Tools, into dir: String) throws -> String {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try tools.runPip(["wheel", "--no-deps", "-w", dir, source], what: "pip wheel \((source as NSString).lastPathComponent)")
        let wheels = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".whl") }.sorted()
        guard wheels.count == 1, let wheel = wheels.first else {
            throw PkgLayerError(.invalidInput, "pip wheel made \(wheels.count) wheels from '\(source)'; expected exactly one", at: "-s python")
        }
        return (dir as NSString).appendingPathComponent(wheel)
    }

    /// The top-level `requirements.txt` of an sdist (or project directory), if it has one.
    static func readRequirementsTxt(from artifact: String) throws -> [String]? {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: artifact, isDirectory: &isDir) {
            let dir = isDir.boolValue ? artifact : (artifact as NSString).deletingLastPathComponent
            if isDir.boolValue || artifact.hasSuffix("setup.py") || artifact.hasSuffix("pyproject.toml") {
                let path = (dir as NSString).appendingPathComponent("requirements.txt")
                guard let data = FileManager.default.contents(atPath: path) else { return nil }
                return String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
            }
        }
        let reader = try ArchiveReader(path: artifact)
        while let header = try reader.next() {
            let parts = header.path.split(separator: "/").filter { $0 != "." }
            if parts.count == 2, parts[1] == "requirements.txt", header.isRegular {
                return String(decoding: try reader.readAll(limit: 1 << 20), as: UTF8.self).components(separatedBy: "\n")
            }
        }
        return nil
    }
}
