"""Electronic-signature boxes and copy stamps set aside from the text flow.

A document signed digitally and printed, or an electronic copy (Nghị định 30/2020, Phụ lục I),
carries at its top right a box in the standard wording: "Ký bởi: Ủy ban nhân dân tỉnh …",
"Cơ quan: …", an e-mail, "Thời gian ký: 17.01.2025 17:01:01 +07:00", or the copy stamp "SAO Y /
<agency> / Thời gian ký: …". Read in the flow, these lines merge into the issuing body and the
motto beside them. The CONTRACT keeps them out of `pages[].text` and says what they say
separately (`pages[].stamps`).

The box is found from its wording (the lines that open with "Ký bởi" or "Thời gian ký",
hold a signing time with its +07:00 offset, or are a copy stamp's heading alone), then grown to
the words inside its horizontal span just above and below (the "SAO Y" line, the agency's name,
the e-mail). Only words are moved, never a line of the body: a row that merged a box line with
the header keeps its header words."""

from __future__ import annotations

import re
from dataclasses import replace

from ..text import fold
from ..types import Line, OcrPage, Word

__all__ = ["set_aside_signature_boxes"]

_OPENING = re.compile(r"^(ky boi|thoi gian ky|nguoi ky|ngay ky)\b")
_TIME = re.compile(r"\d{1,2}[./-]\d{1,2}[./-]\d{4}\s*\d{1,2}:\d{2}(:\d{2})?\s*\+?\s*0?7:?00")
_TOP = 0.25  # the boxes stand in the top quarter of a page


def set_aside_signature_boxes(page: OcrPage) -> OcrPage:
    seeds: list[list[Word]] = []
    for line in page.lines:
        if line.box[1] > _TOP * page.height:
            continue
        words = list(line.words)
        folded = [fold(w.text) for w in words]
        if len(words) <= 3 and re.fullmatch(r"(sao y|sao luc|trich sao)\W*", " ".join(folded)):
            seeds.append(words)  # the copy stamp's heading (Nghị định 30: SAO Y, SAO LỤC, TRÍCH SAO)
            continue
        for i in range(len(words)):
            rest = " ".join(folded[i:])
            if _OPENING.match(rest) or (i == 0 and _TIME.search(" ".join(w.text for w in words))):
                seeds.append(words[i:])
                break
            if _TIME.match(" ".join(w.text for w in words[i:])):
                seeds.append(words[i:])
                break
    if not seeds:
        return page
    x0 = min(w.box[0] for ws in seeds for w in ws)
    x1 = max(w.box[2] for ws in seeds for w in ws)
    y0 = min(w.box[1] for ws in seeds for w in ws)
    y1 = max(w.box[3] for ws in seeds for w in ws)
    height = max(1, max(w.box[3] - w.box[1] for ws in seeds for w in ws))
    pad = int(0.5 * height)
    # grow to the box's other lines: words within its span, a line above or below at most
    top, bottom = y0 - int(1.6 * height), y1 + int(1.6 * height)

    def inside(w: Word) -> bool:
        cx = (w.box[0] + w.box[2]) / 2
        return (
            x0 - pad <= w.box[0]
            and w.box[2] <= x1 + 4 * pad
            and x0 - pad <= cx <= x1 + pad
            and top <= w.box[1]
            and w.box[3] <= bottom
        )

    kept: list[Line] = []
    boxed: list[Line] = []
    for line in page.lines:
        inner = [w for w in line.words if inside(w)]
        outer = [w for w in line.words if not inside(w)]
        if inner:
            boxed.append(Line(tuple(inner)))
        if outer:
            kept.append(Line(tuple(outer)) if inner else line)
    if not boxed:
        return page
    return replace(page, lines=tuple(kept), stamps=page.stamps + tuple(boxed))
