/// Users and groups a package or an image needs. Recipes declare them (`accounts:`); packages create
/// them in their pre-install script, and images write them natively into `/etc/passwd` and `/etc/group`.
public struct Accounts: Sendable, Equatable {
    public var users: [User] = []
    public var groups: [Group] = []
    public var isEmpty: Bool { users.isEmpty && groups.isEmpty }
    public init(users: [User] = [], groups: [Group] = []) { self.users = users; self.groups = groups }

    public struct User: Sendable, Equatable {
        public var name: String
        public var uid: UInt32?
        /// The primary group; nil means a group named like the user.
        public var group: String?
        public var groups: [String]
        public var home: String
        public var shell: String
        public var system: Bool
        public var comment: String?
        /// The primary group's name.
        public var primaryGroup: String { group ?? name }

        public init(name: String, uid: UInt32? = nil, group: String? = nil, groups: [String] = [], home: String = "/nonexistent",
                    shell: String = "/usr/sbin/nologin", system: Bool = true, comment: String? = nil) {
            self.name = name; self.uid = uid; self.group = group; self.groups = groups; self.home = home
            self.shell = shell; self.system = system; self.comment = comment
        }
    }

    public struct Group: Sendable, Equatable {
        public var name: String
        public var gid: UInt32?
        public var system: Bool
        public init(name: String, gid: UInt32? = nil, system: Bool = true) { self.name = name; self.gid = gid; self.system = system }
    }

    /// `other`'s accounts after these; a name declared twice keeps its first declaration.
    public func merged(with other: Accounts) -> Accounts {
        var result = self
        var users = Set(self.users.map(\.name)), groups = Set(self.groups.map(\.name))
        for u in other.users where users.insert(u.name).inserted { result.users.append(u) }
        for g in other.groups where groups.insert(g.name).inserted { result.groups.append(g) }
        return result
    }
}
