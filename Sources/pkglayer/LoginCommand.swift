import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerRegistry

/// `pkglayer login REGISTRY --username U --password-stdin`: checks the credential against the registry
/// and stores it the way docker does (config.json, mode 0600, or its credential helper).
struct LoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a registry and store the credential in docker's config.json.",
        discussion: "The file is $DOCKER_CONFIG/config.json or ~/.docker/config.json; a credsStore or credHelpers entry there sends the secret to docker-credential-NAME instead. The password is read from stdin only."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registryOptions: RegistryCommandOptions

    @Argument(help: "The registry, HOST[:PORT].")
    var registry: String

    @Option(name: [.customShort("u"), .customLong("username")], help: "The user name (default: the one already stored for this registry).")
    var username: String?

    @Flag(name: .customLong("password-stdin"), help: "Read the password (or token) from stdin.")
    var passwordStdin = false

    func run() throws {
        global.bootstrapLogging()
        try runReportingErrors {
            guard passwordStdin else {
                throw PkgLayerError(.usage, "pass the password on stdin with --password-stdin (it is never taken from the command line, where other users could see it)", at: "--password-stdin")
            }
            guard !registry.contains("/"), !registry.isEmpty else {
                throw PkgLayerError(.usage, "is not a registry; give HOST[:PORT] without a path or scheme", at: registry)
            }
            let input = FileHandle.standardInput.readDataToEndOfFile()
            var password = String(decoding: input, as: UTF8.self)
            while password.hasSuffix("\n") || password.hasSuffix("\r") { password.removeLast() }
            guard !password.isEmpty else { throw PkgLayerError(.usage, "stdin held no password", at: "--password-stdin") }
            let options = registryOptions.registryOptions()
            guard let user = try username ?? DockerConfig(path: options.dockerConfigPath).credential(for: registry)?.username else {
                throw PkgLayerError(.usage, "no user name is stored for \(registry); give one with --username", at: "--username")
            }
            let path = try Registry.login(registry: registry, credential: RegistryCredential(username: user, password: password), options: options)
            print("Login succeeded; credential for \(user)@\(registry) stored in \(path)")
        }
    }
}
