"""Outgoing messages not triggered by a user: pacing and the channel-neutral send contract.

Reminders and broadcasts hand a Reply to the :class:`Sender` of the chat's channel with a
:class:`Priority`; a channel with flood limits (Telegram) makes every call, replies included,
wait for a slot of one :class:`Pacer`, so together they stay under the limits.
"""

from bot.delivery.pacer import Pacer, Priority
from bot.delivery.sender import NO_SENDER, Editor, Outcome, Result, Sender, Senders

__all__ = ["NO_SENDER", "Editor", "Outcome", "Pacer", "Priority", "Result", "Sender", "Senders"]
