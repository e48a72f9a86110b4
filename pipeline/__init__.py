"""zhclean: clean dirty Chinese news pages into Simplified, segmented JSONL."""

__version__ = "0.1.0"
