"""safethird: the 2019 US Asylum Cooperative Agreements and the third-country transit bar as
executable, explainable law."""

__version__ = "0.1.0"

from safethird.batch.api import decide_batch
from safethird.decide import Determination, decide, decide_frame
from safethird.facts import Case, CaseError

__all__ = ["Case", "CaseError", "Determination", "__version__", "decide", "decide_batch",
           "decide_frame"]
