import Foundation
import PkgLayerCore
@testable import PkgLayerRecipe
import PkgLayerTestSupport
import XCTest

/// A recipe that uses every section, with the files it refers to.
let fullRecipe = """
    # A full recipe.
    package:
      name: nginx
      version: 1.22.1
      release: 2
      epoch: 1
      summary: Web server ${{package.version}}
      description: |
        nginx is an HTTP server.
        .
        Second paragraph.
      license: BSD-2-Clause
      url: https://nginx.org
      maintainer: "Jane Doe <jane@example.org>"
      vendor: Example
      arch: native
      section: httpd
      source-date-epoch: 1666137600
      dependencies:
        runtime: [ "libfoo >= 1.2", "libc6 | glibc" ]
        rpm: [ openssl-libs ]
        deb: [ "libssl3 (>= 3.0)" ]
        provides: [ "httpd = ${{package.version}}" ]
        conflicts: [ apache2 ]
        replaces: [ nginx-light ]
        recommends: [ logrotate ]
        suggests: [ nginx-doc ]
        shlibs: false
      scripts:
        pre-install: |
          echo pre $1
        post-install: { file: scripts/nginx.postinst }
        pre-remove: "echo prerm"
        post-remove: "echo postrm"
        pre-upgrade: "echo preup"
        post-upgrade: "echo postup"
      conffiles: [ /etc/nginx/*.conf ]
      attributes:
        - { path: /usr/sbin/nginx, mode: "0755", owner: root, group: root }
        - { path: /var/lib/nginx, mode: 0750, owner: nginx, group: nginx }
      accounts:
        users:
          - { name: nginx, uid: 101, group: nginx, home: /var/lib/nginx, shell: /usr/sbin/nologin, system: true, comment: "nginx user" }
        groups:
          - { name: nginx, gid: 102 }
    sources:
      - url: https://nginx.org/download/nginx-${{package.version}}.tar.gz
        sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
      - path: files/nginx.conf
        extract-to: conf/
      - url: file:///srv/mirror/extra.tar.xz
        sha256: 0000000000000000000000000000000000000000000000000000000000abcdef
        strip-components: 0
        extract-to: vendor/extra
    patches:
      - patches/0001-fix.patch
      - { path: patches/0002-more.patch, strip: 0 }
    build:
      network: false
      jobs: 4
      environment: { CFLAGS: "-O2 -g0", PREFIX: "/usr", OUT: "${{targets.destdir}}" }
      requires:
        commands: [ gcc, make ]
        packages: [ libpcre2-dev, libssl-dev ]
        recipes: [ pcre2.yml, zlib ]
      steps:
        - name: configure
          run: ./configure --prefix=/usr
        - run: make -j${{build.jobs}}
        - run: make install DESTDIR=${{ targets.destdir }} HOME=$HOME X=${HOME}
    subpackages:
      - name: ${{package.name}}-doc
        summary: Documentation
        arch: noarch
        files: [ /usr/share/nginx/html/**, /usr/share/man/** ]
        dependencies: { runtime: [ "nginx = ${{package.full-version}}" ] }
        scripts:
          post-install: "echo doc"
      - name: nginx-dev
        files: [ /usr/include/** ]
    image:
      name: example/nginx
      tag: ${{package.version}}
      format: deb
      architecture: x86_64
      base: oci-layout:base/layout:12
      packages: [ nginx, "libc6 (>= 2.36)", files/local.deb ]
      repositories:
        - apt: http://deb.debian.org/debian
          suites: [ bookworm ]
          components: [ main, contrib ]
          keyring: keys/debian.gpg
        - yum: file:///srv/repo
          trusted: true
      lockfile: nginx.lock.json
      layering: { budget: 4 }
      scripts: none
      accounts:
        groups: [ { name: web, gid: 900 } ]
      files:
        - { src: files/nginx.conf, dest: /etc/nginx/nginx.conf, mode: "0640", owner: nginx, group: web }
      config:
        entrypoint: [ nginx, -g, "daemon off;" ]
        cmd: [ -c, /etc/nginx/nginx.conf ]
        env: { LANG: C.UTF-8, NGINX_VERSION: "${{package.version}}" }
        workdir: /srv
        user: nginx
        ports: [ 80/tcp, 443 ]
        volumes: [ /var/cache/nginx ]
        labels: { maintainer: web-team }
        stop-signal: SIGQUIT
        healthcheck: { test: [ CMD, /usr/sbin/nginx, -t ], interval: 30s, timeout: 500ms, start-period: 1m, retries: 3 }
        author: Web Team
      annotations: { org.opencontainers.image.source: "https://example.com/nginx" }
      outputs: [ oci-layout, sbom ]
    """

