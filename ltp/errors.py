"""The error a user can act on when a checkpoint, its backbone or its Hub repo cannot be used.

Its own module so that every layer raises the same class without importing the others:
ltp/backbones.py, ltp/hub.py and ltp/checkpoint.py all import it, and nothing else from each other
but in one direction (checkpoint -> hub, checkpoint -> model -> backbones).
"""


class CheckpointError(ValueError):
    """A checkpoint or backbone cannot be used; the message says what to do."""
