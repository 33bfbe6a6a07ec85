import Foundation
import PkgLayerCore

// THE field table: every key a recipe may hold, its type, default and documentation. Strict decoding,
// `RecipeSchema.json` and docs/recipe.md are all generated from it. To add a field, add it here and
// read it in RecipeDecoder+Model.swift (the reader refuses keys that are not in this table).

extension RecipeSchema {
    // MARK: Value rules

    static let packageName = FieldType.scalar(
        "a package name", "^[a-z0-9][a-z0-9+.-]+$",
        hint: "use at least two characters: lowercase letters, digits and + - . starting with a letter or digit (Debian's rule, so the name works in both formats)",
        scope: .package)
    static let version = FieldType.scalar(
        "a version", "^[0-9][A-Za-z0-9.+~_]*$",
        hint: "start with a digit and use letters, digits and . + ~ _ only; the release goes in 'release' and the epoch in 'epoch'",
        json: ["string", "number"])
    static let release = FieldType.scalar(
        "a release", "^[A-Za-z0-9.+~_]+$", hint: "use letters, digits and . + ~ _ only, e.g. 1 or 2.el9",
        json: ["string", "number"])
    static let httpURL = FieldType.scalar(
        "an http(s) URL", "^https?://[^\\s]+$", hint: "write a full http:// or https:// URL")
    static let sourceURL = FieldType.scalar(
        "a URL", "^(https?|file)://[^\\s]+$",
        hint: "write an http://, https:// or file:// URL; for a file next to the recipe use 'path' instead",
        scope: .package)
    static let sha256 = FieldType.scalar(
        "a sha256 digest", "^[0-9a-f]{64}$",
        hint: "write the 64 lowercase hexadecimal digits that `sha256sum FILE` prints")
    static let dependency = FieldType.scalar(ScalarRule(
        noun: "a dependency", hint: nil, scope: .target,
        check: { text in
            do { _ = try Dependency(parsing: text, field: "dependency"); return nil } catch let e as PkgLayerError { return e.message } catch { return "\(error)" }
        }))
    static let dependencies = FieldType.list(dependency)
    static let architecture = FieldType.scalar(.oneOf(
        ["native", "x86_64", "amd64", "aarch64", "arm64", "i686", "i386", "armv7hl", "armhf", "ppc64le", "ppc64el", "s390x", "riscv64", "noarch", "all"],
        noun: "an architecture",
        hint: "use native (the machine that builds), an rpm or Debian name such as x86_64/amd64 or aarch64/arm64, or noarch/all for architecture-independent files"))
    static let glob = FieldType.scalar(
        "a glob", "^[^\\s].*$",
        hint: "write a path or a glob such as /etc/nginx/** (** crosses directories, * does not)")
    static let mode = FieldType.scalar(
        "an octal mode", "^0*[0-7]{3,4}$", hint: "write an octal mode such as \"0755\" or \"4755\"",
        json: ["string", "integer"],
        check: { text in
            guard let m = UInt32(text, radix: 8), m <= 0o7777 else { return "'\(text)' is above 07777" }
            return nil
        })
    static let owner = FieldType.scalar(ScalarRule(
        noun: "a user or group", hint: nil, jsonTypes: ["string", "integer"],
        check: { text in
            do { _ = try Owner(parsing: text, field: "owner"); return nil } catch let e as PkgLayerError { return e.message } catch { return "\(error)" }
        }))
    static let accountName = FieldType.scalar(
        "an account name", "^[a-z_][a-z0-9_-]*[$]?$",
        hint: "use lowercase letters, digits, _ and -, starting with a letter or _ (what useradd accepts)")
    static let relativeDirectory = FieldType.scalar(ScalarRule(
        noun: "a relative path", hint: nil, scope: .package,
        check: { text in
            if text.hasPrefix("/") { return "'\(text)' must be relative to the source tree, not absolute" }
            if text.split(separator: "/").contains("..") { return "'\(text)' must stay inside the source tree (no '..')" }
            return nil
        }))
    static let localPath = FieldType.scalar(
        "a path", "^[^\\s].*$", hint: "write a path relative to the recipe's directory", scope: .package)
    static let environmentName = ScalarRule.matching(
        "a variable name", "^[A-Za-z_][A-Za-z0-9_]*$", hint: "use letters, digits and _, not starting with a digit")
    static let hostPackage = FieldType.scalar(
        "a Debian package name", "^[a-z0-9][a-z0-9+.-]+$",
        hint: "write a Debian package name such as libssl-dev (what `apt-get install` takes)")
    static let command = FieldType.scalar(
        "a command", "^[^\\s]+$", hint: "write a command name such as make, or an absolute path")
    static let recipeReference = FieldType.scalar(
        "a recipe", "^[^\\s]+$", hint: "write a recipe file relative to this one (pcre2.yml) or a recipe name (pcre2)")
    static let sourceDateEpoch = FieldType.scalar(ScalarRule(
        noun: "a date",
        pattern: "^([0-9]+|[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?)$",
        hint: "write seconds since 1970 (1666137600) or a quoted UTC date, \"2022-10-19\" or \"2022-10-19T00:00:00Z\"",
        jsonTypes: ["string", "integer"],
        check: { RecipeDate.seconds(from: $0) == nil ? "'\($0)' is not a valid date" : nil }))

