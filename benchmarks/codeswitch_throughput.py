"""Throughput of entity mention matching + switching: the Aho-Corasick gazetteer
(:class:`corpusforge.codeswitch.mentions.Gazetteer`) against one compiled ``re`` alternation over
the same aliases, both followed by the same :meth:`EntitySwitcher.switch`, in the same run.

Aliases: every CLDR name Babel has (territories, languages, scripts, currencies, cities in all
locales), English first, cut to ``--aliases`` (default 120,000). Sentences: English templates
filled with English CLDR names plus names from other locales (deterministic, ``--seed``).
The baseline regex is ``(?<!\\w)(?:alias|...)(?!\\w)`` with longer aliases first, so it takes
the leftmost-longest match on word boundaries as the gazetteer does; the script reports how
many sentences got the same mentions from both. Target: gazetteer >= 5x the baseline.

    nice .venv/bin/python benchmarks/codeswitch_throughput.py [--aliases N] [--sentences N]
"""

from __future__ import annotations

import argparse
import random
import re
import time

from corpusforge.codeswitch.lexicon import cldr_lexicon
from corpusforge.codeswitch.mentions import Gazetteer, Mention
from corpusforge.codeswitch.switcher import EntitySwitcher

TEMPLATES = [
    "People from {0} moved to {1} last year and many of them now speak {2} at home.",
    "The exhibition compared coins in {3} with banknotes printed in {1}, according to the catalogue.",
    "A flight from {4} to {5} was delayed, so the team from {0} missed the meeting.",
    "Her thesis on {2} grammar cites sources written in the {6} script and in {7}.",
    "Nothing here names a place, a currency or a language, which is a useful control case for the matcher.",
]


def build_aliases(limit: int) -> tuple[list[tuple[str, str, int]], dict[str, list[str]]]:
    """(surface, key, rank) for up to ``limit`` distinct surfaces, English first; English names by category."""
    lexicon = cldr_lexicon()
    english: dict[str, list[str]] = {}
    forms: dict[str, tuple[str, int]] = {}
    for entity in lexicon:
        name = entity.labels.get("eng_Latn")
        if name:
            english.setdefault(entity.kind, []).append(name)
            forms.setdefault(name, (entity.id, entity.rank))
    for surface, key, rank in lexicon.forms():
        forms.setdefault(surface, (key, rank))
    chosen = list(forms.items())[:limit]
    return [(surface, key, rank) for surface, (key, rank) in chosen], english


def build_sentences(n: int, english: dict[str, list[str]], others: list[str], seed: int) -> list[str]:
    rng = random.Random(seed)
    pick = {kind: sorted(names) for kind, names in english.items()}
    out = []
    for i in range(n):
        template = TEMPLATES[i % len(TEMPLATES)]
        values = [
            rng.choice(pick["territory"]), rng.choice(pick["territory"]), rng.choice(pick["language"]),
            rng.choice(pick["currency"]), rng.choice(pick["city"]), rng.choice(others), rng.choice(pick["script"]),
            rng.choice(pick["language"]),
        ]  # fmt: skip
        out.append(template.format(*values))
    return out


class RegexMatcher:
    """The baseline: one alternation of every alias (longest first), word-bounded."""

    def __init__(self, forms: list[tuple[str, str, int]]):
        self._keys = {surface: key for surface, key, _ in forms}
        alternation = "|".join(re.escape(s) for s in sorted(self._keys, key=lambda s: (-len(s), s)))
        self._pattern = re.compile(rf"(?<!\w)(?:{alternation})(?!\w)")

    def find(self, text: str) -> list[Mention]:
        return [Mention(m.start(), m.end(), self._keys[m.group()], m.group()) for m in self._pattern.finditer(text)]


def run(matcher, switcher: EntitySwitcher, sentences: list[str], min_seconds: float) -> tuple[float, list]:
    """Sentences per second (repeating the list until ``min_seconds``) and the last pass's output."""
    done, start = 0, time.perf_counter()
    while True:
        out = []
        for i, text in enumerate(sentences):
            mentions = matcher.find(text)
            out.append((mentions, switcher.switch(text, mentions=mentions, target="hin_Deva", record_id=str(i)).text))
        done += len(sentences)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aliases", type=int, default=120_000)
    parser.add_argument("--sentences", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=3.0, help="minimum timed seconds per side")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    t = time.perf_counter()
    forms, english = build_aliases(args.aliases)
    lexicon_seconds = time.perf_counter() - t
    others = [s for s, _, _ in forms if not s.isascii()][:5000] or ["—"]
    sentences = build_sentences(args.sentences, english, others, args.seed)
    switcher = EntitySwitcher(lexicon=cldr_lexicon(languages=["eng_Latn", "hin_Deva"]))
    print(
        f"aliases: {len(forms):,} distinct surface forms from CLDR ({lexicon_seconds:.2f} s to read); sentences: {len(sentences):,}, {sum(map(len, sentences)) / len(sentences):.0f} code points on average"
    )

    t = time.perf_counter()
    gazetteer = Gazetteer(forms, min_length=1)
    gazetteer_build = time.perf_counter() - t
    t = time.perf_counter()
    regex_matcher = RegexMatcher(forms)
    regex_build = time.perf_counter() - t
    print(f"build: gazetteer {gazetteer_build:.2f} s, regex compile {regex_build:.2f} s")

    regex_rate, regex_out = run(regex_matcher, switcher, sentences, args.seconds)
    gazetteer_rate, gazetteer_out = run(gazetteer, switcher, sentences, args.seconds)
    same = sum(a[1] == b[1] for a, b in zip(gazetteer_out, regex_out))
    mentions = sum(len(m) for m, _ in gazetteer_out)
    print(f"baseline  re alternation + switch: {regex_rate:10,.0f} sentences/s")
    print(
        f"gazetteer Aho-Corasick + switch:   {gazetteer_rate:10,.0f} sentences/s   ratio {gazetteer_rate / regex_rate:6.1f}x (target >= 5x)"
    )
    print(
        f"mentions found by the gazetteer: {mentions:,} ({mentions / len(sentences):.1f} per sentence); identical switched text from both: {same:,} of {len(sentences):,}"
    )


if __name__ == "__main__":
    main()
