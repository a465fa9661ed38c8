"""Uplift learners and their evaluation (collectsim.uplift): on randomised data with a known
heterogeneous effect both learners find whom a call changes, which a repayment score does
not; the curves agree with hand-worked cases and with theory (the oracle dominates every
ranking; no effect, no Qini area); inputs are refused in one line."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pytest
from scipy import stats
from tests.stats import ci
from threadpoolctl import threadpool_limits

from collectsim import uplift

N = 6000
P_TREAT = 0.4
SEEDS = (0, 1, 2, 3, 4, 5)
RANDOM_RANKINGS = 200


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # The machine is shared: the boosting's OpenMP threads kept to one.
    with threadpool_limits(1):
        yield


def _book(n: int, rng: np.random.Generator, effect: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (columns of uplift.FEATURES) and each account's outcome without and with
    calls, on the same uniforms. Payment is all-or-nothing of a heavy-tailed amount;
    ``score`` drives the baseline payment only, the effect of a call depends on ``dpd``
    and ``segment`` (negative in segment 2)."""
    score = rng.uniform(0.0, 1.0, n)
    principal = rng.lognormal(8.5, 0.8, n)
    balance = principal * rng.uniform(0.3, 1.0, n)
    segment = rng.integers(0, 3, n).astype(float)
    dpd = rng.integers(1, 91, n).astype(float)
    attempts = rng.poisson(3.0, n)
    conversations = rng.binomial(attempts, 0.4)
    broken = rng.binomial(conversations, 0.3)
    repayments = rng.poisson(2.0, n)
    paid_share = rng.uniform(0.0, 0.5, n)
    contacts = attempts + broken + repayments  # actions so far: derived, no draw of its own
    cols = {"score": score, "principal": principal, "balance": balance, "segment": segment, "dpd": dpd}
    cols |= {"attempts": attempts, "conversations": conversations, "paid_share": paid_share, "contacts": contacts}
    x = np.column_stack([cols[f] for f in uplift.FEATURES]).astype(float)
    q0 = 0.15 + 0.4 * score**2  # >= 0.15: segment 2's effect is never clipped, so tau is free of score
    dq = np.where(segment == 2, -0.12, 0.3 * (1.0 - dpd / 90.0)) if effect else np.zeros(n)
    u, amount = rng.uniform(0.0, 1.0, n), balance * rng.uniform(0.2, 1.0, n)
    return x, amount * (u < q0), amount * (u < q0 + dq)


