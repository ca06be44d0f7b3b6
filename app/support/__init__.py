"""The dashboard's helpers that need no Streamlit, one module per subject: each function takes plain
data (paths, dicts, DataFrames) and returns plain data, so the pages stay thin and these are
unit-tested. Pages import the module they need (``from support import places``; app/ is on sys.path:
``streamlit run`` puts it there, Home.py does for AppTest).

- places: models and data folders, the public demo, checkpoints for the picker, shown paths
- cards: the sidebar's model card
- markup: markdown escaping, control characters made visible
- threads: torch threads for one typed text
- tables, bench_speed, sweeps: stored results as page tables and sentences
- bundle_views: an analysis bundle's rows, hover snippets, build progress
- csv_export: download file names and filter columns
- live_text, what_if: the live page's example texts and threshold what-if
"""


# The names taken from the package itself by code outside app/ (benchmarks/app_speed.py,
# tests/test_shipped_models.py) and by the Score page, which still imports ``support as sup``.
from support.places import (DATA_DIR_ENV, MODELS_DIR_ENV, discover_checkpoints, models_dir, public_mode,  # noqa: F401
                            redact, stamp)
from support.tables import score_column_config  # noqa: F401
from support.threads import INTERACTIVE_THREADS, torch_threads  # noqa: F401
