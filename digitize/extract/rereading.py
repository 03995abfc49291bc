"""Values read again from their own crop by other recognisers, and trusted where two
readings agree.

Figures (a date, a year, a number, a book, an id) are re-read by two recognisers
restricted to figures. Why: on a form typed after it was printed, the leader's dots
touch the typed figures and Tesseract's Vietnamese model reads "1" as "4", "0" as "9"
or "@" with high confidence; no check can tell "1958" from "4958" in a year of birth
alone. The English model restricted to figures errs on other glyphs than the Vietnamese
one, so where it agrees with one of the Vietnamese readings (the page's own, or the
figures-only one) the value is confirmed; where no two agree the value is a guess and
goes to review, holding the first reading that validates. On the out-of-distribution
dev slice (`benchmarks.ood_pages --type khai_sinh --seed 11`, 133 figure fields) the
page's own reading was right for 91, the agreed one for 92 of 92 agreements, and one of
the readings for 113 in all.

Words (names, places, closed lists, a date in words) the confidence model doubts are
re-read by Tesseract's script model `Vietnamese` (Debian `tesseract-ocr-script-viet`),
trained on other text than `vie`. On the same dev slice it agreed with 222 of 258 right
values and with none of 9 wrong ones, and read 5 of those 9 right: an agreement confirms
the value; a value that fails its checks where the second reading passes them takes the
second reading, as a guess a person confirms.

The reader is a service of the pipeline (it holds the pages' images and the OCR engine);
extraction asks it through `reading_values`, so extractors keep taking only OCR pages,
and without a reader (tests on text, cached OCR) nothing changes."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING, Callable, Iterator, Protocol

from ..types import Box, Repair
from . import names
from . import validate as v

if TYPE_CHECKING:
    from ..ocr.handwriting import PenFigures
    from .base import Value


class ValueReader(Protocol):
    def __call__(self, page: int, boxes: tuple[Box, ...], charset: str, model: str) -> str | None:
        """The region around `boxes` on page `page` read by recogniser `model` ("vie", "eng",
        "Vietnamese") restricted to `charset` ("": any); None where the page's image or the
        recogniser is not at hand."""
        ...

    def crossed_by_leader(self, page: int, boxes: tuple[Box, ...]) -> bool:
        """Whether a leader's dots run through the figures around `boxes` at mid-height."""
        ...

    def typed_figures(self, page: int, boxes: tuple[Box, ...]) -> str | None:
        """The figures around `boxes` read by the typed-figure model (`ocr.typed_figures`), a
        reader that shares none of Tesseract's misreads; None where it reads none."""
        ...

    def figures_by_hand(self, page: int, box: Box, figure_height: float) -> "PenFigures | None":
        """The figures written by hand in the blank `box` of a document's header
        (`ocr.handwriting`); None where the header's image is not at hand."""
        ...


_READER: ContextVar[ValueReader | None] = ContextVar("digitize_value_reader", default=None)


@contextmanager
def reading_values(reader: ValueReader | None) -> Iterator[None]:
    """Extraction inside this block re-reads figure fields, and doubted word fields, with `reader`."""
    token = _READER.set(reader)
    try:
        yield
    finally:
        _READER.reset(token)


def figures_by_hand(page: int, box: Box, figure_height: float) -> "PenFigures | None":
    """The pen figures in a header's blank, read by the pipeline's reader; None without one."""
    reader = _READER.get()
    ask = getattr(reader, "figures_by_hand", None)
    return ask(page, box, figure_height) if ask is not None else None


# The figures each kind of field is written with.
CHARSETS: dict[Callable[[str], tuple[str, float]], str] = {
    v.normalize_date: "0123456789/",
    v.normalize_book: "0123456789/",
    v.normalize_year: "0123456789",
    v.normalize_number: "0123456789",
    v.normalize_id: "0123456789",
}
VALID = 0.9  # a normaliser's factor from which a reading passes its field's checks
_SHARED_DOT_MISREAD = "4"  # what both recognisers make of a leader's dot merged into a 1


