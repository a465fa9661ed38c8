"""The interactive page in a real browser: headless Chromium (Debian's package, installed
by ``make browser``) driven by Playwright, against ``streamlit run`` of the page.

The test changes a control, presses Run, waits for the results and checks that the
figures are drawn and that every number on the page equals what the Python API gives
for the same choices and seeds. It saves the screenshots shown in the README.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("COLLECTSIM_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[1] / "docs"
MISSING = [m for m in ("streamlit", "playwright") if importlib.util.find_spec(m) is None]

pytestmark = [
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason=f"no Chromium at {CHROMIUM}: run `make browser` (apt-get install chromium) to run the browser test",
    ),
    pytest.mark.skipif(bool(MISSING), reason=f"{', '.join(MISSING)} not installed: pip install -e '.[app,test]'"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``streamlit run`` of the page on a free local port; stopped after the module."""
    from collectsim.app import streamlit_command

    port = _free_port()
    cmd = [*streamlit_command(port, headless=True), "--server.address", "127.0.0.1"]
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with open(log, "w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, cwd=tmp_path_factory.mktemp("cwd"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {log.read_text(encoding='utf-8')[-2000:]}")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _table(page: object, index: int) -> list[list[str]]:
    """The text of the ``index``-th table on the page, row by row (header first)."""
    return page.evaluate(  # type: ignore[attr-defined]
        """(i) => [...document.querySelectorAll('[data-testid="stTable"] table')[i].querySelectorAll('tr')]
               .map(tr => [...tr.querySelectorAll('th,td')].map(c => c.innerText.trim()))""",
        index,
    )


def test_page_runs_and_matches_the_python_api(server: str) -> None:
    from playwright.sync_api import sync_playwright

    from collectsim.app.logic import PAGE_KPIS, Choices, default_team, run_choices
    from collectsim.report.fmt import fmt_ci

    start = default_team(2000)  # the page's team for its default book of 2,000 accounts
    team_size = start + 1  # the control the test changes

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(server, wait_until="domcontentloaded")
            run = page.get_by_role("button", name="Run")
            run.wait_for(timeout=60_000)
            team = page.get_by_label("Team size (collectors)")
            assert team.input_value() == str(start)
            team.fill(str(team_size))
            team.press("Enter")
            page.wait_for_timeout(1000)  # let the page rerun with the new value
            page.screenshot(path=str(DOCS / "app_start.png"))
            run.click()
            page.get_by_text("done in").wait_for(timeout=240_000)
            page.locator('[data-testid="stImage"] img').nth(2).wait_for(timeout=60_000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(DOCS / "app_results.png"))
            code = page.locator("code").filter(has_text="collectsim -m").first
            code.scroll_into_view_if_needed()
            page.wait_for_timeout(500)
            page.screenshot(path=str(DOCS / "app_capacity_command.png"))

            sizes = page.evaluate(
                """() => [...document.querySelectorAll('[data-testid="stImage"] img')]
                       .map(img => [img.naturalWidth, img.naturalHeight])"""
            )
            numbers = _table(page, 0)
            paired = _table(page, 1)
            command = code.inner_text()
        finally:
            browser.close()

    # Three figures drawn (recovery against stress, curves, capacity), none empty.
    assert len(sizes) == 3 and all(w > 300 and h > 200 for w, h in sizes), sizes

    # The same choices through the Python API, same seeds.
    choices = Choices(team_size=team_size)
    expected = run_choices(choices, Path(os.environ.get("TMPDIR", "/tmp")) / f"collectsim-app-check-{os.getpid()}")
    header, *rows = numbers
    assert header == ["policy", *PAGE_KPIS]
    want = [
        [str(r["policy"]), *(fmt_ci(float(r[k]), float(r[k + "_hw"])) for k in PAGE_KPIS)]
        for _, r in expected.numbers.iterrows()
    ]
    assert rows == want

    p = expected.paired
    want_paired = [
        [str(lbl), str(k), fmt_ci(float(m), float(h), signed=True), str(v)]
        for lbl, k, m, h, v in zip(
            p["label"], p["kpi"], p["diff_mean"], p["diff_half_width"], p["verdict"], strict=True
        )
    ]
    # Streamlit prints a repeated first index level once; fill it down before comparing.
    got, last = [], ""
    for r in paired[1:]:
        if len(r) == 3:
            r = [last, *r]
        last = r[0]
        got.append(r)
    assert got == want_paired

    # The full-size team keeps the page's accounts per collector.
    full = round(team_size * choices.full_accounts() / 2000)
    assert f"collectors.size={full}" in command and "policy=soft_first,early_escalation" in command
    assert "portfolio.n_accounts" not in command  # the full-size sweep
