"""Which neighbouring syllables make a word: settling mark slips that leave a valid syllable.

Tesseract's commonest error on Vietnamese print is a tone or vowel mark read as another
("thành phó" for "thành phố", "phỏng chồng" for "phòng chống", "nhà đột nát" for "nhà dột
nát"). Each misreading is itself a syllable, so a spelling check passes it; what gives it away
is that, with its neighbours, it no longer makes a word. Vietnamese words are one to four
syllables, and the list of the two-syllable ones (`refdata/vietnamese_words.tsv`, with the
forms' wording) says which adjacent pairs belong together.

A line's words are decoded as a chain (Viterbi): each syllable may stay as read or take one
of the syllables with the same letters and one mark changed; a pair of neighbours that makes
a word scores `PAIR`, a change costs `CHANGE` (more in a capitalised word, where names are,
less for the recogniser's own second reading). A change must therefore make more words
than it breaks, and a reading that already makes a word with a neighbour is kept. A line
that wraps onto the next (`linked_lines`) is one chain with it, so "phổ" at a line's end
pairs with "thông" that begins the next. Words the decoder changed keep a lowered
confidence, as other corrections do."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

from .. import diskcache, refdata
from ..text import fold, tone_variant, with_case
from ..types import Line, Word

PAIR = 1.0
# Each change must be paid for by a word of its own: two changes for one word ("di dời" ->
# "đi đời") cost more than the word scores.
CHANGE = 0.7  # a lower-case syllable
CHANGE_NAME = 1.6  # capitalised: it takes words on both sides (a name is rarely a dictionary word)
CHANGE_ALTERNATIVE = 0.55  # the recogniser's own near second reading
CORRECTED = 0.9
CONTEXT_DOUBT = 0.5  # the near alternative's likelihood a context doubt gives (labels.NEAR_READING)
CONTEXT_SETTLED = 0.1  # ... and once the context rules it out (below labels.NEAR_READING)
DOUBTFUL = 0.90  # below this word confidence, any syllable one mark away is considered


@lru_cache(maxsize=1)
def word_pairs() -> frozenset[tuple[str, str]]:
    """(syllable, next syllable), lower case, of every two-syllable word in the word list and
    of the forms' fixed wording. Built once, then read from the disk cache."""
    from pathlib import Path

    from . import vietnamese

    key = diskcache.fingerprint(refdata.path("vietnamese_words"), Path(__file__), Path(vietnamese.__file__))
    return diskcache.cached("word_pairs", key, _build_word_pairs)


def _build_word_pairs() -> frozenset[tuple[str, str]]:
    from .vietnamese import ADMINISTRATIVE_TERMS, FORM_PHRASES

    # (place names are left out: a commune's name pairs any two syllables — "Tịnh Sơn" would
    # turn "tỉnh Sơn La" into "tịnh Sơn La"; places are checked against the gazetteer later)
    # (only two-syllable words: a pair inside a longer word is no word alone — "phòng thí" of
    # "phòng thí nghiệm" would turn "phòng thi" into it)
    phrases = [row[0] for row in refdata.rows("vietnamese_words") if row[0].count(" ") == 1]
    phrases += list(FORM_PHRASES) + list(ADMINISTRATIVE_TERMS)
    pairs: set[tuple[str, str]] = set()
    for phrase in phrases:
        syllables = [s for s in (_letters(w).lower() for w in phrase.split()) if s]
        pairs.update(zip(syllables, syllables[1:]))
    return frozenset(pairs)


@lru_cache(maxsize=1)
def _name_syllables() -> frozenset[str]:
    return frozenset(n.lower() for n in refdata.surnames() + refdata.given_names())


def _is_name(core: str) -> bool:
    """A capitalised syllable of the name stocks: "NGUYỄN VĂN" is a name, though "nguyên văn"
    is a word, so the context neither changes nor doubts it."""
    return core[:1].isupper() and core.lower() in _name_syllables()


