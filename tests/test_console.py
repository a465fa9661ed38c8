"""The console's KPI table shows every KPI a run reports."""

from __future__ import annotations

from types import SimpleNamespace

from collectsim.cli.table import kpi_report


def test_every_kpi_is_on_the_console_including_added_channels() -> None:
    kpis = {"recovery_rate": 0.5, "cost_total": 10.0, "cost_sms": 1.0, "cost_app_push": 2.5, "new_kpi_total": 7.0}
    result = SimpleNamespace(info={"policy": "staged", "seed": 0}, kpis=kpis, groups=[])
    text = kpi_report([result])
    cost = text.split("cost (yuan)", 1)[1].split("\n\n", 1)[0]
    assert "cost_app_push" in cost and "2.50" in cost
    assert "new_kpi_total" in text
    for k in kpis:
        assert text.count(f" {k} ") == 1, k


def test_an_idle_team_is_named_on_the_console() -> None:
    def report(util: float) -> str:
        kpis = {"recovery_rate": 0.5, "collector_utilisation": util}
        return kpi_report([SimpleNamespace(info={"policy": "staged", "seed": 0}, kpis=kpis, groups=[])])

    assert "note: The collectors are busy only 11% of their shift: capacity does not bind" in report(0.11)
    assert "capacity does not bind" not in report(0.85)


def test_version_is_collectsims(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import collectsim

    import collectsim as package

    proc = collectsim("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"collectsim {package.__version__} (Hydra ")
