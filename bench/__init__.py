"""jubao's benchmark suite: ``make bench`` (or ``python -m bench [--quick]``).

Every figure is measured beside a ceiling taken in the same run on the same machine, because
numbers on shared 2-core machines are noisy. See docs/benchmarks.md for what is measured and why.
"""
