import CPkgLayerSystem
import Foundation

/// File capabilities: the `security.capability` xattr (struct vfs_cap_data) and libcap's text form,
/// which rpm stores in FILECAPS and hands to `cap_from_text` when installing.
public enum FileCapabilities {
    /// Capability names by bit number, as linux/capability.h numbers them.
    public static let names: [String] = [
        "cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner", "cap_fsetid", "cap_kill",
        "cap_setgid", "cap_setuid", "cap_setpcap", "cap_linux_immutable", "cap_net_bind_service",
        "cap_net_broadcast", "cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner", "cap_sys_module",
        "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace", "cap_sys_pacct", "cap_sys_admin", "cap_sys_boot",
        "cap_sys_nice", "cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod", "cap_lease",
        "cap_audit_write", "cap_audit_control", "cap_setfcap", "cap_mac_override", "cap_mac_admin", "cap_syslog",
        "cap_wake_alarm", "cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf", "cap_checkpoint_restore",
    ]

    public static let xattrName = "security.capability"

    /// Decodes a vfs_cap_data blob (revision 1, 2 or 3) into text such as `cap_net_bind_service=ep`.
    public static func text(fromXattr blob: [UInt8], path: String) throws -> String {
        func le32(_ offset: Int) -> UInt32 {
            UInt32(blob[offset]) | UInt32(blob[offset + 1]) << 8 | UInt32(blob[offset + 2]) << 16 | UInt32(blob[offset + 3]) << 24
        }
        guard blob.count >= 12 else {
            throw PkgLayerError(.invalidInput, "security.capability xattr is \(blob.count) bytes, too short to be vfs_cap_data", at: path)
        }
        let magic = le32(0)
        let revision = magic & 0xFF00_0000
        let effective = magic & 1 != 0
        var permitted: UInt64 = UInt64(le32(4))
        var inheritable: UInt64 = UInt64(le32(8))
        switch revision {
        case 0x0100_0000: break
        case 0x0200_0000, 0x0300_0000:
            guard blob.count >= 20 else {
                throw PkgLayerError(.invalidInput, "security.capability xattr revision \(revision >> 24) is truncated", at: path)
            }
            permitted |= UInt64(le32(12)) << 32
            inheritable |= UInt64(le32(16)) << 32
        default:
            throw PkgLayerError(.invalidInput, "security.capability xattr has unknown revision 0x\(String(revision, radix: 16))", at: path)
        }
        return text(permitted: permitted, inheritable: inheritable, effective: effective)
    }

    /// libcap-style text: capabilities with the same flags grouped, e.g. `cap_chown,cap_net_raw=p cap_kill=i`.
    ///
    /// The xattr's effective bit applies to every capability in permitted ∪ inheritable (that is how the
    /// kernel and libcap's `cap_get_file` read it), so with it set an inheritable-only capability is `ei`.
    /// Writing it as `i` would make libcap's `cap_set_file` (rpm's install) refuse or change the set.
    public static func text(permitted: UInt64, inheritable: UInt64, effective: Bool) -> String {
        var groups: [(flags: String, names: [String])] = []
        for bit in 0..<64 {
            let p = permitted & (1 << UInt64(bit)) != 0
            let i = inheritable & (1 << UInt64(bit)) != 0
            guard p || i else { continue }
            var flags = ""
            if effective { flags += "e" }
            if i { flags += "i" }
            if p { flags += "p" }
            let name = bit < names.count ? names[bit] : "cap_\(bit)"
            if let index = groups.firstIndex(where: { $0.flags == flags }) {
                groups[index].names.append(name)
            } else {
                groups.append((flags, [name]))
            }
        }
        return groups.map { "\($0.names.joined(separator: ","))=\($0.flags)" }.joined(separator: " ")
    }

    /// Encodes text like `cap_net_bind_service=ep` or `cap_a,cap_b+ep` into a revision-2 vfs_cap_data blob.
    ///
    /// The blob has a single effective bit, so the effective set must be empty or exactly permitted ∪
    /// inheritable (libcap's rule too); any other set is refused rather than silently widened.
    public static func xattr(fromText text: String, field: String) throws -> [UInt8] {
        var permitted: UInt64 = 0, inheritable: UInt64 = 0, effectiveSet: UInt64 = 0
        for clause in text.split(separator: " ") {
            guard let opIndex = clause.firstIndex(where: { "=+-".contains($0) }) else {
                throw PkgLayerError(.invalidInput, "capability clause '\(clause)' has no =, + or -; write e.g. cap_net_bind_service=ep", at: field)
            }
            var mask: UInt64 = 0
            let namesPart = clause[..<opIndex]
            if namesPart.isEmpty || namesPart == "all" {
                mask = (1 << UInt64(names.count)) - 1
            } else {
                for name in namesPart.split(separator: ",") {
                    let lower = name.lowercased()
                    guard let bit = names.firstIndex(of: lower) ?? names.firstIndex(of: "cap_" + lower) else {
                        throw PkgLayerError(.invalidInput, "unknown capability '\(name)'", at: field)
                    }
                    mask |= 1 << UInt64(bit)
                }
            }
            var op: Character = "="
            for c in clause[opIndex...] {
                if "=+-".contains(c) {
                    op = c
                    if c == "=" { permitted &= ~mask; inheritable &= ~mask; effectiveSet &= ~mask }
                    continue
                }
                let add = op != "-"
                switch c {
                case "p": permitted = add ? permitted | mask : permitted & ~mask
                case "i": inheritable = add ? inheritable | mask : inheritable & ~mask
                case "e": effectiveSet = add ? effectiveSet | mask : effectiveSet & ~mask
                default:
                    throw PkgLayerError(.invalidInput, "capability flag '\(c)' is not e, i or p", at: field)
                }
            }
        }
        let effective = effectiveSet != 0
        if effective && effectiveSet != permitted | inheritable {
            throw PkgLayerError(.invalidInput, "capabilities '\(text)' make only some of them effective; a file's effective set must be empty or cover every permitted and inheritable one (e.g. cap_a,cap_b=ep)",
                                at: field)
        }
        var blob: [UInt8] = []
        func put(_ v: UInt32) { blob += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        put(0x0200_0000 | (effective ? 1 : 0))
        put(UInt32(permitted & 0xFFFF_FFFF)); put(UInt32(inheritable & 0xFFFF_FFFF))
        put(UInt32(permitted >> 32)); put(UInt32(inheritable >> 32))
        return blob
    }

    /// Reads the capability xattr of a file without following symlinks; nil when it has none.
    public static func read(path: String) throws -> String? {
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = lgetxattr(path, xattrName, &buffer, buffer.count)
        if n < 0 {
            if errno == ENODATA || errno == ENOTSUP { return nil }
            throw PkgLayerError.posix("reading security.capability", path: path)
        }
        return try text(fromXattr: Array(buffer[0..<n]), path: path)
    }
}
