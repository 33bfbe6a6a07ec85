import Foundation
import PkgLayerTestSupport
import XCTest

/// hello and nginx from their recipes, end to end: clean builds in two places give the same bytes,
/// the packages pass rpm and dpkg, the installed binaries run, and a warm cache answers at once.
final class BuildRecipeTests: XCTestCase {
    /// Two clean builds (different directories, caches, times, TZ and umask), then a cached one.
    private func buildTwiceAndCompare(_ recipe: String, scratch: ScratchDirectory) throws -> String {
        let first = scratch.path("one/out")
        let second = scratch.path("two/out")
        _ = try scratch.makeDirectory("one")
        _ = try scratch.makeDirectory("two")
        let a = try BuildFixtures.build(BuildFixtures.recipe(recipe), output: first, cache: scratch.path("one/cache"),
                                        in: scratch.path("one"), environment: ["TZ": "UTC"], umask: "022")
        XCTAssertEqual(a.status, 0, a.stderrText)
        let b = try BuildFixtures.build(BuildFixtures.recipe(recipe), output: second, cache: scratch.path("two/cache"),
                                        in: scratch.path("two"), environment: ["TZ": "Pacific/Kiritimati"], umask: "077")
        XCTAssertEqual(b.status, 0, b.stderrText)
        let sumsA = try BuildFixtures.sha256s(of: first)
        XCTAssertFalse(sumsA.isEmpty)
        XCTAssertEqual(sumsA, try BuildFixtures.sha256s(of: second), "two clean builds of \(recipe) differ")

        // Warm cache: nothing is rebuilt.
        let started = Date()
        let c = try BuildFixtures.build(BuildFixtures.recipe(recipe), output: first, cache: scratch.path("one/cache"),
                                        extra: ["--json"], in: scratch.path("one"))
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(c.status, 0, c.stderrText)
        let results = try JSONSerialization.jsonObject(with: c.stdout) as? [[String: Any]]
        XCTAssertEqual(results?.last?["cacheHit"] as? Bool, true)
        print("warm-cache build of \(recipe): \(String(format: "%.2f", elapsed)) s")
        XCTAssertEqual(try BuildFixtures.sha256s(of: first), sumsA)
        return first
    }

    func testHelloEndToEnd() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-hello")
        let out = try buildTwiceAndCompare("hello.yml", scratch: scratch)
        let rpm = out + "/hello-2.10-1.x86_64.rpm"
        let deb = out + "/hello_2.10-1_amd64.deb"
        XCTAssertTrue(try TestProcess.runChecked("rpm", ["-K", rpm]).stdoutText.hasSuffix("digests OK\n"))
        XCTAssertTrue(try TestProcess.runChecked("rpm", ["-qp", "--requires", rpm]).stdoutText.contains("libc.so.6()(64bit)"))
        XCTAssertTrue(try TestProcess.runChecked("rpm", ["-qpl", rpm]).stdoutText.contains("/usr/share/locale/de/LC_MESSAGES/hello.mo"))
        XCTAssertTrue(try TestProcess.runChecked("rpm", ["-qpl", out + "/hello-doc-2.10-1.noarch.rpm"]).stdoutText
            .contains("/usr/share/man/man1/hello.1.gz"))
        XCTAssertTrue(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText.hasPrefix("libc6 (>= "))

