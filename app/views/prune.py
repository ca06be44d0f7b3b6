"""Prune a sentence: which tokens survive each layer, the prediction with and without
pruning, and what pruning saved for this one input."""

import numpy as np
import streamlit as st

import dashboard as db
import support as sup
from ltp import viz
from ltp.checkpoint import CheckpointError
from ltp.results import pruning_mode
from ltp.text import InputError
from ltp.trace import alive_masks, heatmap_inputs, layer_rows, prune_summary, seen_text, trace

TEXT_KEY = "prune_text"


@st.cache_data(show_spinner="Running the model…", max_entries=64)
def traces(path: str, config_stamp: float, text: str, quantization: str = "none"):
    """Trace one text with pruning (the checkpoint's hard or top-k mode) and with pruning off
    (cached per checkpoint, quantization and text)."""
    model = db.model_for(path, quantization)
    ck = model.ckpt
    pruning = pruning_mode(ck.model.mode)
    with model.lock, sup.torch_threads():
        return tuple(trace(ck.model, ck.tokenizer, text, ck.max_length, ck.label_names, ck.truncation, mode)
                     for mode in (pruning, "none"))


def random_example(rows, label_names) -> None:
    """Button callback: put a random test text into the text area."""
    i = int(np.random.default_rng().integers(len(rows)))
    st.session_state[TEXT_KEY] = rows["text"].iloc[i]
    st.session_state["prune_example"] = (int(rows.index[i]), label_names[int(rows["label"].iloc[i])])


def input_area(sel: db.Selection) -> str:
    st.session_state.setdefault(TEXT_KEY, sup.DEFAULT_SENTENCE)
    rows = db.split_for(sel.dataset)
    text = st.text_area("Text to classify", key=TEXT_KEY, height=110,
                        max_chars=sup.PUBLIC_MAX_CHARS if sup.public_mode() else None,
                        help="Ctrl+Enter (or click outside) applies the text.")
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.button("Prune", type="primary", key="prune_run", icon=":material/content_cut:")
    if rows is not None:
        right.button("Random test example", key="prune_random", on_click=random_example,
                     args=(rows, sel.card["labels"]))
        example = st.session_state.get("prune_example")
        if example and example[0] in rows.index and st.session_state.get(TEXT_KEY) == rows["text"].get(example[0]):
            st.caption(f"Test example #{example[0]} of {sel.dataset}; gold class: {example[1]}.")
    else:
        hint = sup.prepare_hint(sel.dataset or "NAME", sup.data_dir(db.REPO))
        right.caption(f"Random test examples need the data set: `{hint}`")
    return text or ""


def headline(sel, hard, none) -> None:
    s = prune_summary(hard, none)
    cols = st.columns(4)
    cols[0].metric("Prediction with LTP", hard.prediction, f"{hard.probabilities[hard.prediction]:.1%} confidence",
                   delta_color="off", delta_arrow="off")
    cols[1].metric("Without pruning", none.prediction, "same" if s["same_prediction"] else "differs",
                   delta_color="off" if s["same_prediction"] else "red", delta_arrow="off")
    cols[2].metric("FLOPs", f"{s['flops'] / 1e6:,.1f} M",
                   f"-{s['flops_saved']:.0%} of {s['flops_unpruned'] / 1e6:,.1f} M ({s['flops_reduction']:.2f}x fewer)",
                   delta_color="inverse")
    cols[3].metric("Model time (this input)", f"{s['ms_hard']:.1f} ms", f"{s['ms_hard'] - s['ms_none']:+.1f} ms vs "
                   f"{s['ms_none']:.1f} ms unpruned", delta_color="inverse",
                   help="Wall time of one forward pass on this server's CPU/GPU; it varies run to run.")


def per_layer(sel, hard) -> None:
    st.subheader("Layer by layer")
    shown, hidden = seen_text(hard)
    if hidden:
        which = ("the first quarter and the last three quarters of its" if sel.card.get("truncation") == "head+tail"
                 else "the first")
        st.info(f"The text is longer than the model's max length: only {which} {hard.input_tokens} tokens "
                f"(special tokens included) were used; {hidden:,} characters were not seen by the model "
                + ("(the cut-out middle is marked in grey italics below)." if sel.card.get("truncation") == "head+tail"
                   else "(they are left out below)."))
    st.caption("Faded, struck-through pieces have been pruned by that layer; [CLS] and [SEP] are counted "
               "but not shown.")
    st.html(viz.layers_table_html(sup.printable(shown), hard.offsets, hard.special, alive_masks(hard)))


def charts_row(sel, hard, none) -> None:
    left, right = st.columns(2)
    with left:
        counts = {"LTP (hard)": [lt.count for lt in hard.layers], "pruning off": [lt.count for lt in none.layers]}
        db.chart(viz.tokens_alive_chart(counts, input_tokens=hard.input_tokens), "tokens-alive")
    with right:
        db.chart(viz.probabilities_chart(hard.probabilities, none.probabilities, ("LTP (hard)", "pruning off")),
                 "class-probabilities")
    tokens, scores, thresholds, alive = heatmap_inputs(hard)
    db.chart(viz.score_heatmap(tokens, scores, thresholds, alive,
                                  title="Importance score per layer (grey: pruned; hover for the threshold)"),
             "importance-heatmap")
    db.table(layer_rows(hard), "layers")


sel = db.require_checkpoint()
st.title("Prune a sentence")
st.caption(f"`{sel.shown}` — {sel.card['num_layers']} layers; classes: {', '.join(sel.card['labels'])}"
           + ("; int8 linear layers (torchao)" if sel.quantization == "int8" else ""))
text = input_area(sel)
if not text.strip():
    st.warning("The text is empty: type a sentence to classify.")
    st.stop()
try:
    hard, none = traces(str(sel.path), sup.stamp(sel.path / "config.json"), text, sel.quantization)
except (CheckpointError, InputError, ValueError, RuntimeError) as err:
    st.error(sup.redact(str(err), db.REPO))
    st.stop()
if pruning_mode(sel.card["mode"]) != sel.card["mode"]:
    st.info(f"This checkpoint's own mode is {sel.card['mode']!r} ({sel.card['stage']} stage); the view applies "
            "its thresholds with hard pruning anyway.")
headline(sel, hard, none)
per_layer(sel, hard)
charts_row(sel, hard, none)
