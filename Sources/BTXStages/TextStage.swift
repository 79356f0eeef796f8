import BTXPipeline
import BTXStore
import Foundation

/// `text`: writes its `text` parameter as an object (output `objects["text"]`).
struct TextStage: StageKind {
    static let name = "text"
    static let version = 1
    static let summary = "write the `text` parameter as an object"

    func validate(_ params: StageParams) throws {
        _ = try params.string("text")
        try PacedSteps.validate(params)
    }

    func run(_ context: StageContext) throws -> Manifest {
        try PacedSteps.run(context)
        return try Self.output(try context.params.string("text"), context: context)
    }

    /// A `text` manifest holding `text`.
    static func output(_ text: String, context: StageContext) throws -> Manifest {
        let bytes = Data(text.utf8)
        let object = try context.store.putObject(bytes)
        context.metric("bytes", .int(Int64(bytes.count)))
        context.log("wrote \(bytes.count) bytes as \(object.short)")
        return Manifest(kind: "text", objects: ["text": object], metadata: ["bytes": .int(Int64(bytes.count))])
    }
}
