import BTXData
import BTXModel
import BTXPipeline
import BTXStore
import Foundation

/// `evaluate`: held-out loss and perplexity per domain (with every sequence's loss, for the report's
/// paired bootstrap), a downstream task per domain scored on the same sequences (`SpanTask`: exact
/// match of the span after a marker, top-1 at every token), the same loss on mixed-domain sequences
/// (`MixedDomainBatches`), math exact-match accuracy, routing statistics (MoE) and the compute that
/// went into the model → an "evaluation" manifest the report reads. `split` (`HeldOutSplit`): `test`
/// (default, what reports show) or `dev` (disjoint from test, for tuning; no math generation).
///
/// Inputs: `model` (a model manifest, dense or MoE) or `experts` (a list: evaluated as a BTM ensemble),
/// `data` (tokens manifests, one per domain), optionally `math` (a corpus with held-out problems) and
/// `tokenizer` (needed for math). Params: `name` (the row label), `batch_size`, `sequence_length`,
/// `role` (see `roles`), `expert_domain`, `expert_names` (an MoE's experts in order, for the routing
/// heatmap), `max_batches` per domain, `math_problems`, `max_new_tokens`, `split`, `downstream`
/// (domain → `{after, end}`, see `SpanTask.tasks`), `grid_point` (the tuning grid item, for `tune`);
/// for an ensemble `top_k`
/// (0: all experts) and `btm_weighting` (`EnsembleWeighting`): `likelihood` (default) or `tfidf`,
/// whose domain profiles come from the `data` inputs' training shards (one per expert, in the
/// experts' order; a sample of `tfidf_tokens` each) with softmax `temperature`.
struct EvaluateStage: StageKind {
    static let name = "evaluate"
    static let version = 7  // 7: per-sequence routing shares (claim 4's bootstrap); 6: knowledge task = a WordNet headword's part of speech; 5: span tasks score tokens too; 4: test/dev split, downstream span task per domain; 3: per-sequence losses and the mixed-domain set; 2: metrics.jsonl output, tokenizer check
    static let summary = "per-domain held-out loss, math accuracy, routing and compute of a model"
    /// What a row is in the BTX comparison (the report's claims look rows up by role).
    static let roles = ["seed", "expert", "dense", "btm", "btx", "upcycling", "variant"]

    func validate(_ params: StageParams) throws {
        _ = try params.string("name")
        _ = try params.string("role", default: "variant", oneOf: Self.roles)
        _ = try params.string("expert_domain", default: "")
        _ = try params.strings("expert_names", default: [])
        _ = try params.int("batch_size", default: 8, in: 1...1024)
        _ = try params.int("sequence_length", default: 128, in: 2...65_536)
        _ = try params.int("max_batches", default: 16, in: 1...1_000_000)
        _ = try params.int("math_problems", default: 50, in: 0...100_000)
        _ = try params.int("max_new_tokens", default: 48, in: 1...4096)
        _ = try params.int("top_k", default: 0, in: 0...1024)
        _ = try params.string("btm_weighting", default: "likelihood", oneOf: ["likelihood", "tfidf"])
        _ = try params.double("temperature", default: 0.1, in: 1e-6...1e6)
        _ = try params.int("tfidf_tokens", default: 200_000, in: 1...1_000_000_000)
        _ = try params.int("mixed_seed", default: 1, in: 0...Int(Int32.max))
        _ = try params.string("split", default: HeldOutSplit.test.rawValue, oneOf: HeldOutSplit.allCases.map(\.rawValue))
        _ = try SpanTask.tasks(params)
        _ = try params.string("grid_point", default: "")
    }