    // MARK: Objects

    static let scriptFile = ObjectType(
        "script-file", title: "script file",
        doc: "A maintainer script kept in its own file.",
        fields: [
            Field("file", .scalar("a path", "^[^\\s].*$", hint: "write a path relative to the recipe's directory"), required: true,
                  "The script's path, relative to the recipe's directory. Its content is part of the cache key."),
        ])

    static let script = FieldType.either([.scalar(ScalarRule(noun: "a string", verbatim: true)), .object(scriptFile)])

    static let scripts = ObjectType(
        "scripts",
        doc: """
        Maintainer scripts, each inline text or `{ file: path }`. They run with `/bin/sh` unless they \
        start with `#!`, under `set -e`, and are passed on verbatim (`${{…}}` is not expanded). \
        pkglayer maps them onto rpm's `%pre`/`%post`/`%preun`/`%postun` and Debian's \
        `preinst`/`postinst`/`prerm`/`postrm` with the right arguments, so each runs exactly when its \
        name says. Without an upgrade script, the install script also runs on upgrade; remove scripts \
        never run during an upgrade.
        """,
        fields: [
            Field("pre-install", script, "Runs before the files are unpacked on a first install (and on upgrade when there is no `pre-upgrade`)."),
            Field("post-install", script, "Runs after the files are unpacked on a first install (and on upgrade when there is no `post-upgrade`)."),
            Field("pre-remove", script, "Runs before the files are removed (not on upgrade)."),
            Field("post-remove", script, "Runs after the files are removed (not on upgrade)."),
            Field("pre-upgrade", script, "Runs before the new version's files are unpacked over an old version."),
            Field("post-upgrade", script, "Runs after the new version's files are unpacked over an old version."),
            Field("pre-transaction", script, "rpm only (`%pretrans`); dpkg has no such hook, so a .deb goes without it."),
            Field("post-transaction", script, "rpm only (`%posttrans`); dpkg has no such hook, so a .deb goes without it."),
        ])

