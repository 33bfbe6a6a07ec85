import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PkgLayerTestSupport

/// Reads a yum repository's primary, filelists or other (whoever wrote it) into one canonical string
/// per package, keyed `name-epoch:version-release.arch`: attributes sorted, children sorted, blank text
/// dropped. Two writers agree on a package exactly when its strings are equal.
enum YumXMLTree {
    final class Node {
        let name: String
        let attributes: [String: String]
        var children: [Node] = []
        var text = ""
        init(name: String, attributes: [String: String]) { self.name = name; self.attributes = attributes }

        var canonical: String {
            let attrs = attributes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.debugDescription)" }.joined(separator: " ")
            let body = children.map(\.canonical).sorted().joined(separator: ",")
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            return "<\(name) \(attrs)>" + (trimmed.isEmpty ? "" : trimmed.debugDescription) + (body.isEmpty ? "" : "[\(body)]")
        }

        func child(_ name: String) -> Node? { children.first { $0.name == name } }
    }

    final class Builder: NSObject, XMLParserDelegate {
        var stack: [Node] = [Node(name: "#document", attributes: [:])]
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            let node = Node(name: qualifiedName ?? name, attributes: attributes)
            stack.last!.children.append(node)
            stack.append(node)
        }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            stack.removeLast()
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) {
            stack.last!.text += string
        }
    }

    static func parse(_ data: Data) throws -> Node {
        let parser = XMLParser(data: data)
        let builder = Builder()
        parser.delegate = builder
        guard parser.parse() else {
            throw NSError(domain: "YumXMLTree", code: 1, userInfo: [NSLocalizedDescriptionKey: "XML parse error: \(String(describing: parser.parserError))"])
        }
        return builder.stack[0]
    }

    /// The uncompressed document of `type` that `repo`'s repomd.xml names.
    static func document(repo: String, type: String) throws -> Data {
        let repomd = try parse(Data(contentsOf: URL(fileURLWithPath: repo + "/repodata/repomd.xml")))
        guard let data = repomd.children.first?.children.first(where: { $0.name == "data" && $0.attributes["type"] == type }),
              let href = data.child("location")?.attributes["href"] else {
            throw NSError(domain: "YumXMLTree", code: 2, userInfo: [NSLocalizedDescriptionKey: "repomd.xml names no \(type)"])
        }
        let path = repo + "/" + href
        let tool = href.hasSuffix(".zst") ? "zstd" : "gzip"
        return try TestProcess.runChecked(tool, ["-dc", path]).stdout
    }

    static func packages(repo: String, type: String) throws -> [String: String] {
        let root = try parse(document(repo: repo, type: type))
        var out: [String: String] = [:]
        for package in root.children.first?.children ?? [] where package.name == "package" {
            let name = package.child("name")?.text ?? package.attributes["name"] ?? "?"
            let arch = package.child("arch")?.text ?? package.attributes["arch"] ?? "?"
            let v = package.child("version")?.attributes ?? [:]
            out["\(name)-\(v["epoch"] ?? "?"):\(v["ver"] ?? "?")-\(v["rel"] ?? "?").\(arch)"] = package.canonical
        }
        return out
    }
}
