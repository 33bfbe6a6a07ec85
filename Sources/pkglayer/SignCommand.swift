import ArgumentParser
import Foundation
import PkgLayerCore
import PkgLayerPipeline

/// `--sign-key`, `--sign-passphrase-file`, `--gnupg-home`: shared by package, build, sign and publish.
/// The passphrase is never a flag's value (it would be in the shell history and `ps`).
struct SigningCommandOptions: ParsableArguments {
    // An armored key as the value starts with dashes: `joiningKeyValues` (run before parsing) makes it
    // `--sign-key=VALUE`, which ArgumentParser takes as the value.
    @Option(name: .customLong("sign-key"), help: ArgumentHelp(
        "Sign with this OpenPGP key: an armored or binary secret key file, a key id, fingerprint or user id in the GnuPG home, or the armored secret key itself (what a CI secret holds: PKGLAYER_SIGN_KEY=\"$(cat key.asc)\"; or its binary form in base64) ($PKGLAYER_SIGN_KEY). RSA 2048+ or Ed25519; SHA-256. Never printed.",
        valueName: "FILE|KEYID|KEY"))
    var key: String?

    @Option(name: .customLong("sign-passphrase-file"), help: ArgumentHelp(
        "Read the key's passphrase from this file ($PKGLAYER_SIGN_PASSPHRASE_FILE; or put it in $PKGLAYER_SIGN_PASSPHRASE).", valueName: "FILE"))
    var passphraseFile: String?

    @Option(name: .customLong("gnupg-home"), help: ArgumentHelp("The GnuPG home a KEYID is looked up in (default $GNUPGHOME or ~/.gnupg).", valueName: "DIR"))
    var gnupgHome: String?

    /// The key named by the flags or the environment; nil when none is.
    var options: SigningOptions? {
        SigningOptions.resolve(key: key, passphraseFile: passphraseFile, gnupgHome: gnupgHome)
    }
}

extension SigningCommandOptions {
    /// The options whose value may be an armored key (`--sign-key "$(cat key.asc)"`).
    static let keyValueOptions: Set<String> = ["--sign-key", "--cache-sign-key"]

    /// `arguments` with `--sign-key VALUE` joined into `--sign-key=VALUE` when VALUE is an armored block.
    /// ArgumentParser's tokenizer reads any argument that starts with `---` as a malformed option before
    /// an option can claim it, and its error (`Invalid option: -----BEGIN PGP PRIVATE KEY BLOCK----- …`)
    /// would print the whole key; the joined form is the same option with the same value.
    static func joiningKeyValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" { out += arguments[index...]; break }
            let next = arguments.index(after: index)
            if keyValueOptions.contains(argument), next < arguments.endIndex, arguments[next].hasPrefix("-----BEGIN") {
                out.append(argument + "=" + arguments[next])
                index = arguments.index(after: next)
                continue
            }
            out.append(argument)
            index = next
        }
        return out
    }
}

extension PkgLayer {
    /// The entry point: ArgumentParser's, after `SigningCommandOptions.joiningKeyValues`, so a key given
    /// as `--sign-key`'s value is parsed as that value and never echoed in a parse error.
    static func main() {
        run(SigningCommandOptions.joiningKeyValues(Array(CommandLine.arguments.dropFirst())))
    }
}

/// `pkglayer sign FILE…`: sign packages already written, as `rpmsign --addsign` (rpm) and debsigs (deb) do.
struct SignCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract: "Sign .rpm and .deb files in place (rpm: header signature, as rpmsign --addsign; deb: debsigs' _gpgorigin).",
        discussion: """
            The signature's date is SOURCE_DATE_EPOCH when set, else the package's own build time, so signing the same \
            package with the same key twice gives the same bytes. Each file is replaced atomically.
            """)

    @OptionGroup var global: GlobalOptions
    @OptionGroup var signing: SigningCommandOptions
    @Flag(name: .customLong("json"), help: "Print what was signed as JSON.") var json = false
    @Argument(help: "The packages (.rpm, .deb).") var files: [String]

    func run() throws {
        global.bootstrapLogging(json: json)
        try runReportingErrors {
            guard let options = signing.options else {
                throw PkgLayerError(.usage, "name the key: --sign-key FILE|KEYID, or set \(SigningOptions.keyVariable)", at: "--sign-key")
            }
            guard !files.isEmpty else { throw PkgLayerError(.usage, "name at least one .rpm or .deb file to sign", at: "FILE") }
            let key = try SigningKey(options)
            var signed: [SignedPackage] = []
            for file in files { signed.append(try PackageSigning.sign(file, with: key)) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(signed), as: UTF8.self))
            } else {
                for s in signed { print("Signed \(s.format.rawValue) package: \(s.path) (\(s.algorithm) key \(s.keyID))") }
            }
        }
    }
}
