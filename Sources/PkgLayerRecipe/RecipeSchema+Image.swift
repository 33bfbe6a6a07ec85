import Foundation
import PkgLayerCore

// The `image:` section of a recipe and the top level of an image file (`pkglayer image FILE`): one
// field table for both, read by RecipeDecoder+Image.swift into Core's ImageSpec.

extension RecipeSchema {
    static let imageName = FieldType.scalar(
        "an image name", "^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$",
        hint: "use lowercase letters, digits and . _ - in path components separated by /, optionally after a registry host[:port] (registry.example.com:5000/team/nginx)",
        scope: .package)
    static let imageTag = FieldType.scalar(
        "an image tag", "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$",
        hint: "use letters, digits, _ . and -, at most 128 characters, not starting with . or - (1.22.1, latest)",
        json: ["string", "number"], scope: .package)
    static let absolutePath = FieldType.scalar("an absolute path", "^/.*$", hint: "write an absolute path inside the image (/usr/share/nginx/html/index.html)")
    static let duration = FieldType.scalar(
        "a duration", "^[0-9]+(ms|s|m|h)$", hint: "write a number followed by ms, s, m or h (30s, 5m)")
    static let port = FieldType.scalar(
        "a port", "^[0-9]{1,5}(/(tcp|udp|sctp))?$", hint: "write a port number with an optional protocol: 80/tcp, 53/udp",
        json: ["string", "integer"], check: { text in
            guard let n = Int(text.split(separator: "/")[0]), (1...65535).contains(n) else { return "'\(text)' is not a port from 1 to 65535" }
            return nil
        })
    static let imageBase = FieldType.scalar(ScalarRule(
        noun: "a base image", hint: nil,
        check: { text in
            if text == "scratch" { return nil }
            for prefix in ["oci-layout:", "rootfs:"] where text.hasPrefix(prefix) {
                return text.count == prefix.count ? "'\(text)' needs a path after '\(prefix)'" : nil
            }
            if text.contains(" ") || text.isEmpty {
                return "'\(text)' is not a base: write scratch, an image NAME[:TAG] from `pkglayer images`, oci-layout:PATH[:TAG] or rootfs:PATH.tar"
            }
            return nil
        }))
    static let imagePackage = FieldType.scalar(ScalarRule(
        noun: "a package", hint: nil,
        check: { text in
            if ImagePackageText.isFile(text) { return nil }
            do { _ = try Dependency(parsing: text, field: "package"); return nil } catch let e as PkgLayerError { return e.message } catch { return "\(error)" }
        }))
    static let signalName = FieldType.scalar(
        "a signal", "^(SIG[A-Z0-9+-]+|[0-9]+)$", hint: "write a signal name such as SIGQUIT or SIGTERM, or its number")

    static let repository = ObjectType(
        "repository", title: "image.repositories[]",
        doc: """
        A package repository the image's packages and their dependencies come from: an apt archive \
        (`apt: http://deb.debian.org/debian` with `suites`, or `apt: host` for the host's configured apt \
        sources) or a yum repository (`yum: URL` of the directory holding `repodata/`). Signatures are \
        checked against `keyring` (apt: InRelease; yum: repomd.xml.asc) unless `trusted: true`.
        """,
        constraints: [.exactlyOne(["apt", "yum"])],
        fields: [
            Field("apt", .scalar("an apt archive URL or host", "^(host|(https?|file)://[^\\s]+)$",
                                 hint: "write host (the host's apt sources) or an http://, https:// or file:// URL of the archive root"),
                  "The archive root (`http://deb.debian.org/debian`), or `host` for the sources in /etc/apt."),
            Field("yum", .scalar("a yum repository URL", "^(https?|file)://[^\\s]+$", hint: "write an http://, https:// or file:// URL of the directory holding repodata/"),
                  "The repository's baseurl."),
            Field("suites", .list(.string), "apt: the suites (`bookworm`, `bookworm-updates`)."),
            Field("components", .list(.string), "apt: the components. Default: `main`."),
            Field("keyring", localPath, "The key file signatures must verify against (binary `.gpg` or armored `.asc`), relative to this file or absolute. apt default: Debian's archive keyring."),
            Field("trusted", .boolean, default: "false", "Skip the signature check. pkglayer prints a warning; use it only for a local repository you control."),
        ])

