"""Progress display for long computations (tqdm; silent when not on a terminal or when disabled)."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def progress_bar(total: int, desc: str, unit: str = "it"):
    """A tqdm bar on stderr, shown when stderr is a terminal or PHONAX_PROGRESS=1 (PHONAX_PROGRESS=0 hides it)."""
    setting = os.environ.get("PHONAX_PROGRESS")
    disable = (setting == "0") or (setting is None and not sys.stderr.isatty())
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, leave=False)
