"""Chart builders: plain data in, a plotly figure, PIL image or HTML out, split by view.

- ``sentence``: one text (tokens alive, score heat map, probabilities, struck-through text, token flow)
- ``corpus``: the analysis bundle (word frequencies and clouds, POS, categories, domain terms)
- ``performance``: measured results (confusion matrix, accuracy vs FLOPs, thresholds)
- ``embedding``: the embedding map scatter
- ``style``: one colour-blind-safe palette per meaning (methods, classes, retained vs pruned, parts of
  speech), the projector-sized template and shared helpers

Nothing here computes statistics (see ``ltp.analysis.stats``) or imports Streamlit, so the same
figures serve the app, notebooks and reports. Every builder is importable from ``ltp.viz``.
"""

from ltp.viz.corpus import (category_retention_chart, domain_retention_chart, pos_chart, retention_curves_chart,
                            word_cloud_image, word_depth_chart, word_frequency_chart)
from ltp.viz.embedding import embedding_scatter, embedding_scatter_colourings
from ltp.viz.performance import confusion_matrix_chart, thresholds_chart, tradeoff_chart
from ltp.viz.sentence import (UNSEEN_GAP_CHARS, layer_text_html, layers_table_html, probabilities_chart, score_heatmap,
                              token_flow_chart, tokens_alive_chart)
from ltp.viz.style import (CATEGORY_PALETTE, CLASS_PALETTE, LARGE_PALETTE, METHOD_COLORS, PALETTE, POS_COLORS,
                           PRUNED_STYLE, STATUS_COLORS, UNSEEN_STYLE, category_colors, class_colors, method_color,
                           pos_colors)

__all__ = [
    "category_retention_chart", "domain_retention_chart", "pos_chart", "retention_curves_chart", "word_cloud_image",
    "word_depth_chart", "word_frequency_chart", "embedding_scatter", "embedding_scatter_colourings",
    "confusion_matrix_chart", "thresholds_chart", "tradeoff_chart", "UNSEEN_GAP_CHARS", "layer_text_html", "layers_table_html", "probabilities_chart",
    "score_heatmap", "token_flow_chart", "tokens_alive_chart", "CATEGORY_PALETTE", "LARGE_PALETTE", "PALETTE",
    "PRUNED_STYLE", "STATUS_COLORS", "UNSEEN_STYLE", "category_colors", "class_colors", "CLASS_PALETTE",
    "METHOD_COLORS", "POS_COLORS", "method_color", "pos_colors",
]
