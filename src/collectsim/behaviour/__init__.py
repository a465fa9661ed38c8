"""Borrower behaviour models: when and how much borrowers repay, and how contacts move that.

A model is a plug-in chosen by ``behaviour._target_``. It implements
:class:`~collectsim.behaviour.base.BehaviourModel`; the engine never looks inside.
"""

from collectsim.behaviour.base import BehaviourModel, Repayments
from collectsim.behaviour.intensity import SelfExcitingIntensity
from collectsim.behaviour.roll_rate import RollRate

__all__ = ["BehaviourModel", "Repayments", "RollRate", "SelfExcitingIntensity"]
