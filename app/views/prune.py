"""Prune a sentence: which tokens are alive after each layer, the prediction with and without pruning,
what pruning saved for this one input, and what other thresholds (or top-k at the same FLOPs)
would have done to it. A presentation mode shows the same in large type, one layer at a time."""

import numpy as np
import streamlit as st

import dashboard as db
from support import live_text, markup, places, threads, what_if
from support.live_runs import LiveRuns
import timing
from ltp import viz
from ltp.errors import CheckpointError
from ltp.results import pruning_mode
from ltp.text import InputError
from ltp.trace import (alive_masks, compare_rows, heatmap_inputs, layer_rows, never_pruning_layers, prune_summary,
                       same_flops_topk, seen_text, threshold_text, time_modes, trace)

# Session-state keys: the page's state, then its widgets' own keys.
TEXT_KEY = "prune_text"  # the text box
PICK_KEY = "prune_example_pick"  # the example pills (cleared after each pick)
PRESENT_KEY = "prune_present"  # presentation mode
STEP_KEY = "prune_step"  # presentation mode's stepper: layers revealed (0: the input)
VIEW_KEY = "prune_view"  # the run the layer table shows
STRENGTH_KEY = "whatif_strength"  # the what-if's pruning strength
WHATIF_LAYER_KEY = "whatif_l{}"  # one layer's what-if threshold (format with the layer, 1-based)
OWNER_KEY = "prune_owner"  # the checkpoint that the text, what-if and stepper state belong to
OWNER_EXAMPLES_KEY = "prune_owner_examples"  # that checkpoint's example texts
DRAWN_KEY = "prune_example"  # a random test text: (row, gold class, text as shown, cut to the demo's limit)
TIMED_KEY = "prune_timed"  # the (checkpoint, quantization, text) whose model time was asked for
RUN_BUTTON_KEY, RANDOM_BUTTON_KEY, TIME_BUTTON_KEY = "prune_run", "prune_random", "prune_time"
STEP_BACK_KEY, STEP_NEXT_KEY, RESET_KEY = "prune_step_back", "prune_step_next", "whatif_reset"
TIMING_RUNS = 7  # forward passes per mode behind the model time shown (their median)
STRENGTH_RANGE = (0.0, 3.0)


def layer_key(layer: int) -> str:
    return WHATIF_LAYER_KEY.format(layer)


# --------------------------------------------------------------------------- model calls (cached)


def _run(path: str, quantization: str, **kw):
    """One trace of the cached model, under its lock, with the interactive thread count."""
    model = db.model_for(path, quantization)
    ck = model.ckpt
    with model.lock, threads.torch_threads():
        return trace(ck.model, ck.tokenizer, kw.pop("text"), ck.max_length, ck.label_names, ck.truncation, **kw)


@st.cache_data(show_spinner="Running the model…", max_entries=64)
def traces(path: str, config_stamp: float, text: str, quantization: str, pruning: str) -> LiveRuns:
    """Trace one text with pruning (``pruning``: the checkpoint's hard or top-k mode) and with pruning
    off (cached per checkpoint, quantization and text)."""
    return LiveRuns(pruned=_run(path, quantization, text=text, mode=pruning),
                    unpruned=_run(path, quantization, text=text, mode="none"))


@st.cache_data(show_spinner=False, max_entries=256)
def whatif_trace(path: str, config_stamp: float, text: str, quantization: str, thresholds: tuple[float, ...]):
    """The text under hard pruning with other thresholds (the model's own removal path)."""
    return _run(path, quantization, text=text, mode="hard", thresholds=list(thresholds))


@st.cache_data(show_spinner=False, max_entries=64)
def topk_trace(path: str, config_stamp: float, text: str, quantization: str, n_tokens: int, flops: float):
    """The text under top-k, its per-layer fractions (the paper's linear schedule) chosen so that
    its FLOPs on this input come closest to ``flops``."""
    m = db.model_for(path, quantization).ckpt.model
    keep = same_flops_topk(n_tokens, flops, m.num_layers, m.hidden_size, m.intermediate_size)
    return _run(path, quantization, text=text, mode="topk", topk_keep=keep)


