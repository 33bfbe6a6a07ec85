extension RecipeSchema {
    /// A recipe showing most fields, used in docs/recipe.md and checked by the tests (it decodes, and
    /// the JSON schema accepts it). It refers to `nginx.conf`, `nginx.postinst` and `0001-fix.patch`
    /// next to the recipe.
    public static let exampleRecipe = """
        package:
          name: nginx
          version: 1.22.1            # read as text: 1.10 stays "1.10"
          summary: High performance web server and reverse proxy
          description: |
            nginx is an HTTP and reverse proxy server.
          license: BSD-2-Clause
          url: https://nginx.org
          maintainer: Jane Doe <jane@example.org>
          arch: native
          section: httpd
          source-date-epoch: "2022-10-19"
          dependencies:
            runtime: ["libc6 | glibc"]
            rpm: [openssl-libs]
            deb: ["libssl3 (>= 3.0)"]
            provides: ["httpd"]
          scripts:
            post-install: { file: nginx.postinst }
            pre-remove: |
              if command -v systemctl >/dev/null; then systemctl stop nginx || true; fi
          conffiles: [/etc/nginx/**]
          attributes:
            - { path: /usr/sbin/nginx, mode: "0755", owner: root, group: root }
            - { path: /var/cache/nginx, owner: nginx, group: nginx }
          accounts:
            groups:
              - { name: nginx, system: true }
            users:
              - { name: nginx, group: nginx, home: /var/cache/nginx, comment: nginx web server }

        sources:
          - url: https://nginx.org/download/nginx-${{package.version}}.tar.gz
            sha256: 9ebb333a9e82b952acd3e2b4aeb1d4ff6406f72491bab6cd9fe69f0dea737f31
          - path: nginx.conf
            extract-to: conf/

        patches:
          - 0001-fix.patch

        build:
          environment:
            CFLAGS: -O2 -g0
          requires:
            commands: [cc, make]
            packages: [libpcre2-dev, libssl-dev, zlib1g-dev]
          steps:
            - name: configure
              run: ./configure --prefix=/usr --conf-path=/etc/nginx/nginx.conf --with-http_ssl_module
            - name: compile
              run: make -j${{build.jobs}}
            - name: install
              run: |
                make install DESTDIR=${{targets.destdir}}
                for f in conf/*.conf; do install -m 0644 "$f" ${{targets.destdir}}/etc/nginx/; done

        subpackages:
          - name: ${{package.name}}-doc
            summary: Documentation for nginx
            arch: noarch
            files: [/usr/share/nginx/html/**, /usr/share/man/**]
            dependencies:
              runtime: ["nginx = ${{package.full-version}}"]

        """

    /// docs/recipe.md, generated from the field table (a test keeps the file in step).
    public static var markdown: String {
        var out = """
            # Recipes

            <!-- Generated from Sources/PkgLayerRecipe/RecipeSchema+Fields.swift by the PkgLayerRecipe tests:
                 run `PKGLAYER_UPDATE_DOCS=1 swift test --filter PkgLayerRecipeTests` after changing a field. -->

            `pkglayer build recipe.yml` reads a YAML recipe, fetches its pinned sources, builds them in a
            network-off sandbox and writes an .rpm and a .deb for the main package and each subpackage. The
            shape follows [melange](https://github.com/chainguard-dev/melange) and
            [nFPM](https://nfpm.goreleaser.com): a `package` section with metadata, `sources`, `patches`,
            `build` steps and `subpackages`.

            Recipes are read strictly. An unknown key, a value of the wrong type, a missing required key or a
            malformed value (a sha256, a mode, a dependency, an architecture) is an error that gives the file,
            line and column, and suggests the key you probably meant:

            ```
            recipes/nginx.yml:4:3: unknown key 'verison' in package; did you mean 'version'?
            ```

            Every scalar is read as the text written: `version: 1.10` is the version `1.10`, not the number
            1.1. Quoting is never needed for that, though it does no harm.

            `pkglayer schema` prints a [JSON Schema](https://json-schema.org) (draft 2020-12) generated from
            the same table as this page; YAML editors use it to check recipes as you type, e.g. with
            `# yaml-language-server: $schema=recipe.schema.json` on the first line.

            ## Example

            ```yaml

            """
        out += exampleRecipe
        out += """
            ```

            ## Variables

            `${{name}}` (spaces inside the braces are allowed) is replaced by pkglayer. Shell syntax — `$HOME`,
            `${HOME}`, `$(cmd)` — is left to the shell. An unknown name is an error that lists the known
            ones. A variable can be used once its value is known:

            | variable | value | usable in |
            |---|---|---|

            """
        for v in RecipeVariable.allCases {
            out += "| `${{\(v.rawValue)}}` | \(cell(v.summary)) | \(cell(v.scope.usableIn)) |\n"
        }
        out += """

            Other fields (license, maintainer, globs, …) do not expand `${{…}}` and reject it. Maintainer
            scripts are passed on verbatim: nothing in them is expanded.

            ## From recipe to packages

            - The main package takes every installed file that no subpackage takes. A subpackage takes the
              files its `files` globs match; when two subpackages match a path, the first listed wins.
            - Subpackages inherit version, release, epoch, license, url, maintainer and vendor, and unless
              they set their own: summary, description, section and arch.
            - Dependencies: `runtime` goes into both formats; `rpm` is added in the .rpm and `deb` in the .deb.
            - Scripts map onto rpm's and Debian's slots as their names say; see the [scripts](#scripts)
              section. Declared `accounts` are created at the start of the main package's pre-install script.
            - `conffiles` and `attributes` apply to every package of the recipe, wherever a matched file lands.
            - Globs: `*` and `?` stay within one directory, `**` crosses directories, `[abc]` is a class. A
              pattern without `/` matches a file name anywhere; a pattern that matches a directory also
              matches everything below it.
            - The clock for file times and build times is `SOURCE_DATE_EPOCH` when set, else
              `package.source-date-epoch`.

            ## Reference

            Keys marked **required** must be present; others may be left out and take the default shown.

            """
        for object in objects {
            out += "\n### \(object.title)\n\n\(flow(object.doc))\n"
            for constraint in object.constraints { out += "\n\(constraint.doc)\n" }
            out += "\n| key | type | default | description |\n|---|---|---|---|\n"
            for f in object.fields {
                let def = f.required ? "**required**" : f.defaultValue.map { "`\($0)`" } ?? ""
                out += "| `\(f.key)` | \(cell(f.type.docType)) | \(def) | \(cell(f.doc)) |\n"
            }
        }
        return out
    }

    /// One table cell: a single line, pipes escaped.
    private static func cell(_ text: String) -> String {
        flow(text).replacingOccurrences(of: "|", with: "\\|")
    }

    private static func flow(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            .joined(separator: " ")
    }
}
