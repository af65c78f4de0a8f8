"""Generated blocks of a README: the text between a start and an end marker, read and replaced.

`mmadbench report --readme` writes the results block and `mmadbench compare --readme` the
reproduction block; both go through here, so a README whose markers are missing or out of order
is left unchanged (with a warning) rather than rewritten around the wrong span.
"""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def marked_block(text: str, start: str, end: str) -> str | None:
    """The block from `start` to the first `end` after it, markers included; None unless both
    are there in that order."""
    first = text.find(start)
    last = text.find(end, first + len(start)) if first >= 0 else -1
    return None if first < 0 or last < 0 else text[first : last + len(end)]


def replace_block(path: str | Path, start: str, end: str, block: str) -> bool:
    """Put `block` in place of the README's marked block; False (and a warning) without one."""
    path = Path(path)
    text = path.read_text()
    old = marked_block(text, start, end)
    if old is None:
        logger.warning("%s has no %s ... %s markers in that order; left unchanged", path, start, end)
        return False
    path.write_text(text.replace(old, block, 1))
    return True


def readme_link(path: Path, readme: Path) -> str:
    """`path` as a README link: relative to the README's folder where it lies beneath it."""
    return (path.relative_to(readme.parent) if path.is_relative_to(readme.parent) else path).as_posix()
