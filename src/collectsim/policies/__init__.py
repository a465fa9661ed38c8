"""Collection policies: plug-ins that decide who is contacted, how and when.

Built-in configs live in ``conf/policy/``. A policy is either a
:class:`TreatmentPath` written in YAML or any class with ``from_config``, ``start``,
``decide`` and ``priority`` (see :class:`~collectsim.policies.base.Policy`).
"""

from collectsim.policies.base import AccountView, Policy, Requests, RetryRule
from collectsim.policies.champion_challenger import ChampionChallenger
from collectsim.policies.treatment_path import TreatmentPath
from collectsim.policies.uplift_learning import CallHoldout

__all__ = ["AccountView", "CallHoldout", "ChampionChallenger", "Policy", "Requests", "RetryRule", "TreatmentPath"]