def _respelled(word: Word, core: str, syllable: str) -> str:
    """The word's text with its letters `core` replaced by `syllable`, in their case."""
    start = word.text.index(core)
    return word.text[:start] + with_case(core, syllable) + word.text[start + len(core) :]


def _letters(text: str) -> str:
    """The word without the punctuation around it; "" when anything but letters is left."""
    core = text.strip(".,;:!?()[]\"'“”‘’-–—…/")
    return core if core.isalpha() else ""


def _variants(syllable: str, lex: dict[str, tuple[str, ...]]) -> list[str]:
    """Syllables with the same letters as `syllable` and one mark changed (lower case)."""
    from .vietnamese import _distance

    low = syllable.lower()
    return [v for v in lex.get(fold(low), ()) if v != low and _distance(v, low) == 1]


def _options(word: Word, lex: dict[str, tuple[str, ...]]) -> list[tuple[str, float]]:
    """(lower-case syllable, cost) the word may be: as read (free); the recogniser's own near
    second reading; on a doubtful reading, or one that is no syllable, the other syllables
    one mark away."""
    core = _letters(word.text)
    low = core.lower()
    out = [(low, 0.0)]
    if _is_name(core):
        return out
    alternative = _letters(word.alternative).lower() if word.alternative else ""
    if alternative and alternative != low and fold(alternative) == fold(low):
        out.append((alternative, CHANGE_ALTERNATIVE))
    if word.confidence < DOUBTFUL or not in_lexicon(low, lex):
        # (a reading that is no syllable at all is wrong however confident the recogniser)
        change = CHANGE_NAME if core[:1].isupper() else CHANGE
        out += [(v, change) for v in _variants(core, lex) if v != alternative]
    return out


def linked_lines(lines: list[tuple[Word, ...]]) -> list[list[int]]:
    """Runs of line indices that continue one another as text: each line below the one
    before it, within a line's height, under it (a paragraph wrapped, a subject on two
    lines), beginning in lower case where the one before did not end a sentence. (Lines
    in capitals are left apart: a header's two blocks, read as one line, would otherwise
    pair a word with the next block's — "VIỆT NAM" with "TỈNH" into "nam tính".)"""
    runs: list[list[int]] = []
    for i, words in enumerate(lines):
        if runs and words and lines[i - 1] and _continues(lines[i - 1], words):
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def _continues(above: tuple[Word, ...], below: tuple[Word, ...]) -> bool:
    a_left, a_top, a_right, a_bottom = Line(above).box
    b_left, b_top, b_right, _ = Line(below).box
    height = a_bottom - a_top
    overlap = min(a_right, b_right) - max(a_left, b_left)
    return (
        0 <= b_top - a_top <= 2.5 * height
        and overlap > 0.5 * min(a_right - a_left, b_right - b_left)
        and above[-1].text.rstrip()[-1:] not in ".;:!?"
        and below[0].text[:1].islower()
    )


def makes_a_word(words: tuple[Word, ...], i: int, syllable: str) -> bool:
    """Whether `syllable` in place of the line's word `i` makes a word with a neighbour."""
    low = _letters(syllable).lower()
    left = _letters(words[i - 1].text).lower() if i > 0 else ""
    right = _letters(words[i + 1].text).lower() if i + 1 < len(words) else ""
    return bool(low) and _pairs(left, low, right, word_pairs())


def _pairs(left: str, syllable: str, right: str, pairs: frozenset[tuple[str, str]]) -> bool:
    """Whether the syllable makes a word with the one before or the one after it."""
    return (left, syllable) in pairs or (syllable, right) in pairs


def in_lexicon(low: str, lex: dict[str, tuple[str, ...]]) -> bool:
    """Whether a lower-case syllable is in the lexicon (its tone placed either way)."""
    known = lex.get(fold(low), ())
    return low in known or tone_variant(low) in known


