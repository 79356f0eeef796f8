/// BTXPipeline (see DESIGN.md §4).
public enum BTXPipelineModule {}
