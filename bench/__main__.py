"""``python -m bench [--quick] [--scales 1,10,100]``: see bench/run.py."""

from bench.run import main

raise SystemExit(main())
