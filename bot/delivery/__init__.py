"""Outgoing messages not triggered by a user: pacing and the channel-neutral send contract.

Reminders (and later broadcasts) hand a Reply to a :class:`Sender` after waiting for a slot
from the :class:`Pacer`, so together they stay under the platform's flood limits.
"""

from bot.delivery.pacer import Pacer
from bot.delivery.sender import Outcome, Result, RoutingSender, Sender

__all__ = ["Outcome", "Pacer", "Result", "RoutingSender", "Sender"]
