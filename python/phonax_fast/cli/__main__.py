"""``python -m phonax_fast.cli``: the same as the ``phonax-fast`` command."""

import sys

from . import main

sys.exit(main())
