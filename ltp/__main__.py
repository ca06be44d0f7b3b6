"""`python -m ltp ...`: the `ltp` command."""

import sys

from ltp.cli import main

sys.exit(main())
