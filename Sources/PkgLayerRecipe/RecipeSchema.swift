/// The recipe's field table and what is generated from it: the JSON schema (``json``) and the
/// reference documentation (``markdown``). See RecipeSchema+Fields.swift for the table itself.
public enum RecipeSchema {
    /// Every mapping type, in the order of first appearance from the top level (depth first).
    static var objects: [ObjectType] {
        var seen: [ObjectType] = []
        func visit(_ type: FieldType) {
            switch type {
            case .object(let o):
                guard !seen.contains(where: { $0 === o }) else { return }
                seen.append(o)
                o.fields.forEach { visit($0.type) }
            case .list(let element, _): visit(element)
            case .either(let alts): alts.forEach(visit)
            case .scalar, .boolean, .integer, .map, .any: break
            }
        }
        visit(.object(recipe))
        return seen
    }
}