        let rpmRoot = try scratch.makeDirectory("rpmroot")
        try TestProcess.runChecked("rpm", ["-i", "--root", rpmRoot, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", rpm])
        XCTAssertTrue(try TestProcess.runChecked(rpmRoot + "/usr/bin/hello", ["--version"]).stdoutText.hasPrefix("hello (GNU Hello) 2.10"))

        let dpkgRoot = try BuildFixtures.dpkgRoot(in: scratch)
        try TestProcess.runChecked("dpkg", ["--root=\(dpkgRoot)", "--force-script-chrootless", "--force-not-root", "--force-depends",
                                            "-i", deb, out + "/hello-doc_2.10-1_all.deb"])
        XCTAssertEqual(try TestProcess.runChecked(dpkgRoot + "/usr/bin/hello", [], environment: ["LANGUAGE": "C"]).stdoutText, "Hello, world!\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dpkgRoot + "/usr/share/info/hello.info.gz"))
        let listed = try TestProcess.runChecked("dpkg-query", ["--admindir=\(dpkgRoot)/var/lib/dpkg", "-W"]).stdoutText
        XCTAssertEqual(listed, "hello\t2.10-1\nhello-doc\t2.10-1\n")
    }

    func testNginxEndToEnd() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-nginx")
        let out = try buildTwiceAndCompare("nginx.yml", scratch: scratch)
        let rpm = out + "/nginx-1.22.1-1.x86_64.rpm"
        let deb = out + "/nginx_1.22.1-1_amd64.deb"
        XCTAssertTrue(try TestProcess.runChecked("rpm", ["-K", rpm]).stdoutText.hasSuffix("digests OK\n"))
        let conffiles = try TestProcess.runChecked("rpm", ["-qpc", rpm]).stdoutText
        XCTAssertTrue(conffiles.contains("/etc/nginx/nginx.conf"), conffiles)
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--requires", rpm]).stdoutText
        XCTAssertTrue(requires.contains("libpcre2-8.so.0()(64bit)"), requires)
        XCTAssertTrue(requires.contains("libssl.so.3()(64bit)"), requires)
        let scripts = try TestProcess.runChecked("rpm", ["-qp", "--scripts", rpm]).stdoutText
        XCTAssertTrue(scripts.contains("useradd") && scripts.contains("nginx"), scripts)
        let depends = try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText
        for lib in ["libc6", "libpcre2-8-0", "libssl3", "zlib1g"] { XCTAssertTrue(depends.contains(lib), depends) }
        let debConffiles = try TestProcess.runChecked("dpkg-deb", ["-I", deb, "conffiles"]).stdoutText
        XCTAssertTrue(debConffiles.contains("/etc/nginx/nginx.conf"), debConffiles)
        XCTAssertTrue(try TestProcess.runChecked("dpkg-deb", ["-c", out + "/nginx-doc_1.22.1-1_all.deb"]).stdoutText
            .contains("./usr/share/nginx/html/index.html"))

        let rpmRoot = try scratch.makeDirectory("rpmroot")
        try TestProcess.runChecked("rpm", ["-i", "--root", rpmRoot, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", rpm])
        let version = try TestProcess.runChecked(rpmRoot + "/usr/sbin/nginx", ["-V"])
        let text = version.stderrText
        XCTAssertTrue(text.contains("nginx version: nginx/1.22.1"), text)
        for module in ["--with-http_ssl_module", "--with-http_v2_module", "--with-http_realip_module",
                       "--with-http_gzip_static_module", "--with-http_stub_status_module", "--with-stream"] {
            XCTAssertTrue(text.contains(module), "nginx -V lacks \(module): \(text)")
        }
        let dpkgRoot = try BuildFixtures.dpkgRoot(in: scratch)
        try TestProcess.runChecked("dpkg", ["--root=\(dpkgRoot)", "--force-script-chrootless", "--force-not-root", "--force-depends",
                                            "-i", deb])
        XCTAssertTrue(try TestProcess.runChecked(dpkgRoot + "/usr/sbin/nginx", ["-V"]).stderrText.contains("--with-stream"))
        var st = stat()
        XCTAssertEqual(stat(dpkgRoot + "/var/log/nginx", &st), 0, "the log directory is packaged")
    }
}

/// A build dependency between recipes: nginx built against pkglayer's own pcre2 package.
final class BuildDependencyTests: XCTestCase {
    func testNginxAgainstOurPcre2() throws {
        let scratch = try ScratchDirectory(prefix: "pkglayer-deps")
        let out = scratch.path("out")
        let result = try BuildFixtures.build(BuildFixtures.recipe("nginx-pcre2.yml"), output: out, cache: scratch.path("cache"),
                                             extra: ["--json"])
        XCTAssertEqual(result.status, 0, result.stderrText)
        let results = try XCTUnwrap(try JSONSerialization.jsonObject(with: result.stdout) as? [[String: Any]])
        XCTAssertEqual(results.compactMap { $0["name"] as? String }, ["pcre2", "nginx-pcre2"], "pcre2 is built first")

        // The dependency is on our package, not on the host's libpcre2-8-0.
        let depends = try TestProcess.runChecked("dpkg-deb", ["-f", out + "/nginx-pcre2_1.22.1-1_amd64.deb", "Depends"]).stdoutText
        XCTAssertTrue(depends.contains("pcre2 (>= 10.42-1)"), depends)
        XCTAssertFalse(depends.contains("libpcre2-8-0"), depends)
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--requires", out + "/nginx-pcre2-1.22.1-1.x86_64.rpm"]).stdoutText
        XCTAssertTrue(requires.contains("libpcre2-8.so.0()(64bit)"), requires)
        let provides = try TestProcess.runChecked("rpm", ["-qp", "--provides", out + "/pcre2-10.42-1.x86_64.rpm"]).stdoutText
        XCTAssertTrue(provides.contains("libpcre2-8.so.0()(64bit)"), provides)

        // Installed together, rpm's own resolver is satisfied and nginx runs on our library.
        let root = try scratch.makeDirectory("root")
        try TestProcess.runChecked("rpm", ["-i", "--root", root, "--dbpath", "/var/lib/rpm", "--noscripts", "--nodeps",
                                           out + "/pcre2-10.42-1.x86_64.rpm", out + "/nginx-pcre2-1.22.1-1.x86_64.rpm"])
        let ldd = try TestProcess.runChecked("ldd", [root + "/usr/sbin/nginx"], environment: ["LD_LIBRARY_PATH": root + "/usr/lib"]).stdoutText
        XCTAssertTrue(ldd.contains(root + "/usr/lib/libpcre2-8.so.0"), ldd)
        let version = try TestProcess.runChecked(root + "/usr/sbin/nginx", ["-V"], environment: ["LD_LIBRARY_PATH": root + "/usr/lib"])
        XCTAssertTrue(version.stderrText.contains("nginx/1.22.1"), version.stderrText)
    }
}