def _assign(y0: np.ndarray, y1: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    t = (rng.uniform(size=y0.size) < P_TREAT).astype(float)
    return t, np.where(t == 1.0, y1, y0)


@pytest.mark.parametrize("method", uplift.METHODS)
def test_learners_target_whom_a_call_changes_not_who_pays_anyway(method: str) -> None:
    learned, by_score = [], []
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        x, y0, y1 = _book(N, rng)
        t, y = _assign(y0, y1, rng)
        model = uplift.fit_uplift(x, t, y, P_TREAT, method, seed)
        xe, e0, e1 = _book(N, rng)  # held out: a fresh book with its true uplift
        true_uplift = e1 - e0
        null = [uplift.qini_coefficient(rng.permutation(N).astype(float), true_uplift) for _ in range(RANDOM_RANKINGS)]
        coef = uplift.qini_coefficient(model.predict(xe), true_uplift)
        score = uplift.qini_coefficient(xe[:, 0], true_uplift)
        # A permutation test at 1/201 per seed: better than every random ranking.
        assert coef > max(null), (seed, coef, max(null))
        # The repayment score ranks who pays anyway (far above random on the baseline
        # outcome) but not whom a call changes (no better than every random ranking).
        assert uplift.qini_coefficient(xe[:, 0], e0) > max(null)
        assert score <= max(null), (seed, score)
        learned.append(coef)
        by_score.append(score)
    low, _ = ci(np.subtract(learned, by_score), 0.95)
    assert low > 0.0, (learned, by_score)
    assert max(learned) <= 1.0  # nothing beats the oracle


@pytest.mark.parametrize("method", uplift.METHODS)
def test_predictions_are_yuan_on_a_noise_free_effect(method: str) -> None:
    # Segment 0 pays 50 yuan called or not; segment 1 pays 100 yuan if called, else 0.
    # Exactly P_TREAT of each segment is called, so both learners' targets have group
    # means 0 and 100 exactly; boosting with squared loss closes the gap to a group mean
    # by (1 - learning_rate) per iteration, which bounds what is left.
    segment = np.repeat([0.0, 1.0], 500)
    treated = np.tile((np.arange(500) % 5 < 5 * P_TREAT).astype(float), 2)
    y = np.where(segment == 0.0, 50.0, 100.0 * treated)
    model = uplift.fit_uplift(segment[:, None], treated, y, P_TREAT, method, features=("segment",))
    left = (1.0 - uplift.HGB_PARAMS["learning_rate"]) ** uplift.HGB_PARAMS["max_iter"]
    gap = 100.0 / (P_TREAT * (1.0 - P_TREAT))  # the largest initial distance to a group mean
    np.testing.assert_allclose(model.predict(np.array([[0.0], [1.0]])), [0.0, 100.0], atol=gap * left)


def test_the_oracle_dominates_every_ranking() -> None:
    rng = np.random.default_rng(11)
    _, e0, e1 = _book(N, rng)
    true_uplift = e1 - e0
    _, oracle = uplift.true_uplift_curve(true_uplift, true_uplift)
    t, y = _assign(e0, e1, rng)
    oracle_qini = uplift.area_under(uplift.qini_curve(true_uplift, t, y))
    random_qini = []
    for _ in range(RANDOM_RANKINGS):
        ranking = rng.permutation(N).astype(float)
        _, gain = uplift.true_uplift_curve(ranking, true_uplift)
        # Exact: the top k by true uplift hold the largest possible sum, at every k.
        assert np.all(oracle >= gain - 1e-6 * np.abs(oracle).max())
        random_qini.append(uplift.area_under(uplift.qini_curve(ranking, t, y)))
    # Estimated from the arms: above every random ranking's estimate (1/201 by chance).
    assert oracle_qini > max(random_qini)
    assert uplift.qini_coefficient(true_uplift, true_uplift) == pytest.approx(1.0)


@pytest.mark.parametrize("p_treat", [None, P_TREAT])
def test_no_effect_gives_no_qini_area(p_treat: float | None) -> None:
    # The same book with calls that change nothing, ranked by the repayment score (so
    # the outcome falls steeply along the ranking). Re-randomising the assignment as the
    # design did gives the estimate's spread; the observed area and the mean of the
    # re-randomised ones must sit within a two-sided 99.9% normal bound around 0.
    rng = np.random.default_rng(5)
    x, y0, _ = _book(N, rng, effect=False)
    score = x[:, 0]
    t, _ = _assign(y0, y0, rng)
    observed = uplift.area_under(uplift.qini_curve(score, t, y0, p_treat))
    again = np.array(
        [uplift.area_under(uplift.qini_curve(score, _assign(y0, y0, rng)[0], y0, p_treat)) for _ in range(300)]
    )
    z = stats.norm.ppf(0.9995)
    sd = float(np.std(again, ddof=1))
    assert abs(observed) <= z * sd, (observed, sd)
    assert abs(float(np.mean(again))) <= z * sd / np.sqrt(again.size), (np.mean(again), sd)


def test_curves_by_hand() -> None:
    # Ranked by score: accounts 2, 0, 3, 1 (called, not, called, not).
    score = np.array([0.8, 0.1, 0.9, 0.5])
    treated = np.array([0, 0, 1, 1])
    y = np.array([30.0, 10.0, 100.0, 40.0])
    fraction, gain = uplift.qini_curve(score, treated, y, points=5)
    np.testing.assert_allclose(fraction, [0.0, 0.25, 0.5, 0.75, 1.0])
    # k=1: no control yet -> 0; k=2: 100 - 30*1/1; k=3: 140 - 30*2/1; k=4: 140 - 40*2/2.
    np.testing.assert_allclose(gain, [0.0, 0.0, 70.0, 80.0, 100.0])
    _, ht = uplift.qini_curve(score, treated, y, 0.5, points=5)
    np.testing.assert_allclose(ht, [0.0, 200.0, 140.0, 220.0, 200.0])
    _, true_gain = uplift.true_uplift_curve(score, np.array([1.0, -2.0, 3.0, 4.0]), points=5)
    np.testing.assert_allclose(true_gain, [0.0, 3.0, 4.0, 8.0, 6.0])
    # Area above the line to (1, 6): trapezoids of [0, 1.5, 1, 3.5, 0] over steps of 1/4.
    assert uplift.area_under((fraction, true_gain)) == pytest.approx((1.5 + 2.5 + 4.5 + 3.5) / 8.0)


def test_ties_keep_the_input_order() -> None:
    _, gain = uplift.true_uplift_curve(np.zeros(4), np.array([1.0, 2.0, 3.0, 4.0]), points=5)
    np.testing.assert_allclose(gain, [0.0, 1.0, 3.0, 6.0, 10.0])


def test_check_features() -> None:
    assert uplift.check_features(uplift.FEATURES) == uplift.FEATURES
    assert uplift.check_features(["dpd", "score"]) == ("dpd", "score")
    for latent in uplift.LATENT:
        with pytest.raises(ValueError, match=latent) as err:
            uplift.check_features(["score", latent])
        assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="collector_id"):
        uplift.check_features(["score", "collector_id"])
    with pytest.raises(ValueError, match="repeat"):
        uplift.check_features(["score", "score"])


