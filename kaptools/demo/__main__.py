"""``python -m kaptools.demo``: the same as ``kaptools demo``."""

from kaptools.demo.command import main

raise SystemExit(main())
