"""``python -m tui_backprop`` runs the command line."""

from tui_backprop.cli.main import main

raise SystemExit(main())
