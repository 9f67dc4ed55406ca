"""``python -m skp``: the ``skp`` command (the supervisor of ``skp serve`` starts its workers
so, with the interpreter it runs on)."""

from skp.cli import main

main()
