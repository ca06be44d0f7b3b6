"""ltp-lens: Learned Token Pruning for transformer text classifiers."""

import logging as _logging

__version__ = "0.1.0"


class _DropNoise(_logging.Filter):
    """Drops import-time log lines nobody can act on: transformers imports torchao when it is
    installed (ltp does not need it), and torchao reports GPU extensions a CPU machine cannot load plus a torch
    deprecation notice of its own enum registration."""

    NOISE = ("Failed to load", "Detected no triton", "register_constant() on Enum subclasses")

    def filter(self, record: _logging.LogRecord) -> bool:
        return not any(n in record.getMessage() for n in self.NOISE)


for _name in ("torchao", "torchao.kernel.intmm", "torch.utils._pytree"):
    _logging.getLogger(_name).addFilter(_DropNoise())
