import Foundation

/// Everything that can go wrong in the store, with the context a user needs to act on it.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// No object with this hash is in the store.
    case missing(ObjectHash)
    /// A file in the store is damaged (bad header, truncated, or its content does not hash to its name).
    case corrupt(path: String, reason: String)
    /// A tensor's byte count does not match its shape and dtype.
    case shapeMismatch(shape: [Int], dtype: ElementType, expectedBytes: Int, actualBytes: Int)
    /// A buffer handed to the store has the wrong size.
    case bufferSize(hash: ObjectHash, expected: Int, actual: Int)
    /// The tensor's dtype cannot be read this way (e.g. `floats` of an i32 tensor).
    case unsupportedDType(ElementType, expected: String)
    /// An object is intact but is not the kind of JSON document expected (manifest, run record).
    case invalidDocument(hash: ObjectHash, expected: String, reason: String)
    /// `recordAction` refused an entry because something it references is not in the store.
    case incompleteAction(key: ObjectHash, missing: ObjectHash, role: String)
    /// A ref name outside the allowed form.
    case invalidRefName(String, reason: String)
    /// A hash, prefix or ref name a user typed that names nothing (or more than one thing).
    case unresolved(String, reason: String)
    /// A file system call failed.
    case io(path: String, operation: String, errno: Int32)
    /// A ref that must point at a complete closure (a pin, an import) would point at something incomplete.
    case incompleteRef(name: String, missing: ObjectHash)
    /// The store-wide lock is held in a conflicting mode (gc while a run, pull or import is active).
    case busy(path: String, holder: String)

    public var description: String {
        switch self {
        case .missing(let hash):
            return "object \(hash) is not in the store (hint: rerun the stage that produces it, or pull it from a remote)"
        case .corrupt(let path, let reason):
            return "corrupt store file \(path): \(reason) (hint: it is treated as missing; rerun to recreate it, `btxpipe store verify` lists all)"
        case .shapeMismatch(let shape, let dtype, let expected, let actual):
            return "tensor of shape \(shape) and dtype \(dtype.rawValue) needs \(expected) bytes, got \(actual)"
        case .bufferSize(let hash, let expected, let actual):
            return "object \(hash.short) has \(expected) bytes but the buffer holds \(actual)"
        case .unsupportedDType(let dtype, let expected):
            return "tensor dtype \(dtype.rawValue) cannot be read here: expected \(expected)"
        case .invalidDocument(let hash, let expected, let reason):
            return "object \(hash.short) is not a valid \(expected): \(reason)"
        case .incompleteAction(let key, let missing, let role):
            return "refusing action entry \(key.short): its \(role) \(missing) is not in the store (hint: store outputs before recording the action)"
        case .invalidRefName(let name, let reason):
            return "invalid ref name \"\(name)\": \(reason) (allowed: [A-Za-z0-9._/[]-], no leading '/', no '.'-prefixed component)"
        case .unresolved(let text, let reason):
            return "cannot resolve \"\(text)\": \(reason) (hint: `btxpipe store ls` lists manifests, actions and refs)"
        case .io(let path, let operation, let code):
            return "\(operation) \(path) failed: \(String(cString: strerror(code)))"
        case .incompleteRef(let name, let missing):
            return "refusing ref \(name): object \(missing) it reaches is not in the store (hint: import or pull it completely first)"
        case .busy(let path, let holder):
            return "store is busy (\(path)): \(holder) (hint: gc runs when no run, pull or import uses the store; retry then)"
        }
    }
}