def decode_line(words: list[Word], lex: dict[str, tuple[str, ...]]) -> list[Word]:
    """The line's words with mark slips settled by their neighbours (see the module)."""
    pairs = word_pairs()
    out = list(words)
    start = 0
    while start < len(words):
        end = start
        # a chain: letters-only words, not broken by punctuation after a word
        while end < len(words) and _letters(words[end].text):
            end += 1
            if words[end - 1].text.rstrip()[-1:] in ".,;:!?)":
                break
        if end - start >= 2:
            out[start:end] = _decode_chain(words[start:end], lex, pairs)
        start = max(end, start + 1)
    return out


def _decode_chain(chain: list[Word], lex: dict[str, tuple[str, ...]], pairs: frozenset[tuple[str, str]]) -> list[Word]:
    options: list[list[tuple[str, float]]] = []  # per word: (lower-case syllable, cost)
    for w in chain:
        options.append(_options(w, lex))
    # Viterbi: best[i][k] = (score, back pointer) of the best path ending in option k of word i
    best: list[list[tuple[float, int]]] = [[(-cost, -1) for _, cost in options[0]]]
    for i in range(1, len(chain)):
        row = []
        for syllable, cost in options[i]:
            # on a tie the earlier option wins: the reading before any change
            score, back = max(
                (
                    (best[i - 1][j][0] + (PAIR if (prev, syllable) in pairs else 0.0), -j)
                    for j, (prev, _) in enumerate(options[i - 1])
                )
            )
            row.append((score - cost, -back))
        best.append(row)
    k = max(range(len(best[-1])), key=lambda j: (best[-1][j][0], -j))
    chosen = [0] * len(chain)
    for i in range(len(chain) - 1, -1, -1):
        chosen[i] = k
        k = best[i][k][1]
    final = [opts[k][0] for opts, k in zip(options, chosen)]
    out = []
    for i, (w, opts, k) in enumerate(zip(chain, options, chosen)):
        if k == 0:
            out.append(_settled(w, i, final, pairs) if w.alternative else _doubted(w, i, final, lex, pairs))
            continue
        text = _respelled(w, _letters(w.text), opts[k][0])
        out.append(Word(text=text, box=w.box, confidence=w.confidence * CORRECTED))
    return out


def _settled(word: Word, i: int, final: list[str], pairs: frozenset[tuple[str, str]]) -> Word:
    """A word kept as read whose near other reading the context rules out: the reading makes
    a word with a neighbour and the other makes none ("Đào tạo", not "Đảo tạo"; "mùa mưa",
    not "mưa mưa"). The doubt is settled: the other reading stays, as unlikely."""
    core = _letters(word.text).lower()
    other = _letters(word.alternative).lower()
    if not core or not other:
        return word
    left = final[i - 1] if i > 0 else ""
    right = final[i + 1] if i + 1 < len(final) else ""
    if _pairs(left, core, right, pairs) and not _pairs(left, other, right, pairs):
        return replace(word, alternative_confidence=min(word.alternative_confidence, CONTEXT_SETTLED))
    return word


def _doubted(
    word: Word, i: int, final: list[str], lex: dict[str, tuple[str, ...]], pairs: frozenset[tuple[str, str]]
) -> Word:
    """A word kept as read that makes no word with either neighbour, where a syllable one mark
    away would: the context doubts it ("nhà đột nát", read confidently, "dột nát" being the
    word). That syllable becomes its near alternative, which sends a value holding it to
    review (extract.labels.word_confidence) instead of auto-accepting it."""
    if word.alternative:
        return word
    core = _letters(word.text)
    if _is_name(core):
        return word
    left = final[i - 1] if i > 0 else ""
    right = final[i + 1] if i + 1 < len(final) else ""
    if _pairs(left, final[i], right, pairs):
        return word
    for variant in _variants(core, lex):
        if _pairs(left, variant, right, pairs):
            return replace(word, alternative=_respelled(word, core, variant), alternative_confidence=CONTEXT_DOUBT)
    return word
