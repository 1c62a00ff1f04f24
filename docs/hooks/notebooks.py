"""MkDocs hook (mkdocs.yml ``hooks:``): the notebooks in ``notebooks/`` become pages of the
site. Each notebook is converted to Markdown when the site is built -- its Markdown cells as
they are, its code cells as Python blocks (the notebooks are committed without outputs) -- so
the pages and the notebooks never disagree. ``notebooks/README.md`` becomes the section's
index page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import nbformat
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def notebook_to_markdown(path: Path) -> str:
    """One Markdown page for the notebook at ``path``."""
    notebook = nbformat.read(path, as_version=4)
    parts = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            if index == 0:
                parts.append(f"!!! note \"Run it yourself\"\n    This page is the notebook "
                             f"`notebooks/{path.name}` of the repository; open it in Jupyter "
                             f"(see [the notebooks](index.md)) to run the code and see the "
                             f"figures.")
        elif cell.cell_type == "code":
            parts.append(f"```python\n{cell.source}\n```")
    return "\n\n".join(parts) + "\n"


def on_files(files: Files, config: Any) -> Files:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(File.generated(config, f"notebooks/{path.stem}.md",
                                    content=notebook_to_markdown(path)))
    readme = (NOTEBOOKS / "README.md").read_text()
    readme = re.sub(r"\]\(([\w-]+)\.ipynb\)", r"](\1.md)", readme)
    files.append(File.generated(config, "notebooks/index.md", content=readme))
    return files