    static let imageFile = ObjectType(
        "image-file", title: "image.files[]",
        doc: "A local file or directory copied into the image's top layer, like a Dockerfile's `COPY`.",
        fields: [
            Field("src", localPath, required: true, "The file or directory, relative to this file's directory."),
            Field("dest", absolutePath, required: true, "Where it goes in the image (an absolute path; a directory is copied below it)."),
            Field("mode", mode, "Permission bits (`\"0644\"`). Default: the file's own (directories 0755)."),
            Field("owner", owner, "The owning user: a name declared in the image's accounts, `root`, a numeric id or `name:id`. Default root."),
            Field("group", owner, "The owning group, like `owner`. Default root."),
        ])

    static let healthcheck = ObjectType(
        "healthcheck", title: "image.config.healthcheck",
        doc: "Docker's health check (kept in the image config; OCI runtimes ignore it).",
        fields: [
            Field("test", .list(.string, minItems: 1), required: true, "`[CMD, /bin/probe, arg]`, `[CMD-SHELL, \"curl -f http://localhost/\"]` or `[NONE]`."),
            Field("interval", duration, "Time between checks (`30s`)."),
            Field("timeout", duration, "How long one check may take."),
            Field("start-period", duration, "Grace period after start."),
            Field("retries", .integer(min: 0, max: 1000), "Failures before the container is unhealthy."),
        ])

    static let imageConfig = ObjectType(
        "image-config", title: "image.config",
        doc: "How the container runs: the image config's `config` section.",
        fields: [
            Field("entrypoint", .list(.text()), "The program and its first arguments (`[/usr/sbin/nginx, -g, \"daemon off;\"]`)."),
            Field("cmd", .list(.text()), "Default arguments (after the entrypoint)."),
            Field("env", .map(key: environmentName, value: ScalarRule(noun: "a string", jsonTypes: ["string", "number", "boolean"], scope: .package)),
                  "Environment variables. Default: `PATH` with the usual directories."),
            Field("workdir", absolutePath, "The working directory."),
            Field("user", .scalar("a user", "^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$", hint: "write a user name or id, optionally :group", json: ["string", "integer"]),
                  "The user the process runs as (`nginx`, `101:101`). Default root."),
            Field("ports", .list(port), "Exposed ports (`80/tcp`)."),
            Field("volumes", .list(absolutePath), "Mount points for volumes."),
            Field("labels", .map(key: ScalarRule(noun: "a label name", pattern: "^[^\\s]+$", hint: "write a label key without spaces"),
                                 value: ScalarRule(noun: "a string", jsonTypes: ["string", "number", "boolean"], scope: .package)),
                  "Labels in the image config."),
            Field("stop-signal", signalName, "The signal that stops the container (`SIGQUIT` for nginx's graceful stop)."),
            Field("healthcheck", .object(healthcheck), "Docker's health check."),
            Field("author", .text(scope: nil), "The image's author (config `author`, history entries)."),
        ])

    static let layeringBudget = ObjectType(
        "layering", title: "image.layering",
        doc: "Group packages into at most `budget` layers.",
        fields: [Field("budget", .integer(min: 1, max: 127), required: true, "The most package layers: the largest packages keep their own layer, the rest share one.")])

