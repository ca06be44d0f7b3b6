"""Options and parsing helpers shared by several `ltp` commands, each defined once."""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_USAGE = 2  # bad input: a one-line message on stderr, no traceback
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (None, "", on/off flags)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None or action.default == "" or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def add_command(sub, name: str, help: str, **kw) -> argparse.ArgumentParser:
    """A sub-command parser that shows defaults in its help."""
    return sub.add_parser(name, help=help, formatter_class=HelpFormatter, **kw)


def add_data_dir(p) -> None:
    """--data-dir: where `ltp data prepare` writes and every other command reads."""
    p.add_argument("--data-dir", default=None,
                   help="prepared data root (default: $LTP_DATA_DIR or ./data)")


def data_dir(args: argparse.Namespace) -> Path | None:
    """--data-dir as a Path (None: ltp.data decides, $LTP_DATA_DIR or ./data)."""
    return Path(args.data_dir) if args.data_dir else None


def add_checkpoint(p) -> None:
    """--checkpoint and --backbone: the model a command reads."""
    p.add_argument("--checkpoint", required=True, help="checkpoint directory (or a training run directory)")
    p.add_argument("--backbone", default=None, help="use this backbone path/id instead of the recorded one")


def add_split(p) -> None:
    """--split: the data split a command reads."""
    p.add_argument("--split", default="test", help="data split")


def add_limit(p) -> None:
    """--limit: a seeded stratified sample (evaluate, analyze)."""
    p.add_argument("--limit", type=int, default=None, help="seeded stratified sample of N examples (default: all)")


def add_batch_size(p, default: int, what: str) -> None:
    """--batch-size; `what` says which batches ("training", "inference")."""
    p.add_argument("--batch-size", type=int, default=default, help=f"{what} batch size")


def add_seed(p, default: int, help: str) -> None:
    """--seed; `help` says what it seeds."""
    p.add_argument("--seed", type=int, default=default, help=help)


def add_int8(p, what: str) -> None:
    """--int8: int8 dynamic quantization of the linear layers, beside or instead of fp32."""
    p.add_argument("--int8", action="store_true",
                   help=f"quantize the encoder's linear layers to int8 (dynamic, CPU) and {what}")


def add_quiet(p) -> None:
    """--quiet: no progress bars."""
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def add_json(p, what: str) -> None:
    """--json: print `what` as JSON instead of text."""
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON")


def add_no_save(p, file: str) -> None:
    """--no-save: do not store the result in `file` beside the checkpoint."""
    p.add_argument("--no-save", action="store_true", help=f"do not write {file} beside the checkpoint")


def floats(text: str, option: str) -> tuple[float, ...]:
    """Comma-separated numbers of `option`; ValueError (naming the option) if there are none or bad ones."""
    try:
        values = tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{option} must be comma-separated numbers, got {text!r}.") from None
    if not values:
        raise ValueError(f"{option} needs at least one number.")
    return values


def names(text: str) -> tuple[str, ...]:
    """Comma-separated names, blanks dropped."""
    return tuple(s.strip() for s in text.split(",") if s.strip())