def check_figures(normalizer: Callable[[str], tuple[str, float]], value: "Value", page: int) -> "Value":
    """The value confirmed, replaced or marked a guess by two more readings of its figures."""
    reader = _READER.get()
    charset = CHARSETS.get(normalizer)
    if reader is None or charset is None or not value.boxes:
        return value
    own = value.value
    if value.factor >= VALID and any(c.isalpha() for c in own):
        return value  # a number with letters that passes its checks ("157/TLKS-BS"): not figures only

    def read(model: str) -> tuple[str, float] | None:
        reading = reader(value.page or page, value.boxes, charset, model)
        return None if reading is None else normalizer(reading)

    # English first: on a clean page it agrees with the page's own reading, and the second
    # Vietnamese reading is not needed (half the work on a registry page's many numbers).
    eng = read("eng")
    if eng is None:
        return value
    # a page reading that passes its checks only as repaired ("4943" as 1943) is no second
    # witness: the Vietnamese model reads the crop again as well
    own_witness = value.factor >= VALID
    vie = read("vie") if eng[0] != own or eng[1] < VALID or not own_witness else eng
    witnesses = ((own,) if own_witness else ()) + ((vie[0],) if vie is not None else ())
    # Two re-readings that agree on fewer figures than the page's own reading by more than
    # one (a dot read as a figure is one) have lost figures the page saw: no agreement
    # ("2375" on the page, "5" on both crops, with the label's letter in them).
    lost = own_witness and sum(c.isdigit() for c in own) > sum(c.isdigit() for c in eng[0]) + 1
    if eng[1] >= VALID and vie is not None and eng[0] in witnesses and not (lost and eng[0] != own):
        agreed = eng[0]
        repairs = value.repairs + ((Repair("figures_reread", own, agreed),) if agreed != own else ())
        # The agreed reading's own checks stand for it: a page reading that was repaired
        # into it ("4958") no longer counts against it once another reads it clean, nor a
        # figure the page's recogniser scored low.
        factor = max(value.factor, eng[1])
        if _SHARED_DOT_MISREAD in agreed and reader.crossed_by_leader(value.page or page, value.boxes):
            reading = _typed_reading(reader, value, page, normalizer)
            typed = reading[0] if reading is not None and reading[1] >= VALID else None
            if typed != agreed:
                # a dot merged into a 1 misleads both recognisers alike ("·1" read 4 by both):
                # an agreement with a 4 under a leader is kept, as a guess, unless the typed-figure
                # model, which learnt figures with dots clinging to them, reads the 4 too. The
                # Vietnamese model's other misreads under dots (0 as 6, 8 or 9) are its own, and the
                # English model does not share them. On the typed-certificate slices (seeds 11-16)
                # 35 agreements were read under a leader: 33 right; the 2 wrong were both a 1 read
                # 4 ("472" for 172, "495" for 195). Where the model reads another value that passes
                # the field's checks, that is the better guess (below).
                if typed is not None:
                    agreed, factor = typed, max(value.factor, VALID)
                    repairs = value.repairs + ((Repair("figures_typed_model", own, agreed),) if agreed != own else ())
                return replace(
                    value, value=agreed, factor=factor, ocr=min(value.ocr, _guessed() * 0.9), repairs=repairs
                )
        return replace(
            value, value=agreed, factor=factor, confirmed=True, ocr=max(value.ocr, _guessed()), repairs=repairs
        )
    # The typed-figure model, trained apart from Tesseract, agreeing with one of the readings
    # that pass their checks is the second witness the two Tesseract models could not be.
    third = _typed_reading(reader, value, page, normalizer)
    if third is not None and third[1] >= VALID:
        partners = [r for r in ((own, value.factor), eng, vie) if r is not None and r[1] >= VALID and r[0] == third[0]]
        lost = own_witness and sum(c.isdigit() for c in own) > sum(c.isdigit() for c in third[0]) + 1
        if partners and not (lost and third[0] != own):
            agreed = third[0]
            repairs = value.repairs + ((Repair("figures_typed_model", own, agreed),) if agreed != own else ())
            factor = max(value.factor, third[1])
            return replace(
                value, value=agreed, factor=factor, confirmed=True, ocr=max(value.ocr, _guessed()), repairs=repairs
            )
    # No two readings agree: a guess. Keep the first that validates (the page's own reading,
    # then the English one, then the other), and make sure a person looks at it. Where both
    # validate and the page's differs from the English only by the Vietnamese model's known
    # misreads under dots (0 as 6, 8 or 9; 1 as 4), the English one comes first: on the
    # typed-certificate slices (seeds 11-13) and the in-distribution books it was right in
    # 11 of 11 such splits, the page's reading in none; where they differ otherwise (a
    # figure dropped, 5 read as 9) the page's was right in 5 of 6.
    order: tuple[tuple[str, float] | None, ...] = ((own, value.factor), eng, vie)
    if value.factor >= VALID and eng[1] >= VALID and names.misread_as(own, eng[0], names.DOT_MISREADS):
        order = (eng, (own, value.factor), vie)
    if third is not None:
        # the typed-figure model's own reading, where it passes the checks, before them all: of
        # the 183 figure fields sent to review on typed certificates seeds 11, 14, 18 and 20 it
        # read 157 so, 152 of them right; taken first, 165 of the 183 are right, against 134
        order = (third, *order)
    best = next((r for r in order if r is not None and r[1] >= VALID), (own, value.factor))
    rule = "figures_typed_model" if best is third else "figures_reread"
    repairs = value.repairs + ((Repair(rule, own, best[0]),) if best[0] != own else ())
    return replace(value, value=best[0], factor=best[1], ocr=min(value.ocr, _guessed() * 0.9), repairs=repairs)


