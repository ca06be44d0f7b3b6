"""The live page's model runs for one text, named by what each is (not by the label a table shows)."""

from __future__ import annotations

from dataclasses import dataclass

from ltp.trace import Trace

# The label each run has on the page (comparison table, charts, layer-table switch).
RUN_NAMES = {"ltp": "LTP (learned)", "whatif": "LTP (what-if)", "topk": "top-k, same FLOPs", "none": "pruning off",
             "own_topk": "top-k (this checkpoint)"}


@dataclass
class LiveRuns:
    """One text through the checkpoint: its own pruning, pruning off, and the optional comparisons."""

    pruned: Trace  # the checkpoint's own pruning: LTP at its learned thresholds, or its top-k
    unpruned: Trace  # the same weights with pruning off
    whatif: Trace | None = None  # LTP at the what-if thresholds, when they differ from the learned ones
    topk: Trace | None = None  # top-k at the pruned run's FLOPs on this input (LTP checkpoints only)

    @property
    def own_topk(self) -> bool:
        """The checkpoint itself prunes by top-k, so it has no thresholds for a what-if."""
        return self.pruned.mode == "topk"

    @property
    def pruned_name(self) -> str:
        return RUN_NAMES["own_topk"] if self.own_topk else RUN_NAMES["ltp"]

    @property
    def ltp(self) -> Trace:
        """The pruned run the layer table and charts show: the what-if's when there is one."""
        return self.whatif if self.whatif is not None else self.pruned

    @property
    def ltp_name(self) -> str:
        return RUN_NAMES["whatif"] if self.whatif is not None else self.pruned_name

    def named(self) -> dict[str, Trace]:
        """Every run under its label, in the comparison table's order."""
        runs = {self.pruned_name: self.pruned, RUN_NAMES["whatif"]: self.whatif, RUN_NAMES["topk"]: self.topk,
                RUN_NAMES["none"]: self.unpruned}
        return {name: tr for name, tr in runs.items() if tr is not None}

    def layer_views(self) -> dict[str, Trace]:
        """The runs the layer table can show, the pruned one first: LTP (or the checkpoint's top-k),
        top-k at the same FLOPs, pruning off."""
        views = {"top-k" if self.own_topk else "LTP": self.ltp, RUN_NAMES["topk"]: self.topk,
                 RUN_NAMES["none"]: self.unpruned}
        return {name: tr for name, tr in views.items() if tr is not None}