    static let dependencyFields = ObjectType(
        "dependencies",
        doc: """
        Relations to other packages. Each entry is `name`, `name >= 1.2` or Debian's `name (>= 1.2)`; \
        `a | b` means either. Operators: `<` `<=` `=` `>=` `>` (Debian's `<<` and `>>` are accepted). \
        `${{package.*}}` and `${{build.arch}}` are expanded.
        """,
        fields: [
            Field("runtime", dependencies, "Needed at run time, under the same name in both formats (rpm `Requires`, Debian `Depends`)."),
            Field("rpm", dependencies, "Needed at run time, rpm only (`openssl-libs`). Added to `runtime` in the .rpm."),
            Field("deb", dependencies, "Needed at run time, Debian only (`libssl3`). Added to `runtime` in the .deb."),
            Field("pre-depends", dependencies, "Debian `Pre-Depends`: must be configured before this package is unpacked."),
            Field("provides", dependencies, "Virtual packages or capabilities this package provides (`httpd`, `nginx = 1.22.1`)."),
            Field("conflicts", dependencies, "Packages that cannot be installed together with this one."),
            Field("replaces", dependencies, "Packages whose files this one takes over (Debian `Replaces`)."),
            Field("breaks", dependencies, "Debian `Breaks`: versions this package makes unusable."),
            Field("obsoletes", dependencies, "rpm `Obsoletes`: packages this one supersedes on upgrade."),
            Field("recommends", dependencies, "Weak dependencies installed by default (rpm `Recommends`, Debian `Recommends`)."),
            Field("suggests", dependencies, "Weak dependencies not installed by default."),
            Field("shlibs", .boolean, default: "true", """
                Add dependencies on the shared libraries the packaged ELF files need (their `NEEDED` \
                entries): soname requires such as `libpcre2-8.so.0()(64bit)` in the .rpm, the owning \
                Debian package with a version floor in the .deb, and the matching provides for \
                libraries the package ships.
                """),
        ])

    static let attribute = ObjectType(
        "attribute", title: "attributes[]",
        doc: "Mode and ownership for the paths a glob matches. Later rules win. Paths not matched keep the mode they were installed with, owned by root.",
        constraints: [.atLeastOne(["mode", "owner", "group"])],
        fields: [
            Field("path", glob, required: true, "A path or glob (`/usr/sbin/nginx`, `/var/lib/nginx/**`); a directory also matches what lies below it."),
            Field("mode", mode, "Permission bits in octal, quoted (`\"0755\"`, `\"4755\"` for setuid). Not applied to symlinks."),
            Field("owner", owner, "The owning user: a name, a numeric id or `name:id`. A name declared in `accounts` with a `uid` gets that id."),
            Field("group", owner, "The owning group, like `owner`."),
        ])

    static let user = ObjectType(
        "user", title: "accounts.users[]",
        doc: "A user the package needs. It is created before the files are unpacked if it does not exist, and never removed.",
        fields: [
            Field("name", accountName, required: true, "The login name."),
            Field("uid", .nonNegative, "A fixed user id. Without it the system picks one."),
            Field("group", accountName, "The primary group; created if missing. Default: a group named like the user."),
            Field("groups", .list(accountName), "Supplementary groups."),
            Field("home", .scalar("an absolute path", "^/.*$", hint: "write an absolute path"), default: "/nonexistent", "The home directory. It is not created."),
            Field("shell", .scalar("an absolute path", "^/.*$", hint: "write an absolute path"), default: "/usr/sbin/nologin", "The login shell."),
            Field("system", .boolean, default: "true", "A system account (id below 1000, no aging)."),
            Field("comment", .text(scope: nil), "The GECOS comment (`nginx web server`)."),
        ])

    static let group = ObjectType(
        "group", title: "accounts.groups[]",
        doc: "A group the package needs, created before the files are unpacked if it does not exist.",
        fields: [
            Field("name", accountName, required: true, "The group name."),
            Field("gid", .nonNegative, "A fixed group id. Without it the system picks one."),
            Field("system", .boolean, default: "true", "A system group."),
        ])

    static let accounts = ObjectType(
        "accounts",
        doc: """
        Users and groups to create on install. pkglayer puts the commands that create the missing ones \
        (`groupadd`, `useradd`) at the start of the main package's pre-install (and pre-upgrade) script, \
        so they exist before files owned by them are unpacked. Existing accounts are left as they are \
        and nothing is removed. Under `dpkg --root` with `--force-script-chrootless` they are created in \
        that root (`$DPKG_ROOT`), never on the host.
        """,
        fields: [
            Field("groups", .list(.object(group)), "Groups, created first."),
            Field("users", .list(.object(user)), "Users."),
        ])

