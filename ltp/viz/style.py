"""The look shared by every chart: one colour-blind-safe palette per meaning, the plotly template
(projector-sized text), and the small helpers charts share.

One palette per meaning, never reused for another:

- methods (LTP, pruning off, baseline, top-k): Okabe & Ito's palette (``METHOD_COLORS``);
- classes: Paul Tol's "muted" set, red and blue moved to the end so a class never looks like
  LTP or pruning off (``class_colors``);
- retained vs pruned words: dark vs light grey, told apart by lightness alone (``STATUS_COLORS``);
- parts of speech and word categories: a hue per word family (nouns, verbs, modifiers, function
  words, the rest), lighter shades within a family (``pos_colors``, ``category_colors``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative

from ltp.analysis.stats import CATEGORIES, POS_FAMILIES, STATUSES

# Okabe & Ito (2008), "Color Universal Design": distinguishable under every common colour-vision deficiency.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7"}
METHOD_COLORS = {"LTP": OKABE_ITO["vermillion"], "pruning off": OKABE_ITO["blue"], "baseline": OKABE_ITO["black"],
                 "top-k": OKABE_ITO["bluish green"], "top-k (linear)": OKABE_ITO["reddish purple"]}
OTHER_METHOD_COLORS = (OKABE_ITO["orange"], OKABE_ITO["sky blue"], OKABE_ITO["yellow"])  # a series of no known method
SHIPPED_SYMBOL = "star"  # the shipped checkpoint's marker on the trade-off chart
# Paul Tol's "muted" scheme (colour-blind safe), reordered: rose and indigo (near LTP's red and pruning
# off's blue) last, so data sets with up to 7 classes never show them.
CLASS_PALETTE = ("#117733", "#DDCC77", "#882255", "#88CCEE", "#999933", "#AA4499", "#44AA99", "#CC6677", "#332288")
PALETTE = CLASS_PALETTE  # kept for callers that colour categorical values other than methods
LARGE_PALETTE = tuple(qualitative.Alphabet)  # 26 maximally distinct colours, for more values than PALETTE has
# Parts of speech, by family (ltp.analysis.stats.POS_FAMILIES): dark to light within a family.
_FAMILY_SHADES = {
    "nouns and names": ("#1B7837", "#5AAE61"),
    "verbs": ("#762A83", "#9970AB"),
    "adjectives and adverbs": ("#B35806", "#E08214"),
    "function words": ("#003C30", "#01665E", "#35978F", "#5AB4AC", "#80CDC1", "#A6DBA0"),
    "numbers, symbols and the rest": ("#8C510A", "#525252", "#7F7F7F", "#BF812D", "#A6A6A6", "#C8C8C8"),
}
POS_COLORS = {tag: shades[i] for family, tags in POS_FAMILIES.items()
              for shades in [_FAMILY_SHADES[family]] for i, tag in enumerate(tags)}
OTHER_POS_COLOR = "#C8C8C8"  # a tag spaCy might add that is not in POS_FAMILIES
# Word categories take the colour of the POS family they resemble (an entity is a name, ...).
CATEGORY_COLORS = {"entity": "#1B7837", "domain term": "#762A83", "stopword": "#35978F", "adjective": "#E08214",
                   "punctuation": "#525252", "number": "#8C510A", "other": "#A6A6A6"}
CATEGORY_SYMBOLS = {"entity": "circle", "domain term": "diamond", "stopword": "square", "adjective": "triangle-up",
                    "punctuation": "x", "number": "cross", "other": "triangle-down"}  # a second cue besides hue
CATEGORY_PALETTE = tuple(CATEGORY_COLORS[c] for c in CATEGORIES)  # in stats.CATEGORIES order
STATUS_COLORS = {STATUSES[0]: "#3B3B3B", STATUSES[1]: "#949494"}  # retained / pruned: lightness alone (3:1 on white)
PRUNED_OVERLAY = "rgba(90, 90, 90, 0.55)"  # shade over pruned cells of the score heat map
PRUNED_STYLE = "opacity:.35;text-decoration:line-through"  # pruned pieces in sentence.layer_text_html
UNSEEN_STYLE = "color:#999;font-style:italic"  # text after the last token (truncated input)
MAX_CONTINUOUS_LEVELS = 20  # an integer colour column with more distinct values is continuous
FACET_COLS = 4  # class panels per row in faceted charts

# Text sizes in px, read on a projector from the back of a room (the issue asked for >= 14 px).
FONT_SIZE = 16  # body text, axis titles, cell text
SMALL_FONT_SIZE = 14  # tick labels, legend, hover, annotations: the smallest text on any chart
TITLE_FONT_SIZE = 20


def _template() -> go.layout.Template:
    """plotly_white with projector-sized text and the Okabe-Ito colours as the default colourway."""
    template = go.layout.Template(pio.templates["plotly_white"])
    template.layout.update(font=dict(size=FONT_SIZE), title_font_size=TITLE_FONT_SIZE,
                           legend_font_size=SMALL_FONT_SIZE, hoverlabel_font_size=SMALL_FONT_SIZE,
                           colorway=list(OKABE_ITO.values())[1:] + ["#000000"])
    for axis in ("xaxis", "yaxis"):
        template.layout[axis].update(tickfont_size=SMALL_FONT_SIZE, title_font_size=FONT_SIZE, automargin=True)
    return template


TEMPLATE = _template()
TEMPLATE_NAME = "ltp-lens"
pio.templates[TEMPLATE_NAME] = TEMPLATE  # registered only; plotly's default stays the caller's choice


def use_as_default() -> None:
    """Make ``TEMPLATE`` plotly's default in this process (the dashboard does, once): figures then
    start from it and ``finish`` need not validate a copy of it per figure (~4 ms each)."""
    pio.templates.default = TEMPLATE_NAME


def method_color(name: str, index: int = 0) -> str:
    """The colour of a method or run by its name ("LTP (hard)", "pruning off", "top-k matched", ...);
    a name of no known method gets the ``index``-th spare Okabe-Ito colour."""
    text = str(name).lower()
    if "top-k" in text or "topk" in text:
        return METHOD_COLORS["top-k (linear)" if "linear" in text else "top-k"]
    if "baseline" in text:
        return METHOD_COLORS["baseline"]
    if any(k in text for k in ("pruning off", "unpruned", "no pruning", "not pruned", "none")):
        return METHOD_COLORS["pruning off"]
    if any(k in text for k in ("ltp", "pruned", "pruning on", "hard", "shipped")):
        return METHOD_COLORS["LTP"]
    return OTHER_METHOD_COLORS[index % len(OTHER_METHOD_COLORS)]


def class_colors(label_names: Sequence[str]) -> dict[str, str]:
    """One fixed colour per class name (palette order = class index), cycling past 9 classes."""
    if isinstance(label_names, str) or not isinstance(label_names, Sequence):
        raise ValueError("label_names must be a list of class names, e.g. ['World', 'Sports'].")
    return {str(name): CLASS_PALETTE[i % len(CLASS_PALETTE)] for i, name in enumerate(label_names)}


def category_colors() -> dict[str, str]:
    """One fixed colour per word category of ``stats.CATEGORIES``."""
    return {name: CATEGORY_COLORS[name] for name in CATEGORIES}


def pos_colors(tags: Sequence[str] | None = None) -> dict[str, str]:
    """A colour per POS tag, grouped by family (nouns green, verbs purple, modifiers orange, function
    words teal, the rest brown and grey); ``tags``: the tags to colour (default every known one)."""
    return {str(t): POS_COLORS.get(str(t), OTHER_POS_COLOR) for t in (POS_COLORS if tags is None else tags)}


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming the columns a chart needs (``what``: the chart's name)."""
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{what} needs a pandas DataFrame, got {type(df).__name__}.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs column(s) {missing}; build the table with ltp.analysis.stats.")


