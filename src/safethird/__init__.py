"""safethird: the 2019 US Asylum Cooperative Agreements and the third-country transit bar as
executable, explainable law."""

__version__ = "0.1.0"

import os as _os
import sys as _sys

if "polars" not in _sys.modules:
    # Polars allocates with jemalloc, whose default decay hands freed pages back to the
    # system; a batch frees and reallocates chunk-sized buffers all the time, and each chunk
    # page-faults its memory in again. Keeping freed pages for a few seconds cut the kernel's
    # share of a 5-million-row batch from 2.2-3.4 to 1.3-1.7 CPU-seconds here, for ~200 MiB
    # more peak memory (docs/performance.md). A setting the user made is kept; it is read
    # when Polars loads, so it does nothing if Polars was imported first.
    _os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:5000,muzzy_decay_ms:5000")

from safethird.batch.api import decide_batch
from safethird.decide import Determination, decide, decide_frame
from safethird.facts import Case, CaseError

__all__ = ["Case", "CaseError", "Determination", "__version__", "decide", "decide_batch",
           "decide_frame"]
