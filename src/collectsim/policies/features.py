"""What a lender can observe about an account on a given day, as model features.

The features of :data:`FEATURES` come only from the policy's :class:`AccountView`
(nothing latent: no ability, willingness, contactability, sensitivity, stress), so a
model fitted on them could be fitted on a lender's own logs. The uplift learning run
(:mod:`collectsim.policies.uplift_learning`) logs them at assignment and the ``uplift``
queue order (:mod:`collectsim.policies.queue_order`) reads them at the queue.
"""

from __future__ import annotations

import numpy as np

from collectsim.policies.base import AccountView

#: The observable features, in column order.
FEATURES = (
    "score",  # the lender's repayment score
    "principal",  # balance at entry, yuan
    "balance",  # outstanding balance today, yuan
    "segment",  # customer group (the lender knows it)
    "dpd",  # days past due today
    "attempts",  # collector call attempts so far
    "conversations",  # right-party conversations so far
    "paid_share",  # share of the entry balance repaid so far (interest aside)
    "contacts",  # actions taken on the account so far (reminders, calls, letters)
)


def observable_features(view: AccountView, idx: np.ndarray) -> np.ndarray:
    """The :data:`FEATURES` of accounts ``idx`` on the view's day, one row per account."""
    principal = view.principal[idx]
    return np.column_stack(
        [
            view.score[idx],
            principal,
            view.balance[idx],
            view.segment[idx].astype(float),
            view.dpd[idx].astype(float),
            view.attempts[idx].astype(float),
            view.conversations[idx].astype(float),
            np.clip(1.0 - view.balance[idx] / np.maximum(principal, 1e-9), 0.0, 1.0),
            view.actions_done[idx].sum(axis=1).astype(float),
        ]
    )