def _small(n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x, y0, y1 = _book(n, rng)
    t, y = _assign(y0, y1, rng)
    return x, t, y


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"treated": "ones"}, "treated must hold both arms"),
        ({"treated": "zeros"}, "treated must hold both arms"),
        ({"p_treat": 0.0}, r"p_treat must be in \(0, 1\)"),
        ({"p_treat": 1.0}, r"p_treat must be in \(0, 1\)"),
        ({"method": "x_learner"}, "method must be one of .*two_model.*transformed_outcome"),
        ({"treated": "twos"}, "treated must hold only 0"),
        ({"X": "short"}, "treated must have 199 entries"),
        ({"features": ("score", "ability")}, "latent traits.*ability"),
        ({"features": ("score", "dpd")}, "X must be 2-D with 2 columns"),
    ],
)
def test_fit_uplift_refuses_bad_inputs_in_one_line(change: dict[str, object], match: str) -> None:
    x, t, y = _small()
    args: dict[str, object] = {"X": x, "treated": t, "y": y, "p_treat": P_TREAT}
    fill = {"ones": np.ones_like(t), "zeros": np.zeros_like(t), "twos": 2 * t, "short": x[:-1]}
    args.update({k: fill.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    with pytest.raises(ValueError, match=match) as err:
        uplift.fit_uplift(**args)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


def test_fit_is_deterministic_and_predict_checks_its_columns() -> None:
    x, t, y = _small(600)
    for method in uplift.METHODS:
        a = uplift.fit_uplift(x, t, y, P_TREAT, method, seed=7)
        b = uplift.fit_uplift(x, t, y, P_TREAT, method, seed=7)
        assert a.method == method and a.features == uplift.FEATURES
        np.testing.assert_array_equal(a.predict(x), b.predict(x))
        k = len(uplift.FEATURES)
        with pytest.raises(ValueError, match=f"X must be 2-D with {k} columns"):
            a.predict(x[:, : k - 1])
        # The model is pickled to a file for the policy that orders calls by it.
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(a)).predict(x), a.predict(x))


def test_value_per_agent_hour() -> None:
    rng = np.random.default_rng(9)
    true_uplift = rng.normal(50.0, 200.0, 500)
    minutes = rng.uniform(2.0, 20.0, 500)
    score = rng.normal(size=500)
    everyone = float(minutes.sum()) / 60.0 + 1.0
    yuan, per_hour = uplift.value_per_agent_hour(true_uplift, minutes, score, everyone)
    assert yuan == pytest.approx(true_uplift.sum())
    assert per_hour == pytest.approx(true_uplift.sum() / (minutes.sum() / 60.0))
    assert uplift.value_per_agent_hour(true_uplift, minutes, score, 0.0) == (0.0, 0.0)
    # By hand: score per minute 10, 1, 5 -> accounts 0, 2 fit in 30 minutes, then 1 does not.
    yuan, per_hour = uplift.value_per_agent_hour(
        np.array([100.0, 70.0, 20.0]), np.array([10.0, 10.0, 20.0]), np.array([100.0, 10.0, 100.0]), 0.5
    )
    assert (yuan, per_hour) == (pytest.approx(120.0), pytest.approx(240.0))
    with pytest.raises(ValueError, match="minutes must be > 0"):
        uplift.value_per_agent_hour(true_uplift, np.zeros(500), score, 1.0)
    with pytest.raises(ValueError, match="budget_hours must be finite and >= 0"):
        uplift.value_per_agent_hour(true_uplift, minutes, score, -1.0)
