"""Builds ``hinglish_dev.tsv`` from ``hinglish_dev.src`` (run once; the TSV is what tests read).

Source lines are ``kind<TAB>text``. ``hinglish``/``mixed_en`` lines are hand-written romanised
Hindi with English words marked ``*word*``; ``english`` lines are English (every word
``eng_Latn``); ``deva`` lines are Devanagari Hindi, romanised here by corpusforge's informal
romaniser (every word ``hin_Latn``). Output columns: ``kind``, ``majority`` (the language of most
words), ``text`` and ``tags`` (one tag per word token of :func:`corpusforge.transforms.tokens.tokenize`,
space-separated), plus ``source`` (the Devanagari line, for ``deva``).

    .venv/bin/python tests/data/make_hinglish_dev.py
"""

from __future__ import annotations

import csv
from pathlib import Path

import regex

from corpusforge.transforms.tokens import tokenize
from corpusforge.translit.romanize import InformalRomanizer

HERE = Path(__file__).parent
HI, EN = "hin_Latn", "eng_Latn"
DEVA_WORD = regex.compile(r"[\p{Devanagari}]+")


def romanize(line: str, romanizer: InformalRomanizer) -> str:
    text = DEVA_WORD.sub(lambda m: romanizer.word(m.group()), line)
    text = " ".join(text.split()).replace(" .", ".").replace("।", ".")
    return text[0].upper() + text[1:] if text else text


def main() -> None:
    romanizer = InformalRomanizer(language="hin")
    rows = []
    for line in (HERE / "hinglish_dev.src").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, text = line.split("\t")
        source = ""
        if kind == "deva":
            source, text = text, romanize(text, romanizer)
            tags = [HI for token, is_word in tokenize(text) if is_word]
        elif kind == "english":
            tags = [EN for token, is_word in tokenize(text) if is_word]
        else:
            tags = [EN if token.startswith("*") else HI for token in text.split() for _ in [0] if any(c.isalpha() for c in token)]
            text = text.replace("*", "")
        words = [token for token, is_word in tokenize(text) if is_word]
        assert len(words) == len(tags), (text, words, tags)
        majority = HI if tags.count(HI) > tags.count(EN) else EN
        rows.append({"kind": kind, "majority": majority, "text": text, "tags": " ".join(tags), "source": source})
    with (HERE / "hinglish_dev.tsv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, ["kind", "majority", "text", "tags", "source"], delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} sentences, {sum(len(r['tags'].split()) for r in rows)} words")


if __name__ == "__main__":
    main()
