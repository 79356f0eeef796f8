import BTXPipeline
import BTXStore
import Foundation

/// `concat`: joins the texts of its `parts` inputs (in order) with `separator`.
struct ConcatStage: StageKind {
    static let name = "concat"
    static let version = 1
    static let summary = "join the texts of the `parts` inputs"

    func validate(_ params: StageParams) throws {
        _ = try params.string("separator", default: "\n")
        try PacedSteps.validate(params)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let parts = context.inputList("parts")
        guard !parts.isEmpty else { throw StageError.missingInput(name: "parts") }
        let texts = try parts.enumerated().map { index, part -> String in
            guard let object = part.objects["text"] else {
                throw StageError.failed("input parts.\(index) is a '\(part.kind)' manifest without a 'text' object")
            }
            return String(decoding: try context.store.object(object), as: UTF8.self)
        }
        try PacedSteps.run(context)
        return try TextStage.output(texts.joined(separator: try context.params.string("separator", default: "\n")),
                                    context: context)
    }
}
