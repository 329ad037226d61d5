"""``python -m crmframe.sandbox``."""

from __future__ import annotations

import sys

from crmframe.sandbox.cli import main

if __name__ == "__main__":
    sys.exit(main())