    static let changelogEntry = ObjectType(
        "changelog-entry", title: "changelog[]",
        doc: """
        One release in the package's history, newest first. The .rpm carries the entries as its \
        `%changelog` (`rpm -q --changelog`); the .deb as `/usr/share/doc/NAME/changelog.Debian.gz` in \
        Debian's format (unless the package installs that file itself).
        """,
        fields: [
            Field("date", sourceDateEpoch, required: true, "When: seconds since 1970 or a quoted UTC date (`\"2024-03-01\"`)."),
            Field("author", .text(scope: nil), required: true, "Who: `Name <email>`."),
            Field("version", .text(), "The version the entry describes (`1.2-1`). Default: the package's own `version-release` (with the epoch, when set)."),
            Field("changes", .either([.text(scope: nil), .list(.text(scope: nil), minItems: 1)]), required: true,
                  "What changed: one line per change (a `|` block or a list). Bullets (`- `, `* `) are added."),
        ])

    static let service = ObjectType(
        "service", title: "services[]",
        doc: """
        A systemd unit the package installs and integrates, the way Debian's `dh_installsystemd` and \
        Fedora's `%systemd_*` macros do: the unit goes to `/lib/systemd/system/NAME.service` (.deb) or \
        `/usr/lib/systemd/system/NAME.service` (.rpm), and the maintainer scripts enable, start, \
        restart, stop, disable and (on purge) forget it. Every call to the init system is guarded by \
        `[ -d /run/systemd/system ]`, so installing into an image or a chroot changes only files.
        """,
        fields: [
            Field("unit", localPath, required: true, "The unit file, relative to the recipe's directory (inside the build context). Its name without `.service` names the service."),
            Field("enable", .boolean, default: "true", "Enable the unit on install (`deb-systemd-helper enable`, `systemctl enable`)."),
            Field("start", .boolean, default: "true", "Start it on install."),
            Field("restart-after-upgrade", .boolean, default: "true", "Restart it after an upgrade; with `false` it is stopped before the upgrade and started after it."),
        ])

    static let package = ObjectType(
        "package",
        doc: "The main package: its metadata, relations, scripts and file attributes. Subpackages inherit version, release, epoch, license, url, maintainer and vendor from it.",
        fields: [
            Field("name", packageName, required: true, "The package name (`nginx`). Lowercase, because Debian requires it."),
            Field("version", version, required: true, "The upstream version (`1.22.1`). Always read as text: `1.10` stays `1.10`."),
            Field("release", release, default: "1", "The packaging revision: rpm `Release`, the Debian revision after the `-`. Bump it when the recipe changes but the upstream version does not."),
            Field("epoch", .integer(min: 0, max: Int64(UInt32.max)), "Overrides version ordering when upstream's versions go backwards. Leave it out unless you need it."),
            Field("summary", .text(), required: true, "One line, without a final period (rpm `Summary`, the first line of Debian's `Description`)."),
            Field("description", .text(), "The long description; several lines, use `|`. A line holding only `.` separates paragraphs."),
            Field("license", .text(scope: nil), "An SPDX expression (`BSD-2-Clause`, `GPL-3.0-or-later`)."),
            Field("url", httpURL, "The project's home page."),
            Field("maintainer", .text(scope: nil), "Who maintains the package: `Name <email>`."),
            Field("vendor", .text(scope: nil), "The organisation that distributes the package (rpm `Vendor`)."),
            Field("arch", architecture, default: "native", "What the package runs on. `native` is the machine that builds; `noarch` (or `all`) is for architecture-independent files."),
            Field("section", .text(scope: nil), "Debian `Section` / rpm `Group` (`httpd`, `libs`, `devel`)."),
            Field("priority", .scalar(.oneOf(["required", "important", "standard", "optional", "extra"])), default: "optional", "Debian `Priority`."),
            Field("source-date-epoch", sourceDateEpoch, """
                The recipe's date: the clock for file times and build times when `SOURCE_DATE_EPOCH` is \
                not set. Seconds since 1970 or a quoted UTC date (`"2022-10-19"`). Without either, the \
                newest modification time among the packaged files is used.
                """),
            Field("dependencies", .object(dependencyFields), "Runtime relations."),
            Field("scripts", .object(scripts), "Maintainer scripts."),
            Field("conffiles", .list(glob), """
                Configuration files: globs over package paths (`/etc/nginx/**`). Local edits survive \
                upgrades (rpm `%config(noreplace)`, Debian conffiles). They apply to whichever package \
                (main or subpackage) a matched file lands in. Regular files under `/etc` are conffiles anyway.
                """),
            Field("attributes", .list(.object(attribute)), "Per-path mode and ownership, applied in order to every package of the recipe."),
            Field("accounts", .object(accounts), "Users and groups to create on install."),
            Field("changelog", .list(.object(changelogEntry)), "The package's history, newest first (rpm `%changelog`, Debian `changelog.Debian.gz`)."),
            Field("services", .list(.object(service)), "systemd units to install, enable and start (see [services[]](#services))."),
        ])

