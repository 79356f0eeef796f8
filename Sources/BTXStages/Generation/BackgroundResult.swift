import Foundation

/// A value computed on a thread of its own while the caller does other work; `value()` waits for it.
final class BackgroundResult<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, Error>?

    init(_ body: @escaping () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result(catching: body)
            done.signal()
        }
    }

    /// The value, or the error its computation threw (waits until it is done).
    func value() throws -> Value {
        done.wait()
        done.signal()   // later calls return at once
        guard let result else { preconditionFailure("BackgroundResult signalled before its result was set") }
        return try result.get()
    }
}
