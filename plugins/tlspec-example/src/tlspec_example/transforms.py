"""``strip_accents``: an example text transform, run on every text before it is tokenized.

Pure Python (transforms run at validate time too): decompose with Unicode NFKD and drop the
combining marks, so "café" and "cafe" become one token.
"""

from __future__ import annotations

import unicodedata

from tlspec.api import TextTransform, TransformConfig


class StripAccentsConfig(TransformConfig):
    pass


class StripAccents(TextTransform):
    name = "strip_accents"
    summary = "Example plugin: remove accents (NFKD, combining marks dropped)."
    Config = StripAccentsConfig

    def apply(self, config: StripAccentsConfig, text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(character for character in decomposed if not unicodedata.combining(character))
