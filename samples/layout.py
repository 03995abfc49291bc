"""A page canvas that draws text rows and records the page text as read.

Everything is drawn row by row. A row holds one or more text segments on a
common baseline; the ground-truth text of a row is its segments, left to
right, joined by one space. Leader dots and rules are drawn but never enter
the text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image, ImageDraw

from .fonts import Face

INK = (20, 20, 20)
A4_MM = (210.0, 297.0)


@dataclass
class Seg:
    x: float
    text: str
    size: int
    style: str = "regular"
    fill: tuple = INK


@dataclass
class Canvas:
    face: Face
    dpi: int = 200
    landscape: bool = False
    paper: tuple = (255, 255, 255)
    ink: tuple = INK
    margins_mm: tuple = (20.0, 15.0, 15.0, 15.0)  # left, top, right, bottom (Nghị định 30: 30/20/15/20)
    body_pt: float = 13.0
    rows: list = field(default_factory=list)  # (baseline, [Seg])
    anchors: dict = field(default_factory=dict)

    def __post_init__(self):
        w_mm, h_mm = A4_MM[::-1] if self.landscape else A4_MM
        self.width, self.height = self.mm(w_mm), self.mm(h_mm)
        self.img = Image.new("RGB", (self.width, self.height), self.paper)
        self.draw = ImageDraw.Draw(self.img)
        lm, tm, rm, bm = self.margins_mm
        self.left, self.top = self.mm(lm), self.mm(tm)
        self.right, self.bottom = self.width - self.mm(rm), self.height - self.mm(bm)
        self.y = self.top  # top of the next row

    # ---- units
    def mm(self, mm: float) -> int:
        return int(round(mm * self.dpi / 25.4))

    def px(self, pt: float) -> int:
        return int(round(pt * self.dpi / 72.0))

    @property
    def body(self) -> int:
        return self.px(self.body_pt)

    @property
    def text_width(self) -> int:
        return self.right - self.left

    def length(self, text: str, size: int | None = None, style: str = "regular") -> float:
        return self.face.length(text, size or self.body, style)

    def line_height(self, size: int | None = None, spacing: float = 1.45) -> int:
        return int(round((size or self.body) * spacing))

    def space_left(self) -> int:
        return self.bottom - self.y

    # ---- rows
    def row(self, segs: list[Seg], *, spacing: float = 1.45, record: bool = True) -> float:
        """Draw segments on one baseline; advance the cursor; return the baseline."""
        size = max((s.size for s in segs), default=self.body)
        ascent = max((self.face.metrics(s.size, s.style)[0] for s in segs), default=size)
        baseline = self.y + ascent
        for s in segs:
            if s.text:
                self.face.draw(self.draw, s.x, baseline, s.text, s.size, s.style, s.fill)
        if record:
            texts = [s.text for s in sorted(segs, key=lambda s: s.x) if s.text.strip()]
            if texts:
                self.rows.append((baseline, " ".join(" ".join(texts).split())))
        self.y += self.line_height(size, spacing)
        return baseline

    def gap(self, pt: float) -> None:
        self.y += self.px(pt)

    def centered_x(self, text: str, cx: float, size: int, style: str = "regular") -> float:
        return cx - self.length(text, size, style) / 2

    def center(
        self,
        text: str,
        *,
        size: int | None = None,
        style: str = "regular",
        fill=None,
        cx: float | None = None,
        spacing: float = 1.45,
        underline: float = 0.0,
    ) -> float:
        size = size or self.body
        cx = (self.left + self.right) / 2 if cx is None else cx
        x = self.centered_x(text, cx, size, style)
        b = self.row([Seg(x, text, size, style, fill or self.ink)], spacing=spacing)
        if underline:
            w = self.length(text, size, style) * underline
            self.rule(cx - w / 2, cx + w / 2, b + size * 0.25)
        return b

    def rule(self, x0: float, x1: float, y: float, width: int | None = None, fill=None) -> None:
        width = width or max(1, self.dpi // 100)
        self.draw.line([(x0, y), (x1, y)], fill=fill or self.ink, width=width)

    def leaders(self, x0: float, x1: float, baseline: float, size: int | None = None) -> None:
        """Dotted leader line from x0 to x1 on the baseline (not text)."""
        size = size or self.body
        step = size * 0.27
        r = max(1.0, size * 0.035)
        x = x0 + step / 2
        while x < x1:
            self.draw.ellipse([x - r, baseline - r, x + r, baseline + r], fill=self.ink)
            x += step

    def columns(
        self,
        blocks: list[tuple[float, list[tuple[str, int, str]]]],
        *,
        align: str = "center",
        spacing: float = 1.35,
        underline_after: dict | None = None,
    ) -> list[float]:
        """Several blocks side by side, drawn row by row on a common grid.

        blocks: [(center_x or left_x, [(text, size, style), ...]), ...].
        underline_after: {block_index: (line_index, fraction)} draws a short
        rule under that line. Returns the baselines."""
        n = max(len(b[1]) for b in blocks)
        baselines = []
        for i in range(n):
            segs = []
            for x, lines in blocks:
                if i < len(lines) and lines[i][0]:
                    text, size, style = lines[i]
                    sx = self.centered_x(text, x, size, style) if align == "center" else x
                    segs.append(Seg(sx, text, size, style, self.ink))
            if not segs:
                segs = [Seg(self.left, "", self.body)]
            baselines.append(self.row(segs, spacing=spacing))
        if underline_after:
            for bi, (li, frac) in underline_after.items():
                x, lines = blocks[bi]
                if li < len(lines):
                    text, size, style = lines[li]
                    w = self.length(text, size, style) * frac
                    y = baselines[li] + size * 0.35
                    self.rule(x - w / 2, x + w / 2, y)
        return baselines

    # ---- wrapping and fields
    def wrap(
        self, text: str, width: float, size: int | None = None, style: str = "regular", first_width: float | None = None
    ) -> list[str]:
        size = size or self.body
        words = text.split()
        lines, cur = [], ""
        limit = first_width if first_width is not None else width
        for w in words:
            cand = (cur + " " + w).strip()
            if cur and self.length(cand, size, style) > limit:
                lines.append(cur)
                cur = w
                limit = width
            else:
                cur = cand
        if cur or not lines:
            lines.append(cur)
        return lines

    def field(
        self,
        label: str,
        value: str | None,
        *,
        x0: float | None = None,
        x1: float | None = None,
        leaders: bool = False,
        value_style: str = "regular",
        label_style: str = "regular",
        size: int | None = None,
        spacing: float = 1.5,
        value_fill=None,
    ) -> None:
        """'Label: value' on one row, wrapping the value onto further rows."""
        self.fields(
            [(label, value, x0, x1)],
            leaders=leaders,
            value_style=value_style,
            label_style=label_style,
            size=size,
            spacing=spacing,
            value_fill=value_fill,
        )

    def fields(
        self,
        items: list[tuple[str, str | None, float | None, float | None]],
        *,
        leaders: bool = False,
        value_style: str = "regular",
        label_style: str = "regular",
        size: int | None = None,
        spacing: float = 1.5,
        value_fill=None,
    ) -> None:
        """Several 'Label: value' pairs on one row, each within [x0, x1).
        Only the last pair may wrap (its continuation lines span its own range)."""
        size = size or self.body
        gap = self.face.cell(size) if self.face.mono else size * 0.3  # a typed space on a typewriter
        pending = None
        segs, dots = [], []
        for i, (label, value, x0, x1) in enumerate(items):
            x0 = self.left if x0 is None else x0
            x1 = self.right if x1 is None else x1
            segs.append(Seg(x0, label, size, label_style, self.ink))
            vx = x0 + self.length(label, size, label_style) + gap
            value = value or ""
            lines = self.wrap(value, x1 - x0, size, value_style, first_width=x1 - vx) if value else [""]
            if len(lines) > 1 and i < len(items) - 1:
                lines = [value]  # keep on one row; caller's ranges are expected to fit
            if lines[0]:
                segs.append(Seg(vx, lines[0], size, value_style, value_fill or self.ink))
            if leaders:
                dots.append((vx - gap * 0.6, x1 - size * 0.3))
            if len(lines) > 1:
                pending = (lines[1:], x0, x1)
        baseline = self._row_with_leaders(segs, dots, size, spacing, leaders)
        if pending:
            rest, x0, x1 = pending
            for line in rest:
                self._row_with_leaders(
                    [Seg(x0, line, size, value_style, value_fill or self.ink)],
                    [(x0, x1 - size * 0.3)] if leaders else [],
                    size,
                    spacing,
                    leaders,
                )
        return baseline

    def _row_with_leaders(self, segs, dots, size, spacing, leaders):
        ascent = max(self.face.metrics(s.size, s.style)[0] for s in segs)
        baseline = self.y + ascent
        for x0, x1 in dots:
            self.leaders(x0, x1, baseline + size * 0.1, size)
        return self.row(segs, spacing=spacing)

    def paragraph(
        self,
        text: str,
        *,
        size: int | None = None,
        style: str = "regular",
        indent_mm: float = 10.0,
        justify: bool = True,
        spacing: float = 1.4,
        after_pt: float = 4.0,
        x0: float | None = None,
        x1: float | None = None,
    ) -> int:
        """A justified paragraph with a first-line indent; returns rows drawn."""
        size = size or self.body
        x0 = self.left if x0 is None else x0
        x1 = self.right if x1 is None else x1
        indent = self.mm(indent_mm)
        lines = self.wrap(text, x1 - x0, size, style, first_width=x1 - x0 - indent)
        for i, line in enumerate(lines):
            lx = x0 + (indent if i == 0 else 0)
            last = i == len(lines) - 1
            if justify and not last and not self.face.mono and " " in line:
                self._justified(line, lx, x1, size, style, spacing)
            else:
                self.row([Seg(lx, line, size, style, self.ink)], spacing=spacing)
        self.gap(after_pt)
        return len(lines)

    def paragraph_rows(
        self,
        text: str,
        *,
        size: int | None = None,
        style: str = "regular",
        indent_mm: float = 10.0,
        x0: float | None = None,
        x1: float | None = None,
    ) -> int:
        size = size or self.body
        x0 = self.left if x0 is None else x0
        x1 = self.right if x1 is None else x1
        return len(self.wrap(text, x1 - x0, size, style, first_width=x1 - x0 - self.mm(indent_mm)))

    def _justified(self, line, x0, x1, size, style, spacing):
        words = line.split()
        widths = [self.length(w, size, style) for w in words]
        free = (x1 - x0) - sum(widths)
        gap = free / (len(words) - 1)
        ascent = self.face.metrics(size, style)[0]
        baseline = self.y + ascent
        x = x0
        for w, wd in zip(words, widths):
            self.face.draw(self.draw, x, baseline, w, size, style, self.ink)
            x += wd + gap
        self.rows.append((baseline, " ".join(words)))
        self.y += self.line_height(size, spacing)

    # ---- tables
    def table(
        self,
        edges: list[float],
        rows: list[list[str]],
        *,
        size: int | None = None,
        header_rows: int = 1,
        ruling: bool = True,
        pad_pt: float = 3.0,
        hpad_pt: float = 3.0,
        spacing: float = 1.25,
        header_style: str = "bold",
        align_header: str = "center",
    ) -> list[tuple[float, float]]:
        """A table with column boundaries `edges` (len = columns + 1).

        Cell text wraps within its column. The page text gets one line per
        table row: its cells' full texts joined by one space. Returns the
        (top, bottom) of each row."""
        size = size or self.body
        pad = self.px(pad_pt)  # above and below the cell text
        hpad = self.px(hpad_pt)  # left and right
        lh = self.line_height(size, spacing)
        ascent = self.face.metrics(size)[0]
        spans = []
        top0 = self.y
        for r, cells in enumerate(rows):
            style = header_style if r < header_rows else "regular"
            wrapped = [
                self.wrap(t, edges[i + 1] - edges[i] - 2 * hpad, size, style) if t else [""]
                for i, t in enumerate(cells)
            ]
            n = max(len(w) for w in wrapped)
            top = self.y
            for i, lines in enumerate(wrapped):
                for k, line in enumerate(lines):
                    if not line:
                        continue
                    if r < header_rows and align_header == "center":
                        x = (edges[i] + edges[i + 1]) / 2 - self.length(line, size, style) / 2
                    else:
                        x = edges[i] + hpad
                    self.face.draw(self.draw, x, top + pad + ascent + k * lh, line, size, style, self.ink)
            bottom = top + 2 * pad + n * lh
            texts = [" ".join(t.split()) for t in cells if t and t.strip()]
            if texts:
                self.rows.append((top + pad + ascent, " ".join(texts)))
            spans.append((top, bottom))
            self.y = bottom
        if ruling:
            w = max(1, self.dpi // 100)
            for top, _bottom in spans:
                self.rule(edges[0], edges[-1], top, w)
            self.rule(edges[0], edges[-1], self.y, w)
            for x in edges:
                self.draw.line([(x, top0), (x, self.y)], fill=self.ink, width=w)
        return spans

    # ---- result
    def text(self) -> str:
        return "\n".join(t for _b, t in self.rows)
