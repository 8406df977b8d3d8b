"""``python -m jubao`` and the installed ``jubao`` command (``run``)."""

from __future__ import annotations

import gc


def run() -> None:
    """Load the commands with the garbage collector off and freeze what they built, then run one.

    Loading them makes ~50,000 tracked objects that live as long as the process: the collector's
    passes over them during the load, and its later passes over the same objects, found nothing
    (under 800 objects of garbage, kept by the freeze). A tenth of a start (docs/benchmarks.md,
    "Round seven"). A server freezes what it builds later once started (``heap.settle``)."""
    gc.disable()
    try:
        from jubao.cli import main
    finally:
        gc.freeze()
        gc.enable()
    main()


if __name__ == "__main__":
    run()
