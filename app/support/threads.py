"""The torch thread count for one typed text."""

import contextlib


INTERACTIVE_THREADS = 1  # torch threads for one typed text (see torch_threads)


@contextlib.contextmanager
def torch_threads(n: int = INTERACTIVE_THREADS):
    """Run a block with ``n`` intra-op torch threads, then restore the previous number.

    One text of at most a few hundred tokens gains little from intra-op threads, and on a busy
    CPU OpenMP's spinning threads make it far slower: MiniLM on 52 tokens took a median 580 ms
    with 2 threads but 11.5 ms with 1 on a 2-core machine shared with a training job. Callers
    hold the model lock, so no other model call sees the change.
    """
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if n != before:
            torch.set_num_threads(before)
