/// `pkglayer build --sandbox`: bubblewrap (the default), or none — steps as plain host processes, for
/// runners where namespaces cannot be created; it warns, and is recorded in the cache key and in the
/// packages (`X-Pkglayer-Sandbox: none`, rpm BUILDHOST `pkglayer-unsandboxed`).
public enum SandboxMode: String, Sendable, CaseIterable {
    case bubblewrap, none
}
