"""About LTP: how learned token pruning works, in a few paragraphs and one diagram."""

import streamlit as st

import dashboard as db
from support import bench_speed, markup
from ltp import viz
from ltp.results import load_results

# An illustration (not a measurement): which tokens of the sentence stay alive after each of
# six layers, in the spirit of the paper's 15 -> 11 -> 4 -> 2 example.
TOKENS = ["[CLS]", "this", "is", "the", "best", "restaurant", ",", "and", "i", "will", "be", "returning", "for",
          "another", "meal", ".", "[SEP]"]
KEEP_UNTIL = {"[CLS]": 6, "best": 6, "restaurant": 5, "returning": 5, "meal": 4, "another": 3, "this": 3, "[SEP]": 2,
              "will": 2, "the": 2, ".": 2}


def illustration() -> list[list[bool]]:
    """L x T alive flags of the illustration: a token lives through layer KEEP_UNTIL (default 1)."""
    return [[KEEP_UNTIL.get(t, 1) >= layer for t in TOKENS] for layer in range(1, 7)]


def time_vs_flops_text() -> str:
    """What the stored numbers of the selected model say about time vs FLOPs (or how to get them)."""
    sel = db.current()
    if sel.path is None:
        return "Pick a model in the sidebar to compare its measured speed with its FLOPs reduction."
    try:
        found = bench_speed.time_vs_flops(load_results(sel.path))
    except ValueError:  # a damaged results file: the Performance page says what to rerun
        found = None
    if found is None:
        return (f"**{markup.escape_md(sel.path.name)}** has no stored benchmark and pruned evaluation to compare; "
                f"`ltp evaluate --checkpoint {sel.in_command} --mode both` and `ltp bench --checkpoint "
                f"{sel.in_command}` measure them.")
    return bench_speed.time_vs_flops_sentence(found, sel.path.name)


st.title("How Learned Token Pruning works")
st.markdown("""
A transformer encoder treats every token of a text at every layer, so its cost grows with the text's
length. Yet after a few layers many tokens — *the*, *and*, punctuation — no longer matter for the
decision. **Learned Token Pruning** (LTP; Kim et al., KDD 2022) removes them as the text flows
through the layers, so later layers work on fewer tokens.

**Importance score.** At each layer every token gets a score: the attention it *receives* from the
other tokens, summed over all heads and all tokens still alive, divided by a constant (the number of
heads times the training length). A token the others keep looking at is important.

**Thresholds.** Each layer has one threshold, learned during training. A token whose score falls
below its layer's threshold is pruned, and a pruned token never comes back. Layer 1 never prunes,
and the classification token ([CLS]) always stays, because the classifier reads it at the end.

**Soft, then hard.** Training first uses a *soft* mask: instead of deleting a token, its output is
scaled by a smooth number between 0 and 1, so the thresholds can be learned by gradient descent; a
penalty on the masks pushes the model to prune. Then the masks are made *hard* (0 or 1), the
thresholds are frozen, and the weights are fine-tuned for a while to recover accuracy.

**Real removal.** In this project a pruned token is actually taken out of the computation: the
tokens still alive are gathered into a shorter sequence, so the speed-up shows on a clock, not only on
paper.

**What the FLOPs number means.** FLOPs count the multiply-adds of the encoder layers: attention
projections and the feed-forward block grow with the number of tokens, attention scores with its
square. *3x fewer FLOPs* means the pruned model did a third of the arithmetic the unpruned one does on
the same text. Measured time need not shrink by the same factor: some costs (embeddings, Python
overhead) do not shrink with the token count, while others that FLOPs do not count (moving
activations through memory, padding in a batch) shrink with it. Which way it goes depends on the
model, the texts and the machine, so `ltp bench` measures it.
""")
st.markdown(time_vs_flops_text())
alive = illustration()
db.chart(viz.token_flow_chart(TOKENS, alive, title="Illustration: tokens flowing through six layers "
                                                      "(x: pruned at that layer)"), "token-flow")
st.caption("An illustration, not a measurement: try your own sentence on the *Prune a sentence* page to see what "
           "the selected model really keeps.")
