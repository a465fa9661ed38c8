"""The education lever of conf/experiment/education.yaml: one lesson per account at entry,
paid once, lifting willingness for its days; the policy is soft_first plus that action."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from tests.conftest import small

from collectsim.engine import Simulation

CONF = Path(__file__).resolve().parents[1] / "conf"


def test_the_educated_policy_is_soft_first_plus_one_lesson_at_entry() -> None:
    base = yaml.safe_load((CONF / "policy" / "soft_first.yaml").read_text())
    edu = yaml.safe_load((CONF / "policy" / "soft_first_educated.yaml").read_text())
    first = edu["stages"][0]["actions"].pop(0)
    assert first == {"action": "education", "start_day": 1, "every_days": 0}
    assert edu.pop("name") == "soft_first_educated" and base.pop("name") == "soft_first"
    assert edu == base


def test_each_account_gets_one_lesson_paid_once_and_believed_for_its_days() -> None:
    sc = small("experiment=education", "policy=soft_first_educated", n=1500)
    ch = sc.channels.extra["education"]
    sim = Simulation(sc, 0)
    sim.run()
    code = sim.channels.codes["education"]
    sent = sim.st.actions_done[:, code]
    # Everyone still late on day 1 past due gets the lesson once, and pays for it once.
    assert sent.max() == 1 and sent.sum() > 0.9 * sc.portfolio.n_accounts
    np.testing.assert_allclose(sim.st.cost["education"], sent * ch.cost_yuan)
    # Its willingness lift is the channel's credibility lift, for credibility_days from
    # day 1, for every account still open when it arrived (one that paid that morning is
    # still sent it, as a payment is posted overnight, and it changes nothing there).
    sent_at = np.floor(sim.pf.entry_time) + ch.hour / 24.0
    still_open = ~(sim.st.close_time <= sent_at)
    taught = np.flatnonzero((sent == 1) & still_open)
    assert taught.size > 0.8 * sc.portfolio.n_accounts
    resp = sim.response
    assert np.all(resp.cred_lift[taught] >= ch.credibility_lift)
    t = sim.pf.entry_time[taught] + 1.0 + ch.credibility_days / 2
    assert np.all(resp.lift(taught, t) >= ch.credibility_lift)
