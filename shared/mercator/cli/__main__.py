"""``python -m mercator.cli``: the ``mercator`` command where its script is not on the PATH."""

import sys

from mercator.cli import main

sys.exit(main())