    static let source = ObjectType(
        "source", title: "sources[]",
        doc: """
        Something to put in the source tree: a download checked against its sha256, or a file or \
        directory next to the recipe. Archives (`.tar.gz`, `.tar.xz`, `.tar.bz2`, `.tar.zst`, `.tgz`, \
        `.zip`) are extracted; other files are copied. Entries that would land outside the tree \
        (`..`, absolute paths, escaping symlinks) are refused.
        """,
        constraints: [.exactlyOne(["url", "path"]), .requires("url", ["sha256"])],
        fields: [
            Field("url", sourceURL, """
                Where to download it (`https://nginx.org/download/nginx-${{package.version}}.tar.gz`). \
                pkglayer looks in its cache and the `--sources` mirrors first (by sha256 or file name), \
                so builds work offline.
                """),
            Field("path", localPath, "A file or directory relative to the recipe's directory. Its content is part of the cache key."),
            Field("sha256", sha256, "The expected sha256 of the download; required with `url`, optional (checked when given) with `path`. A mismatch is an error and the file is not kept."),
            Field("strip-components", .nonNegative, "How many leading path components to drop when extracting an archive. Default: 1 for archives (the usual `name-version/` directory), unused for plain files."),
            Field("extract-to", relativeDirectory, default: ".", "Where in the source tree to put it; a relative path that stays inside the tree. A directory name ending in `/` receives a copied file under its own name."),
        ])

    static let patchObject = ObjectType(
        "patch", title: "patches[]",
        doc: "A patch applied to the source tree after the sources are in place, in the order listed. A plain string is `{ path: … }` with the default `strip`.",
        fields: [
            Field("path", localPath, required: true, "The patch file, relative to the recipe's directory. Its content is part of the cache key."),
            Field("strip", .nonNegative, default: "1", "`patch -pN`: leading path components to drop from the file names in the patch."),
        ])

    static let requirements = ObjectType(
        "requires",
        doc: "What the build needs from the host and from other recipes. Missing host requirements are reported before anything runs, with the `apt-get install` command that fixes them.",
        fields: [
            Field("commands", .list(command), "Commands that must be on the host's PATH (`cc`, `make`)."),
            Field("packages", .list(hostPackage), "Debian packages that must be installed on the host (`libpcre2-dev`). Their versions are part of the cache key."),
            Field("recipes", .list(recipeReference), """
                Other recipes whose packages this build needs: a path relative to this recipe \
                (`pcre2.yml`) or a name (`pcre2`, meaning `pcre2.yml` beside this recipe). They are built \
                first (or taken from the cache) and their files are visible inside the sandbox.
                """),
        ])

    static let step = ObjectType(
        "step", title: "build.steps[]",
        doc: "A shell snippet run with `sh -e` in the source tree, inside the sandbox.",
        fields: [
            Field("name", .text(scope: nil), "A short name shown in progress and errors. Default: `step N`."),
            Field("run", .text(scope: .build), required: true, "The commands. All `${{…}}` variables are expanded; `$VAR` is left to the shell."),
            Field("timeout", buildDuration, """
                How long this step may run (`90s`, `20m`, `2h`). A step that runs longer is killed with \
                everything it started, and the build fails naming it. Default: only `build.timeout` bounds it.
                """),
        ])