@st.cache_data(show_spinner="Timing the model…", max_entries=64)
def timings(path: str, config_stamp: float, text: str, quantization: str, modes: tuple[str, ...]):
    """Seconds of TIMING_RUNS interleaved forward passes per mode (``time_modes``)."""
    model = db.model_for(path, quantization)
    ck = model.ckpt
    with model.lock, threads.torch_threads():
        return time_modes(ck.model, ck.tokenizer, text, ck.max_length, ck.truncation, modes, TIMING_RUNS)


# --------------------------------------------------------------------------- state and callbacks


def set_strength(learned: list[float], first: int = 2) -> None:
    """Slider callback: every what-if threshold becomes the learned one times the strength."""
    scaled = what_if.scaled_thresholds(learned, st.session_state[STRENGTH_KEY], first_layer_prunes=first == 1)
    for layer, t in enumerate(scaled[first - 1:], start=first):
        st.session_state[layer_key(layer)] = t


def reset_whatif(learned: list[float] | None, first: int = 2) -> None:
    """Back to the learned thresholds (strength 1)."""
    st.session_state[STRENGTH_KEY] = 1.0
    for layer, t in enumerate((learned or [])[first - 1:], start=first):
        st.session_state[layer_key(layer)] = float(t)


def adopt_checkpoint(sel, examples: list[dict], learned: list[float] | None) -> None:
    """On a newly chosen checkpoint: open on its first example (unless the text is the user's
    own), learned thresholds, the stepper at the input. On every run: the page's state exists
    (Streamlit drops a widget's value while another page is shown)."""
    owner = str(sel.path)
    if st.session_state.get(OWNER_KEY) != owner:
        previous = set(st.session_state.get(OWNER_EXAMPLES_KEY, [])) | {live_text.DEFAULT_SENTENCE}
        drawn = st.session_state.pop(DRAWN_KEY, None)  # a random test text of the previous data set
        if drawn:
            previous.add(drawn[2])
        if st.session_state.get(TEXT_KEY, live_text.DEFAULT_SENTENCE) in previous:
            st.session_state[TEXT_KEY] = examples[0]["text"]
        reset_whatif(learned, what_if.first_whatif_layer(sel.card))
        st.session_state[STEP_KEY] = 0
        st.session_state[OWNER_KEY] = owner
        st.session_state[OWNER_EXAMPLES_KEY] = [e["text"] for e in examples]
    st.session_state.setdefault(TEXT_KEY, examples[0]["text"])
    st.session_state.setdefault(STEP_KEY, 0)
    first = what_if.first_whatif_layer(sel.card)
    if STRENGTH_KEY not in st.session_state or any(layer_key(l) not in st.session_state
                                                   for l in range(first, len(learned or []) + 1)):
        reset_whatif(learned, first)


def pick_example(examples: list[dict]) -> None:
    """Pills callback: put the chosen example into the text box (the pill does not stay lit)."""
    i = st.session_state.get(PICK_KEY)
    if i is not None:
        st.session_state[TEXT_KEY] = examples[i]["text"]
        st.session_state.pop(DRAWN_KEY, None)
    st.session_state[PICK_KEY] = None


def random_example(rows, label_names) -> None:
    """Button callback: put a random test text into the text area, as a reader sees it (entities
    decoded, <br /> and tags blanked), cut to the public demo's limit there."""
    i = int(np.random.default_rng().integers(len(rows)))
    shown, cut = live_text.fit_text(live_text.reader_text(rows["text"].iloc[i]), places.PUBLIC_MAX_CHARS if places.public_mode() else None)
    st.session_state[TEXT_KEY] = shown
    st.session_state[DRAWN_KEY] = (int(rows.index[i]), label_names[int(rows["label"].iloc[i])], shown, cut)