func makeFullFixture() throws -> RecipeFixture {
    let fx = try RecipeFixture()
    try fx.write("scripts/nginx.postinst", "#!/bin/sh\necho configured\n")
    try fx.write("files/nginx.conf", "worker_processes 1;\n")
    try fx.write("files/local.deb", "not really a deb\n")
    try fx.write("patches/0001-fix.patch", "--- a/x\n+++ b/x\n")
    try fx.write("patches/0002-more.patch", "--- x\n+++ x\n")
    try fx.write("pcre2.yml", "package: { name: pcre2, version: '10.42', summary: PCRE2 }\n")
    try fx.write("zlib.yml", "package: { name: zlib, version: '1.3', summary: zlib }\n")
    return fx
}

final class RecipeDecodingTests: XCTestCase {
    func testFullRecipeDecodesToTheExpectedValues() throws {
        let fx = try makeFullFixture()
        let r = try fx.load(fullRecipe)
        XCTAssertEqual(r.directory, fx.directory)
        XCTAssertEqual(r.absolutePath, fx.path("recipe.yml"))
        XCTAssertEqual(r.build.requires.recipes[0].path, try fx.load(String(contentsOfFile: fx.path("pcre2.yml"), encoding: .utf8), name: "pcre2.yml").absolutePath)

        let p = r.package
        XCTAssertEqual(p.name, "nginx")
        XCTAssertEqual(p.version, "1.22.1")
        XCTAssertEqual(p.release, "2")
        XCTAssertEqual(p.epoch, 1)
        XCTAssertEqual(p.fullVersion, "1:1.22.1-2")
        XCTAssertEqual(p.summary, "Web server 1.22.1")
        XCTAssertEqual(p.description, "nginx is an HTTP server.\n.\nSecond paragraph.\n")
        XCTAssertEqual(p.license, "BSD-2-Clause")
        XCTAssertEqual(p.url, "https://nginx.org")
        XCTAssertEqual(p.maintainer, "Jane Doe <jane@example.org>")
        XCTAssertEqual(p.vendor, "Example")
        XCTAssertEqual(p.arch, .native)
        XCTAssertEqual(p.section, "httpd")
        XCTAssertEqual(p.priority, "optional")
        XCTAssertEqual(p.sourceDateEpoch, 1_666_137_600)

        XCTAssertEqual(p.dependencies.runtime.map(\.value), ["libfoo >= 1.2", "libc6 | glibc"])
        XCTAssertEqual(p.dependencies.runtime[0].location, SourceLocation(file: fx.path("recipe.yml"), line: 20, column: 16))
        XCTAssertEqual(p.dependencies.rpm.map(\.value), ["openssl-libs"])
        XCTAssertEqual(p.dependencies.deb.map(\.value), ["libssl3 (>= 3.0)"])
        XCTAssertEqual(p.dependencies.provides.map(\.value), ["httpd = ${{package.version}}"], "expanded at lowering")
        XCTAssertEqual(p.dependencies.conflicts.map(\.value), ["apache2"])
        XCTAssertEqual(p.dependencies.replaces.map(\.value), ["nginx-light"])
        XCTAssertEqual(p.dependencies.recommends.map(\.value), ["logrotate"])
        XCTAssertEqual(p.dependencies.suggests.map(\.value), ["nginx-doc"])
        XCTAssertFalse(p.dependencies.sharedLibraries)

        XCTAssertEqual(p.scripts[.beforeInstall]?.text, "echo pre $1\n")
        XCTAssertNil(p.scripts[.beforeInstall]?.file)
        XCTAssertEqual(p.scripts[.afterInstall]?.text, "#!/bin/sh\necho configured\n")
        XCTAssertEqual(p.scripts[.afterInstall]?.file, fx.path("scripts/nginx.postinst"))
        XCTAssertEqual(p.scripts[.beforeRemove]?.text, "echo prerm")
        XCTAssertEqual(p.scripts[.afterRemove]?.text, "echo postrm")
        XCTAssertEqual(p.scripts[.beforeUpgrade]?.text, "echo preup")
        XCTAssertEqual(p.scripts[.afterUpgrade]?.text, "echo postup")

        XCTAssertEqual(p.conffiles, ["/etc/nginx/*.conf"])
        XCTAssertTrue(p.conffileGlobs[0].matches("/etc/nginx/nginx.conf"))
        XCTAssertEqual(p.attributes, [
            AttributeRule(glob: Glob("/usr/sbin/nginx"), mode: 0o755, user: .root, group: .root),
            AttributeRule(glob: Glob("/var/lib/nginx"), mode: 0o750, user: Owner(name: "nginx", id: 101), group: Owner(name: "nginx", id: 102)),
        ])
        XCTAssertEqual(p.accounts.users, [.init(name: "nginx", uid: 101, group: "nginx", groups: [], home: "/var/lib/nginx",
                                                shell: "/usr/sbin/nologin", system: true, comment: "nginx user")])
        XCTAssertEqual(p.accounts.groups, [.init(name: "nginx", gid: 102, system: true)])

        XCTAssertEqual(r.sources.count, 3)
        XCTAssertEqual(r.sources[0].origin, .url("https://nginx.org/download/nginx-1.22.1.tar.gz"))
        XCTAssertEqual(r.sources[0].sha256, "9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31")
        XCTAssertEqual(r.sources[0].fileName, "nginx-1.22.1.tar.gz")
        XCTAssertTrue(r.sources[0].isArchive)
        XCTAssertNil(r.sources[0].stripComponents)
        XCTAssertEqual(r.sources[0].effectiveStripComponents, 1)
        XCTAssertEqual(r.sources[0].extractTo, ".")
        XCTAssertEqual(r.sources[1].origin, .local(path: fx.path("files/nginx.conf"), relative: "files/nginx.conf"))
        XCTAssertEqual(r.sources[1].extractTo, "conf/")
        XCTAssertEqual(r.sources[1].effectiveStripComponents, 0)
        XCTAssertEqual(r.sources[2].stripComponents, 0)
        XCTAssertEqual(r.sources[2].effectiveStripComponents, 0)
        XCTAssertEqual(r.sources[2].extractTo, "vendor/extra")

        XCTAssertEqual(r.patches.map(\.path), [fx.path("patches/0001-fix.patch"), fx.path("patches/0002-more.patch")])
        XCTAssertEqual(r.patches.map(\.relativePath), ["patches/0001-fix.patch", "patches/0002-more.patch"])
        XCTAssertEqual(r.patches.map(\.strip), [1, 0])

        XCTAssertFalse(r.build.network)
        XCTAssertEqual(r.build.jobs, 4)
        XCTAssertEqual(r.build.resolvedJobs(cpuCount: 16), 4)
        XCTAssertEqual(r.build.environment.map(\.name), ["CFLAGS", "PREFIX", "OUT"])
        XCTAssertEqual(r.build.environment.map(\.value), ["-O2 -g0", "/usr", "${{targets.destdir}}"])
        XCTAssertEqual(r.build.requires.commands, ["gcc", "make"])
        XCTAssertEqual(r.build.requires.packages, ["libpcre2-dev", "libssl-dev"])
        XCTAssertEqual(r.build.requires.recipes.map(\.name), ["pcre2.yml", "zlib"])
        XCTAssertEqual(r.build.requires.recipes.map(\.path), [fx.path("pcre2.yml"), fx.path("zlib.yml")])
        XCTAssertEqual(r.build.steps.map(\.name), ["configure", "step 2", "step 3"])
        XCTAssertEqual(r.build.steps[1].run, "make -j${{build.jobs}}")

        XCTAssertEqual(r.subpackages.map(\.name), ["nginx-doc", "nginx-dev"])
        XCTAssertEqual(r.subpackages[0].arch, .fixed(.noarch))
        XCTAssertNil(r.subpackages[1].arch)
        XCTAssertEqual(r.subpackages[0].files, ["/usr/share/nginx/html/**", "/usr/share/man/**"])
        XCTAssertEqual(r.subpackages[0].dependencies.runtime.map(\.value), ["nginx = ${{package.full-version}}"])
        XCTAssertTrue(r.subpackages[1].dependencies.sharedLibraries, "shlibs defaults to true")
        XCTAssertEqual(r.subpackages[0].scripts[.afterInstall]?.text, "echo doc")

        let image = try XCTUnwrap(r.image)
        XCTAssertEqual(image.name, "example/nginx")
        XCTAssertEqual(image.tag, "1.22.1", "package variables are expanded in the tag")
        XCTAssertEqual(image.architecture, .x86_64)
        XCTAssertEqual(image.base, .ociLayout(path: fx.path("base/layout"), tag: "12"))
        XCTAssertEqual(image.packages, [.named(Dependency(name: "nginx")), .named(try Dependency(parsing: "libc6 (>= 2.36)", field: "t")),
                                        .file(fx.path("files/local.deb"))])
        XCTAssertEqual(image.repositories.map(\.kind), [.apt, .yum])
        XCTAssertEqual(image.repositories[0].suites, ["bookworm"])
        XCTAssertEqual(image.repositories[0].components, ["main", "contrib"])
        XCTAssertEqual(image.repositories[0].keyring, fx.path("keys/debian.gpg"))
        XCTAssertTrue(image.repositories[1].trusted)
        XCTAssertEqual(image.lockfile, fx.path("nginx.lock.json"))
        XCTAssertEqual(image.layering, .budget(4))
        XCTAssertEqual(image.accounts.groups.map(\.gid), [900])
        XCTAssertEqual(image.files.first?.destination, "/etc/nginx/nginx.conf")
        XCTAssertEqual(image.files.first?.mode, 0o640)
        XCTAssertEqual(image.files.first?.owner.name, "nginx")
        XCTAssertEqual(image.files.first?.group.id, 900, "a declared gid is looked up")
        XCTAssertEqual(image.config.entrypoint, ["nginx", "-g", "daemon off;"])
        XCTAssertEqual(image.config.env, ["LANG=C.UTF-8", "NGINX_VERSION=1.22.1"])
        XCTAssertEqual(image.config.exposedPorts, ["80/tcp", "443/tcp"])
        XCTAssertEqual(image.config.healthcheck?.timeoutSeconds, 1)
        XCTAssertEqual(image.config.healthcheck?.startPeriodSeconds, 60)
        XCTAssertEqual(image.config.stopSignal, "SIGQUIT")
        XCTAssertEqual(image.annotations["org.opencontainers.image.source"], "https://example.com/nginx")
        XCTAssertEqual(image.outputs, [.ociLayout, .sbom])
    }

