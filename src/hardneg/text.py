"""Text normalisation used to recognise the same document under different ids."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Unicode NFKC, case-folded, whitespace collapsed and stripped.

    Two documents whose normalised texts are equal are the same document for the purpose of
    keeping positives out of the negatives.
    """
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
