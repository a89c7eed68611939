"""Built-in text transforms: Devanagari -> Urdu transliteration, Urdu normalisation, Unicode forms, case.

A text data section lists them in order, e.g. Hindi read in Urdu spelling::

    transforms: [devanagari_to_urdu, {plugin: urdu_normalise, fold: true}]
"""

from __future__ import annotations

import unicodedata
from typing import Literal

from pydantic import Field

from tlspec.api import TextTransform, TransformConfig, hookimpl
from tlspec_builtins import scripts


class NoOptions(TransformConfig):
    """A transform that takes nothing but its name."""


class DevanagariToUrdu(TextTransform):
    name = "devanagari_to_urdu"
    summary = "Hindi in Devanagari -> the same words in vowel-less Urdu (Perso-Arabic) spelling."
    Config = NoOptions

    def apply(self, config: NoOptions, text: str) -> str:
        return scripts.devanagari_to_urdu(text)


class UrduNormaliseConfig(TransformConfig):
    fold: bool = Field(False, description="Also collapse the letters Hindi spelling does not tell apart "
                                          "(ث ص س, ذ ز ض ظ ژ, ت ط, ...), so transliterated Hindi and Urdu meet.")


class UrduNormalise(TextTransform):
    name = "urdu_normalise"
    summary = "One spelling for Urdu: NFKC, vowel marks removed, Arabic letter variants and h written one way."
    Config = UrduNormaliseConfig

    def apply(self, config: UrduNormaliseConfig, text: str) -> str:
        text = scripts.normalise_urdu(text)
        return scripts.fold_urdu(text) if config.fold else text


class UnicodeNormaliseConfig(TransformConfig):
    form: Literal["NFC", "NFKC", "NFD", "NFKD"] = "NFKC"


class UnicodeNormalise(TextTransform):
    name = "unicode_normalise"
    summary = "Unicode normal form (NFKC by default: compatibility characters become plain ones)."
    Config = UnicodeNormaliseConfig

    def apply(self, config: UnicodeNormaliseConfig, text: str) -> str:
        return unicodedata.normalize(config.form, text)


class Lowercase(TextTransform):
    name = "lowercase"
    summary = "Lowercase (Unicode casefold)."
    Config = NoOptions

    def apply(self, config: NoOptions, text: str) -> str:
        return text.casefold()


@hookimpl
def tlspec_text_transforms():
    return [DevanagariToUrdu(), UrduNormalise(), UnicodeNormalise(), Lowercase()]
