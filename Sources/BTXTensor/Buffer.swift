/// A fixed-size, zero-initialised array with a stable address, for activations and other
/// workspaces that kernels write through raw pointers (a Swift `Array` may move or copy). Large
/// buffers live in huge pages (`ZeroedMemory`).
public final class Buffer<Element: Numeric> {
    /// First element; valid for `count` elements until the buffer is deinitialised.
    public let pointer: UnsafeMutablePointer<Element>
    /// Number of elements.
    public let count: Int

    /// Allocates `count` elements set to zero.
    public init(count: Int) {
        self.count = count
        pointer = ZeroedMemory.allocate(Element.self, count: count)
    }

    deinit { ZeroedMemory.deallocate(pointer, count: count) }

    /// Sets every element to zero.
    public func zero() { pointer.update(repeating: 0, count: count) }

    /// A copy of the contents.
    public var array: [Element] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}
