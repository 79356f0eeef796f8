extension TrainingBenchmark {
    /// Config S-MoE of the issue: config S with 4 experts per layer, top-2, LB α = 0.01.
    public static func moeSetup() throws -> (setup: Setup, moe: MoEConfig) {
        let s = try setup("S")
        return (Setup(name: "S-MoE", config: s.config, batchSize: s.batchSize, sequenceLength: s.sequenceLength),
                try MoEConfig(numLocalExperts: 4, numExpertsPerTok: 2))
    }
}