    /// `30s`, `20m`, `2h`, or a number of seconds.
    static let buildDuration = FieldType.scalar(
        "a duration", "^[0-9]+(s|m|h)?$", hint: "write a number of seconds, or a number followed by s, m or h (90s, 20m, 2h)",
        check: { Recipe.seconds(fromDuration: $0).map { $0 > 0 ? nil : "a timeout must be longer than 0 s" } ?? "is not a duration" })

    static let build = ObjectType(
        "build",
        doc: """
        How to compile. Steps run one after another in a bubblewrap sandbox: the host's `/usr` read-only, \
        the source tree and `${{targets.destdir}}` writable, no network, a clean environment.
        """,
        fields: [
            Field("network", .boolean, default: "false", "Let the steps reach the network. The build prints a warning; a reproducible build should not need it."),
            Field("jobs", .either([.scalar(.oneOf(["auto"])), .integer(min: 1, max: 4096)]), default: "auto",
                  "Parallel jobs, given to steps as `${{build.jobs}}`. `auto` is the number of CPUs."),
            Field("environment", .map(key: environmentName, value: ScalarRule(noun: "a string", jsonTypes: ["string", "number", "boolean"], scope: .build)), """
                Environment variables for every step (`CFLAGS: -O2 -g0`), on top of the fixed ones \
                (`PATH`, `HOME`, `SOURCE_DATE_EPOCH`, `LC_ALL=C.UTF-8`, `TZ=UTC`). Values may use `${{…}}`.
                """),
            Field("requires", .object(requirements), "Host and recipe requirements."),
            Field("steps", .list(.object(step)), "The shell steps, in order. Install into `${{targets.destdir}}`."),
            Field("timeout", buildDuration, default: "6h", """
                How long all the steps together may run. When it runs out, the running step is killed with \
                everything it started and the build fails naming it. Raise it for very long builds.
                """),
        ])

    static let subpackage = ObjectType(
        "subpackage", title: "subpackages[]",
        doc: """
        A package split off the main one: the files its globs match move into it (the first \
        subpackage that matches a path wins); everything else stays in the main package. It inherits \
        version, release, epoch, license, url, maintainer and vendor.
        """,
        fields: [
            Field("name", packageName, required: true, "The package name (`nginx-doc`, or `${{package.name}}-doc`). Must differ from the main package and the other subpackages."),
            Field("summary", .text(), "One line. Default: the main package's summary."),
            Field("description", .text(), "The long description. Default: the main package's."),
            Field("license", .text(scope: nil), "Default: the main package's."),
            Field("arch", architecture, "Default: the main package's. Documentation and headers are usually `noarch`."),
            Field("section", .text(scope: nil), "Default: the main package's."),
            Field("files", .list(glob, minItems: 1), required: true, "Globs over package paths that move into this package (`/usr/share/man/**`)."),
            Field("dependencies", .object(dependencyFields), "Its relations, e.g. `runtime: [\"nginx = ${{package.full-version}}\"]`."),
            Field("scripts", .object(scripts), "Its maintainer scripts."),
        ])

    static let recipe = ObjectType(
        "recipe", title: "recipe",
        doc: "The top level of a recipe file.",
        fields: [
            Field("package", .object(package), required: true, "The main package."),
            Field("sources", .list(.object(source)), "What goes into the source tree, in order."),
            Field("patches", .list(.either([localPath, .object(patchObject)])), "Patches applied in order with `patch -p1` (or `{ path: …, strip: N }`)."),
            Field("build", .object(build), "How to compile and install."),
            Field("subpackages", .list(.object(subpackage)), "Packages split off the main one."),
            Field("image", .object(image), "The container image built from these packages."),
        ])
}
