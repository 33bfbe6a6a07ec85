import ArgumentParser
import PkgLayerPipeline

/// fpm's `--python-*` options (lib/fpm/package/python.rb), for `-s python`; `PythonSource` reads them.
struct FpmPythonOptions: ParsableArguments {
    @Option(name: .customLong("python-bin"), help: "The python interpreter (default python3).") var bin: String?
    @Option(name: .customLong("python-pip"), help: "A pip executable (default: BIN -m pip).") var pip: String?
    @Flag(name: .customLong("python-internal-pip"), inversion: .prefixedNo, help: "Run pip as BIN -m pip (default on).")
    var internalPip = true
    @Option(name: .customLong("python-easyinstall"), help: "fpm: an easy_install path (no effect: pip is used; a warning).") var easyinstall: String?
    @Option(name: [.customLong("python-pypi"), .customLong("python-index-url")], help: "The index pip downloads from.") var indexURL: String?
    @Option(name: .customLong("python-trusted-host"), help: "Passed to pip as --trusted-host.") var trustedHost: String?
    @Option(name: .customLong("python-package-name-prefix"), help: "Name prefix (default python).") var packageNamePrefix: String?
    @Option(name: .customLong("python-package-prefix"), help: "Deprecated spelling of --python-package-name-prefix.") var packagePrefix: String?
    @Flag(name: .customLong("python-fix-name"), inversion: .prefixedNo, help: "Prefix the package name (default on).") var fixName = true
    @Flag(name: .customLong("python-fix-dependencies"), inversion: .prefixedNo, help: "Prefix dependency names (default on).")
    var fixDependencies = true
    @Flag(name: .customLong("python-downcase-name"), inversion: .prefixedNo, help: "Lower-case the name (default on).") var downcaseName = true
    @Flag(name: .customLong("python-downcase-dependencies"), inversion: .prefixedNo, help: "Lower-case dependency names (default on).")
    var downcaseDependencies = true
    @Option(name: .customLong("python-install-lib"), help: "Where modules land.") var installLib: String?
    @Option(name: .customLong("python-install-bin"), help: "Where scripts land (default /usr/bin).") var installBin: String?
    @Option(name: .customLong("python-install-data"), help: "Where data files land (default /usr).") var installData: String?
    @Flag(name: .customLong("python-dependencies"), inversion: .prefixedNo, help: "Dependencies from the metadata (default on).")
    var dependencies = true
    @Flag(name: .customLong("python-obey-requirements-txt"), inversion: .prefixedNo, help: "Dependencies from requirements.txt.")
    var obeyRequirementsTxt = false
    @Option(name: .customLong("python-disable-dependency"), help: "A python dependency to leave out.") var disableDependency: [String] = []
    @Option(name: .customLong("python-setup-py-arguments"), help: "fpm: setup.py install arguments (no effect; a warning).")
    var setupPyArguments: [String] = []
    @Option(name: .customLong("python-scripts-executable"), help: "The #! interpreter of installed scripts.") var scriptsExecutable: String?

    func apply(to r: inout PackageRequest) {
        var o = PythonOptions()
        if let bin { o.bin = bin }
        o.pip = pip
        o.internalPip = internalPip
        o.easyinstall = easyinstall
        o.indexURL = indexURL
        o.trustedHost = trustedHost
        if let packageNamePrefix { o.packageNamePrefix = packageNamePrefix }
        o.packagePrefix = packagePrefix
        o.fixName = fixName
        o.fixDependencies = fixDependencies
        o.downcaseName = downcaseName
        o.downcaseDependencies = downcaseDependencies
        o.installLib = installLib
        o.installBin = installBin
        o.installData = installData
        o.dependencies = dependencies && !r.noAutoDepends && !r.noDepends
        o.obeyRequirementsTxt = obeyRequirementsTxt
        o.disableDependency = disableDependency
        o.setupPyArguments = setupPyArguments
        o.scriptsExecutable = scriptsExecutable
        o.version = r.version
        r.python = o
    }
}
