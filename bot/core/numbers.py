"""The one reader of numbers a user types: ASCII and full-width digits, nothing else.

``str.isdigit`` says yes to ``①``, ``²``, Arabic-Indic and many other digits that ``int``
then refuses (or reads as a number nobody meant), and NFKC turns ``①`` and ``²`` into
``1`` and ``2``. Here a digit is ``0``-``9`` or its full-width form ``０``-``９`` (what a
Chinese keyboard types); every other character, digit-like or not, is text.
"""

from __future__ import annotations

FULL_WIDTH_DIGITS = "０１２３４５６７８９"
ASCII_DIGITS = "0123456789"
_TO_ASCII = str.maketrans(FULL_WIDTH_DIGITS, ASCII_DIGITS)
DEFAULT_MAX_DIGITS = 9


def is_digit(char: str) -> bool:
    """True for one ASCII or full-width digit; False for ``①``, ``²``, ``٣`` and the rest."""
    return len(char) == 1 and (char in ASCII_DIGITS or char in FULL_WIDTH_DIGITS)


def parse_int(text: str, max_digits: int = DEFAULT_MAX_DIGITS) -> int | None:
    """The value of ``text`` when it is only digits (surrounding spaces allowed), else None.

    No sign, no separators, at most ``max_digits`` digits (so a 5,000-digit line is text,
    not a long computation).
    """
    text = text.strip()
    if not text or len(text) > max_digits or not all(is_digit(char) for char in text):
        return None
    return int(text.translate(_TO_ASCII))
