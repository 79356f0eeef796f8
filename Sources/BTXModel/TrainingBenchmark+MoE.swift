extension TrainingBenchmark {
    /// Config `<base>-MoE` (S-MoE, XS-MoE): the base config with 4 experts per layer, top-2, LB α = 0.01.
    public static func moeSetup(_ base: String = "S") throws -> (setup: Setup, moe: MoEConfig) {
        let s = try setup(base)
        return (Setup(name: "\(base)-MoE", config: s.config, batchSize: s.batchSize, sequenceLength: s.sequenceLength),
                try MoEConfig(numLocalExperts: 4, numExpertsPerTok: 2))
    }

    /// A dense config (`setup`) or `<base>-MoE` (`moeSetup`), by name; `<name>-recompute` is that
    /// setup with activation recomputation.
    public static func namedSetup(_ name: String) throws -> (setup: Setup, moe: MoEConfig?) {
        let suffix = "-recompute"
        if name.hasSuffix(suffix) {
            let (s, moe) = try namedSetup(String(name.dropLast(suffix.count)))
            return (Setup(name: name, config: s.config, batchSize: s.batchSize, sequenceLength: s.sequenceLength,
                          recomputeActivations: true), moe)
        }
        if name.hasSuffix("-MoE") {
            let (s, moe) = try moeSetup(String(name.dropLast(4)))
            return (s, moe)
        }
        return (try setup(name), nil)
    }
}
