"""``python -m wattwise`` runs the command line."""

from wattwise.cli import main

raise SystemExit(main())
