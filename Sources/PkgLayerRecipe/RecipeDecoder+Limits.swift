import CYaml
import Foundation
import PkgLayerCore

/// The limits on recipe and image files (docs/limits.md), checked before Yams builds its node tree:
///
/// - the file's size, from `stat`, before it is read;
/// - the YAML's shape, from one pass over libyaml's events (linear in the text): the number of nodes
///   with every alias expanded, and the nesting depth. Yams resolves an alias to the anchored node
///   itself, so the tree it builds is small, but everything that walks it (Yams' duplicate-key check
///   hashes whole keys; validation and reading visit every node) sees the expanded document, which
///   nested aliases make exponentially large ("billion laughs"). libyaml's own nesting limit (1000)
///   only guards its parser's stack.
///
/// YAML syntax errors are left for Yams to report (with its line and column) after this pass.
extension RecipeDecoder {
    /// Refuses a file larger than the recipe limit, or one that is not a regular file (a FIFO or a
    /// device, whose size cannot be known before reading). A missing file or a directory passes, for the
    /// caller's own message.
    static func checkFileSize(_ path: String, what: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        let type = info.st_mode & S_IFMT
        if type == S_IFDIR { return }
        guard type == S_IFREG else {
            throw PkgLayerError(.invalidInput, "\(what) is not a regular file (a FIFO, socket or device); pkglayer reads it only from a file whose size it can check first",
                                at: path)
        }
        let limits = InputLimits.current
        let size = UInt64(info.st_size)
        if size > limits[.recipeBytes] {
            throw limits.exceeded(.recipeBytes, what, actual: size, at: path,
                                  hint: "\(what.hasPrefix("the ") ? "it" : what) should be hand-written YAML of a few KiB; check that this is the right file")
        }
    }

    /// Refuses YAML whose expanded node count or nesting depth is past the limits, locating the node
    /// where the count or depth was passed (`file:line:column`).
    static func checkShape(_ yaml: String, file: String) throws {
        let limits = InputLimits.current
        let maxNodes = limits[.yamlNodes], maxDepth = limits.int(.yamlDepth)
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw PkgLayerError(.invalidInput, "libyaml could not allocate a parser (out of memory?)", at: file)
        }
        defer { yaml_parser_delete(&parser) }

        struct Frame {
            var anchor: String?
            /// The document's node count when this collection started.
            var startCount: UInt64
            /// Collection levels from this one down (1: only scalars below).
            var height = 1
        }
        var stack: [Frame] = []
        var anchors: [String: (size: UInt64, height: Int)] = [:]
        var count: UInt64 = 0

        func location(_ mark: yaml_mark_t) -> String {
            SourceLocation(file: file, line: Int(mark.line) + 1, column: Int(mark.column) + 1).description
        }
        func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
            pointer.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        }
        func tooDeep(_ mark: yaml_mark_t, _ detail: String) -> PkgLayerError {
            limits.exceeded(.yamlDepth, "the nesting here", at: location(mark),
                            hint: "\(detail)a recipe needs fewer than ten levels, so look for runaway '[', '{' or indentation")
        }
        /// Counts `size` more nodes of the expanded document.
        func grow(_ size: UInt64, _ mark: yaml_mark_t, alias: String?) throws {
            count = count.addingReportingOverflow(size).overflow ? .max : count + size
            guard count > maxNodes else { return }
            let detail = alias.map { "alias '*\($0)' stands for \(size) nodes, and " } ?? ""
            throw limits.exceeded(.yamlNodes, "the document", at: location(mark),
                                  hint: "\(detail)aliases of lists of aliases multiply ('billion laughs'); write the values out or use fewer aliases")
        }
        /// A finished child of the innermost collection, `height` collection levels tall.
        func closeChild(height: Int) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].height = max(stack[stack.count - 1].height, height + 1)
        }

        let bytes = Array(yaml.utf8)
        try bytes.withUnsafeBufferPointer { buffer in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            while true {
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    // libyaml's own nesting limit (1000 open collections, counted while it scans ahead).
                    if let problem = parser.problem.map({ String(cString: $0) }), problem.hasPrefix("Maximum nesting level") {
                        throw tooDeep(parser.problem_mark, "more than 1000 collections are open here; ")
                    }
                    // Any other syntax error: Yams reports it, located, when it parses the same text.
                    return
                }
                defer { yaml_event_delete(&event) }
                let mark = event.start_mark
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return
                case YAML_DOCUMENT_START_EVENT:
                    stack = []
                    anchors = [:]
                    count = 0
                case YAML_SCALAR_EVENT:
                    try grow(1, mark, alias: nil)
                    if let anchor = string(event.data.scalar.anchor) { anchors[anchor] = (1, 0) }
                case YAML_ALIAS_EVENT:
                    guard let name = string(event.data.alias.anchor), let target = anchors[name] else { continue }
                    if stack.count + target.height > maxDepth {
                        throw tooDeep(mark, "alias '*\(name)' is \(target.height) levels deep inside \(stack.count); ")
                    }
                    try grow(target.size, mark, alias: name)
                    closeChild(height: target.height)
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    try grow(1, mark, alias: nil)
                    let anchor = event.type == YAML_SEQUENCE_START_EVENT ? event.data.sequence_start.anchor : event.data.mapping_start.anchor
                    stack.append(Frame(anchor: string(anchor), startCount: count - 1))
                    if stack.count > maxDepth { throw tooDeep(mark, "") }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    guard let frame = stack.popLast() else { continue }
                    if let anchor = frame.anchor { anchors[anchor] = (count - frame.startCount, frame.height) }
                    closeChild(height: frame.height)
                default:
                    continue
                }
            }
        }
    }
}