    func run(_ context: StageContext) throws -> Manifest {
        let p = context.params
        try ModelTokenizer.checkSame(context, inputs: ["model", "experts", "data", "tokenizer"])
        let corpora = try TokenCorpus.inputs(context, name: "data")
        let (model, history) = try Self.load(context, corpora: corpora, batchSize: try p.int("batch_size", default: 8),
                                             sequenceLength: try p.int("sequence_length", default: 128))
        let maxBatches = try p.int("max_batches", default: 16), mixedSeed = try p.int("mixed_seed", default: 1)
        let split = HeldOutSplit(rawValue: try p.string("split", default: HeldOutSplit.test.rawValue))!
        let tokenizer = try Self.tokenizer(context)
        let pieces = tokenizer.map { t in (0..<t.vocabSize).map { t.bytes(of: UInt32($0)) } } ?? []
        let tasks = tokenizer == nil ? [:] : try SpanTask.tasks(p)
        let held = try corpora.map { corpus -> [UInt32] in
            guard let eos = tokenizer?.eos else {
                guard split == .test else { throw StageError.failed("the dev split needs a tokenizer (input 'tokenizer') to find document ends") }
                return Array(corpus.validation.prefix(HeldOutSplit.testTokenCount(batchSize: model.batchSize, sequenceLength: model.sequenceLength, maxBatches: maxBatches)))
            }
            return Array(corpus.validation[try split.range(of: corpus.validation, endOfDocument: eos, batchSize: model.batchSize,
                                                           sequenceLength: model.sequenceLength, maxBatches: maxBatches, domain: corpus.domain)])
        }
        var domains: [String: JSONValue] = [:], total = 0.0
        for (d, corpus) in corpora.enumerated() {
            try context.checkCancelled()
            let batches = try Self.validationBatches(held[d], model: model, domain: d)
            let result = try Self.heldOut(model, batches: (0..<min(batches.count, maxBatches)).map(batches.batch), domain: d,
                                          task: tasks[corpus.domain], pieces: pieces)
            domains[corpus.domain] = result.json
            total += result.loss
            context.log(String(format: "%@ (%@): held-out loss %.4f (perplexity %.2f)", corpus.domain, split.rawValue, result.loss, Foundation.exp(result.loss))
                        + (result.task.map { String(format: ", %@: %d/%d spans exact, %d/%d tokens top-1", tasks[corpus.domain]!.description,
                                                                $0.correct, $0.total, $0.tokensCorrect, $0.tokens) } ?? ""))
            context.progress(step: d + 1, total: corpora.count + 2)
        }
        // What the scored sequences are: rows with equal `held_out` scored the same sequences (the
        // report's bootstrap pairs them), rows with different ones cannot be paired.
        let heldOut: JSONValue = [
            "batch_size": .int(Int64(model.batchSize)), "sequence_length": .int(Int64(model.sequenceLength)),
            "max_batches": .int(Int64(maxBatches)), "mixed_seed": .int(Int64(mixedSeed)), "split": .string(split.rawValue),
            "validation": .array(context.inputList("data").map { .string($0.tensors["validation"].map { $0.object.hex } ?? "") }),
        ]
        var metadata: [String: JSONValue] = [
            "held_out": heldOut,
            "split": .string(split.rawValue),
            "name": .string(try p.string("name")),
            "role": .string(try p.string("role", default: "variant")),
            "domains": .object(domains),
            "domain_order": .array(corpora.map { .string($0.domain) }),
            "average_loss": .double(total / Double(corpora.count)),
            "compute": ["flops": .double(history.flops), "tokens": .int(Int64(history.tokens))],
            "history": try history.json(),
        ]
        if !tasks.isEmpty {
            metadata["downstream"] = .object(tasks.filter { t in corpora.contains { $0.domain == t.key } }.mapValues { .string($0.description) })
        }
        if corpora.count >= 2 {
            try context.checkCancelled()
            let mixed = MixedDomainBatches(domains: held, batchSize: model.batchSize,
                                           sequenceLength: model.sequenceLength, count: maxBatches,
                                           seed: UInt64(mixedSeed))
            let result = try Self.heldOut(model, batches: mixed.batches, domain: corpora.count)
            metadata["mixed"] = result.json
            context.log(String(format: "mixed-domain sequences: held-out loss %.4f", result.loss))
        }
        context.progress(step: corpora.count + 1, total: corpora.count + 2)
        let expertDomain = try p.string("expert_domain", default: "")
        if !expertDomain.isEmpty { metadata["expert_domain"] = .string(expertDomain) }
        let gridPoint = try p.string("grid_point", default: "")
        if !gridPoint.isEmpty { metadata["grid_point"] = .string(gridPoint) }
        let expertNames = try p.strings("expert_names", default: [])
        if !expertNames.isEmpty { metadata["expert_names"] = .array(expertNames.map { .string($0) }) }
        // NOTE: the held-out math problems are test data: a dev evaluation does not look at them.
        if split == .test, let accuracy = try MathAccuracy.measure(context, model: model) { metadata["math"] = accuracy }
        context.progress(step: corpora.count + 2, total: corpora.count + 2)
        if let routing = model.routing(domains: corpora.map(\.domain) + (corpora.count >= 2 ? [Self.mixedDomain] : [])) {
            metadata["routing"] = routing
        }
        if model is EnsembleModel { metadata["btm_weighting"] = .string(try p.string("btm_weighting", default: "likelihood")) }
        context.metric("average_loss", metadata["average_loss"]!)
        let rows = Self.metricsRows(metadata, domains: corpora.map(\.domain))
        return Manifest(kind: "evaluation", objects: [MetricsFile.objectName: try MetricsFile.put(rows, store: context.store)],
                        metadata: metadata)
    }

