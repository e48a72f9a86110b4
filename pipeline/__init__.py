"""zhclean: clean dirty Chinese news pages into Simplified, segmented JSONL.

The Python API (api.py): a Cleaner built once and called per record or text, clean() over a
stream, and the options of the stages, as the command line has them."""

__version__ = "0.2.0"

from .api import Cleaned, Cleaner, clean  # noqa: E402  (after __version__: setup.cfg reads it)
from .records import Reject  # noqa: E402
from .stages.convert import ConvertOptions  # noqa: E402
from .stages.despam import DespamOptions  # noqa: E402
from .stages.segment import SegmentOptions  # noqa: E402

__all__ = ["Cleaned", "Cleaner", "ConvertOptions", "DespamOptions", "Reject", "SegmentOptions",
           "clean", "__version__"]
