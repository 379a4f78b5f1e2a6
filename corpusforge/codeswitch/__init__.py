"""Code-switch synthesis: entity lexicons (Wikidata dumps, CLDR via Babel, user files), mention
detection (wikitext links, given spans, an Aho-Corasick gazetteer), entity-level switching
(EntityCS) and dictionary-level switching (CoSDA-ML style), producing ``codeswitch.v1`` records.

Offsets are code points of the text they refer to, everywhere in this package.

    >>> from corpusforge.codeswitch import EntitySwitcher, cldr_lexicon
    >>> switcher = EntitySwitcher(lexicon=cldr_lexicon(languages=["eng_Latn", "hin_Deva"]))
    >>> switcher.switch("They flew to India.", target="hin_Deva").text
    'They flew to भारत.'
"""

from corpusforge.codeswitch.dictionary import BilingualDictionary, DictionarySwitcher, DictionarySwitchStage
from corpusforge.codeswitch.lexicon import (
    LEXICON_SCHEMA,
    Entity,
    EntityLexicon,
    WikidataDumpReader,
    cldr_lexicon,
    read_user_lexicon,
)
from corpusforge.codeswitch.mentions import Gazetteer, Mention, MentionError, given_mentions, parse_wikilinks
from corpusforge.codeswitch.switcher import (
    EntitySwitcher,
    EntitySwitchStage,
    Span,
    StableDraws,
    Switched,
    apply_edits,
    codeswitch_record,
)

__all__ = [
    "LEXICON_SCHEMA",
    "BilingualDictionary",
    "DictionarySwitchStage",
    "DictionarySwitcher",
    "Entity",
    "EntityLexicon",
    "EntitySwitchStage",
    "EntitySwitcher",
    "Gazetteer",
    "Mention",
    "MentionError",
    "Span",
    "StableDraws",
    "Switched",
    "WikidataDumpReader",
    "apply_edits",
    "cldr_lexicon",
    "codeswitch_record",
    "given_mentions",
    "parse_wikilinks",
    "read_user_lexicon",
]