def step(delta: int, n_layers: int) -> None:
    st.session_state[STEP_KEY] = int(min(n_layers, max(0, st.session_state.get(STEP_KEY, 0) + delta)))


# --------------------------------------------------------------------------- sections


def input_area(sel: db.Selection, examples: list[dict]) -> str:
    rows = db.split_for(sel.dataset)
    text = st.text_area("Text to classify", key=TEXT_KEY, height=110,
                        max_chars=places.PUBLIC_MAX_CHARS if places.public_mode() else None,
                        help="Ctrl+Enter (or click outside) applies the text.")
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.button("Prune", type="primary", key=RUN_BUTTON_KEY, icon=":material/content_cut:")
    if rows is not None:
        right.button("Random test example", key=RANDOM_BUTTON_KEY, on_click=random_example,
                     args=(rows, sel.card["labels"]))
        example = st.session_state.get(DRAWN_KEY)
        if example and st.session_state.get(TEXT_KEY) == example[2]:
            st.caption(f"Test example #{example[0]} of {sel.dataset}; gold class: {example[1]}"
                       + (" (cut to the demo's text limit)." if example[3] else "."))
    else:
        hint = places.prepare_hint(sel.dataset or "NAME", places.data_dir(db.REPO))
        right.caption(f"Random test examples need the data set: `{hint}`")
    if len(examples) > 1:
        st.pills("Examples for this model", range(len(examples)), key=PICK_KEY,
                 format_func=lambda i: live_text.example_label(examples[i]), on_change=pick_example, args=(examples,))
    return text or ""


def headline(runs: LiveRuns):
    """The four headline metrics; returns the slot the model time goes into (filled last, so
    that timing never delays the layer table)."""
    pruned, none = runs.pruned, runs.unpruned
    s = prune_summary(pruned, none)
    cols = st.columns(4)
    cols[0].metric("Prediction with LTP", pruned.prediction, f"{pruned.probabilities[pruned.prediction]:.1%} confidence",
                   delta_color="off", delta_arrow="off")
    cols[1].metric("Without pruning", none.prediction, "same" if s["same_prediction"] else "differs",
                   delta_color="off" if s["same_prediction"] else "red", delta_arrow="off")
    cols[2].metric("FLOPs", f"{s['flops'] / 1e6:,.1f} M",
                   f"-{s['flops_saved']:.0%} of {s['flops_unpruned'] / 1e6:,.1f} M ({s['flops_reduction']:.2f}x fewer)",
                   delta_color="inverse")
    return cols[3].empty()


def request_timing(key: str) -> None:
    st.session_state[TIMED_KEY] = key


def model_time(slot, sel, text: str, runs: LiveRuns) -> None:
    """The median model time of this input, pruned and unpruned (TIMING_RUNS runs each), on request:
    the 2 x TIMING_RUNS forward passes cost several times what the rest of a submission does, so a
    class submitting at once does not pay for timings nobody asked for."""
    key = f"{sel.path}\x1f{sel.quantization}\x1f{text}"
    if st.session_state.get(TIMED_KEY) != key:
        slot.button("Time this input", key=TIME_BUTTON_KEY, on_click=request_timing, args=(key,),
                    icon=":material/timer:", width="stretch",
                    help=f"Runs the model {TIMING_RUNS} times pruned and {TIMING_RUNS} times unpruned on this "
                         "server and shows the median time of each (a single run varies too much to compare).")
        return
    times = timings(str(sel.path), places.stamp(sel.path / "config.json"), text, sel.quantization,
                    (runs.pruned.mode, "none"))
    s = prune_summary(runs.pruned, runs.unpruned, times)
    (lo_h, hi_h), (lo_n, hi_n) = s["ms_hard_range"], s["ms_none_range"]
    slot.metric("Model time (this input)", f"{s['ms_hard']:.1f} ms",
                f"{s['ms_hard'] - s['ms_none']:+.1f} ms vs {s['ms_none']:.1f} ms unpruned", delta_color="inverse",
                help=f"Median of {s['runs']} forward passes each, pruned and unpruned taking turns after a warm-up, "
                     f"on this server's CPU/GPU with one thread (pruned {lo_h:.1f}–{hi_h:.1f} ms, unpruned "
                     f"{lo_n:.1f}–{hi_n:.1f} ms). A single run varies too much to compare.")