    func testARelativePathIsKeptForMessagesAndResolvedForFiles() throws {
        let fx = try RecipeFixture()
        try fx.write("recipes/files/a.conf", "a")
        try fx.write("recipes/ok.yml", "package: { name: aa, version: '1', summary: s }\nsources: [ { path: files/a.conf } ]\n")
        try fx.write("recipes/bad.yml", "package: { name: aa, version: '1', summary: s, verison: 2 }\n")
        let saved = FileManager.default.currentDirectoryPath
        defer { FileManager.default.changeCurrentDirectoryPath(saved) }
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(fx.directory))
        let r = try Recipe.load(path: "recipes/ok.yml")
        XCTAssertEqual(r.file, "recipes/ok.yml")
        XCTAssertEqual(r.directory, fx.path("recipes"))
        XCTAssertEqual(r.absolutePath, fx.path("recipes/ok.yml"))
        XCTAssertEqual(r.sources[0].origin, .local(path: fx.path("recipes/files/a.conf"), relative: "files/a.conf"))
        XCTAssertThrowsError(try Recipe.load(path: "recipes/bad.yml")) { error in
            XCTAssertEqual((error as? PkgLayerError)?.description, "recipes/bad.yml:1:48: unknown key 'verison' in package; did you mean 'version'?")
        }
    }

    func testDefaultsOfAMinimalRecipe() throws {
        let fx = try RecipeFixture()
        let r = try fx.load("package: { name: tiny, version: '1', summary: A tiny package }\n")
        XCTAssertEqual(r.package.release, "1")
        XCTAssertNil(r.package.epoch)
        XCTAssertEqual(r.package.fullVersion, "1-1")
        XCTAssertEqual(r.package.arch, .native)
        XCTAssertTrue(r.package.dependencies.sharedLibraries)
        XCTAssertTrue(r.sources.isEmpty && r.patches.isEmpty && r.subpackages.isEmpty)
        XCTAssertFalse(r.build.network)
        XCTAssertNil(r.build.jobs)
        XCTAssertEqual(r.build.resolvedJobs(cpuCount: 3), 3)
        XCTAssertNil(r.image)
    }

    func testVersionsStayStrings() throws {
        let fx = try RecipeFixture()
        for (written, expected) in [("1.10", "1.10"), ("2.0", "2.0"), ("1.0e3", "1.0e3"), ("010", "010"), ("'1.10'", "1.10"), ("\"2.0\"", "2.0")] {
            let r = try fx.load("package:\n  name: vv\n  version: \(written)\n  release: 1.0\n  summary: s\n")
            XCTAssertEqual(r.package.version, expected, "version: \(written)")
            XCTAssertEqual(r.package.release, "1.0")
        }
        let env = try fx.load("package: { name: v0, version: 1, summary: s }\nbuild: { environment: { N: 1.10, B: true } }\n")
        XCTAssertEqual(env.build.environment.map(\.value), ["1.10", "true"])
    }

    func testSourceDateEpochAcceptsSecondsAndUTCDates() throws {
        XCTAssertEqual(RecipeDate.seconds(from: "0"), 0)
        XCTAssertEqual(RecipeDate.seconds(from: "2022-10-19"), 1_666_137_600)
        XCTAssertEqual(RecipeDate.seconds(from: "2000-02-29T12:34:56Z"), 951_827_696)
        XCTAssertNil(RecipeDate.seconds(from: "2023-02-29"))
        XCTAssertNil(RecipeDate.seconds(from: "2022-10-19T00:00:00"))
        let fx = try RecipeFixture()
        let r = try fx.load("package: { name: d1, version: '1', summary: s, source-date-epoch: \"2022-10-19\" }\n")
        XCTAssertEqual(r.package.sourceDateEpoch, 1_666_137_600)
        XCTAssertEqual(try r.sourceDateEpoch(environment: [:]), SourceDateEpoch(1_666_137_600))
        XCTAssertEqual(try r.sourceDateEpoch(environment: ["SOURCE_DATE_EPOCH": "42"]), SourceDateEpoch(42))
    }

    func testTheShippedRecipesDecode() throws {
        let dir = (repositoryRoot as NSString).appendingPathComponent("recipes")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yml") }.sorted()) ?? []
        try requireCondition(!names.isEmpty, "no recipes/*.yml in this checkout (\(dir)): run the tests from a full checkout")
        for name in names {
            let r = try Recipe.load(path: (dir as NSString).appendingPathComponent(name))
            for format in PackageFormat.allCases {
                let packages = try r.packages(for: format, sourceDateEpoch: SourceDateEpoch(0))
                XCTAssertEqual(packages.count, 1 + r.subpackages.count, name)
            }
            let vars = r.variables(architecture: .native, destdir: "/d", srcdir: "/s", jobs: 2)
            XCTAssertNoThrow(try r.resolvedBuild(variables: vars), name)
        }
    }

    func testTheExampleInTheDocsDecodes() throws {
        let fx = try RecipeFixture()
        try fx.write("nginx.conf", "events {}\n")
        try fx.write("nginx.postinst", "echo hi\n")
        try fx.write("0001-fix.patch", "")
        let r = try fx.load(RecipeSchema.exampleRecipe)
        XCTAssertEqual(r.subpackages.map(\.name), ["nginx-doc"])
        XCTAssertEqual(r.package.sourceDateEpoch, 1_666_137_600)
        XCTAssertEqual(r.package.version, "1.22.1")
    }
}