    /// One `metrics.jsonl` row per domain: name, role, domain, loss, perplexity and the model's compute.
    static func metricsRows(_ metadata: [String: JSONValue], domains: [String]) -> [JSONValue] {
        let compute = metadata["compute"]?.objectValue ?? [:]
        return domains.map { domain in
            let result = metadata["domains"]?.objectValue?[domain]?.objectValue ?? [:]
            return .object(["name": metadata["name"] ?? .null, "role": metadata["role"] ?? .null, "domain": .string(domain),
                            "loss": result["loss"] ?? .null, "perplexity": result["perplexity"] ?? .null,
                            "flops": compute["flops"] ?? .null, "tokens": compute["tokens"] ?? .null])
        }
    }

    /// The routing label of the mixed-domain sequences (after the data's domains).
    static let mixedDomain = "mixed"

    /// Held-out scoring of one set of sequences: every sequence's mean cross-entropy (nats per token).
    struct HeldOut {
        var sequenceLosses: [Double]
        /// Per sequence, the share of its routing assignments per expert (MoE models; else empty).
        var sequenceRouting: [[Double]] = []
        /// The downstream span task's score on these sequences (nil without a task).
        var task: SpanScore? = nil
        /// Mean over tokens (every sequence has T tokens, so also the mean of the sequence losses).
        var loss: Double { sequenceLosses.reduce(0, +) / Double(max(sequenceLosses.count, 1)) }
        /// `{"loss", "perplexity", "sequence_losses"}` as the evaluation manifest stores it.
        var json: JSONValue {
            var out: [String: JSONValue] = ["loss": .double(loss), "perplexity": .double(Foundation.exp(loss)),
                                            "sequence_losses": .array(sequenceLosses.map { .double(($0 * 1e6).rounded() / 1e6) })]
            if let task { out["task"] = task.json }
            if !sequenceRouting.isEmpty {
                out["sequence_routing"] = .array(sequenceRouting.map { .array($0.map { .double(($0 * 1e4).rounded() / 1e4) }) })
            }
            return .object(out)
        }
    }

    /// A domain's validation tokens cut into the model's batches.
    static func validationBatches(_ tokens: [UInt32], model: EvaluatedModel, domain: Int) throws -> ValidationBatches {
        do {
            return try ValidationBatches(tokens: tokens, batchSize: model.batchSize, sequenceLength: model.sequenceLength)
        } catch {
            throw StageError.failed("validation data of domain \(domain): \(error)")
        }
    }

