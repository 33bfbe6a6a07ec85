import PkgLayerCore

/// Image references in the local store: `name[:tag]`, docker's spelling. A name may hold a registry
/// host with a port (`localhost:5000/app`): the tag is what follows the last `:` after the last `/`.
public enum ImageReference {
    /// `name:tag` with `latest` filled in; checks the name (lowercase) and tag like `docker tag`.
    public static func normalize(_ reference: String) throws -> String {
        let (name, tag) = split(reference)
        let full = "\(name):\(tag)"
        try OCIReference.validateRepoTag(full)
        try OCIReference.validateTag(full)
        return full
    }

    /// The name and the tag (`latest` when there is none).
    public static func split(_ reference: String) -> (name: String, tag: String) {
        if let colon = reference.lastIndex(of: ":"), !reference[colon...].contains("/") {
            return (String(reference[..<colon]), String(reference[reference.index(after: colon)...]))
        }
        return (reference, "latest")
    }
}
