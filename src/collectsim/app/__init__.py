"""``collectsim app``: an interactive page (Streamlit) to compare policies on a small book.

    collectsim app                 # opens http://localhost:8501 (this machine only)
    collectsim app --port 8600 --headless
    collectsim app --address 0.0.0.0   # share it on the network

Needs the ``app`` extra: ``pip install 'collectsim[app]'``. The page is
:mod:`collectsim.app.page`; what it computes is :mod:`collectsim.app.logic`.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

PAGE = Path(__file__).with_name("page.py")


#: Where the page listens unless the user asks to share it: this machine only.
LOCAL = "127.0.0.1"


def streamlit_command(port: int = 8501, headless: bool = False, address: str = LOCAL) -> list[str]:
    """The ``streamlit run`` command that serves the page on ``address``:``port``.

    Headless, Streamlit neither opens a browser nor asks for an e-mail address on its
    first run (a prompt that fails without a terminal); usage statistics are off.
    """
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(PAGE),
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the page until interrupted; returns the server's exit status (2 without Streamlit)."""
    p = argparse.ArgumentParser(prog="collectsim app", description="Serve the interactive comparison page.")
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default: 8501)")
    p.add_argument(
        "--headless", action="store_true", help="do not open a browser window (always so without a terminal)"
    )
    p.add_argument(
        "--address",
        default=LOCAL,
        help=f"address to listen on (default: {LOCAL}, this machine only; 0.0.0.0 shares the page on the network)",
    )
    args = p.parse_args(argv)
    if importlib.util.find_spec("streamlit") is None:
        print("collectsim app: error: Streamlit is not installed; run: pip install 'collectsim[app]'", file=sys.stderr)
        return 2
    try:
        headless = args.headless or not sys.stdin.isatty()
        return subprocess.call(streamlit_command(args.port, headless, args.address))
    except KeyboardInterrupt:
        return 0


__all__ = ["LOCAL", "PAGE", "main", "streamlit_command"]
