"""Code-switch synthesis, runner-free: entity lexicons (CLDR via Babel; Wikidata dumps and user
files are read by :mod:`corpusforge.io.lexicons`), mention detection (wikitext links, given
spans, an Aho-Corasick gazetteer), entity-level switching (EntityCS) and dictionary-level
switching (CoSDA-ML style), producing ``codeswitch.v1`` records. The stages that run them in a
recipe are in :mod:`corpusforge.transforms.codeswitch`.

Offsets are code points of the text they refer to, everywhere in this package.

    >>> from corpusforge.codeswitch import EntitySwitcher, cldr_lexicon
    >>> switcher = EntitySwitcher(lexicon=cldr_lexicon(languages=["eng_Latn", "hin_Deva"]))
    >>> switcher.switch("They flew to India.", target="hin_Deva").text
    'They flew to भारत.'
"""

from corpusforge.codeswitch.dictionary import BilingualDictionary, DictionarySwitcher
from corpusforge.codeswitch.lexicon import (
    LEXICON_SCHEMA,
    Entity,
    EntityLexicon,
    cldr_lexicon,
)
from corpusforge.codeswitch.mentions import Gazetteer, Mention, MentionError, given_mentions, parse_wikilinks
from corpusforge.codeswitch.switcher import (
    EntitySwitcher,
    Span,
    Switched,
    apply_edits,
    codeswitch_record,
)
from corpusforge.hashing import StableDraws

__all__ = [
    "LEXICON_SCHEMA",
    "BilingualDictionary",
    "DictionarySwitcher",
    "Entity",
    "EntityLexicon",
    "EntitySwitcher",
    "Gazetteer",
    "Mention",
    "MentionError",
    "Span",
    "StableDraws",
    "Switched",
    "apply_edits",
    "cldr_lexicon",
    "codeswitch_record",
    "given_mentions",
    "parse_wikilinks",
]
