import BTXPipeline

/// Every stage kind btxpipe knows; the command line runs pipelines against this registry.
/// Add a kind here when you add its file.
public enum StageCatalog {
    /// The registry of all kinds.
    public static let registry = StageRegistry([
        TextStage.self,
        ConcatStage.self,
        FetchStage.self,
        MathStage.self,
        TokenizerStage.self,
        TokenizeStage.self,
        InitStage.self,
        TrainStage.self,
        MixStage.self,
        FinetuneStage.self,
        UpcycleStage.self,
        BTMStage.self,
        EvaluateStage.self,
        ReportStage.self,
        TuneStage.self,
        SweepStage.self,
        ImportStage.self,
    ])
}
