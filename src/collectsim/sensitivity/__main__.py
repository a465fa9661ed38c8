"""``python -m collectsim.sensitivity``: run the sensitivity study and write its report."""

import sys

from collectsim.sensitivity.cli import main

if __name__ == "__main__":
    sys.exit(main())
