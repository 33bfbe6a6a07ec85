import Foundation
import PkgLayerTestSupport

// What the real tools say a written package holds, for the pipeline tests to compare with what they asked for.

/// One member of a .deb's data.tar as `dpkg-deb -c` prints it.
struct DebMember: Equatable {
    /// `d`, `-`, `l` or `h`, the first letter of the mode column.
    var type: Character
    /// Absolute, without the trailing slash of a directory.
    var path: String
    /// For a hardlink (`h`): the member it links to, absolute.
    var hardlinkTarget: String?
}

/// The members of a .deb (`dpkg-deb -c`), the root `./` left out.
func debMembers(_ deb: String) throws -> [DebMember] {
    let text = try TestProcess.runChecked("dpkg-deb", ["-c", deb]).stdoutText
    func absolute(_ member: Substring) -> String {
        var path = String(member.dropFirst())   // "./opt/app/" → "/opt/app/"
        if path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        return path
    }
    return text.split(separator: "\n").compactMap { line in
        // mode, owner, size, date, time, then the name (which may hold spaces and "link to" / "->").
        var rest = Substring(line)
        var fields: [Substring] = []
        for _ in 0..<5 {
            rest = rest.drop { $0 == " " }
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            fields.append(rest[..<end])
            rest = rest[end...]
        }
        var name = rest.drop { $0 == " " }
        var target: String?
        if let link = name.range(of: " link to ") {
            target = absolute(name[link.upperBound...])
            name = name[..<link.lowerBound]
        } else if let arrow = name.range(of: " -> ") {
            name = name[..<arrow.lowerBound]
        }
        let path = absolute(name)
        guard path != "/", let type = fields.first?.first else { return nil }
        return DebMember(type: type, path: path, hardlinkTarget: target)
    }
}

/// The paths an .rpm lists (`rpm -qlp`), sorted.
func rpmPaths(_ rpm: String) throws -> [String] {
    let text = try TestProcess.runChecked("rpm", ["-qlp", rpm]).stdoutText
    return text.split(separator: "\n").map(String.init).filter { $0 != "(contains no files)" }.sorted()
}

/// `rpm -qp --queryformat FORMAT`.
func rpmQuery(_ rpm: String, _ format: String) throws -> String {
    try TestProcess.runChecked("rpm", ["-qp", "--queryformat", format, rpm]).stdoutText
}
