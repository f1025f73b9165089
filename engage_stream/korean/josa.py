"""Korean particles (조사) chosen by the sound of the word they follow.

은/는, 이/가, 을/를, 과/와 take their first form after a final consonant (받침) and the
second after a vowel; 으로/로 takes 로 after a vowel and after ㄹ (서울로, 지하철로). A
message template fills in words it cannot know (a product name, an amount), so the particle
is decided here from the word's last sound rather than written by hand:

- a Hangul syllable: its final consonant, if any;
- a digit: as the number is read (1 일, 2 이, 3 삼, ... 0 영; 10 십, 100 백 end the same
  way as 영, so the last digit decides);
- Latin letters: units after a number as they are read (50ml 밀리리터, 2kg 킬로그램),
  capitals as letter names (XL 엑스엘, USB 유에스비), other words by how their ending
  is usually said in Korean (cream 크림, mall 몰, phone 폰, set 세트);
- closing brackets, quotes and spaces are skipped to find the word ("(합계 12,000원)" ends
  in 원); a word whose end cannot be read gets the form that reads either way ("을(를)").
"""

from __future__ import annotations

import re

_RIEUL = 8
"""Index of ㄹ among the final consonants of a Hangul syllable."""
_SOME = 1
"""A final consonant other than ㄹ, where which one does not matter."""

PAIRS: tuple[tuple[str, str], ...] = (
    ("은", "는"),
    ("이", "가"),
    ("을", "를"),
    ("과", "와"),
    ("으로", "로"),
)
"""(after a final consonant, after a vowel)."""

_BY_SPELLING: dict[str, tuple[str, str]] = {}
for _pair in PAIRS:
    for _spelling in (*_pair, f"{_pair[0]}/{_pair[1]}", f"{_pair[1]}/{_pair[0]}", "".join(_pair)):
        _BY_SPELLING[_spelling] = _pair

_DIGIT_FINAL = {
    "0": _SOME,  # 영
    "1": _RIEUL,  # 일
    "2": 0,  # 이
    "3": _SOME,  # 삼
    "4": 0,  # 사
    "5": 0,  # 오
    "6": _SOME,  # 육
    "7": _RIEUL,  # 칠
    "8": _RIEUL,  # 팔
    "9": 0,  # 구
}
_UNIT_FINAL = {
    "l": 0,  # 리터
    "ml": 0,
    "mm": 0,  # 밀리미터
    "cm": 0,
    "m": 0,
    "km": 0,
    "g": _SOME,  # 그램
    "mg": _SOME,
    "kg": _SOME,
    "gb": 0,  # 기가바이트
    "mb": 0,
    "tb": 0,
    "w": 0,  # 와트
    "v": 0,  # 볼트
    "mah": 0,  # 밀리암페어시
    "k": 0,  # 4K 케이
    "p": 0,  # 1080p 피
    "x": 0,  # 2X 엑스
    "인치": 0,
}
_LETTER_NAME_FINAL = {"L": _RIEUL, "R": _RIEUL, "M": _SOME, "N": _SOME}
"""Letter names with a final consonant: 엘, 알, 엠, 엔; the others end in a vowel."""
_LETTER_NAMES_UP_TO = 3
"""Capitals up to this length are read letter by letter (TV, USB, LED); longer ones as words."""
_WORD_ENDINGS: tuple[tuple[str, int], ...] = (
    # (regular expression on the lower-cased word's end, final) — first match wins.
    (r"ng$", _SOME),  # long 롱
    (r"[aeiou]le$", _RIEUL),  # sale 세일, console 콘솔
    (r"l$", _RIEUL),  # mall 몰, oil 오일 (but apple 애플)
    (r"(m|me)$", _SOME),  # cream 크림, home 홈
    (r"(n|ne)$", _SOME),  # cotton 코튼, phone 폰
    (r"(ck|[aeiou]k)$", _SOME),  # pack 팩, book 북 (but desk 데스크)
    (r"[aeiou][pb]$", _SOME),  # cap 캡, web 웹 (but lamp 램프)
)
_CLOSERS = set(")]}>'\"’”」』》〉】")
_LATIN_TAIL = re.compile(r"[A-Za-z]+$")
_NUMBER_BEFORE = re.compile(r"\d\s*$")


def final_of(word: str) -> int | None:
    """0 when `word` ends in a vowel sound, else the index of its final consonant (8 is
    ㄹ; digits, units and letters give 8 or another non-zero index); None when its end
    cannot be read."""
    end = len(word)
    while end > 0 and (word[end - 1].isspace() or word[end - 1] in _CLOSERS):
        end -= 1
    if end == 0:
        return None
    char = word[end - 1]
    if "가" <= char <= "힣":
        return (ord(char) - ord("가")) % 28
    if char in _DIGIT_FINAL:
        return _DIGIT_FINAL[char]
    if char in "%+":
        return 0  # 퍼센트, 플러스
    if char.isascii() and char.isalpha():
        head = word[:end]
        match = _LATIN_TAIL.search(head)
        assert match is not None
        number = _NUMBER_BEFORE.search(head[: match.start()]) is not None
        return _latin_final(match.group(), after_number=number)
    return None


def _latin_final(letters: str, *, after_number: bool) -> int:
    lower = letters.lower()
    if after_number and lower in _UNIT_FINAL:
        return _UNIT_FINAL[lower]
    if len(letters) == 1 or (letters.isupper() and len(letters) <= _LETTER_NAMES_UP_TO):
        return _LETTER_NAME_FINAL.get(letters[-1].upper(), 0)
    for pattern, final in _WORD_ENDINGS:
        if re.search(pattern, lower):
            return final
    return 0


def particle(word: str, which: str) -> str:
    """The form of a particle that follows `word`; `which` names the particle in any of its
    spellings ("을/를", "을를", "을" or "를" are the same particle)."""
    try:
        consonant_form, vowel_form = _BY_SPELLING[which]
    except KeyError:
        known = ", ".join(f"{a}/{b}" for a, b in PAIRS)
        raise ValueError(f"unknown particle {which!r} (known: {known})") from None
    final = final_of(word)
    if final is None:
        return "(으)로" if consonant_form == "으로" else f"{consonant_form}({vowel_form})"
    if consonant_form == "으로":
        return "로" if final in (0, _RIEUL) else "으로"
    return consonant_form if final else vowel_form


def attach(word: str, which: str) -> str:
    """`word` followed by the right form of the particle: attach("사과", "을/를") -> "사과를"."""
    return f"{word}{particle(word, which)}"
