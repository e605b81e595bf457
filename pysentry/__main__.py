"""`python -m pysentry` is the same as the `pysentry` command."""
from pysentry.cli import main

raise SystemExit(main())
