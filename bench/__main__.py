"""Entry point: ``python -m bench [--only NAME[,NAME]] [--quick] [--no-peer] [--dir DIR]``."""

from bench.cli import main

raise SystemExit(main())
