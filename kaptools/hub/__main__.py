"""``python -m kaptools.hub run``: the shared install (see kaptools.hub)."""

from kaptools.hub import main

raise SystemExit(main())
