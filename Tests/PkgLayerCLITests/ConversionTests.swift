import Foundation
import PkgLayerTestSupport
import XCTest

/// Conversions of packages pkglayer did not write: an rpm made by rpmbuild becomes a deb that dpkg
/// installs; real Debian .debs become rpms that rpm installs.
final class ConversionTests: XCTestCase {
    /// rpmbuild's own package: scriptlets that test rpm's `$1`, `%config(noreplace)`, `%attr`, a
    /// symlink, `%ghost`, `%changelog`, a rich dependency, a perl() capability, and the `/bin/sh`
    /// requirement rpm's dependency generator adds for the shell script in %files.
    func testRpmbuildPackageConvertsToADebThatDpkgInstalls() throws {
        try requireTool("rpmbuild", "rpm", "dpkg", "dpkg-deb", "dpkg-query")
        let scratch = try ScratchDirectory()
        let log = scratch.path("scripts.log")
        let spec = """
            Name: convdemo
            Version: 1.0
            Release: 1
            Summary: Conversion demo
            License: MIT
            BuildArch: noarch
            Requires: (convdemo-a if convdemo-b)
            Requires: perl(Getopt::Long)

            %description
            A package built by rpmbuild, converted to a deb.

            %install
            mkdir -p %{buildroot}/usr/bin %{buildroot}/etc/convdemo %{buildroot}/usr/lib/convdemo
            printf '#!/bin/sh\\necho hello from convdemo\\n' > %{buildroot}/usr/bin/convdemo
            chmod 0755 %{buildroot}/usr/bin/convdemo
            printf 'key=1\\n' > %{buildroot}/etc/convdemo/convdemo.conf
            printf 'secret\\n' > %{buildroot}/usr/lib/convdemo/secret
            ln -s convdemo %{buildroot}/usr/bin/convdemo-link

            %pre
            if [ "$1" -eq 1 ]; then echo "pre install $1" >> \(log); fi
            if [ "$1" -ge 2 ]; then echo "pre upgrade $1" >> \(log); fi

            %post
            if [ $1 -eq 1 ]; then echo "post install $1" >> \(log); fi

            %preun
            if [ $1 -eq 0 ]; then echo "preun remove $1" >> \(log); fi

            %triggerin -- bash
            echo "bash changed" >> \(log)

            %files
            %attr(0750,root,root) /usr/bin/convdemo
            /usr/bin/convdemo-link
            %dir /etc/convdemo
            %config(noreplace) /etc/convdemo/convdemo.conf
            %dir /usr/lib/convdemo
            %attr(0600,root,root) /usr/lib/convdemo/secret
            %ghost /var/log/convdemo.log

            %changelog
            * Mon Jan 01 2024 Jane Doe <jane@example.org> - 1.0-1
            - First release

            """
        let specPath = try scratch.write("convdemo.spec", spec)
        let top = try scratch.makeDirectory("rpmbuild")
        try TestProcess.runChecked("rpmbuild", ["-bb", "--define", "_topdir \(top)", specPath], environment: fixedEpoch)
        let rpm = top + "/RPMS/noarch/convdemo-1.0-1.noarch.rpm"
        XCTAssertTrue(try TestProcess.runChecked("rpm", ["-qp", "--requires", rpm]).stdoutText.contains("/bin/sh\n"),
                      "rpmbuild adds the /bin/sh requirement this test is about")

        let out = try scratch.makeDirectory("out")
        let converted = try CLI.ok(["package", "-s", "rpm", "-t", "deb", "-p", out + "/", rpm], environment: fixedEpoch)
        let deb = out + "/convdemo_1.0-1_all.deb"
        XCTAssertTrue(FileManager.default.fileExists(atPath: deb), (try? FileManager.default.contentsOfDirectory(atPath: out))?.description ?? "")

        // One warning lists what was dropped and what /bin/sh became.
        let warnings = converted.stderrText.split(separator: "\n").filter { $0.contains("converting rpm to deb") }
        XCTAssertEqual(warnings.count, 1, converted.stderrText)
        let warning = String(warnings.first ?? "")
        for dropped in ["(convdemo-a if convdemo-b)", "perl(Getopt::Long)", "/var/log/convdemo.log", "%triggerin -- bash", "%changelog →"] {
            XCTAssertTrue(warning.contains(dropped), "'\(dropped)' missing from: \(warning)")
        }
        let shOwner = try TestProcess.runChecked("dpkg-query", ["-S", "/bin/sh"]).stdoutText
            .split(separator: "\n").first { !$0.hasPrefix("diversion") }.map { String($0.split(separator: ":")[0]) } ?? "?"
        XCTAssertTrue(warning.contains("/bin/sh → \(shOwner)"), warning)
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", deb, "Depends"]).stdoutText, "\(shOwner)\n")

        // Control area: the conffile and the scripts.
        let control = try scratch.makeDirectory("control")
        try TestProcess.runChecked("dpkg-deb", ["-e", deb, control])
        XCTAssertEqual(try String(contentsOfFile: control + "/conffiles", encoding: .utf8), "/etc/convdemo/convdemo.conf\n")
        for script in ["preinst", "postinst", "prerm"] {
            XCTAssertTrue(FileManager.default.isExecutableFile(atPath: control + "/" + script), script)
        }

        let root = try BuildFixtures.dpkgRoot(in: scratch)
        try TestProcess.runChecked("dpkg", ["--root=\(root)", "--force-script-chrootless", "--force-not-root", "--force-depends", "-i", deb])
        var st = stat()
        XCTAssertEqual(lstat(root + "/usr/bin/convdemo", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o750, "%attr(0750) survives")
        XCTAssertEqual(lstat(root + "/usr/lib/convdemo/secret", &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600, "%attr(0600) survives")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/bin/convdemo-link"), "convdemo")
        XCTAssertEqual(try String(contentsOfFile: root + "/etc/convdemo/convdemo.conf", encoding: .utf8), "key=1\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/var/log/convdemo.log"), "a %ghost has no content to install")
        XCTAssertEqual(try TestProcess.runChecked(root + "/usr/bin/convdemo").stdoutText, "hello from convdemo\n")
        let changelog = try TestProcess.runChecked("/bin/sh", ["-c", "gzip -dc '\(root)/usr/share/doc/convdemo/changelog.Debian.gz'"]).stdoutText
        XCTAssertTrue(changelog.contains("First release") && changelog.contains("Jane Doe <jane@example.org>"), "%changelog → changelog.Debian.gz:\n\(changelog)")
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "pre install 1\npost install 1\n",
                       "the rpm scriptlets see rpm's $1 under dpkg")

        try TestProcess.runChecked("dpkg", ["--root=\(root)", "--force-script-chrootless", "--force-not-root", "-r", "convdemo"])
        XCTAssertEqual(try String(contentsOfFile: log, encoding: .utf8), "pre install 1\npost install 1\npreun remove 0\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/usr/bin/convdemo"))
    }

    /// rpm's automatic shared-library requirements become the Debian package owning the library,
    /// with glibc's symbol versions as the version floor.
    func testSharedLibraryRequirementsBecomeTheOwningDebianPackage() throws {
        try requireTool("rpmbuild", "rpm", "dpkg-deb", "dpkg-query")
        let libc = try TestProcess.run("dpkg-query", ["-W", "-f", "${Status}", "libc6"])
        guard libc.stdoutText.hasSuffix("installed") else { throw requirementNotMet("libc6 is not a dpkg package here (not a Debian host)") }
        let scratch = try ScratchDirectory()
        let spec = """
            Name: elfdemo
            Version: 2.0
            Release: 3
            Summary: ELF demo
            License: MIT
            %global debug_package %{nil}
            %global _build_id_links none

            %description
            A dynamically linked program.

            %install
            mkdir -p %{buildroot}/usr/bin
            cp /usr/bin/gzip %{buildroot}/usr/bin/elfdemo

            %files
            /usr/bin/elfdemo

            """
        let specPath = try scratch.write("elfdemo.spec", spec)
        let top = try scratch.makeDirectory("rpmbuild")
        try TestProcess.runChecked("rpmbuild", ["-bb", "--define", "_topdir \(top)", specPath], environment: fixedEpoch)
        let rpms = try FileManager.default.contentsOfDirectory(atPath: top + "/RPMS/x86_64")
        let rpm = top + "/RPMS/x86_64/" + (rpms.first ?? "")
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--requires", rpm]).stdoutText
        XCTAssertTrue(requires.contains("libc.so.6()(64bit)"), requires)
        let floor = requires.split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "libc.so.6(GLIBC_") else { return nil }
            return String(line[r.upperBound...].prefix { $0.isNumber || $0 == "." })
        }.max { a, b in a.compare(b, options: .numeric) == .orderedAscending }
        let out = try scratch.makeDirectory("out")
        let result = try CLI.ok(["package", "-s", "rpm", "-t", "deb", "-p", out + "/", rpm], environment: fixedEpoch)
        XCTAssertEqual(try TestProcess.runChecked("dpkg-deb", ["-f", out + "/elfdemo_2.0-3_amd64.deb", "Depends"]).stdoutText,
                       "libc6 (>= \(floor ?? "?"))\n")
        XCTAssertTrue(result.stderrText.contains("rtld(GNU_HASH)"), result.stderrText)
    }

    private func aptDownload(_ packages: [String], into dir: String) throws -> [String: String] {
        try requireTool("apt-get")
        let result = try TestProcess.run("apt-get", ["download", "-q"] + packages, in: dir)
        var found: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) where name.hasSuffix(".deb") {
            if let package = name.split(separator: "_").first { found[String(package)] = dir + "/" + name }
        }
        guard packages.allSatisfy({ found[$0] != nil }) else {
            throw requirementNotMet("apt-get download \(packages.joined(separator: " ")) failed (apt lists? network?): \(result.stderrText.suffix(400))")
        }
        return found
    }

    /// Real bookworm packages: hostname (Pre-Depends, Breaks) and logrotate (alternatives in Depends,
    /// conffiles, a postinst that reads dpkg's `configure`).
    func testDebianPackagesWithPreDependsAndAlternativesConvertToRpms() throws {
        try requireTool("rpm", "dpkg-deb")
        let scratch = try ScratchDirectory()
        let debs = try aptDownload(["hostname", "logrotate"], into: try scratch.makeDirectory("debs"))
        let out = try scratch.makeDirectory("out")

        let hostnameResult = try CLI.ok(["package", "-s", "deb", "-t", "rpm", "-p", out + "/hostname.rpm", debs["hostname"]!], environment: fixedEpoch)
        let hostname = out + "/hostname.rpm"
        let requires = try TestProcess.runChecked("rpm", ["-qp", "--qf", "[%{REQUIREFLAGS:deptype} %{REQUIRENAME} %{REQUIREVERSION}\n]", hostname]).stdoutText
        XCTAssertTrue(requires.contains("pre libc6 2.34"), "Pre-Depends → Requires(pre):\n\(requires)")
        let conflicts = try TestProcess.runChecked("rpm", ["-qp", "--conflicts", hostname]).stdoutText
        XCTAssertTrue(conflicts.contains("nis < 3.17-30"), "Breaks → Conflicts:\n\(conflicts)")
        XCTAssertTrue(hostnameResult.stderrText.contains("Breaks → Conflicts"), hostnameResult.stderrText)

        try CLI.ok(["package", "-s", "deb", "-t", "rpm", "-p", out + "/logrotate.rpm", debs["logrotate"]!], environment: fixedEpoch)
        let logrotate = out + "/logrotate.rpm"
        let lrRequires = try TestProcess.runChecked("rpm", ["-qp", "--requires", logrotate]).stdoutText
        XCTAssertTrue(lrRequires.contains("(cron or anacron or cron-daemon or systemd-sysv)"), lrRequires)
        let configs = try TestProcess.runChecked("rpm", ["-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", logrotate]).stdoutText
        for conffile in ["/etc/logrotate.conf", "/etc/cron.daily/logrotate"] {
            XCTAssertTrue(configs.contains("cn \(conffile)\n"), "conffile → %config(noreplace): \(conffile)\n\(configs)")
        }
        let scripts = try TestProcess.runChecked("rpm", ["-qp", "--scripts", logrotate]).stdoutText
        XCTAssertTrue(scripts.contains("set -- configure"), "postinst gets dpkg's argument under rpm:\n\(scripts)")

        let root = try scratch.makeDirectory("rpmroot")
        try TestProcess.runChecked("rpm", ["-i", "--root", root, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", hostname, logrotate])
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: root + "/bin/hostname"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/etc/logrotate.conf"))
        let verify = try TestProcess.run("rpm", ["--root", root, "--dbpath", "/var/lib/rpm", "-V", "--nodeps", "hostname", "logrotate"])
        XCTAssertEqual(verify.status, 0, verify.stdoutText + verify.stderrText)
    }

    /// The libc6 .deb the repository tests already fetch: Breaks, conffiles, triggers and debconf
    /// templates; installs with rpm.
    func testLibc6FixtureConvertsToAnRpm() throws {
        try requireTool("rpm")
        let dir = "/var/cache/pkglayer-test/debs"
        try requireFixture(dir, what: "the bookworm .debs")
        guard let name = try FileManager.default.contentsOfDirectory(atPath: dir).first(where: { $0.hasPrefix("libc6_") && $0.hasSuffix(".deb") }) else {
            throw requirementNotMet("no libc6 .deb in \(dir): run scripts/install-deps.sh")
        }
        let scratch = try ScratchDirectory()
        let rpm = scratch.path("libc6.rpm")
        let result = try CLI.ok(["package", "-s", "deb", "-t", "rpm", "-p", rpm, dir + "/" + name], environment: fixedEpoch)
        let warnings = result.stderrText.split(separator: "\n").filter { $0.contains("converting deb to rpm") }
        XCTAssertEqual(warnings.count, 1, result.stderrText)
        for dropped in ["dpkg triggers (activate-noawait ldconfig)", "debconf templates", "shlibs"] {
            XCTAssertTrue(warnings.first?.contains(dropped) == true, "'\(dropped)' missing from: \(result.stderrText)")
        }
        let conflicts = try TestProcess.runChecked("rpm", ["-qp", "--conflicts", rpm]).stdoutText
        XCTAssertTrue(conflicts.contains("busybox < 1.30.1-6"), conflicts)
        let configs = try TestProcess.runChecked("rpm", ["-qp", "--qf", "[%{FILEFLAGS:fflags} %{FILENAMES}\n]", rpm]).stdoutText
        XCTAssertTrue(configs.contains("cn /etc/ld.so.conf.d/x86_64-linux-gnu.conf\n"), configs)
        let root = try scratch.makeDirectory("rpmroot")
        try TestProcess.runChecked("rpm", ["-i", "--root", root, "--dbpath", "/var/lib/rpm", "--nodeps", "--noscripts", rpm])
        XCTAssertTrue(FileManager.default.fileExists(atPath: root + "/lib/x86_64-linux-gnu/libc.so.6"))
    }
}