def layer_notes(tr) -> dict[int, str]:
    """Short notes under the layer labels: layers that never prune, and what the last layer does."""
    notes = {} if tr.first_layer_prunes else {1: "never prunes"}
    if tr.mode == "hard":
        notes.update({layer: "threshold below 0: never prunes" for layer in never_pruning_layers(tr)})
    last = tr.layers[-1].layer
    if last > 1:
        n = tr.layers[-2].count
        notes[last] = (f"reads the {n} token{'' if n == 1 else 's'} of layer {last - 1}; only [CLS] goes on to "
                       "the classifier")
    return notes


def per_layer(sel, shown_runs: dict, ltp_name: str, present: bool) -> None:
    """The layer table of one run (LTP at the thresholds set below, top-k or pruning off); in
    presentation mode revealed one layer at a time."""
    st.subheader("Layer by layer")
    first = next(iter(shown_runs))
    view = st.segmented_control("Show", list(shown_runs), key=VIEW_KEY, default=first, required=True,
                                help=f"{first}: {ltp_name}, at the thresholds set under Threshold what-if.")
    tr = shown_runs.get(view, shown_runs[first])
    n_layers = len(tr.layers)
    upto = None
    if present:
        back, slider, fwd = st.columns([1, 6, 1], vertical_alignment="bottom")
        back.button("◀ Back", key=STEP_BACK_KEY, on_click=step, args=(-1, n_layers), width="stretch")
        slider.select_slider("Reveal up to", list(range(n_layers + 1)), key=STEP_KEY,
                             format_func=lambda k: "the input" if k == 0 else f"layer {k}")
        fwd.button("Next layer ▶", key=STEP_NEXT_KEY, on_click=step, args=(1, n_layers), width="stretch")
        upto = st.session_state[STEP_KEY]
    shown, hidden = seen_text(tr)
    if hidden:
        which = ("the first quarter and the last three quarters of its" if sel.card.get("truncation") == "head+tail"
                 else "the first")
        st.info(f"The text is longer than the model's max length: only {which} {tr.input_tokens} tokens "
                f"(special tokens included) were used; {hidden:,} characters were not seen by the model "
                + ("(the cut-out middle is marked in grey italics below)." if sel.card.get("truncation") == "head+tail"
                   else "(they are left out below)."))
    if not present:
        st.caption("Grey, struck-through pieces have been pruned by that layer; [CLS] and [SEP] are counted "
                   "but not shown.")
    result = f"{tr.prediction} ({tr.probabilities[tr.prediction]:.0%})"
    st.html(viz.layers_table_html(markup.printable(shown), tr.offsets, tr.special, alive_masks(tr), upto=upto,
                                  presentation=present, notes=layer_notes(tr), result=result))
    never = never_pruning_layers(tr)
    if never:
        names = ", ".join(str(n) for n in never)
        st.caption(f"Layer{'s' if len(never) > 1 else ''} {names} never prune{'' if len(never) > 1 else 's'}: "
                   f"{'their thresholds are' if len(never) > 1 else 'its threshold is'} below 0, and a token's "
                   "importance score (the attention it receives) is never negative, so no token can fall under "
                   "it." + ("" if tr.first_layer_prunes else
                            " Layer 1 never prunes either: this model's pruning starts after layer 2's attention."))


