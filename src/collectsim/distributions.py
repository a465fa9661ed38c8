"""Sampling the :class:`~collectsim.scenario.Dist` descriptions used in configs."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from collectsim.errors import ConfigError
from collectsim.scenario_types import Dist

Sampler = Callable[[Dist, np.random.Generator, int], np.ndarray]


def _f(x: float | None) -> float:
    """A parameter that check_dist guaranteed to be set."""
    assert x is not None
    return float(x)


def _beta(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.beta(_f(d.a), _f(d.b), size=n)


def _lognormal(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    # Parameterised by the arithmetic mean: mu = ln(mean) - sigma^2 / 2.
    sigma = float(d.sigma or 0.0)
    mu = np.log(_f(d.mean)) - 0.5 * sigma**2
    return rng.lognormal(mu, sigma, size=n)


def _uniform(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.uniform(_f(d.low), _f(d.high), size=n)


def _normal(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.normal(_f(d.mean), _f(d.sigma), size=n)


def _exponential(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.exponential(_f(d.mean), size=n)


def _constant(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    return np.full(n, float(d.value))  # type: ignore[arg-type]


#: kind -> (sampler, parameters it needs, whether low/high clip it)
SAMPLERS: dict[str, tuple[Sampler, tuple[str, ...], bool]] = {
    "beta": (_beta, ("a", "b"), False),
    "lognormal": (_lognormal, ("mean", "sigma"), True),
    "uniform": (_uniform, ("low", "high"), False),
    "normal": (_normal, ("mean", "sigma"), True),
    "exponential": (_exponential, ("mean",), True),
    "constant": (_constant, ("value",), False),
}


def check_dist(d: Dist, key: str) -> None:
    """Raise :class:`ConfigError` naming ``key`` if ``d`` is not a valid distribution."""
    if d.kind not in SAMPLERS:
        raise ConfigError(f"{key}.kind must be one of {', '.join(SAMPLERS)}, got {d.kind!r}")
    _, needs, _ = SAMPLERS[d.kind]
    for name in needs:
        if getattr(d, name) is None:
            raise ConfigError(f"{key}.{name} is required for a {d.kind} distribution")
    if d.kind == "beta" and (d.a <= 0 or d.b <= 0):  # type: ignore[operator]
        raise ConfigError(f"{key}: beta parameters a and b must be > 0, got a={d.a}, b={d.b}")
    if d.kind in ("lognormal", "exponential") and d.mean <= 0:  # type: ignore[operator]
        raise ConfigError(f"{key}.mean must be > 0, got {d.mean}")
    if d.sigma is not None and d.sigma < 0:
        raise ConfigError(f"{key}.sigma must be >= 0, got {d.sigma}")
    if d.low is not None and d.high is not None and d.low > d.high:
        raise ConfigError(f"{key}: low ({d.low}) must not exceed high ({d.high})")


def sample(d: Dist, rng: np.random.Generator, n: int) -> np.ndarray:
    """Draw ``n`` values of ``d`` from ``rng`` (float64), clipped to [low, high]."""
    fn, _, clips = SAMPLERS[d.kind]
    x = fn(d, rng, n)
    if clips and (d.low is not None or d.high is not None):
        x = np.clip(x, d.low if d.low is not None else -np.inf, d.high if d.high is not None else np.inf)
    return np.asarray(x, dtype=np.float64)


def quantile(d: Dist, u: np.ndarray) -> np.ndarray:
    """The values of ``d`` at probabilities ``u`` (inverse CDF, clipped to [low, high]):
    a draw of ``d`` from given uniforms, for keyed (per-account) randomness."""
    from scipy import special

    if d.kind == "beta":
        x = special.betaincinv(_f(d.a), _f(d.b), u)
    elif d.kind == "lognormal":
        sigma = float(d.sigma or 0.0)
        x = np.exp(np.log(_f(d.mean)) - 0.5 * sigma**2 + sigma * special.ndtri(u))
    elif d.kind == "uniform":
        x = _f(d.low) + (_f(d.high) - _f(d.low)) * u
    elif d.kind == "normal":
        x = _f(d.mean) + _f(d.sigma) * special.ndtri(u)
    elif d.kind == "exponential":
        x = -_f(d.mean) * np.log1p(-u)
    else:
        x = np.full(np.shape(u), float(d.value))  # type: ignore[arg-type]
    if SAMPLERS[d.kind][2] and (d.low is not None or d.high is not None):
        x = np.clip(x, d.low if d.low is not None else -np.inf, d.high if d.high is not None else np.inf)
    return np.asarray(x, dtype=np.float64)


def mean_of(d: Dist) -> float:
    """The distribution's mean before clipping (used for expected handle times)."""
    if d.kind == "beta":
        return float(d.a / (d.a + d.b))  # type: ignore[operator]
    if d.kind == "uniform":
        return 0.5 * float(d.low + d.high)  # type: ignore[operator]
    if d.kind == "constant":
        return float(d.value)  # type: ignore[arg-type]
    return float(d.mean)  # type: ignore[arg-type]