    /// Scores `batches` (B × (T+1) tokens each), labelled `domain` for the routing statistics, and
    /// `task`'s spans in them (tokens spelled by `pieces`).
    static func heldOut(_ model: EvaluatedModel, batches: [[Int32]], domain: Int, task: SpanTask? = nil,
                        pieces: [[UInt8]] = []) throws -> HeldOut {
        let B = model.batchSize, T = model.sequenceLength
        var probs = [Float](repeating: 0, count: B * T), top1 = [Bool](repeating: false, count: B * T)
        var losses = [Double](), routing = [[Double]](), score = task.map { _ in SpanScore() }
        _ = model.takeSequenceRouting()
        for batch in batches {
            try model.targetProbabilities(batch, domain: domain, into: &probs, top1: &top1)
            routing += model.takeSequenceRouting() ?? []
            if let task { score!.add(task.spans(batch, batchSize: B, sequenceLength: T, pieces: pieces), top1: top1) }
            for b in 0..<B {
                var sum = 0.0
                for t in 0..<T { sum -= Foundation.log(max(Double(probs[b * T + t]), 1e-30)) }
                losses.append(sum / Double(T))
            }
        }
        return HeldOut(sequenceLosses: losses, sequenceRouting: routing, task: score)
    }

    /// The tokenizer of input `tokenizer`, else of the `model` or the first expert (nil when none carries one).
    static func tokenizer(_ context: StageContext) throws -> HFTokenizer? {
        for input in ["tokenizer", "model"] where context.inputs[input]?.objects["tokenizer.json"] != nil {
            return try ModelTokenizer.load(context, input: input).0
        }
        guard let expert = context.inputList("experts").first, expert.objects["tokenizer.json"] != nil else { return nil }
        do { return try HFTokenizerFile.tokenizer(expert, store: context.store) } catch {
            throw StageError.failed("input 'experts.0': \(error)")
        }
    }

    /// The model to evaluate: `model` (dense or MoE) or the `experts` list as a BTM ensemble; with
    /// the training history of everything that went into it.
    static func load(_ context: StageContext, corpora: [TokenCorpus], batchSize: Int,
                     sequenceLength: Int) throws -> (EvaluatedModel, TrainingHistory) {
        if let manifest = context.inputs["model"] {
            guard try context.params.string("btm_weighting", default: "likelihood") == "likelihood" else {
                throw StageError.badParameter(field: "btm_weighting", expected: "an 'experts' input (a BTM ensemble), not a 'model'",
                                              actual: try context.params.string("btm_weighting"))
            }
            let model = try ModelLoader.inference(manifest, input: "model", store: context.store,
                                                  batchSize: batchSize, sequenceLength: sequenceLength, threads: context.threads,
                                                  domains: corpora.count + (corpora.count >= 2 ? 1 : 0))  // + mixed
            return (model, try ModelManifest.history(manifest))
        }
        let manifests = context.inputList("experts")
        guard !manifests.isEmpty else { throw StageError.missingInput(name: "model") }
        let experts = try manifests.enumerated().map { i, m -> SingleModel in
            let model = try ModelLoader.inference(m, input: "experts.\(i)", store: context.store, batchSize: batchSize,
                                                  sequenceLength: sequenceLength, threads: context.threads)
            guard let single = model as? SingleModel else { throw StageError.failed("input 'experts.\(i)' is not a single model") }
            return single
        }
        let topK = try context.params.int("top_k", default: 0)
        let history = TrainingHistory.merged(try manifests.map(ModelManifest.history))
        let weighting = try Self.weighting(context.params, corpora: corpora, experts: experts.count,
                                           vocabularySize: experts[0].config.vocabSize)
        return (EnsembleModel(experts: experts, topK: topK == 0 ? experts.count : topK, weighting: weighting), history)
    }

    /// The ensemble's `btm_weighting`; for `tfidf`, expert e's profile is domain e's training shard.
    static func weighting(_ p: StageParams, corpora: [TokenCorpus], experts: Int, vocabularySize: Int) throws -> EnsembleWeighting {
        guard try p.string("btm_weighting", default: "likelihood") == "tfidf" else { return .likelihood }
        guard corpora.count == experts else {
            throw StageError.badParameter(field: "btm_weighting", expected: "tfidf: one 'data' input per expert, in the experts' order",
                                          actual: "\(experts) experts, \(corpora.count) data inputs")
        }
        let budget = try p.int("tfidf_tokens", default: 200_000)
        let tfidf = DomainTfIdf(domains: corpora.map { DomainTfIdf.sample($0.train, budget: budget) }, vocabularySize: vocabularySize)
        return .tfidf(tfidf, temperature: try p.double("temperature", default: 0.1))
    }
}