def whatif_controls(learned: list[float], first: int = 2) -> tuple[float, ...]:
    """Pruning strength, per-layer thresholds and the reset; returns the what-if thresholds."""
    st.subheader("Threshold what-if")
    st.caption("Re-prune this text with other thresholds: the same weights, the model's own hard pruning "
               "(tokens are really removed), so which tokens stay alive, FLOPs and the prediction move for real.")
    left, right = st.columns([3, 1.25], vertical_alignment="bottom")
    left.slider("Pruning strength (× the learned thresholds)", *STRENGTH_RANGE, step=0.05, key=STRENGTH_KEY,
                on_change=set_strength, args=(learned, first), format="%.2f×",
                help="0 keeps every token; 1 is what training learned; above 1 prunes harder. A threshold below 0 "
                     "stays below 0 (its layer keeps never pruning): set it by hand below.")
    right.button("Back to the learned thresholds", key=RESET_KEY, on_click=reset_whatif, args=(learned, first),
                 icon=":material/restart_alt:", width="stretch")
    with st.expander("Per-layer thresholds"):
        cols = st.columns(max(1, len(learned) - first + 1))
        for col, layer in zip(cols, range(first, len(learned) + 1)):
            col.number_input(f"Layer {layer}", min_value=-1.0, max_value=1.0, step=0.001, format="%.5f",
                             key=layer_key(layer), help=f"learned: {learned[layer - 1]:.5f}")
    return tuple(learned[: first - 1] + [float(st.session_state[layer_key(layer)])
                                         for layer in range(first, len(learned) + 1)])


def comparison(runs: LiveRuns) -> None:
    """Every run of this text side by side: prediction, tokens per layer, FLOPs."""
    table = compare_rows(runs.named(), runs.unpruned)
    shown = table.assign(confidence=table["confidence"].map("{:.1%}".format),
                         flops_m=table["flops_m"].map("{:,.1f} M".format),
                         flops_reduction=table["flops_reduction"].map(lambda x: "–" if x is None else f"{x:.2f}x"),
                         same_as_unpruned=table["same_as_unpruned"].map({True: "yes", False: "no"}))
    st.table(shown.rename(columns={"run": "run", "tokens_per_layer": "tokens: input → layer 1 … L",
                                   "flops_m": "FLOPs", "flops_reduction": "fewer FLOPs",
                                   "same_as_unpruned": "answer as unpruned"}).set_index("run"))
    db.download(table, "runs")
    if not runs.own_topk:
        st.caption("Top-k keeps a fixed share of the input at each layer (the paper's linear schedule, its slope "
                   "chosen so that its FLOPs on this input come closest to LTP's). Top-k with LTP's own "
                   "per-layer counts would keep exactly LTP's tokens on a single input; the difference between "
                   "the methods is that LTP's thresholds adapt the counts to each input.")


def readable(fig, present: bool):
    """Chart text of at least 14 px (18 in presentation mode)."""
    fig.update_layout(font=dict(size=18 if present else 14))
    return fig


def charts_row(runs: LiveRuns, present: bool) -> None:
    """Tokens alive per layer of every run, class probabilities, the importance heatmap and the layer table."""
    ltp, ltp_name, none = runs.ltp, runs.ltp_name, runs.unpruned
    left, right = st.columns(2)
    with left:
        counts = {name: [lt.count for lt in tr.layers] for name, tr in runs.named().items()}
        db.chart(readable(viz.tokens_alive_chart(counts, input_tokens=ltp.input_tokens), present), "tokens-alive")
    with right:
        db.chart(readable(viz.probabilities_chart(ltp.probabilities, none.probabilities, (ltp_name, "pruning off")),
                          present), "class-probabilities")
    tokens, scores, thresholds, alive = heatmap_inputs(ltp)
    title = f"{ltp_name}: each token's score against its layer's threshold (× marks a token that layer removed)"
    if ltp.mode == "topk":  # a fixed share per layer: no threshold to stand against
        thresholds = [None] * len(thresholds)
        title = f"{ltp_name}: each token's importance score (× marks a token that layer removed)"
    fig = viz.score_heatmap(tokens, scores, thresholds, alive, title=title,
                            no_threshold="top-k, no threshold" if ltp.mode == "topk" else "never prunes")
    db.chart(readable(fig, present), "importance-heatmap")
    rows = layer_rows(ltp).assign(threshold=lambda d: d["threshold"].map(threshold_text))
    db.table(rows, "layers")