def finish(fig: go.Figure, title: str | None, **layout) -> go.Figure:
    """Shared layout: the template, projector-sized text everywhere (no tick label, legend,
    annotation or cell text under ``SMALL_FONT_SIZE``), the title and compact margins."""
    layout = {"uniformtext": dict(minsize=SMALL_FONT_SIZE, mode="show"), **layout}  # a chart may hide what cannot fit
    if pio.templates.default != TEMPLATE_NAME:  # else the figure started from it (use_as_default)
        layout["template"] = TEMPLATE
    fig.update_layout(title=title, font_size=FONT_SIZE, legend_font_size=SMALL_FONT_SIZE,
                      hoverlabel_font_size=SMALL_FONT_SIZE, margin=dict(l=70, r=20, t=70 if title else 30, b=60),
                      **layout)
    fig.update_xaxes(tickfont_size=SMALL_FONT_SIZE, title_font_size=FONT_SIZE)
    fig.update_yaxes(tickfont_size=SMALL_FONT_SIZE, title_font_size=FONT_SIZE)
    fig.for_each_annotation(lambda a: a.update(font_size=max(a.font.size or FONT_SIZE, SMALL_FONT_SIZE)))
    for trace in fig.data:  # text drawn on bars and cells
        if "textfont" in trace and trace.text is not None:
            trace.textfont.size = max(trace.textfont.size or SMALL_FONT_SIZE, SMALL_FONT_SIZE)
    return fig


def class_name(value: object, label_names: Sequence[str] | None) -> str:
    """A class index shown as its name when names are known ("all" and names pass through)."""
    if label_names is not None and isinstance(value, (int, np.integer)) and 0 <= int(value) < len(label_names):
        return str(label_names[int(value)])
    return str(value)


def floats(values: Sequence[float | None]) -> np.ndarray:
    """A float array with None as NaN."""
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)
