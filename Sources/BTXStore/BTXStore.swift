/// BTXStore (see DESIGN.md §4).
public enum BTXStoreModule {}