def pruned_and_unpruned(sel, text: str, pruning: str) -> LiveRuns:
    """The text with the checkpoint's own pruning and with pruning off; an error stops the page."""
    try:
        runs = traces(str(sel.path), places.stamp(sel.path / "config.json"), text, sel.quantization, pruning)
    except (CheckpointError, InputError, ValueError, RuntimeError) as err:
        st.error(places.redact(str(err), db.REPO))
        st.stop()
    timing.mark("model: pruned and unpruned")
    return runs


def whatif_section(sel, runs: LiveRuns, text: str, learned: list[float] | None) -> None:
    """The what-if controls, and into ``runs`` the what-if run (when its thresholds differ from the
    learned ones) and top-k at the same FLOPs."""
    if runs.own_topk or learned is None:
        st.subheader("Threshold what-if")
        st.caption("This checkpoint prunes by top-k (a fixed share per layer): it has no learned thresholds to "
                   "change." if runs.own_topk else "This checkpoint stores no thresholds to change.")
        return
    path, stamp = str(sel.path), places.stamp(sel.path / "config.json")
    wanted = whatif_controls(learned, what_if.first_whatif_layer(sel.card))
    try:
        if any(abs(w - t) > 1e-9 for w, t in zip(wanted, learned)):
            runs.whatif = whatif_trace(path, stamp, text, sel.quantization, wanted)
        runs.topk = topk_trace(path, stamp, text, sel.quantization, runs.pruned.input_tokens, runs.pruned.flops)
    except (CheckpointError, InputError, ValueError, RuntimeError) as err:
        st.warning(f"The what-if could not run: {places.redact(str(err), db.REPO)}")


def live(sel, text: str, learned: list[float] | None, present: bool) -> None:
    """Everything the page shows for one text: the model runs, the what-if, the layer table, the charts."""
    pruning = pruning_mode(sel.card["mode"])  # the one place the page decides what "pruning on" runs
    runs = pruned_and_unpruned(sel, text, pruning)
    if pruning != sel.card["mode"]:
        st.info(f"This checkpoint's own mode is {sel.card['mode']!r} ({sel.card['stage']} stage); the view applies "
                "its thresholds with hard pruning anyway.")
    time_slot = headline(runs)
    table_box, whatif_box = st.container(), st.container()  # the table shows first; the what-if is read first
    with whatif_box:
        whatif_section(sel, runs, text, learned)
        timing.mark("model: what-if and top-k")
        comparison(runs)
    with table_box:
        per_layer(sel, runs.layer_views(), runs.ltp_name, present)
    timing.mark("comparison and layer table")
    charts_row(runs, present)
    timing.mark("charts")
    model_time(time_slot, sel, text, runs)


# --------------------------------------------------------------------------- the page


sel = db.require_checkpoint()
examples, bad_examples = live_text.live_examples(sel.path)
learned = what_if.learned_thresholds(sel.card)
adopt_checkpoint(sel, examples, learned)
top, switch = st.columns([3, 1], vertical_alignment="bottom")
top.title("Prune a sentence")
present = switch.toggle("Presentation mode", key=PRESENT_KEY,
                        help="Large type, high-contrast alive / pruned words and a stepper that reveals the "
                             "sentence one layer at a time.")
st.caption(f"`{sel.shown}` — {sel.card['num_layers']} layers; classes: {', '.join(sel.card['labels'])}"
           + ("; int8 linear layers" if sel.quantization == "int8" else ""))
if bad_examples:
    st.warning(places.redact(bad_examples, db.REPO) + " The page opens on a generic sentence instead.")
text = input_area(sel, examples)
if not text.strip():
    st.warning("The text is empty: type a sentence to classify.")
    st.stop()
with db.one_live_page_at_a_time():  # see dashboard.one_live_page_at_a_time: faster for all under load
    timing.mark("waited for the live page")
    live(sel, text, learned, present)
