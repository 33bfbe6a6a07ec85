/// `/etc/passwd` and `/etc/group` written natively, without running `useradd`: what an image gets for its
/// declared accounts, byte-identical on every build.
extension Accounts {
    public struct EtcFiles: Sendable, Equatable {
        public var passwd: String
        public var group: String
        /// The ids given to each user and group (declared or allocated).
        public var uids: [String: UInt32]
        public var gids: [String: UInt32]
    }

    /// The files after adding these accounts to `passwd` and `group` (existing contents, e.g. from a base
    /// image; nil means none, and then `root` is created first).
    ///
    /// Existing accounts are kept as they are. Accounts without a fixed id get one the way
    /// `useradd --system` does, but deterministically: the highest free id from 999 down (a user's own
    /// group takes the user's id when it is free), in declaration order; non-system ones from 1000 up.
    /// A fixed id already taken by another name is an error naming both.
    public func etcFiles(passwd existingPasswd: String?, group existingGroup: String?, origin: String) throws -> EtcFiles {
        var passwdLines = Self.lines(existingPasswd ?? "root:x:0:0:root:/root:/bin/sh\n")
        var groupLines = Self.lines(existingGroup ?? "root:x:0:\n")
        var uids: [String: UInt32] = [:], gids: [String: UInt32] = [:]
        for line in passwdLines {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 4, let uid = UInt32(f[2]) { uids[String(f[0])] = uid }
        }
        var members: [String: [String]] = [:]
        var groupIndex: [String: Int] = [:]
        for (i, line) in groupLines.enumerated() {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, let gid = UInt32(f[2]) { gids[String(f[0])] = gid; groupIndex[String(f[0])] = i }
            if f.count >= 4 { members[String(f[0])] = f[3].split(separator: ",").map(String.init) }
        }
        func allocate(_ used: Set<UInt32>, system: Bool, prefer: UInt32? = nil) throws -> UInt32 {
            if let prefer, !used.contains(prefer) { return prefer }
            if system {
                for id in stride(from: UInt32(999), through: 100, by: -1) where !used.contains(id) { return id }
            } else {
                for id in UInt32(1000)...UInt32(59999) where !used.contains(id) { return id }
            }
            throw PkgLayerError(.invalidInput, "no free \(system ? "system " : "")id left for the accounts", at: origin)
        }
        func addGroup(_ name: String, gid fixed: UInt32?, system: Bool, prefer: UInt32? = nil) throws {
            if let existing = gids[name] {
                if let fixed, fixed != existing {
                    throw PkgLayerError(.invalidInput, "group '\(name)' already exists with gid \(existing), but gid \(fixed) is declared; drop the gid or change it",
                                        at: origin)
                }
                return
            }
            if let fixed, let other = gids.first(where: { $0.value == fixed }) {
                throw PkgLayerError(.invalidInput, "gid \(fixed) of group '\(name)' is already used by group '\(other.key)'; choose another gid", at: origin)
            }
            let gid = try fixed ?? allocate(Set(gids.values), system: system, prefer: prefer)
            gids[name] = gid
            groupIndex[name] = groupLines.count
            groupLines.append("\(name):x:\(gid):")
        }
        // Each account becomes one line of colon-separated fields: a line break (checked over Unicode
        // scalars) or a ':' in a name, home or shell would write another account (`evil:x:0:0::/:/bin/sh`).
        func checkField(_ value: String, _ what: String) throws {
            try SingleLine.check(value, field: origin, what: "the \(what) in /etc/passwd or /etc/group")
            guard !value.unicodeScalars.contains(":") else {
                throw PkgLayerError(.invalidInput, "the \(what) '\(value)' holds a ':', which separates the fields of /etc/passwd and /etc/group; remove it", at: origin)
            }
        }
        for g in groups { try checkField(g.name, "group name") }
        for u in users {
            try checkField(u.name, "user name")
            try checkField(u.primaryGroup, "group name")
            for extra in u.groups { try checkField(extra, "group name") }
            try checkField(u.home, "home directory of user '\(u.name)'")
            try checkField(u.shell, "shell of user '\(u.name)'")
        }
        for g in groups { try addGroup(g.name, gid: g.gid, system: g.system) }
        for u in users {
            if let existing = uids[u.name] {
                if let fixed = u.uid, fixed != existing {
                    throw PkgLayerError(.invalidInput, "user '\(u.name)' already exists with uid \(existing), but uid \(fixed) is declared; drop the uid or change it",
                                        at: origin)
                }
                continue
            }
            if let fixed = u.uid, let other = uids.first(where: { $0.value == fixed }) {
                throw PkgLayerError(.invalidInput, "uid \(fixed) of user '\(u.name)' is already used by user '\(other.key)'; choose another uid", at: origin)
            }
            let uid = try u.uid ?? allocate(Set(uids.values), system: u.system)
            uids[u.name] = uid
            try addGroup(u.primaryGroup, gid: nil, system: u.system, prefer: u.primaryGroup == u.name ? uid : nil)
            for extra in u.groups {
                try addGroup(extra, gid: nil, system: u.system)
                if !(members[extra] ?? []).contains(u.name) { members[extra, default: []].append(u.name) }
            }
            // The comment is free text: ':' and every line break or control character (by Unicode scalar;
            // "\r\n" is one Character) become spaces, so it stays one field of one line.
            let comment = String(String.UnicodeScalarView((u.comment ?? "").unicodeScalars.map {
                $0 == ":" || SingleLine.isForbidden($0) ? " " : $0
            }))
            passwdLines.append("\(u.name):x:\(uid):\(gids[u.primaryGroup]!):\(comment):\(u.home):\(u.shell)")
        }
        for (name, list) in members {
            guard let i = groupIndex[name] else { continue }
            var f = groupLines[i].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            while f.count < 4 { f.append("") }
            f[3] = list.joined(separator: ",")
            groupLines[i] = f.prefix(4).joined(separator: ":")
        }
        return EtcFiles(passwd: passwdLines.joined(separator: "\n") + "\n", group: groupLines.joined(separator: "\n") + "\n",
                        uids: uids, gids: gids)
    }

    private static func lines(_ text: String) -> [String] {
        text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}
