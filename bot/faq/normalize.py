"""Text normalisation for matching: one canonical form for what people type on phones.

Full-width to half-width and compatibility forms (NFKC), traditional to simplified (OpenCC),
lower case, and everything that is not a Chinese character, Latin letter or digit removed
(punctuation, whitespace, emoji). Syllables give the toneless pinyin of each character, so
same-sound typos from pinyin input (准考正号 for 准考证号) compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin

_KEEP = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff]+")
_T2S = opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """Canonical form of ``text`` for matching (may be empty)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _KEEP.sub("", _T2S.convert(text))


@lru_cache(maxsize=65536)
def _syllable(char: str) -> str:
    if "\u3400" <= char <= "\u9fff":
        return lazy_pinyin(char, style=Style.NORMAL, errors="default")[0]
    return char


def syllables(normalized: str) -> tuple[str, ...]:
    """Toneless pinyin per character of already-normalised text (Latin and digits as is)."""
    return tuple(_syllable(char) for char in normalized)


_SOUND_CODES: dict[str, str] = {}
_SOUND_BASE = 0xF0000  # Supplementary Private Use Area: never in normalised text


def _sound_code(char: str) -> str:
    syllable = _syllable(char)
    code = _SOUND_CODES.get(syllable)
    if code is None:
        code = _SOUND_CODES[syllable] = chr(_SOUND_BASE + len(_SOUND_CODES))
    return code


@lru_cache(maxsize=65536)
def _char_sound(char: str) -> str:
    return _sound_code(char)


def sound_key(normalized: str) -> str:
    """One code character per syllable: equal keys mean equal pinyin, position by position.

    Strings slice and hash much faster than tuples of syllables, which matters because the
    matcher looks up hundreds of windows per question.
    """
    return "".join(map(_char_sound, normalized))


class Synonyms:
    """Words that mean the same to this bot, rewritten to one form after normalising.

    ``groups``: canonical word -> other ways to say it (content/faq.yaml ``synonyms``). A
    question, a keyword and an example all go through the same rewrite, so 网址, 链接 and
    入口 count as 官网 everywhere. Longer variants are replaced first.
    """

    def __init__(self, groups: Mapping[str, Iterable[str]] | None = None) -> None:
        self.table: dict[str, str] = {}
        for canonical, variants in (groups or {}).items():
            target = normalize(canonical)
            for variant in variants:
                key = normalize(variant)
                if key and key != target:
                    self.table[key] = target
        ordered = sorted(self.table, key=lambda v: (-len(v), v))
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def prepare(self, text: str) -> str:
        """``normalize(text)`` with every synonym rewritten to its canonical word."""
        norm = normalize(text)
        if self._pattern is None or not norm:
            return norm
        return self._pattern.sub(lambda m: self.table[m.group(0)], norm)
