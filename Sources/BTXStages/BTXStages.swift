/// BTXStages (see DESIGN.md §4).
public enum BTXStagesModule {}
