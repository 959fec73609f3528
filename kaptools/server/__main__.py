"""``python -m kaptools.server DIRECTORY``: serve the dashboards (see kaptools.server)."""

from kaptools.server import main

main()
