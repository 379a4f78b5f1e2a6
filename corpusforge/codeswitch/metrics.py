"""Code-mixing metrics from token language tags (the ``tokens`` column of
:class:`~corpusforge.transforms.tokens.TokenTagger`, or any list of tags).

Notation for one utterance: ``n`` tokens in all, ``u`` of them language-independent (tags
``other`` and ``und`` by default), ``m = n - u`` language tokens, ``t_L`` tokens of language
``L``, ``k`` languages present, ``p_L = t_L / m``. Switch points ``P`` and language spans are
read off the sequence of language tokens alone (language-independent tokens are skipped, so
``hin , eng`` is one switch).

- CMI, utterance level, Das & Gambäck (2014): ``100 * (1 - max_L t_L / m)``; 0 when ``m = 0``.
  (The 2014 definition without the switch-point term that Gambäck & Das added in 2016.)
- M-index, as used by Guzmán et al. (2017), from Barnett et al. (2000):
  ``(1 - sum_L p_L^2) / ((k - 1) * sum_L p_L^2)``; 0 when ``k < 2``. 0 = monolingual, 1 = the
  languages equally represented.
- I-index, Guzmán et al. (2017): ``P / (m - 1)``, the fraction of adjacent language-token pairs
  that switch; 0 when ``m < 2``.
- Switch points: ``P``. Switch-point fraction: ``P / n``, switches per token of the utterance
  (all tokens, as CMI's length counts them).
- Burstiness, Goh & Barabási (2008), over language span lengths (runs of consecutive language
  tokens in one language), as Guzmán et al. (2017) apply it: ``(sigma - mu) / (sigma + mu)``
  with ``mu`` the mean and ``sigma`` the population standard deviation of the span lengths;
  -1 = periodic spans, 0 = random (Poisson), towards 1 = bursty. Undefined (None) with fewer
  than two spans.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence

from corpusforge.codeswitch.tokens import OTHER, UNDETERMINED

INDEPENDENT = (OTHER, UNDETERMINED)


def language_spans(tags: Sequence[str], independent: Collection[str] = INDEPENDENT) -> list[tuple[str, int]]:
    """(language, length) of each run of one language among the language tokens, in order."""
    spans: list[tuple[str, int]] = []
    for tag in tags:
        if tag in independent:
            continue
        if spans and spans[-1][0] == tag:
            spans[-1] = (tag, spans[-1][1] + 1)
        else:
            spans.append((tag, 1))
    return spans


def code_mixing_metrics(tags: Sequence[str], *, independent: Collection[str] = INDEPENDENT) -> dict:
    """CMI, M-index, I-index, burstiness, switch points and switch-point fraction of one
    utterance's token tags (formulas in the module docstring), with the counts they come from:
    ``n_tokens``, ``n_language_tokens``, ``languages`` (token count per language)."""
    n = len(tags)
    counts = Counter(tag for tag in tags if tag not in independent)
    m = sum(counts.values())
    spans = language_spans(tags, independent)
    switches = max(len(spans) - 1, 0)
    cmi = 100.0 * (1.0 - max(counts.values()) / m) if m else 0.0
    k = len(counts)
    concentration = sum((t / m) ** 2 for t in counts.values()) if m else 1.0
    m_index = (1.0 - concentration) / ((k - 1) * concentration) if k > 1 else 0.0
    i_index = switches / (m - 1) if m > 1 else 0.0
    burstiness = None
    if len(spans) > 1:
        lengths = [length for _, length in spans]
        mu = sum(lengths) / len(lengths)
        sigma = math.sqrt(sum((x - mu) ** 2 for x in lengths) / len(lengths))
        burstiness = (sigma - mu) / (sigma + mu)
    return {
        "n_tokens": n,
        "n_language_tokens": m,
        "languages": dict(counts),
        "cmi": cmi,
        "m_index": m_index,
        "i_index": i_index,
        "burstiness": burstiness,
        "switch_points": switches,
        "switch_fraction": switches / n if n else 0.0,
    }
