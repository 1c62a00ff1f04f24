"""The documentation site builds with warnings as errors (``mkdocs build --strict``), its API
pages render the docstrings' maths, and nothing in the docs points outside the repository."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _converter():
    spec = importlib.util.spec_from_file_location("griffe_rst", ROOT / "docs/hooks/griffe_rst.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.rst_to_markdown


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                          str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-4000:]
    return out


def test_site_has_every_page(site):
    for page in ("index.html", "chapter-map/index.html", "errata/index.html",
                 "from-keras-pytorch/index.html", "notebooks/index.html",
                 "notebooks/07_cnn_rock_paper_scissors/index.html",
                 "api/optimizers/index.html", "api/layers/index.html"):
        assert (site / page).is_file(), page
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in (site / "notebooks").iterdir() if p.is_dir()) == notebooks
    cnn = (site / "notebooks/07_cnn_rock_paper_scissors/index.html").read_text()
    assert "EarlyStopping" in cnn and "tfds" in cnn


def test_api_pages_render_maths(site):
    adam = (site / "api/optimizers/index.html").read_text()
    assert "nablanet.optimizers.Adam" in adam
    assert adam.count('class="arithmatex"') > 20
    for page in (site / "api").glob("*/index.html"):
        text = page.read_text()
        assert ":math:" not in text and ".. math::" not in text, page
        # aligned equations are wrapped so that MathJax accepts '&' and '\\'
        for block in re.findall(r'<div class="arithmatex">(.*?)</div>', text, re.S):
            if "&amp;" in block:
                assert "begin{aligned}" in block, (page, block)


def test_docstring_conversion():
    convert = _converter()
    text = convert(":math:`a +\nb` costs $5, ``$x`` stays; see :func:`~nablanet.ops.conv`::\n\n"
                   ".. math::\n\n    y &= 1 \\\\\n    z &= 2\n\nParameters\n----------\n"
                   "x : int\n    The x.\n\nInput shape\n-----------\n(batch, 3)\n")
    assert text.startswith("$a + b$ costs \\$5, ``$x`` stays; see ``conv``:\n")
    assert "$$\n\\begin{aligned}\ny &= 1 \\\\\nz &= 2\n\\end{aligned}\n$$" in text
    assert 'Notes\n-----\n\n!!! info "Input shape"\n    (batch, 3)' in text


def test_no_reference_outside_the_repository():
    texts = [p.read_text() for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                                     ROOT / "notebooks/README.md"]]
    texts += [p.read_text() for p in (ROOT / "src").rglob("*.py")]
    for text in texts:
        assert "shared/seed" not in text and "ERRATA.md" not in text
        assert "helper-brief" not in text
    assert not (ROOT / "docs/helper-brief.md").exists()
