"""Outgoing messages not triggered by a user: pacing and the channel-neutral send contract.

Reminders and broadcasts hand a Reply to the :class:`Sender` of the chat's channel after
waiting for a slot from the :class:`Pacer`, so together they stay under the flood limits.
"""

from bot.delivery.pacer import Pacer
from bot.delivery.sender import NO_SENDER, Editor, Outcome, Result, Sender, Senders

__all__ = ["NO_SENDER", "Editor", "Outcome", "Pacer", "Result", "Sender", "Senders"]
