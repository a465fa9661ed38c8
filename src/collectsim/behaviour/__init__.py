"""Borrower behaviour: when and how much borrowers repay, and what a contact does to them.

Two plug-in families live here. A *behaviour model* (``behaviour._target_``,
:class:`~collectsim.behaviour.base.BehaviourModel`) produces repayments over time and
takes response strengths; a *response model* (``response._target_``,
:class:`~collectsim.behaviour.response.ResponseModel`) turns each delivered contact into
a response strength, stress, complaints and conversation outcomes. The engine never
looks inside either.
"""

from collectsim.behaviour.base import BehaviourModel, Repayments
from collectsim.behaviour.intensity import SelfExcitingIntensity
from collectsim.behaviour.response import Borrowers, Contacts, Response, ResponseModel
from collectsim.behaviour.roll_rate import RollRate
from collectsim.behaviour.standard_response import StandardResponse

__all__ = [
    "BehaviourModel",
    "Borrowers",
    "Contacts",
    "Repayments",
    "Response",
    "ResponseModel",
    "RollRate",
    "SelfExcitingIntensity",
    "StandardResponse",
]
