"""Is a Korean text polite (해요체 or 합니다체)? Judged by its sentence-final ending.

Trailing punctuation, emoji, symbols, spaces and laughing/crying jamo (ㅋ, ㅎ, ㅠ, ㅜ, ...)
are stripped first; then the last word must end in a polite ending: 요 (해요, 세요, 네요,
까요, 예요/이에요, 어요/아요, ...), 니다 / 니까 (합니다체), 죠 (-지요), or 시오. A few nouns
that merely end in 요 (필요, 중요, ...) do not count, and a bare 네 / 예 (yes) does.
"""

from __future__ import annotations

import unicodedata

_JAMO_NOISE = frozenset("ㅋㅎㅠㅜㅡㅇㅉㄷㄱ")
_POLITE_ENDINGS = ("요", "니다", "니까", "죠", "시오")
# Nouns (not endings) that end in 요: "그게 필요" is not a polite sentence.
_NOUNS_IN_YO = ("필요", "중요", "수요", "주요", "강요", "소요", "동요", "요요", "민요", "풍요")
_POLITE_WORDS = frozenset({"네", "예"})


def sentence_final(text: str) -> str:
    """The text without what trails its last word: punctuation, emoji, spaces, ㅋㅋ, ㅠㅠ."""
    end = len(text)
    while end > 0:
        char = text[end - 1]
        category = unicodedata.category(char)
        if char in _JAMO_NOISE or category[0] in "PSZC" or char.isspace():
            end -= 1
            continue
        break
    return text[:end]


def is_polite(text: str) -> bool:
    core = sentence_final(text)
    if not core:
        return False
    last_word = core.split()[-1]
    if last_word in _POLITE_WORDS:
        return True
    if last_word.endswith(_NOUNS_IN_YO):
        return False
    return last_word.endswith(_POLITE_ENDINGS)
