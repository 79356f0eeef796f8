/// BTXData (see DESIGN.md §4).
public enum BTXDataModule {}
