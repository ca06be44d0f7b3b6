"""`python -m ltp.cli ...` (and `accelerate launch -m ltp.cli train ...`): the `ltp` command."""

import sys

from ltp.cli import main

sys.exit(main())
