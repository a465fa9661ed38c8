"""The ``collectsim`` console script: ``collectsim app`` serves the interactive page,
anything else is the Hydra command line (:func:`collectsim.cli.main.main`).

The page's arguments are not Hydra overrides, so they are taken before Hydra reads
``sys.argv``; keeping the dispatch here leaves the command line's module unaware of
the page.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Entry point of the ``collectsim`` console script."""
    if sys.argv[1:] in (["--version"], ["-V"]):
        # Hydra would print its own version.
        import hydra

        import collectsim

        print(f"collectsim {collectsim.__version__} (Hydra {hydra.__version__})")
        return
    if sys.argv[1:2] == ["app"]:
        from collectsim.app import main as app_main

        raise SystemExit(app_main(sys.argv[2:]))
    from collectsim.cli.main import main as cli_main

    cli_main()


__all__ = ["main"]
