import PkgLayerCore
import XCTest

/// Globs as -x, --config-files, --directories and --rpm-attr use them.
final class GlobTests: XCTestCase {
    private func assertMatches(_ pattern: String, _ yes: [String], not no: [String], file: StaticString = #filePath, line: UInt = #line) {
        let glob = Glob(pattern)
        for path in yes { XCTAssertTrue(glob.matches(path), "'\(pattern)' should match \(path)", file: file, line: line) }
        for path in no { XCTAssertFalse(glob.matches(path), "'\(pattern)' should not match \(path)", file: file, line: line) }
    }

    func testAPatternWithoutSlashMatchesABasenameAnywhere() {
        assertMatches("*.conf", ["/etc/app.conf", "/etc/app.d/sub.conf", "/x.conf", "/etc/odd.conf/inside"],
                      not: ["/etc/app.confx", "/etc/app.conf.bak", "/etc/conf"])
        assertMatches("README", ["/README", "/usr/share/doc/app/README"], not: ["/usr/share/doc/app/README.md", "/READMEx"])
        assertMatches(".git", ["/src/.git", "/src/.git/config"], not: ["/src/.gitignore"])
    }

    func testAPatternWithSlashIsAnchoredAtTheRoot() {
        assertMatches("/usr/bin/*", ["/usr/bin/x", "/usr/bin/x y"], not: ["/usr/sbin/x", "/opt/usr/bin/x", "/usr/bin"])
        // The leading slash is optional, as is "./".
        assertMatches("usr/bin/x", ["/usr/bin/x"], not: ["/opt/usr/bin/x", "/usr/bin/xx"])
        assertMatches("./usr/bin/x", ["/usr/bin/x"], not: ["/x"])
        assertMatches("/etc/app.conf", ["/etc/app.conf"], not: ["/etc/app_conf", "/etc/app.conf2", "/x/etc/app.conf"])
    }

    func testStarDoesNotCrossSlashesButDoubleStarDoes() {
        assertMatches("/usr/*.so", ["/usr/x.so"], not: ["/usr/lib/x.so"])
        assertMatches("/usr/**/*.so", ["/usr/lib/x.so", "/usr/lib/a/b/x.so", "/usr/x.so"], not: ["/opt/lib/x.so", "/usr/lib/x.sox"])
        assertMatches("/opt/**", ["/opt/a", "/opt/a/b/c"], not: ["/opt", "/optx/a"])
        assertMatches("/opt/**/bin", ["/opt/bin", "/opt/a/bin", "/opt/a/b/bin/tool"], not: ["/opt/a/sbin", "/opt/a/bin2"])
        assertMatches("**/*.pyc", ["/a.pyc", "/usr/lib/python3/x/y.pyc"], not: ["/usr/lib/y.py"])
    }

    func testQuestionMarkIsOneCharacterButNotASlash() {
        assertMatches("/etc/app?.conf", ["/etc/app1.conf", "/etc/appX.conf"], not: ["/etc/app.conf", "/etc/app12.conf"])
        assertMatches("/etc/a?b", ["/etc/a-b"], not: ["/etc/a/b"])
        assertMatches("/etc/ü?", ["/etc/üx"], not: ["/etc/ü"])
    }

    func testCharacterClasses() {
        assertMatches("/var/[a-c]x", ["/var/ax", "/var/bx", "/var/cx"], not: ["/var/dx", "/var/Ax", "/var/x"])
        assertMatches("/var/[!a-c]x", ["/var/dx", "/var/Zx"], not: ["/var/ax", "/var/cx"])
        assertMatches("/var/[^a-c]x", ["/var/dx"], not: ["/var/bx"])
        assertMatches("/var/log[0-9].[gx]z", ["/var/log1.gz", "/var/log9.xz"], not: ["/var/logA.gz", "/var/log1.bz"])
        assertMatches("/var/[abc]", ["/var/a", "/var/c"], not: ["/var/d", "/var/ab"])
    }

    func testAMatchCoversEverythingBelowIt() {
        assertMatches("/usr/share/doc", ["/usr/share/doc", "/usr/share/doc/app", "/usr/share/doc/app/README"],
                      not: ["/usr/share/docs", "/usr/share/docs/x", "/usr/share"])
        // A trailing slash changes nothing.
        assertMatches("/usr/share/doc/", ["/usr/share/doc", "/usr/share/doc/app/README"], not: ["/usr/share/docs"])
        assertMatches("/usr/lib/*/debug", ["/usr/lib/x86_64-linux-gnu/debug/libx.so"], not: ["/usr/lib/debug/x"])
    }

    func testPatternIsKept() {
        XCTAssertEqual(Glob("/etc/**").pattern, "/etc/**")
        XCTAssertEqual(Glob("a"), Glob("a"))
        XCTAssertNotEqual(Glob("a"), Glob("b"))
    }
}
