"""A generated rock-paper-scissors data set that ships with the code (no download).

Each image shows one procedurally drawn hand -- a fist (rock, label 0), an open palm with five
spread fingers (paper, 1) or a hand with the index and middle fingers in a V (scissors, 2) --
with a forearm coming in from outside the frame. Pose and appearance vary per image: rotation
(any angle), left or right hand, scale, position, finger lengths, widths and spread, skin tone,
a smooth random background (plain, two-colour gradient or colour field), directional lighting
and sensor noise. The split sizes match the published data set (2,520 training and 372 test
images, classes balanced and interleaved in a fixed random order).

Drawing uses Pillow's polygon rasteriser (each finger is a capsule polygon with a darker
outline, the palm a rounded polygon), so all 2,892 images at 300x300 take seconds, not
minutes. Image ``i`` of a split depends only on ``(seed, split, i, image_size)``: the same
seed gives identical arrays.

Examples
--------
>>> data = generate_split("test", image_size=32, seed=0, num_examples=6)
>>> data["image"].shape, data["image"].dtype, data["label"].tolist()
((6, 32, 32, 3), dtype('uint8'), [1, 0, 1, 0, 2, 2])
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

__all__ = [
    "CLASS_NAMES",
    "SPLIT_SIZES",
    "VERSION",
    "cache_path",
    "generate_split",
    "load_arrays",
    "render_hand",
]

VERSION = "1.0.0"
CLASS_NAMES = ("rock", "paper", "scissors")
SPLIT_SIZES = {"train": 2520, "test": 372}
_SPLIT_CODES = {"train": 0, "test": 1}

_SKIN_TONES = np.array(
    [
        (255, 224, 196), (241, 198, 160), (233, 182, 130), (214, 160, 112), (198, 134, 86),
        (170, 110, 70), (141, 85, 52), (110, 70, 45), (86, 56, 38),
    ],
    dtype=np.float64,
)


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


def _hand_parts(label: int, rng: np.random.Generator) -> list[tuple[np.ndarray, float]]:
    """Polygons (local units: palm width ~1, fingers towards -y) and a shade per part.

    Parts are returned in drawing order (back to front).
    """
    parts: list[tuple[np.ndarray, float]] = []
    u = rng.uniform
    fw = u(0.19, 0.24)  # finger radius * 2 ~ finger width
    fr = fw / 2
    palm_hw, palm_hh = u(0.46, 0.54), u(0.5, 0.6)
    # forearm, reaching far outside the frame
    arm_w = u(0.34, 0.42)
    parts.append((_capsule(np.array([0.0, 0.3]), np.array([u(-0.3, 0.3), 4.5]), arm_w), 0.93))
    # finger bases along the top of the palm: index (x<0) .. pinky (x>0)
    base_x = np.array([-0.34, -0.11, 0.12, 0.34]) * palm_hw / 0.5
    base_y = -palm_hh + np.array([0.06, 0.0, 0.03, 0.1])
    lengths = np.array([0.78, 0.88, 0.8, 0.62]) * u(0.9, 1.12)
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
        spread = u(4.0, 14.0)
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
        v = u(10.0, 24.0)
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
def _background(size: int, rng: np.random.Generator) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:  # near-plain (like the published images' white backdrop)
        c = rng.uniform(200, 255) - rng.uniform(0, 25, 3)
        grid = np.tile(c, (2, 2, 1))
        grid += rng.normal(0, 6, grid.shape)
    elif kind == 1:  # two-colour gradient in a random direction
        c1, c2 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        a = rng.uniform(0, 2 * np.pi)
        xs = np.array([[0, 1], [0, 1]], dtype=np.float64)
        ys = np.array([[0, 0], [1, 1]], dtype=np.float64)
        t = (np.cos(a) * (xs - 0.5) + np.sin(a) * (ys - 0.5)) / np.sqrt(0.5) * 0.5 + 0.5
        grid = c1 + t[..., None] * (c2 - c1)
    else:  # a smooth random colour field
        base = rng.uniform(30, 230, 3)
        grid = base + rng.normal(0, 45, (3, 3, 3))
    grid = np.clip(grid, 0, 255).astype(np.uint8)
    return Image.fromarray(grid, "RGB").resize((size, size), Image.Resampling.BICUBIC)


def render_hand(label: int, rng: np.random.Generator, size: int = 300,
                noise_bank: Image.Image | None = None) -> np.ndarray:
    """Draw one hand of class ``label`` (0 rock, 1 paper, 2 scissors) as uint8 (size, size, 3)."""
    img = _background(size, rng)
    draw = ImageDraw.Draw(img)
    parts = _hand_parts(label, rng)

    # pose: scale (pixels per palm width), rotation, mirror, position
    scale = size * rng.uniform(0.2, 0.3)
    angle = rng.uniform(0, 2 * np.pi)
    mirror = -1.0 if rng.random() < 0.5 else 1.0
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lin = scale * rot @ np.diag([mirror, 1.0])
    # put the middle of the hand (between fingertips and wrist) near the centre
    centre = size / 2 + rng.uniform(-0.12, 0.12, 2) * size
    offset = centre - lin @ np.array([0.0, -0.35])

    skin = _SKIN_TONES[rng.integers(len(_SKIN_TONES))] * rng.uniform(0.92, 1.06, 3)
    outline_dark = rng.uniform(0.55, 0.72)
    width = max(1, int(round(size / 150)))
    for poly, shade in parts:
        pts = poly @ lin.T + offset
        fill = tuple(int(v) for v in np.clip(skin * shade, 0, 255))
        edge = tuple(int(v) for v in np.clip(skin * shade * outline_dark, 0, 255))
        draw.polygon(pts.ravel().tolist(), fill=fill, outline=edge, width=width)
    # lighting: a smooth multiplicative field; then sensor noise
    light = np.clip(rng.uniform(150, 255) + rng.normal(0, 40, (2, 2)), 90, 255).astype(np.uint8)
    light_img = Image.fromarray(light, "L").resize((size, size), Image.Resampling.BILINEAR)
    light_img = light_img.convert("RGB")
    img = ImageChops.multiply(img, light_img)
    if noise_bank is not None:
        x0, y0 = (int(v) for v in rng.integers(0, noise_bank.size[0] - size, 2))
        noise = noise_bank.crop((x0, y0, x0 + size, y0 + size))
        img = ImageChops.add(img, noise, scale=1.0, offset=-128)
    return np.asarray(img, dtype=np.uint8)


def _noise_bank(size: int, seed: int, sigma: float) -> Image.Image:
    rng = np.random.default_rng([seed, 99, int(sigma * 10)])
    n = np.clip(128 + rng.normal(0, sigma, (2 * size, 2 * size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(n, "RGB")


def generate_split(split: str, image_size: int = 300, seed: int = 0,
                   num_examples: int | None = None) -> dict[str, np.ndarray]:
    """Generate a split: ``{'image': uint8 (n, s, s, 3), 'label': int64 (n,)}``.

    Classes are balanced (``n // 3`` each, remainder to the first classes) and interleaved
    in a fixed random order. Deterministic in ``(split, image_size, seed, num_examples)``.
    """
    if split not in SPLIT_SIZES:
        raise ValueError(
            f"rock_paper_scissors_generated: unknown split {split!r}. "
            f"Available: {list(SPLIT_SIZES)}"
        )
    if not isinstance(image_size, (int, np.integer)) or image_size < 16:
        raise ValueError(
            "rock_paper_scissors_generated: image_size must be an integer >= 16. "
            f"Received: image_size={image_size!r}"
        )
    n = SPLIT_SIZES[split] if num_examples is None else int(num_examples)
    code = _SPLIT_CODES[split]
    labels = np.arange(n) % 3
    labels = np.random.default_rng([seed, code, 7]).permutation(labels).astype(np.int64)
    banks = [_noise_bank(image_size, seed, s) for s in (2.0, 5.0, 9.0)]
    images = np.empty((n, image_size, image_size, 3), dtype=np.uint8)
    for i in range(n):
        rng = np.random.default_rng([seed, code, i])
        bank = banks[int(rng.integers(3))]
        images[i] = render_hand(int(labels[i]), rng, image_size, bank)
    return {"image": images, "label": labels}


def default_data_dir() -> Path:
    env = os.environ.get("NABLANET_DATA_DIR")
    root = Path(env).expanduser() if env else Path.home() / ".nablanet" / "datasets"
    return root / "rock_paper_scissors_generated"


def cache_path(image_size: int, seed: int, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``<data_dir>/<version>-<size>-<seed>.npz`` (data_dir defaults to
    ``$NABLANET_DATA_DIR/rock_paper_scissors_generated`` or
    ``~/.nablanet/datasets/rock_paper_scissors_generated``)."""
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    return root / f"{VERSION}-{int(image_size)}-{int(seed)}.npz"


def load_arrays(image_size: int = 300, seed: int = 0,
                data_dir: str | os.PathLike[str] | None = None,
                cache: bool = True) -> dict[str, dict[str, np.ndarray]]:
    """Both splits as arrays, from the ``.npz`` cache or generated (and cached) now.

    The cache is written atomically (a temporary file in the same folder, then
    ``os.replace``), so an interrupted run never leaves a broken file behind.
    """
    path = cache_path(image_size, seed, data_dir)
    if cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {s: {"image": z[f"{s}_image"], "label": z[f"{s}_label"]}
                        for s in SPLIT_SIZES}
        except (OSError, KeyError, ValueError):
            pass  # unreadable cache: regenerate and overwrite it
    data = {s: generate_split(s, image_size, seed) for s in SPLIT_SIZES}
    if cache:
        _write_npz_atomic(path, {f"{s}_{k}": v for s, d in data.items() for k, v in d.items()})
    return data


def _write_npz_atomic(path: Path, arrays: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
