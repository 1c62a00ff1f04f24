"""A generated rock-paper-scissors data set that ships with the code (no download).

Each image shows one procedurally drawn hand -- a fist (rock, label 0), an open palm with five
spread fingers (paper, 1) or a hand with the index and middle fingers in a V (scissors, 2) --
with a forearm coming in from outside the frame, on a background, under a light. The split
sizes match the published data set (2,520 training and 372 test images, classes balanced and
interleaved in a fixed random order).

**The test split shows hands the training split never shows**, as the published test set is
other people's hands: each split draws from its own :class:`Domain` (:data:`DOMAINS`). The
training hands are studio shots -- near-white backgrounds, soft even light, five of nine skin
tones, hand shapes from a narrow range, held within 25 degrees of upright. The test hands have
the four other skin tones (with a stronger tint), thinner and thicker fingers, other finger
lengths, palms and spreads, tinted and two-colour backgrounds, less even light, and are held
within 35 degrees. A model that fits the training hands therefore scores close to 100% on a
validation slice of the training split and clearly less on the test split -- the chapter's
"too good to be true" lesson (§7.4) -- and deeper networks, which see more of a hand's shape
at once, tend to lose less.

Drawing uses Pillow's polygon rasteriser (each finger is a capsule polygon with a darker
outline, the palm a rounded polygon). Image ``i`` of a split depends only on
``(seed, split, i, image_size)``: the same seed gives identical arrays.

The full set is drawn once at :data:`CANONICAL_SIZE` (300x300, the published size) and
cached as one compressed ``.npz`` of uint8 images (14 MB, against 781 MB
uncompressed; see :func:`cache_path`); every other image size is resized from that cache on
load (Pillow's bilinear filter, antialiased), so one cache serves all sizes.

Examples
--------
>>> data = generate_split("test", image_size=32, seed=0, num_examples=6)
>>> data["image"].shape, data["image"].dtype, data["label"].tolist()
((6, 32, 32, 3), dtype('uint8'), [1, 0, 1, 0, 2, 2])
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

__all__ = [
    "CANONICAL_SIZE",
    "CLASS_NAMES",
    "DOMAINS",
    "SPLIT_SIZES",
    "VERSION",
    "Domain",
    "cache_path",
    "generate_split",
    "load_arrays",
    "render_hand",
]

VERSION = "2.0.0"
CLASS_NAMES = ("rock", "paper", "scissors")
SPLIT_SIZES = {"train": 2520, "test": 372}
#: Side of the images in the cache; other sizes are resized from it.
CANONICAL_SIZE = 300
_SPLIT_CODES = {"train": 0, "test": 1}
_CHUNK = 256  # images per array in the cache file (bounds the memory a resize on load needs)

_SKIN_TONES = np.array(
    [
        (255, 224, 196), (241, 198, 160), (233, 182, 130), (214, 160, 112), (198, 134, 86),
        (170, 110, 70), (141, 85, 52), (110, 70, 45), (86, 56, 38),
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class Domain:
    """The ranges one split's hands, scenes and poses are drawn from (uniformly).

    Attributes
    ----------
    skin_tones : indices into the palette of nine skin tones
    tint : per-channel multiplicative spread of the skin colour (0.04: +-4%)
    finger_width, finger_length, palm_width : hand shape, in palm widths
    spread : degrees between neighbouring fingers of the open hand (paper)
    v_angle : half-angle of the scissors' V, degrees
    rotation : the hand is held within this many degrees of upright
    scale : palm width as a fraction of the image side
    shift : the hand's centre is moved by up to this fraction of the side from the middle
    backgrounds : any of ``'studio'`` (near-white), ``'tinted'`` (a light plain colour),
        ``'gradient'`` (two colours), ``'field'`` (a smooth colour field), ``'dark'`` (a dim
        plain colour)
    light : range of the mean light level (255: full light)
    light_unevenness : standard deviation of the light level across the image
    """

    skin_tones: tuple[int, ...]
    tint: float
    finger_width: tuple[float, float]
    finger_length: tuple[float, float]
    palm_width: tuple[float, float]
    spread: tuple[float, float]
    v_angle: tuple[float, float]
    rotation: float
    scale: tuple[float, float]
    shift: float
    backgrounds: tuple[str, ...]
    light: tuple[float, float]
    light_unevenness: float


#: The training split's and the test split's domains.
DOMAINS = {
    "train": Domain(
        skin_tones=(0, 2, 4, 6, 8), tint=0.04, finger_width=(0.19, 0.24),
        finger_length=(0.92, 1.08), palm_width=(0.46, 0.54), spread=(5.0, 12.0),
        v_angle=(12.0, 22.0), rotation=25.0, scale=(0.23, 0.28), shift=0.06,
        backgrounds=("studio",), light=(215.0, 255.0), light_unevenness=8.0,
    ),
    "test": Domain(
        skin_tones=(1, 3, 5, 7), tint=0.12, finger_width=(0.14, 0.30),
        finger_length=(0.78, 1.22), palm_width=(0.42, 0.58), spread=(3.0, 18.0),
        v_angle=(8.0, 28.0), rotation=35.0, scale=(0.20, 0.31), shift=0.09,
        backgrounds=("studio", "tinted", "gradient"), light=(160.0, 255.0),
        light_unevenness=35.0,
    ),
}


# -- geometry -------------------------------------------------------------------------------------
def _capsule(a: np.ndarray, b: np.ndarray, r: float, steps: int = 7) -> np.ndarray:
    """Polygon (k, 2) of a stadium shape around segment a-b with radius r."""
    d = b - a
    length = float(np.hypot(*d)) or 1e-6
    d = d / length
    n = np.array([-d[1], d[0]])
    phi = np.linspace(-np.pi / 2, np.pi / 2, steps)
    cap_b = b + r * (np.cos(phi)[:, None] * d + np.sin(phi)[:, None] * n)
    cap_a = a + r * (np.cos(phi)[:, None] * -d + np.sin(phi)[:, None] * -n)
    return np.concatenate([cap_b, cap_a])


def _rounded_box(cx: float, cy: float, hw: float, hh: float, r: float) -> np.ndarray:
    """Polygon of a rectangle with rounded corners (a superellipse-like palm)."""
    t = np.linspace(0, np.pi / 2, 5)
    corners = []
    for sx, sy, t0 in ((1, 1, 0.0), (-1, 1, np.pi / 2), (-1, -1, np.pi), (1, -1, 1.5 * np.pi)):
        ccx, ccy = cx + sx * (hw - r), cy + sy * (hh - r)
        corners.append(np.stack([ccx + r * np.cos(t + t0), ccy + r * np.sin(t + t0)], axis=1))
    return np.concatenate(corners)


def _direction(angle_deg: float) -> np.ndarray:
    """Unit vector at ``angle_deg`` from 'up' (-y), positive towards +x."""
    a = np.deg2rad(angle_deg)
    return np.array([np.sin(a), -np.cos(a)])


def _hand_parts(label: int, rng: np.random.Generator,
                domain: Domain) -> list[tuple[np.ndarray, float]]:
    """Polygons (local units: palm width ~1, fingers towards -y) and a shade per part.

    Parts are returned in drawing order (back to front).
    """
    parts: list[tuple[np.ndarray, float]] = []
    u = rng.uniform
    fw = u(*domain.finger_width)  # finger width
    fr = fw / 2
    palm_hw = u(*domain.palm_width)
    palm_hh = palm_hw * u(1.02, 1.16)
    # forearm, reaching far outside the frame
    arm_w = palm_hw * u(0.68, 0.8)
    parts.append((_capsule(np.array([0.0, 0.3]), np.array([u(-0.3, 0.3), 4.5]), arm_w), 0.93))
    # finger bases along the top of the palm: index (x<0) .. pinky (x>0)
    base_x = np.array([-0.34, -0.11, 0.12, 0.34]) * palm_hw / 0.5
    base_y = -palm_hh + np.array([0.06, 0.0, 0.03, 0.1])
    lengths = np.array([0.78, 0.88, 0.8, 0.62]) * u(*domain.finger_length)
    lengths = lengths * rng.uniform(0.94, 1.06, 4)

    if label == 0:  # rock: a fist
        box = _rounded_box(0.0, -0.02, palm_hw + 0.04, palm_hh * 0.85, 0.22)
        parts.append((box, 1.0))
        # curled fingers seen from the front: four stacked rolls over the top of the fist
        for i in range(4):
            y = base_y[i] * 0.75 + 0.06
            x0 = base_x[i]
            parts.append((_capsule(np.array([x0 - 0.02, y + 0.02]),
                                   np.array([x0 + 0.02, y + 0.42 * u(0.8, 1.1)]),
                                   fr * 1.15), 1.04))
        # thumb folded across the front of the curled fingers
        ty = u(0.05, 0.2)
        parts.append((_capsule(np.array([palm_hw + 0.02, ty + 0.2]),
                               np.array([-0.1 + u(-0.1, 0.1), ty - 0.05]), fr * 1.25), 1.08))
    elif label == 1:  # paper: open palm, five spread fingers
        parts.append((_rounded_box(0.0, 0.0, palm_hw, palm_hh, 0.25), 1.0))
        spread = u(*domain.spread)
        tilt = u(-6.0, 6.0)
        for i in range(4):
            angle = tilt + spread * (i - 1.3)
            base = np.array([base_x[i], base_y[i] + 0.12])
            tip = base + lengths[i] * _direction(angle)
            parts.append((_capsule(base, tip, fr), 1.05))
        thumb_angle = -u(40.0, 75.0)
        tb = np.array([-palm_hw + 0.08, u(-0.05, 0.2)])
        parts.append((_capsule(tb, tb + u(0.5, 0.65) * _direction(thumb_angle), fr * 1.2), 1.03))
    else:  # scissors: index and middle fingers in a V, ring and pinky curled
        box = _rounded_box(0.0, 0.0, palm_hw + 0.02, palm_hh * 0.92, 0.24)
        parts.append((box, 1.0))
        for i in (2, 3):  # curled ring and pinky
            y = base_y[i] * 0.75 + 0.06
            parts.append((_capsule(np.array([base_x[i], y]),
                                   np.array([base_x[i] + 0.02, y + 0.38]), fr * 1.15), 1.04))
        v = u(*domain.v_angle)
        tilt = u(-10.0, 10.0)
        for i, angle in ((0, tilt - v), (1, tilt + v * 0.6)):
            base = np.array([base_x[i], base_y[i] + 0.12])
            tip = base + lengths[i] * 1.05 * _direction(angle)
            parts.append((_capsule(base, tip, fr), 1.05))
        ty = u(0.0, 0.15)
        parts.append((_capsule(np.array([-palm_hw - 0.02, ty + 0.2]),
                               np.array([0.25 + u(-0.05, 0.1), ty - 0.05]), fr * 1.25), 1.08))
    return parts


# -- rendering ------------------------------------------------------------------------------------
def _background(size: int, rng: np.random.Generator, domain: Domain) -> Image.Image:
    kind = domain.backgrounds[int(rng.integers(len(domain.backgrounds)))]
    if kind == "studio":  # near-white, like the published images' backdrop
        grid = np.tile(rng.uniform(228, 255) - rng.uniform(0, 12, 3), (2, 2, 1))
        grid += rng.normal(0, 3, grid.shape)
    elif kind == "tinted":  # a light plain colour
        grid = np.tile(rng.uniform(150, 235, 3), (2, 2, 1)) + rng.normal(0, 4, (2, 2, 3))
    elif kind == "gradient":  # two colours in a random direction
        c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        a = rng.uniform(0, 2 * np.pi)
        xs = np.array([[0, 1], [0, 1]], dtype=np.float64)
        ys = np.array([[0, 0], [1, 1]], dtype=np.float64)
        t = (np.cos(a) * (xs - 0.5) + np.sin(a) * (ys - 0.5)) / np.sqrt(0.5) * 0.5 + 0.5
        grid = c1 + t[..., None] * (c2 - c1)
    elif kind == "field":  # a smooth random colour field
        grid = rng.uniform(30, 230, 3) + rng.normal(0, 45, (3, 3, 3))
    else:  # dark: a dim plain colour
        grid = np.tile(rng.uniform(20, 110, 3), (2, 2, 1))
    grid = np.clip(grid, 0, 255).astype(np.uint8)
    return Image.fromarray(grid, "RGB").resize((size, size), Image.Resampling.BICUBIC)


def render_hand(label: int, rng: np.random.Generator, size: int = 300,
                domain: Domain | str = "train") -> np.ndarray:
    """Draw one hand of class ``label`` (0 rock, 1 paper, 2 scissors) as uint8 (size, size, 3),
    with its shape, pose, skin, background and light drawn from ``domain`` (a
    :class:`Domain`, or ``'train'`` / ``'test'`` for :data:`DOMAINS`)."""
    if isinstance(domain, str):
        domain = DOMAINS[domain]
    img = _background(size, rng, domain)
    draw = ImageDraw.Draw(img)
    parts = _hand_parts(label, rng, domain)

    # pose: scale (pixels per palm width), rotation, mirror, position
    scale = size * rng.uniform(*domain.scale)
    angle = np.deg2rad(rng.uniform(-domain.rotation, domain.rotation))
    mirror = -1.0 if rng.random() < 0.5 else 1.0
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lin = scale * rot @ np.diag([mirror, 1.0])
    # put the middle of the hand (between fingertips and wrist) near the centre
    centre = size / 2 + rng.uniform(-domain.shift, domain.shift, 2) * size
    offset = centre - lin @ np.array([0.0, -0.35])

    tone = domain.skin_tones[int(rng.integers(len(domain.skin_tones)))]
    skin = _SKIN_TONES[tone] * rng.uniform(1 - domain.tint, 1 + domain.tint, 3)
    outline_dark = rng.uniform(0.55, 0.72)
    width = max(1, int(round(size / 150)))
    for poly, shade in parts:
        pts = poly @ lin.T + offset
        fill = tuple(int(v) for v in np.clip(skin * shade, 0, 255))
        edge = tuple(int(v) for v in np.clip(skin * shade * outline_dark, 0, 255))
        draw.polygon(pts.ravel().tolist(), fill=fill, outline=edge, width=width)
    # lighting: a smooth multiplicative field
    light = rng.uniform(*domain.light) + rng.normal(0, domain.light_unevenness, (2, 2))
    light_img = Image.fromarray(np.clip(light, 60, 255).astype(np.uint8), "L")
    light_img = light_img.resize((size, size), Image.Resampling.BILINEAR).convert("RGB")
    return np.asarray(ImageChops.multiply(img, light_img), dtype=np.uint8)


def generate_split(split: str, image_size: int = 300, seed: int = 0,
                   num_examples: int | None = None) -> dict[str, np.ndarray]:
    """Draw a split at ``image_size``: ``{'image': uint8 (n, s, s, 3), 'label': int64 (n,)}``.

    Classes are balanced (``n // 3`` each, remainder to the first classes) and interleaved
    in a fixed random order. Deterministic in ``(split, image_size, seed, num_examples)``.
    """
    if split not in SPLIT_SIZES:
        raise ValueError(
            f"rock_paper_scissors_generated: unknown split {split!r}. "
            f"Available: {list(SPLIT_SIZES)}"
        )
    _check_size(image_size)
    n = SPLIT_SIZES[split] if num_examples is None else int(num_examples)
    code = _SPLIT_CODES[split]
    labels = np.arange(n) % 3
    labels = np.random.default_rng([seed, code, 7]).permutation(labels).astype(np.int64)
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    for i in range(n):
        rng = np.random.default_rng([seed, code, i])
        images[i] = render_hand(int(labels[i]), rng, image_size, DOMAINS[split])
    return {"image": images, "label": labels}


def _check_size(image_size: Any) -> None:
    if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or \
            image_size < 16:
        raise ValueError(
            "rock_paper_scissors_generated: image_size must be an integer >= 16. "
            f"Received: image_size={image_size!r}"
        )


# -- the cache ------------------------------------------------------------------------------------
def default_data_dir() -> Path:
    env = os.environ.get("NABLANET_DATA_DIR")
    root = Path(env).expanduser() if env else Path.home() / ".nablanet" / "datasets"
    return root / "rock_paper_scissors_generated"


def cache_path(seed: int = 0, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<data_dir>/<version>-<canonical size>-<seed>.npz``: the one cache file of a seed.

    ``data_dir`` defaults to ``$NABLANET_DATA_DIR/rock_paper_scissors_generated`` or
    ``~/.nablanet/datasets/rock_paper_scissors_generated``.
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return root / f"{VERSION}-{int(CANONICAL_SIZE)}-{int(seed)}.npz"


def load_arrays(image_size: int = 300, seed: int = 0,
                data_dir: str | os.PathLike[str] | None = None,
                cache: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Both splits as arrays at ``image_size``, from the cache (drawn and cached first when it
    is missing or unreadable).

    The cache holds the images at :data:`CANONICAL_SIZE`; other sizes are resized from it
    (Pillow's bilinear filter, antialiased when shrinking). It is written atomically (a
    temporary file in the same folder, then ``os.replace``), so an interrupted run never leaves
    a broken file behind, and one line says where it was written and how big it is.
    """
    _check_size(image_size)
    path = cache_path(seed, data_dir)
    canonical: dict[str, dict[str, Any]] | None = None
    if cache and path.is_file():
        try:
            canonical = _read_cache(path, image_size)
        except (OSError, KeyError, ValueError):
            canonical = None  # unreadable cache: draw it again and overwrite it
    if canonical is not None:
        return canonical
    total = sum(SPLIT_SIZES.values())
    print(f"rock_paper_scissors_generated: drawing {total:,} images at "
          f"{CANONICAL_SIZE}x{CANONICAL_SIZE} (once)...", end="", flush=True)
    data = {s: generate_split(s, CANONICAL_SIZE, seed) for s in SPLIT_SIZES}
    if cache:
        arrays: dict[str, np.ndarray] = {}
        for s, d in data.items():
            arrays[f"{s}_label"] = d["label"]
            for k in range(0, len(d["label"]), _CHUNK):
                arrays[f"{s}_image_{k // _CHUNK:03d}"] = d["image"][k:k + _CHUNK]
        _write_npz_atomic(path, arrays)
        print(f" cached in {path} ({path.stat().st_size / 1e6:.0f} MB)", flush=True)
        _remove_old_caches(path)
    else:
        print(" done (not cached)", flush=True)
    return {s: {"image": _resize_all(d["image"], image_size), "label": d["label"]}
            for s, d in data.items()}


def _remove_old_caches(path: Path) -> None:
    """Delete the caches earlier versions of this module wrote next to ``path`` (version 1
    kept one uncompressed file per image size, up to 780 MB each), saying so."""
    pattern = re.compile(r"^\d+\.\d+\.\d+-\d+-\d+\.npz$")
    for old in sorted(path.parent.iterdir()):
        if pattern.match(old.name) and not old.name.startswith(f"{VERSION}-"):
            size = old.stat().st_size
            old.unlink()
            print(f"rock_paper_scissors_generated: removed the old cache {old} "
                  f"({size / 1e6:.0f} MB)", flush=True)


def _read_cache(path: Path, image_size: int) -> dict[str, dict[str, Any]]:
    out = {}
    with np.load(path, allow_pickle=False) as z:
        for s, n in SPLIT_SIZES.items():
            labels = z[f"{s}_label"]
            images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
            for k in range(0, n, _CHUNK):
                chunk = z[f"{s}_image_{k // _CHUNK:03d}"]
                if chunk.shape[1:] != (CANONICAL_SIZE, CANONICAL_SIZE, 3) or \
                        len(chunk) != min(_CHUNK, n - k):
                    raise ValueError(f"unexpected array shape {chunk.shape} in {path}")
                images[k:k + len(chunk)] = _resize_all(chunk, image_size)
            if labels.shape != (n,):
                raise ValueError(f"unexpected label shape {labels.shape} in {path}")
            out[s] = {"image": images, "label": labels.astype(np.int64)}
    return out


def _resize_all(images: np.ndarray, image_size: int) -> np.ndarray:
    if images.shape[1] == image_size:
        return images
    out = np.empty((len(images), image_size, image_size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        resized = Image.fromarray(image).resize((image_size, image_size),
                                                Image.Resampling.BILINEAR)
        out[i] = np.asarray(resized)
    return out


def _write_npz_atomic(path: Path, arrays: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's file is private (0600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
