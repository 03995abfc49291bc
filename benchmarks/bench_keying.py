"""Double-keying benchmark (issue #19): a scripted keyer against a real served app.

A handwritten-style page of a Sổ đăng ký khai sinh is generated (a printed heading
"UBND XÃ NGHI PHÚ / THÀNH PHỐ VINH / Năm 1987" and ruled columns, the entries written
in a slanted, wobbling pen), uploaded to `digitize serve` twice over (two homes, one
OCR run each): once with every entry prefilled by the OCR (blind share 0), once with
every entry keyed blind (blind share 1). On each, two simulated keyers key every entry
through the HTTP API, and a third person arbitrates what they differ on.

Reported, as a markdown table:

* seconds per entry: the server's time from asking for the next entry to the answer
  of the submission (a lower bound: a person reads and types on top of it);
* keystrokes per entry with and without OCR prefill and with and without completion
  (GET /api/keying/complete). A keystroke is a character a keyer types with Telex (a
  tone or vowel mark is one more, "đ" is "dd"); accepting a suggestion is one (Tab),
  choosing the n-th is n+1 (↓ n times, Enter). Field-to-field Enter is not counted.
  A prefill that is right costs nothing; a wrong one the keyer mends in place
  (caret moves + Levenshtein edits) or retypes, whichever is cheaper. The book's year
  is prefilled in the registration date in every column but the last;
* the share of fields reaching arbitration, and of fields both keyers got wrong
  alike (accepted wrong, no arbitration), prefilled vs blind. The keyers make typos at
  `--typo` per character typed and overlook a wrong prefill at `--overlook`, seeded.

    .venv/bin/python benchmarks/bench_keying.py [--rows 10] [--seed 19] [--typo 0.01] [--overlook 0.1]

About two OCR runs of a landscape page and a few thousand loopback requests: 2-4
minutes on 2 cores."""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from digitize.text import levenshtein  # noqa: E402  (after the path set-up above)

SERIF = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"
SERIF_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf"
PEN = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf"
HEADING = ("UBND XÃ NGHI PHÚ", "THÀNH PHỐ VINH", "SỔ ĐĂNG KÝ KHAI SINH", "Năm 1987")
YEAR = 1987
COLUMNS = ("so", "ho_ten", "ngay_sinh", "gioi_tinh", "dan_toc", "noi_sinh", "ho_ten_me", "ho_ten_cha", "ngay_dang_ky")
TITLES = ("Số TT", "Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Nơi sinh", "Họ tên mẹ", "Họ tên cha", "Ngày ĐK")
WIDTHS = (90, 330, 180, 110, 120, 330, 320, 320, 180)  # pixels at 200 dpi, landscape A4 is 2339 wide
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Hồ", "Đinh")
MIDDLE = {"Nam": ("Văn", "Hữu", "Đức", "Quốc", "Minh"), "Nữ": ("Thị", "Thị", "Ngọc", "Thu", "Thanh")}
GIVEN = {
    "Nam": ("Hùng", "Dũng", "Nam", "Long", "Sơn", "Bình", "Cường", "Tuấn", "Hải"),
    "Nữ": ("Hoa", "Hằng", "Hương", "Lan", "Loan", "Mai", "Nga", "Trang", "Yến"),
}
BIRTH_PLACES = (
    "Trạm y tế Nghi Phú",
    "Trạm y tế Nghi Phú",
    "Bệnh viện Đa khoa Nghệ An",
    "Nghi Phú, Vinh",
    "Trạm y tế Hưng Bình",
    "Nghi Kim, Vinh",
)


# ------------------------------------------------------------------ the page


def entries(rows: int, rng: random.Random) -> list[dict[str, str]]:
    """The ground truth: `rows` births registered in the book's year, in number order."""
    out = []
    day = 3
    for i in range(rows):
        sex = rng.choice(("Nam", "Nữ"))
        surname = rng.choice(SURNAMES)
        day = min(day + rng.randint(5, 30), 360)
        registered = time.strftime("%d/%m/%Y", time.strptime(f"{YEAR} {day}", "%Y %j"))
        born = time.strftime("%d/%m/%Y", time.strptime(f"{YEAR} {max(1, day - rng.randint(5, 40))}", "%Y %j"))
        out.append(
            {
                "so": str(41 + i),
                "ho_ten": f"{surname} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}",
                "ngay_sinh": born,
                "gioi_tinh": sex,
                "dan_toc": "Kinh" if rng.random() < 0.9 else "Thái",
                "noi_sinh": rng.choice(BIRTH_PLACES),
                "ho_ten_me": f"{rng.choice(SURNAMES)} Thị {rng.choice(GIVEN['Nữ'])}",
                "ho_ten_cha": f"{surname} {rng.choice(MIDDLE['Nam'])} {rng.choice(GIVEN['Nam'])}",
                "ngay_dang_ky": registered,
            }
        )
    return out


