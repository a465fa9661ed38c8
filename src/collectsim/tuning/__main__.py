"""``python -m collectsim.tuning SWEEP_DIR``: (re)write a tuning sweep's report."""

from collectsim.tuning import main

raise SystemExit(main())