def _typed_reading(
    reader: ValueReader, value: "Value", page: int, normalizer: Callable[[str], tuple[str, float]]
) -> tuple[str, float] | None:
    """The typed-figure model's reading of the value's crop, normalised; None without one."""
    ask = getattr(reader, "typed_figures", None)
    typed = ask(value.page or page, value.boxes) if ask is not None else None
    return normalizer(typed) if typed else None


def _guessed() -> float:
    from .base import GUESSED_WORD  # base imports this module

    return GUESSED_WORD


WORD_MODEL = "Vietnamese"  # Tesseract's script model: another recogniser for the same letters

# The (model, charset) readers every re-reading starts with: English for figures (the page's
# own model, "vie", reads again only where English disagrees) and the script model for words.
FIRST_READERS = (*(("eng", charset) for charset in sorted(set(CHARSETS.values()))), (WORD_MODEL, ""))


def check_words(normalizer: Callable[[str], tuple[str, float]], value: "Value", page: int) -> "Value":
    """A value in words confirmed by a second recogniser's reading of its crop, or, where it
    fails its checks and that reading passes them, replaced by it as a guess."""
    reader = _READER.get()
    if reader is None or not value.boxes:
        return value
    reading = reader(value.page or page, value.boxes, "", WORD_MODEL)
    if not reading:
        return value
    from .base import FAILED_CHECK, GUESSED_WORD

    second, factor = normalizer(reading)
    if second == value.value:
        # Two recognisers trained apart read the same: a word one of them scored low, or
        # nearly read with other marks, is settled (the model still weighs the reading).
        # the second reading's checks stand for the value, as with figures ("K1nh" read
        # "Kinh" by the other)
        factor = max(value.factor, factor)
        if factor <= FAILED_CHECK:
            # both read what fails the checks alike ("tỉnh Gà Mau"): the reading is
            # confirmed, the value is not
            return replace(value, ocr=max(value.ocr, GUESSED_WORD), factor=factor)
        return replace(value, confirmed=True, ocr=max(value.ocr, GUESSED_WORD), factor=factor)
    if value.factor <= FAILED_CHECK and factor >= VALID:
        # only over a reading that failed a check: one that was merely repaired ("han" put
        # right as "ban") beats a second reading that took in a neighbour's letters
        repairs = value.repairs + (Repair("second_reading", value.value, second),)
        return replace(value, value=second, factor=factor, ocr=min(value.ocr, GUESSED_WORD * 0.9), repairs=repairs)
    return value