def handwriting(image: Any, x: int, y: int, text: str, rng: random.Random, width: int) -> None:
    """`text` in a slanted pen, letter by letter: each letter turned a little, the baseline
    wandering, sizes and spacing varying, a pen's grey ink; a long value squeezed to its
    cell as a hand squeezes it."""
    from PIL import Image, ImageDraw, ImageFont

    size = 32
    while size > 18 and ImageFont.truetype(PEN, size).getlength(text) > width - 20:
        size -= 1
    drift = 0.0
    for ch in text:
        font = ImageFont.truetype(PEN, size + rng.randint(-3, 3))
        drift = max(-9.0, min(9.0, drift + rng.uniform(-2.5, 2.5)))
        glyph = Image.new("L", (size * 2, size * 2), 0)
        ImageDraw.Draw(glyph).text((size // 2, size // 3), ch, font=font, fill=255)
        glyph = glyph.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC)
        ink = Image.new("L", glyph.size, rng.randint(20, 90))
        image.paste(ink, (int(x - size // 2), int(y + drift - size // 3)), glyph)
        x += font.getlength(ch) + rng.uniform(-2.0, 2.5)


def registry_page(truth: list[dict[str, str]], seed: int) -> bytes:
    """PNG, 200 dpi landscape A4: a printed heading and column titles, entries by hand."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = random.Random(seed)
    image = Image.new("L", (2339, 1654), 255)
    draw = ImageDraw.Draw(image)
    bold, serif = ImageFont.truetype(SERIF_BOLD, 34), ImageFont.truetype(SERIF, 34)
    draw.text((100, 60), HEADING[0], font=bold, fill=0)
    draw.text((2080, 60), "Trang 12", font=serif, fill=0)
    draw.text((100, 110), HEADING[1], font=serif, fill=0)
    title = ImageFont.truetype(SERIF_BOLD, 44)
    draw.text(((2339 - draw.textlength(HEADING[2], font=title)) / 2, 170), HEADING[2], font=title, fill=0)
    draw.text(((2339 - draw.textlength(HEADING[3], font=serif)) / 2, 235), HEADING[3], font=serif, fill=0)
    xs = [100]
    for w in WIDTHS:
        xs.append(xs[-1] + w)
    top, head, row_h = 310, 70, 100
    ys = [top, top + head] + [top + head + row_h * (i + 1) for i in range(len(truth))]
    for y in ys:
        draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=3)
    for x in xs:
        draw.line([(x, ys[0]), (x, ys[-1])], fill=0, width=3)
    small = ImageFont.truetype(SERIF_BOLD, 24)
    for x, name in zip(xs, TITLES):
        draw.text((x + 8, top + 20), name, font=small, fill=0)
    for i, row in enumerate(truth):
        for x, w, key in zip(xs, WIDTHS, COLUMNS):
            handwriting(image, x + 10, ys[i + 1] + 30, row.get(key, ""), rng, w)
    image = image.filter(ImageFilter.GaussianBlur(0.9))
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


# ------------------------------------------------------------------ keystrokes


def telex_keys(text: str) -> int:
    """Keys to type `text` with Telex: a letter is one, each tone or vowel mark one more
    ("ệ" is e, e, j), "đ" is d, d."""
    decomposed = unicodedata.normalize("NFD", text)
    return len(decomposed) + sum(1 for ch in decomposed if ch in "đĐ")


def mend_keys(start: str, truth: str) -> int:
    """Keys to turn a prefilled `start` into `truth` in place: a date whose prefilled year is
    kept gets its day and month typed before it (the page puts the caret there); else the
    edits plus two caret moves to reach them, or retyping, whichever is cheaper."""
    if start == truth:
        return 0
    if start and truth.endswith(start):
        return telex_keys(truth[: -len(start)])
    edits = 2 + sum(telex_keys(ch) for ch in truth if ch not in start) + levenshtein(start, truth) if start else 10**6
    return min(edits, telex_keys(truth))


@dataclass
class Completer:
    """The completion endpoint of a served app, memoised (the keyer asks the same prefixes)."""

    client: Any
    base: str
    headers: dict[str, str]
    entry: int
    calls: int = 0
    cache: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def __call__(self, name: str, q: str) -> list[str]:
        if (name, q) not in self.cache:
            self.calls += 1
            r = self.client.get(
                self.base + "/api/keying/complete",
                headers=self.headers,
                params={"entry": self.entry, "field": name, "q": q},
            )
            r.raise_for_status()
            self.cache[(name, q)] = r.json()["suggestions"]
        return self.cache[(name, q)]


def fold_letters(text: str) -> str:
    """What a keyer types to ask for a completion: the letters without their marks (one key each)."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D")


def typed_keys(name: str, truth: str, complete: Completer | None, start: str = "") -> int:
    """Keys to type `truth` from `start` (the prefix already there), word by word: at each
    word the keyer types the word's bare letters one by one until the suggestions hold a value
    that `truth` continues from at a word's end, then takes it (Tab for the first, ↓ n times
    and Enter for the n-th); else types the word with Telex."""
    keys = 0
    pos = len(start)
    while pos < len(truth):
        end = truth.find(" ", pos + 1)
        end = len(truth) if end < 0 else end
        word = truth[pos:end].lstrip(" ")
        lead = truth[:pos] + truth[pos:end][: len(truth[pos:end]) - len(word)]
        best = None
        if complete is not None and word:
            bare = fold_letters(word)
            for k in range(1, len(bare)):
                hits = complete(name, lead + bare[:k])
                found = [
                    (i, h)
                    for i, h in enumerate(hits)
                    if truth.startswith(h) and len(h) > len(lead) and (len(h) == len(truth) or truth[len(h)] in " ,")
                ]
                if found:
                    i, hit = found[0]
                    best = (telex_keys(lead[pos:]) + k + (1 if i == 0 else i + 2), len(hit))
                    break
        if best is not None and best[0] < telex_keys(truth[pos : best[1]]):
            keys += best[0]
            pos = best[1]
        else:
            keys += telex_keys(truth[pos:end])
            pos = end
    return keys


def field_keys(name: str, truth: str, prefill: str, complete: Completer | None) -> int:
    """Keys for one field: mend the prefill, or type from nothing (with completion where offered)."""
    fresh = typed_keys(name, truth, complete)
    if not prefill:
        return fresh
    return min(mend_keys(prefill, truth), fresh)


# ------------------------------------------------------------------ keyers

TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng


def tone_slip(ch: str) -> str:
    """The letter with the next tone mark instead of its own ("ế" -> "ễ"); itself if it has none."""
    parts = unicodedata.normalize("NFD", ch)
    marks = [c for c in parts if c in TONES]
    if not marks:
        return ch
    other = TONES[(TONES.index(marks[0]) + 1) % len(TONES)]
    return unicodedata.normalize("NFC", parts.replace(marks[0], other))


def typo(text: str, rate: float, rng: random.Random) -> str:
    """`text` as a tired keyer types it: now and then a tone mark slips, two letters swap or
    a digit is hit next to the right one."""
    out = list(text)
    for i, ch in enumerate(out):
        if rng.random() >= rate or ch == " ":
            continue
        if ch.isdigit():
            out[i] = str((int(ch) + rng.choice((1, 9))) % 10)
        elif tone_slip(ch) != ch:
            out[i] = tone_slip(ch)
        elif i + 1 < len(out) and out[i + 1] != " ":
            out[i], out[i + 1] = out[i + 1], out[i]
    return "".join(out)


def keyed_value(truth: str, shown: str, rate: float, overlook: float, rng: random.Random) -> str:
    """What one keyer submits for a field showing `shown`: a right prefill kept, a wrong one
    overlooked now and then, else the value typed with typos (a kept book year is not retyped)."""
    if shown == truth:
        return truth
    if shown and rng.random() < overlook:
        return shown
    if shown and truth.endswith(shown):
        return typo(truth[: -len(shown)], rate, rng) + shown
    return typo(truth, rate, rng)


@dataclass(frozen=True)
class Run:
    mode: str  # "prefilled" or "blind"
    entries: int
    fields: int
    disputed: int
    wrong_agreed: int  # both keyers submitted the same wrong value: accepted, no arbitration
    ocr_right: int  # prefilled fields already right as shown
    seconds_first: list[float]
    seconds_second: list[float]
    keys: dict[str, list[int]]  # configuration -> keystrokes per entry
    completion_calls: int


def login_headers(auth: Any, name: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + auth.issue_token(name)}


def run_mode(mode: str, png: bytes, truth: list[dict[str, str]], args: argparse.Namespace) -> Run:
    """Serve a fresh home with every entry prefilled or every entry blind, upload the page,
    send it to keying, key it twice, arbitrate."""
    import httpx

    from digitize.web.auth import Auth
    from digitize.web.db import WebDB
    from serve import serve

    home = Path(tempfile.mkdtemp(prefix=f"bench-keying-{mode}-"))
    auth = Auth(WebDB(home / "web.sqlite3"))
    for name, role in (("k1", "intake"), ("k2", "intake"), ("arb", "archivist")):
        auth.add_user(name, role, "hue", password=f"pw-{name}-bench-keying")
    heads = {name: login_headers(auth, name) for name in ("k1", "k2", "arb")}
    share = "0" if mode == "prefilled" else "1"
    rng = random.Random(f"{args.seed}:{mode}")
    with (
        serve(home, DIGITIZE_AGENCY="hue", DIGITIZE_KEYING_BLIND_SHARE=share) as served,
        httpx.Client(timeout=600) as client,
    ):
        base = served.base
        r = client.post(
            base + "/api/upload",
            headers=heads["arb"],
            data={"book": "KS-1987", "doc_type": "so_ho_tich"},
            files={"file": ("ks1987_p012.png", png, "image/png")},
        )
        r.raise_for_status()
        rid = r.json()["id"]
        r = client.post(
            base + f"/api/keying/results/{rid}/send",
            headers=heads["arb"],
            json={"all": True, "rows": True, "doc_type": "khai_sinh"},
        )
        r.raise_for_status()
        keys: dict[str, list[int]] = {k: [] for k in ("none", "completion", "ocr", "ocr+completion", "nothing")}
        seconds: dict[str, list[float]] = {"k1": [], "k2": []}
        fields = disputed = wrong = right = calls = 0
        keyed: dict[int, dict[str, dict[str, str]]] = {}
        for keyer in ("k1", "k2"):
            while True:
                started = time.perf_counter()
                task = client.get(base + "/api/keying/next", headers=heads[keyer]).json()["task"]
                if task is None:
                    break
                row = match_row(task, truth)
                values = {}
                for f in task["fields"]:
                    values[f["name"]] = keyed_value(row.get(f["name"], ""), f["value"], args.typo, args.overlook, rng)
                if keyer == "k1" and mode == "prefilled":  # the same page and view in both modes
                    counting = time.perf_counter()
                    calls += count_keys(client, base, heads[keyer], task, row, keys)
                    started += time.perf_counter() - counting  # the counting is the benchmark's, not the keyer's
                r = client.post(
                    base + f"/api/keying/entries/{task['id']}/submit",
                    headers=heads[keyer],
                    json={"values": values, "keystrokes": 0},
                )
                r.raise_for_status()
                seconds[keyer].append(time.perf_counter() - started)
                keyed.setdefault(task["id"], {})[keyer] = values
                out = r.json()
                if keyer == "k2":
                    fields += len(task["fields"])
                    disputed += len(out.get("disputed") or [])
                    first = keyed[task["id"]]["k1"]
                    wrong += sum(
                        1 for f in task["fields"] if first.get(f["name"]) == values[f["name"]] != row.get(f["name"], "")
                    )
                    right += sum(1 for f in task["fields"] if f.get("prefill") and f["prefill"] == row.get(f["name"]))
        for item in client.get(base + "/api/keying/arbitration", headers=heads["arb"]).json()["items"]:
            task = client.get(base + f"/api/keying/entries/{item['id']}/arbitration", headers=heads["arb"]).json()
            row = match_row(task, truth)
            r = client.post(
                base + f"/api/keying/entries/{item['id']}/arbitrate",
                headers=heads["arb"],
                json={"values": {n: row.get(n, "") for n in task["disputed"]}},
            )
            r.raise_for_status()
    return Run(mode, len(seconds["k2"]), fields, disputed, wrong, right, seconds["k1"], seconds["k2"], keys, calls)


def match_row(task: dict[str, Any], truth: list[dict[str, str]]) -> dict[str, str]:
    """The ground-truth row of an entry: by its place on the page (a grid row, or the record's
    number in reading order)."""
    index = task["row"] if task.get("row", -1) >= 0 else task["record"]
    return truth[index] if 0 <= index < len(truth) else {}


def count_keys(
    client: Any,
    base: str,
    headers: dict[str, str],
    task: dict[str, Any],
    row: dict[str, str],
    keys: dict[str, list[int]],
) -> int:
    """Keystrokes for this entry in each configuration (for the first keyer's view of it)."""
    complete = Completer(client, base, headers, task["id"])
    totals = dict.fromkeys(keys, 0)
    year = (task.get("context") or {}).get("year")
    for f in task["fields"]:
        truth = row.get(f["name"], "")
        # what the book prefills where the OCR read nothing (here the OCR read the date: the year still counts)
        book = f.get("book", "") or (str(year) if f["name"] == "ngay_dang_ky" and year else "")
        ocr = f.get("prefill", "") or book
        offered = complete if f.get("complete") else None
        totals["nothing"] += telex_keys(truth)
        totals["none"] += field_keys(f["name"], truth, book, None)
        totals["completion"] += field_keys(f["name"], truth, book, offered)
        totals["ocr"] += field_keys(f["name"], truth, ocr, None)
        totals["ocr+completion"] += field_keys(f["name"], truth, ocr, offered)
    for k, v in totals.items():
        keys[k].append(v)
    return complete.calls


# ------------------------------------------------------------------ report


def table(runs: list[Run], rows: int) -> str:
    pre, blind = runs
    mean = statistics.fmean

    def share(run: Run, n: int) -> str:
        return f"{n / run.fields:.1%}" if run.fields else "–"

    lines = [
        "| measure | OCR prefill | keyed blind |",
        "|---|---:|---:|",
        f"| entries on the page (fields each) | {pre.entries} ({pre.fields // max(1, pre.entries)}) | "
        f"{blind.entries} ({blind.fields // max(1, blind.entries)}) |",
        f"| fields the OCR prefill got right | {share(pre, pre.ocr_right)} | – |",
        f"| seconds per entry, first keying (server, lower bound) | {mean(pre.seconds_first):.3f} | "
        f"{mean(blind.seconds_first):.3f} |",
        f"| seconds per entry, second keying incl. signing (server) | {mean(pre.seconds_second):.3f} | "
        f"{mean(blind.seconds_second):.3f} |",
        f"| fields reaching arbitration | {share(pre, pre.disputed)} | {share(blind, blind.disputed)} |",
        f"| fields both keyers got wrong alike (accepted wrong) | {share(pre, pre.wrong_agreed)} | "
        f"{share(blind, blind.wrong_agreed)} |",
        "",
        "| keystrokes per entry (Telex) | without completion | with completion |",
        "|---|---:|---:|",
        f"| nothing prefilled (not even the book's year) | {mean(pre.keys['nothing']):.1f} | – |",
        f"| blind: the book's year prefilled, no OCR | {mean(pre.keys['none']):.1f} | "
        f"{mean(pre.keys['completion']):.1f} |",
        f"| OCR prefill | {mean(pre.keys['ocr']):.1f} | {mean(pre.keys['ocr+completion']):.1f} |",
    ]
    return "\n".join(lines)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=10, help="entries on the page (at most 11)")
    p.add_argument("--seed", type=int, default=19)
    p.add_argument("--typo", type=float, default=0.01, help="typos per character a keyer types")
    p.add_argument("--overlook", type=float, default=0.1, help="share of wrong prefills a keyer does not see")
    args = p.parse_args()
    truth = entries(min(args.rows, 11), random.Random(args.seed))
    png = registry_page(truth, args.seed)
    started = time.perf_counter()
    runs = [run_mode(mode, png, truth, args) for mode in ("prefilled", "blind")]
    print(table(runs, len(truth)))
    print(
        f"\n{len(truth)} entries, seed {args.seed}, typo rate {args.typo}/character, wrong prefill overlooked "
        f"{args.overlook:.0%}; {sum(r.completion_calls for r in runs)} completion requests; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
