"""``python -m jubao`` is the ``jubao`` command."""

from jubao.cli import main

main()