    /// The image fields; `nameRequired` for an image file, whose name cannot come from a package.
    static func imageFields(nameRequired: Bool) -> [Field] {
        [
            Field("name", imageName, required: nameRequired,
                  nameRequired ? "The image name (`nginx`, `registry.example.com/team/nginx`)." : "The image name. Default: the package name."),
            Field("tag", imageTag, default: "latest", "The tag (`${{package.version}}` in a recipe)."),
            Field("format", .scalar(.oneOf(["deb", "rpm"])), default: "deb", "Which packages the image installs, and so which package database it carries (`dpkg -l` or `rpm -qa`)."),
            Field("architecture", architecture, default: "native", "The image's architecture."),
            Field("base", imageBase, default: "scratch", """
                What the image starts from: `scratch` (nothing), an image in the local store (`NAME[:TAG]`, \
                from `pkglayer import` or `pkglayer pull`), a registry image (`HOST[:PORT]/REPO:TAG` or \
                `HOST/REPO@sha256:…`, pulled through the store; its digest is pinned in the lockfile), \
                `oci-layout:PATH[:TAG]` or `rootfs:PATH.tar`. No default registry is assumed: Docker Hub is \
                `docker.io/library/NAME`.
                """),
            Field("packages", .list(imagePackage), """
                What to install: package names with optional version constraints (`nginx`, `libc6 (>= 2.36)`), \
                looked up first among the recipe's own packages and then in the repositories, or paths to \
                local `.deb`/`.rpm` files. Their dependencies are resolved from the repositories.
                """),
            Field("repositories", .list(.object(repository)), "Where dependencies come from."),
            Field("lockfile", localPath, """
                The lockfile: the resolved packages with their sha256. When it exists and matches the inputs, \
                pkglayer installs exactly what it lists, offline. Default: `NAME.lock.json` beside this file \
                (read if present; a new one is written to the output folder).
                """),
            Field("layering", .either([.scalar(.oneOf(["per-package", "squash"])), .object(layeringBudget)]), default: "per-package", """
                `per-package` (one layer per package, so a package has the same layer digest in every image), \
                `squash` (one layer) or `{budget: N}`.
                """),
            Field("scripts", .scalar(.oneOf(["none", "run"])), default: "none", """
                `none`: no maintainer script runs; accounts are written natively. `run`: each package's \
                post-install runs in a sandbox over the assembled root, network off, and the changes become one layer.
                """),
            Field("accounts", .object(accounts), "Users and groups written into /etc/passwd and /etc/group (packages built by the recipe add theirs)."),
            Field("files", .list(.object(imageFile)), "Local files copied into the image."),
            Field("config", .object(imageConfig), "How the container runs."),
            Field("annotations", .map(key: ScalarRule(noun: "an annotation key", pattern: "^[^\\s]+$", hint: "write a key such as org.opencontainers.image.source"),
                                      value: ScalarRule(noun: "a string", jsonTypes: ["string", "number", "boolean"], scope: .package)),
                  "Image manifest annotations (`org.opencontainers.image.source`)."),
            Field("outputs", .list(.scalar(.oneOf(ImageSpec.Output.allCases.map(\.rawValue)))), """
                What to write into the output folder. Default: all of `oci-layout`, `oci-archive`, \
                `docker-archive` (for `docker load`) and `sbom` (SPDX 2.3 JSON).
                """),
        ]
    }

    static let image = ObjectType(
        "image", doc: "A container image made by stacking packages as layers, with no shell steps. `pkglayer build` builds it after the packages.",
        fields: imageFields(nameRequired: false))

    /// The top level of an image file.
    static let standaloneImage = ObjectType(
        "image-definition", title: "image file", doc: "The top level of an image file (`pkglayer image FILE`): the same keys as a recipe's `image:`, with `name` required.",
        fields: imageFields(nameRequired: true))
}

/// How an `image.packages` entry is told apart: a path to a package file, or a package name.
enum ImagePackageText {
    static func isFile(_ text: String) -> Bool {
        text.hasSuffix(".deb") || text.hasSuffix(".rpm") || text.contains("/")
    }
}
