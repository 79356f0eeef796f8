import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `init`: a fresh dense Llama from a config and a seed (the seed model before pretraining).
///
/// Params: `config` (HF `config.json` keys, e.g. `${models.s}`), `seed`, `init_std` (0.02).
/// Input `tokenizer` (optional; a tokenizer or a model manifest): its vocabulary size replaces the config's, so the model always fits
/// the tokenizer the pipeline trained, and the model carries it (`ModelTokenizer`).
struct InitStage: StageKind {
    static let name = "init"
    static let version = 2  // 2: the model carries its tokenizer
    static let summary = "a fresh dense Llama from a config and a seed"

    func validate(_ params: StageParams) throws {
        _ = try Self.config(params, vocabSize: nil)
        _ = try params.int("seed", default: 0, in: 0...Int.max)
        _ = try params.double("init_std", default: 0.02, in: 1e-6...1)
    }

    func run(_ context: StageContext) throws -> Manifest {
        let vocab = try context.inputs["tokenizer"].map { tokenizer -> Int in
            try tokenizer.metadata["vocab_size"]?.intValue ?? ModelTokenizer.load(context).0.vocabSize
        }
        let config = try Self.config(context.params, vocabSize: vocab)
        let parameters = ParameterSet(layout: LlamaParameters.layout(config))
        LlamaParameters.initialize(parameters, seed: UInt64(try context.params.int("seed", default: 0)),
                                   std: Float(try context.params.double("init_std", default: 0.02)))
        context.log("initialised \(parameters.count) parameters (\(config.numHiddenLayers) layers × \(config.hiddenSize), vocab \(config.vocabSize))")
        context.metric("parameters", .int(Int64(parameters.count)))
        let model = try ModelManifest.make(config: try JSONValue(encoding: config), parameters: parameters,
                                           history: TrainingHistory(), store: context.store)
        return context.inputs["tokenizer"].map { ModelTokenizer.carrying(model, from: $0) } ?? model
    }

    /// The `config` parameter as a validated Llama config, with `vocabSize` replacing its vocab size.
    static func config(_ params: StageParams, vocabSize: Int?) throws -> LlamaConfig {
        var object = try params.object("config", example: ["hidden_size": 32, "intermediate_size": 96, "num_hidden_layers": 1,
                                                           "num_attention_heads": 2])
        if let vocabSize { object["vocab_size"] = .int(Int64(vocabSize)) }
        if object["vocab_size"] == nil { object["vocab_size"] = .int(2048) }  // placeholder until the tokenizer says
        do { return try JSONValue.object(object).decode(LlamaConfig.self) } catch {
            throw StageError.badParameter(field: "config", expected: "a Llama config (HF keys)", actual: "\(error)")
        }
    }
}
