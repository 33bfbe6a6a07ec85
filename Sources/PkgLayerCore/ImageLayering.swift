/// How an image's packages become layers (a recipe's `image.layering`, the assembler's plan).
public enum Layering: Equatable, Sendable {
    /// One layer per package (the default): a package gives the same layer digest in every image.
    case perPackage
    /// At most `n` package layers: the `n - 1` largest packages keep their own layer (and so their
    /// shared digest); all the others are merged, in order, into one layer. The top layer is extra.
    case budget(Int)
    /// Everything, the image's own files included, in one layer.
    case squash
}
