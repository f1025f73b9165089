"""The next-best-action rules, one module each (trigger, spec, template and its values),
in the order the core applies them to an input. Adding a rule: a module here, an entry
below, its spec under `outbound.rules` (policy_file.OutboundRules and the policy file) and
its template in the policy's `messages` folder. The consent re-confirmation notice lives
here too but is no next-best-action (one notice per due consent, owed whatever the rules
offer): its spec is `outbound.consent_reconfirmation`.
"""

from __future__ import annotations

from typing import Any

from engage_stream.policy.rules.abandoned_cart import AbandonedCart
from engage_stream.policy.rules.consent_reconfirmation import ConsentReconfirmation
from engage_stream.policy.rules.inbound_answer import InboundAnswer
from engage_stream.policy.rules.review_request import ReviewRequest
from engage_stream.policy.rules.rule import NextBestActionRule
from engage_stream.policy.rules.win_back import WinBack

NEXT_BEST_ACTIONS: tuple[NextBestActionRule[Any], ...] = (
    InboundAnswer(),
    AbandonedCart(),
    ReviewRequest(),
    WinBack(),
)

CONSENT_RECONFIRMATION = ConsentReconfirmation()
