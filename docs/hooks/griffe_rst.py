"""A Griffe extension used by the documentation build (mkdocs.yml): nablanet's docstrings are
NumPy-style with reStructuredText roles; mkdocstrings renders Markdown. This rewrites, outside
code spans, ``:math:`x``` to ``$x$`` and ``.. math::`` blocks to ``$$ ... $$`` (MathJax through
pymdownx.arithmatex), cross-reference roles (``:func:`~a.b.c```) to code (``c``), a literal
``$`` to ``\\$``, and a paragraph's closing ``::`` to ``:``."""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|mod|meth|attr|data|obj|exc|const|ref|term):`~?([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")  # [^`] also matches a line break
_CODE = re.compile(r"(``.+?``|`[^`]+`)")


def _roles(text: str) -> str:
    """Cross-reference roles to code, ``:math:`` roles (which may run over two lines) to
    ``\\0``-delimited maths on one line."""
    text = _ROLE.sub(lambda m: "``" + m.group(1).split(".")[-1].split(" <")[0] + "``"
                     if m.group(0).count("~") else "``" + m.group(1) + "``", text)
    return _MATH_ROLE.sub(lambda m: "\0" + " ".join(m.group(1).split()) + "\0", text)


def _inline(text: str) -> str:
    """Convert one line outside ``.. math::`` blocks (after :func:`_roles`)."""
    out = []
    for piece in _CODE.split(text):
        if piece.startswith("`") and piece.endswith("`"):
            out.append(piece)
        else:
            parts = piece.split("\0")
            # even parts are text, odd parts are maths
            out.append("".join(p.replace("$", r"\$") if i % 2 == 0 else f"${p.strip()}$"
                               for i, p in enumerate(parts)))
    line = "".join(out)
    if line.rstrip().endswith("::") and not line.strip() == "::":
        line = line.rstrip()[:-1]
    elif line.strip() == "::":
        line = ""
    return line


#: The section titles the NumPy docstring parser knows; other underlined titles (``Input
#: shape``) would be read as part of the section above them.
_SECTIONS = {"parameters", "other parameters", "returns", "yields", "receives", "raises",
             "warns", "warnings", "attributes", "methods", "see also", "notes", "references",
             "examples", "functions", "classes", "modules"}


_ITEM_SECTIONS = {"parameters", "other parameters", "returns", "yields", "receives", "raises",
                  "warns", "attributes"}
_ITEM = re.compile(r"^[\w*][\w*, .\[\]]*( : .+)?$")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_heading(lines: list[str], i: int) -> bool:
    underline = lines[i + 1].strip() if i + 1 < len(lines) else ""
    return bool(lines[i].strip()) and len(underline) >= 3 and set(underline) == {"-"}


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reStructuredText maths and roles made Markdown.

    Free text that follows the items of a ``Parameters``-like section at the docstring's own
    indentation is put under a ``Notes`` heading (the NumPy parser would read its first words
    as one more parameter), and a heading the parser does not know (``Input shape``) becomes
    an admonition.
    """
    lines = _roles(text).split("\n")
    result: list[str] = []
    section = ""
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if _is_heading(lines, i):
            title = stripped.lower()
            if title in _SECTIONS:
                section = title
                result += [line, lines[i + 1]]
                i += 2
                continue
            if section in _ITEM_SECTIONS:
                result += ["Notes", "-----", ""]
            section = "notes"
            result.append(f'!!! info "{stripped}"')
            i += 2
            while i < len(lines) and not lines[i].strip():
                i += 1
            while i < len(lines) and lines[i].strip() and not _is_heading(lines, i):
                result.append("    " + _inline(lines[i].strip()))
                i += 1
            result.append("")
            continue
        if (section in _ITEM_SECTIONS and stripped and _indent(line) == 0 and i > 0
                and not lines[i - 1].strip()):
            following = lines[i + 1] if i + 1 < len(lines) else ""
            item = bool(_ITEM.match(stripped)) and (not following.strip()
                                                    or _indent(following) > 0)
            if not item:
                result += ["Notes", "-----", ""]
                section = "notes"
        if stripped.startswith(".. math::"):
            indent = len(line) - len(line.lstrip())
            body = [stripped[len(".. math::"):].strip()]
            i += 1
            while i < len(lines) and (not lines[i].strip()
                                      or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i].strip())
                i += 1
            maths = "\n".join(b for b in body if b)
            if "&" in maths or "\\\\" in maths:  # several aligned lines, as Sphinx renders them
                maths = "\\begin{aligned}\n" + maths + "\n\\end{aligned}"
            pad = " " * indent
            result += ["", f"{pad}$$", *(pad + m for m in maths.split("\n")), f"{pad}$$", ""]
            continue
        # a ``>>>`` example or an indented literal block is left alone
        result.append(line if stripped.startswith(">>>") else _inline(line))
        i += 1
    return "\n".join(result)


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring once the object tree is loaded."""

    def on_object(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
