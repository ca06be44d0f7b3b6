"""The LTP training procedure on Hugging Face Accelerate.

Stages (each reads the previous stage's checkpoint and writes its own, so each can run alone):
    baseline  plain fine-tuning (pruning off)
    soft      stage 1: soft masks, thresholds and weights trained together
    hard      stages 2+3: thresholds binarised and frozen, weights fine-tuned with real removal
    topk      the comparison baseline: a fixed fraction kept after each layer, from a baseline
`accelerate launch -m ltp.cli train ...` runs the same code on several GPUs or nodes.

Where things are: config.py (TrainConfig and its checks), batches.py (the training rows and
their batch order), resume.py (the resume state on disk), loop.py (one epoch, validation),
controller.py (FLOPs target: controller and threshold calibration), stages.py (the run).
"""

from ltp.train.batches import LengthGroupedBatches, TrainData, load_train_data
from ltp.train.config import STAGE_MODE, THRESHOLD_STEP, TrainConfig
from ltp.train.controller import FlopsController, binarised_reduction, calibrate_thresholds
from ltp.train.loop import kept_fraction, validate
from ltp.train.stages import run_stage, train

__all__ = [
    "STAGE_MODE",
    "THRESHOLD_STEP",
    "FlopsController",
    "LengthGroupedBatches",
    "TrainConfig",
    "TrainData",
    "binarised_reduction",
    "calibrate_thresholds",
    "kept_fraction",
    "load_train_data",
    "run_stage",
    "train",
    "validate",
]
