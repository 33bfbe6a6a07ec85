import Foundation
import PkgLayerCore

extension Sandbox {
    /// What the sandbox mounts, shares and clears, for a security reviewer (`pkglayer build
    /// --explain-sandbox`). Read from the very bwrap arguments a build step runs with, so it cannot
    /// drift from what runs; the argument list itself ends the report.
    public func explanation(limits: [String] = []) -> String {
        let args = arguments(for: Sandbox.shell("STEP"))
        var namespaces: [String] = []
        var readOnly: [(String, String)] = [], writable: [(String, String)] = [], symlinks: [(String, String)] = []
        var fresh: [String] = [], environment: [(String, String)] = []
        var other: [String] = []
        var workingDirectory = "/"
        var i = 0
        while i < args.count {
            let arg = args[i]
            func operand(_ n: Int) -> String { i + n < args.count ? args[i + n] : "" }
            switch arg {
            case "--unshare-all":
                namespaces = ["user", "mount", "pid", "ipc", "uts", "cgroup", "network (only a loopback interface)"]
            case "--share-net":
                namespaces.removeAll { $0.hasPrefix("network") }
                other.append("the host's network is SHARED (the recipe says build.network: true)")
            case "--die-with-parent": other.append("killed when pkglayer dies (--die-with-parent); a step's processes all live in its PID namespace and die with it")
            case "--new-session": other.append("a new session (no access to the terminal pkglayer runs in)")
            case "--hostname": other.append("hostname: \(operand(1))"); i += 1
            case "--clearenv": other.append("environment: cleared, then only the variables below")
            case "--setenv": environment.append((operand(1), operand(2))); i += 2
            case "--ro-bind": readOnly.append((operand(1), operand(2))); i += 2
            case "--bind": writable.append((operand(1), operand(2))); i += 2
            case "--symlink": symlinks.append((operand(2), operand(1))); i += 2
            case "--proc": fresh.append("\(operand(1)) (a new proc for the PID namespace)"); i += 1
            case "--dev": fresh.append("\(operand(1)) (a minimal /dev: null, zero, full, random, urandom, tty)"); i += 1
            case "--tmpfs": fresh.append("\(operand(1)) (an empty tmpfs)"); i += 1
            case "--remount-ro": other.append("\(operand(1)) is remounted read-only: nothing can be created outside the writable binds"); i += 1
            case "--chdir": workingDirectory = operand(1); i += 1
            case "--": i = args.count
            default: other.append("bwrap \(arg)")
            }
            i += 1
        }
        var lines: [String] = []
        lines.append("Each build step runs as `sh -e -c STEP` under bubblewrap:")
        lines.append("")
        lines.append("namespaces unshared: \(namespaces.joined(separator: ", "))")
        for line in other { lines.append("- \(line)") }
        lines.append("- working directory: \(workingDirectory)")
        for limit in limits { lines.append("- \(limit)") }
        lines.append("")
        lines.append("read-only from the host:")
        for (host, inside) in readOnly { lines.append("  \(inside)\(host == inside ? "" : "  ← \(host)")") }
        lines.append("writable (the only places a step can write that outlive it):")
        for (host, inside) in writable { lines.append("  \(inside)  ← \(host)") }
        lines.append("fresh, empty, not the host's:")
        for item in fresh { lines.append("  \(item)") }
        if !symlinks.isEmpty {
            lines.append("symlinks (as on the host's merged /usr):")
            for (link, target) in symlinks { lines.append("  \(link) → \(target)") }
        }
        lines.append("environment:")
        for (key, value) in environment { lines.append("  \(key)=\(value)") }
        lines.append("")
        lines.append("Everything else of the host is absent: /home, /root, /var, /srv, /mnt, /opt, /run, the rest of /etc, the")
        lines.append("project and the recipe's directory (sources are copied into /build/src), pkglayer's cache and credentials.")
        lines.append("")
        lines.append("bwrap arguments: " + args.map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " "))
        return lines.joined(separator: "\n") + "\n"
    }
}
