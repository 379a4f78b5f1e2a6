"""Synthetic corpus outputs of any size, for tests and benchmarks of the analyses.

:func:`write_synthetic_output` writes what a corpus run with ``lid``, ``premium``,
``lang_filter``, ``translate`` and ``entity_switch`` would leave (segment, bitext, codeswitch and
rejected shards under the project's schemas, and a balanced manifest), built column-wise with
numpy and Arrow so that 10 M rows take seconds, not the hours a real run would. The rows are
random draws from small pools of real sentences; nothing about them is meant to be realistic
except their shape and their columns' types.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpusforge import __version__
from corpusforge.manifest import MANIFEST_NAME, manifest_bytes
from corpusforge.schemas import conform, extend, load_schema
from corpusforge.transforms.lid import TOPK_TYPE, lid_fields
from corpusforge.transforms.premium import premium_fields
from corpusforge.transforms.translate import MT_FIELDS, ROUND_TRIP_FIELD

SHARD_ROWS = 1_000_000
HOSTILE = '<script>alert("x")</script> & <b>"bold"</b> \'q\''

# (language, premium, premium source, weight, sentences)
LANGUAGES = [
    (
        "eng_Latn",
        1.0,
        "reference",
        0.35,
        ["The river rose after the rain.", "Schools reopen on Monday.", "Prices of rice went up.", "A new bridge was opened."],
    ),
    (
        "hin_Deva",
        2.8214,
        "cldr_estimate",
        0.2,
        ["बारिश के बाद नदी का पानी बढ़ गया।", "सोमवार को स्कूल खुलेंगे।", "चावल के दाम बढ़ गए।", "एक नया पुल खोला गया।"],
    ),
    (
        "urd_Arab",
        1.6996,
        "cldr_estimate",
        0.12,
        ["بارش کے بعد دریا چڑھ گیا۔", "اسکول پیر کو کھلیں گے۔", "چاول کی قیمت بڑھ گئی۔", "ایک نیا پل کھولا گیا۔"],
    ),
    (
        "ben_Beng",
        2.9967,
        "cldr_estimate",
        0.1,
        ["বৃষ্টির পরে নদীর জল বেড়েছে।", "সোমবার স্কুল খুলবে।", "চালের দাম বেড়েছে।", "একটি নতুন সেতু খোলা হয়েছে।"],
    ),
    (
        "tam_Taml",
        3.2283,
        "cldr_estimate",
        0.08,
        ["மழைக்குப் பிறகு ஆறு பெருகியது.", "திங்கள் அன்று பள்ளிகள் திறக்கும்.", "அரிசி விலை உயர்ந்தது.", "புதிய பாலம் திறக்கப்பட்டது."],
    ),
    ("zho_Hans", 1.2061, "cldr_estimate", 0.07, ["雨后河水上涨了。", "学校星期一开学。", "大米价格上涨了。", "一座新桥开通了。"]),
    (
        "arb_Arab",
        1.9502,
        "cldr_estimate",
        0.05,
        ["ارتفع النهر بعد المطر.", "تفتح المدارس يوم الاثنين.", "ارتفعت أسعار الأرز.", "افتتح جسر جديد."],
    ),
    (
        "rus_Cyrl",
        2.1067,
        "cldr_estimate",
        0.03,
        ["После дождя река поднялась.", "Школы откроются в понедельник.", "Цены на рис выросли.", "Открыли новый мост."],
    ),
]
SWITCHES = [  # (source text, switched text, start, end, language, entity id, original)
    ("Farmers in India expect rain.", "Farmers in भारत expect rain.", 11, 15, "hin_Deva", "territory:IN", "India"),
    ("Tourists from Japan visited Egypt.", "Tourists from 日本 visited Egypt.", 14, 16, "zho_Hans", "territory:JP", "Japan"),
    ("Trade with Pakistan grew.", "Trade with پاکستان grew.", 11, 18, "urd_Arab", "territory:PK", "Pakistan"),
    ("Rice from Bangladesh is cheap.", "Rice from বাংলাদেশ is cheap.", 10, 18, "ben_Beng", "territory:BD", "Bangladesh"),
]
REJECTIONS = [  # (stage, reason, detail, weight)
    ("lang_filter", "lang_low_score", "hin_Deva score 0.31 < 0.5", 0.3),
    ("lang_filter", "lang_low_score", "urd_Arab score 0.62 < 0.7", 0.2),
    ("lang_filter", "lang_mismatch", "declared eng_Latn, detected fra_Latn", 0.2),
    ("read", "empty_text", "empty or whitespace-only line", 0.2),
    ("read", "invalid_utf8", "invalid UTF-8 at byte 3", 0.1),
]


@dataclass
class SyntheticOutput:
    """What :func:`write_synthetic_output` wrote: rows per output and the manifest."""

    path: str
    rows: dict[str, int]
    manifest: dict


def _ids(prefix: str, start: int, n: int) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix), pc.cast(pa.array(np.arange(start, start + n)), pa.string()), "")


ROMANISED_HINDI = [
    "barish ke baad nadi ka pani badh gaya.",
    "somvar ko school khulenge.",
    "chawal ke daam badh gaye.",
    "ek naya pul khola gaya.",
]
TRANSLIT_FIELD = pa.field("text_translit", pa.string(), metadata={"doc": "The text transliterated (synthetic: Hindi rows only)."})


def _segments(rng: np.random.Generator, start: int, n: int, hostile: bool, translit: bool = False) -> pa.Table:
    weights = np.array([w for _, _, _, w, _ in LANGUAGES])
    lang_index = rng.choice(len(LANGUAGES), size=n, p=weights / weights.sum())
    sentences = [s for _, _, _, _, texts in LANGUAGES for s in texts]
    if hostile:
        sentences[1] = HOSTILE
    pool = pa.array(sentences)
    per = len(LANGUAGES[0][4])
    text_index = lang_index * per + rng.integers(0, per, size=n)
    langs = pa.array([lang for lang, *_ in LANGUAGES])
    premiums = np.array([p for _, p, _, _, _ in LANGUAGES])
    sources = pa.array([s for _, _, s, _, _ in LANGUAGES])
    n_bytes = np.array([len(s.encode("utf-8")) for s in sentences])[text_index]
    score = rng.beta(8.0, 1.5, size=n).astype(np.float32)
    other = (lang_index + rng.integers(1, len(LANGUAGES), size=n)) % len(LANGUAGES)
    third = (other + 1) % len(LANGUAGES)
    rest = 1.0 - score
    top_langs = np.stack([lang_index, other, third], axis=1).reshape(-1)
    top_scores = np.stack([score, rest * 0.7, rest * 0.2], axis=1).reshape(-1).astype(np.float32)
    values = pa.StructArray.from_arrays([langs.take(pa.array(top_langs)), pa.array(top_scores)], fields=list(TOPK_TYPE.value_type))
    topk = pa.ListArray.from_arrays(pa.array(np.arange(0, 3 * n + 1, 3, dtype=np.int32)), values, type=TOPK_TYPE)
    lang = langs.take(pa.array(lang_index))
    extra = {}
    if translit:
        romanised: list[str | None] = [None] * len(sentences)
        hindi = [code for code, *_ in LANGUAGES].index("hin_Deva") * per
        romanised[hindi : hindi + per] = ROMANISED_HINDI
        extra["text_translit"] = pa.array(romanised, pa.string()).take(pa.array(text_index))
    return pa.table(
        {
            "id": _ids("s", start, n),
            "source": pa.repeat(pa.scalar("synthetic"), n),
            "text": pool.take(pa.array(text_index)),
            "lang": lang,
            "lang_score": pa.array(score),
            "lang_topk": topk,
            "n_bytes": pa.array(n_bytes, pa.int64()),
            "n_chars": pa.array(np.array([len(s) for s in sentences])[text_index], pa.int64()),
            "byte_premium": pa.array(premiums[lang_index]),
            "norm_bytes": pa.array(n_bytes / premiums[lang_index]),
            "premium_source": sources.take(pa.array(lang_index)),
            "premium_imputed": pa.repeat(pa.scalar(False), n),
            **extra,
        }
    )


def _translations(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    english = pa.array(LANGUAGES[0][4])
    targets = LANGUAGES[1:4]
    t = rng.integers(0, len(targets), size=n)
    k = rng.integers(0, len(english), size=n)
    tgt_pool = pa.array([s for _, _, _, _, texts in targets for s in texts])
    return pa.table(
        {
            "id": _ids("t", start, n),
            "source": pa.repeat(pa.scalar("synthetic"), n),
            "src_text": english.take(pa.array(k)),
            "tgt_text": tgt_pool.take(pa.array(t * len(english) + k)),
            "src_lang": pa.repeat(pa.scalar("eng_Latn"), n),
            "tgt_lang": pa.array([lang for lang, *_ in targets]).take(pa.array(t)),
            "origin": pa.repeat(pa.scalar("mt"), n),
            "source_id": _ids("s", start, n),
            "mt_model": pa.repeat(pa.scalar("synthetic-mt@0000"), n),
            "mt_score": pa.array(-rng.gamma(2.0, 0.3, size=n)),
            "mt_truncated": pa.array(rng.random(n) < 0.01),
            "mt_round_trip_chrf": pa.array(rng.uniform(30.0, 90.0, size=n)),
        }
    )


def _switches(rng: np.random.Generator, start: int, n: int, hostile: bool) -> pa.Table:
    rows = list(SWITCHES)
    if hostile:
        rows[0] = (f"{HOSTILE} India", f"{HOSTILE} भारत", len(HOSTILE) + 1, len(HOSTILE) + 5, "hin_Deva", "territory:IN", "India")
    spans_type = load_schema("codeswitch").field("spans").type
    pool = pa.table(
        {
            "source_text": [r[0] for r in rows],
            "text": [r[1] for r in rows],
            "embedded_langs": pa.array([[r[4]] for r in rows], pa.list_(pa.string())),
            "spans": pa.array(
                [[{"start": r[2], "end": r[3], "lang": r[4], "entity_id": r[5], "original": r[6], "method": "entity"}] for r in rows],
                spans_type,
            ),
        }
    )
    picked = pool.take(pa.array(rng.integers(0, len(rows), size=n)))
    cmi = rng.uniform(5.0, 45.0, size=n)
    return (
        picked.append_column("id", _ids("c", start, n))
        .append_column("source", pa.repeat(pa.scalar("synthetic"), n))
        .append_column("source_id", _ids("s", start, n))
        .append_column("matrix_lang", pa.repeat(pa.scalar("eng_Latn"), n))
        .append_column("cmi", pa.array(cmi))
        .append_column("switch_points", pa.array(rng.integers(1, 5, size=n), pa.int32()))
    )


def _rejected(rng: np.random.Generator, start: int, n: int, hostile: bool) -> pa.Table:
    weights = np.array([w for *_, w in REJECTIONS])
    pick = pa.array(rng.choice(len(REJECTIONS), size=n, p=weights / weights.sum()))
    previews = pa.array([HOSTILE if hostile and i == 0 else LANGUAGES[i][4][0] for i in range(len(REJECTIONS))])
    return pa.table(
        {
            "id": _ids("r", start, n),
            "source": pa.repeat(pa.scalar("synthetic"), n),
            "kind": pa.repeat(pa.scalar("segment"), n),
            "stage": pa.array([r[0] for r in REJECTIONS]).take(pick),
            "reason": pa.array([r[1] for r in REJECTIONS]).take(pick),
            "detail": pa.array([r[2] for r in REJECTIONS]).take(pick),
            "file": pa.repeat(pa.scalar("data/synthetic.txt"), n),
            "offset": pa.array(np.arange(start, start + n) + 1, pa.int64()),
            "preview": previews.take(pick),
        }
    )


SCHEMAS = {
    "segment": extend(load_schema("segment"), [*lid_fields(), *premium_fields()]),
    "bitext": extend(load_schema("bitext"), [*MT_FIELDS, ROUND_TRIP_FIELD]),
    "codeswitch": load_schema("codeswitch"),
    "rejected": load_schema("rejected"),
}


def write_synthetic_output(
    path: str | os.PathLike,
    rows: int,
    *,
    seed: int = 0,
    hostile: bool = False,
    sampling: bool = False,
    unbalanced: bool = False,
    translit: bool = False,
) -> SyntheticOutput:
    """Write ``rows`` segments (and 5 % as many translations, 2 % code-switched records, 1 %
    rejected rows) into the new directory ``path``, with a manifest that balances (unless
    ``unbalanced``: one source then misses 5 rows). ``hostile`` puts HTML in texts and
    previews; ``sampling`` adds a ``sampling`` manifest section (temperature 0.3 targets);
    ``translit`` a ``text_translit`` column (filled on Hindi rows)."""
    root = os.fspath(path)
    os.makedirs(root, exist_ok=False)
    rng = np.random.default_rng(seed)
    counts = {"segment": rows, "bitext": rows // 20, "codeswitch": rows // 50, "rejected": max(rows // 100, 1)}
    makers = {
        "segment": lambda s, n: _segments(rng, s, n, hostile, translit),
        "bitext": lambda s, n: _translations(rng, s, n),
        "codeswitch": lambda s, n: _switches(rng, s, n, hostile),
        "rejected": lambda s, n: _rejected(rng, s, n, hostile),
    }
    outputs: dict[str, dict] = {}
    rejected_by: dict[str, dict[str, int]] = {}
    sizes: dict[str, list[float]] = {}
    for name, total in counts.items():
        shards = max(1, -(-total // SHARD_ROWS))
        files = []
        os.makedirs(os.path.join(root, name))
        for i in range(shards):
            start, n = i * SHARD_ROWS, min(SHARD_ROWS, total - i * SHARD_ROWS)
            schema = extend(SCHEMAS[name], [TRANSLIT_FIELD]) if translit and name == "segment" else SCHEMAS[name]
            table = conform(makers[name](start, n), schema)
            relative = f"{name}/part-{i:05d}-of-{shards:05d}.parquet"
            pq.write_table(table, os.path.join(root, relative), compression="zstd")
            files.append({"path": relative, "rows": n, "bytes": os.path.getsize(os.path.join(root, relative)), "partition": None})
            if name == "rejected":
                for r in table.group_by(["stage", "reason"]).aggregate([("id", "count")]).to_pylist():
                    rejected_by.setdefault(r["stage"], {}).setdefault(r["reason"], 0)
                    rejected_by[r["stage"]][r["reason"]] += r["id_count"]
            if name == "segment":
                for r in table.group_by("lang").aggregate([("n_bytes", "sum"), ("norm_bytes", "sum"), ("id", "count")]).to_pylist():
                    got = sizes.setdefault(r["lang"], [0, 0, 0.0])
                    got[0] += r["id_count"]
                    got[1] += r["n_bytes_sum"]
                    got[2] += r["norm_bytes_sum"]
        outputs[name] = {"schema": f"{name}.v{'1' if name == 'rejected' else '2'}", "rows": total, "files": files}
    manifest = _manifest(counts, outputs, rejected_by, unbalanced)
    if sampling:
        manifest["sampling"] = _sampling(sizes)
        sums = [sum(v[i] for v in sizes.values()) for i in range(3)]
        manifest["languages"] = {
            lang: {
                "segments": v[0],
                "bytes": v[1],
                "norm_bytes": v[2],
                **{f"share_{k}": v[i] / sums[i] for i, k in enumerate(("segments", "bytes", "norm_bytes"))},
                "premium_source": [next(s for code, _, s, _, _ in LANGUAGES if code == lang)],
            }
            for lang, v in sorted(sizes.items())
        }
    with open(os.path.join(root, MANIFEST_NAME), "wb") as f:
        f.write(manifest_bytes(manifest))
    return SyntheticOutput(root, counts, manifest)


def _manifest(counts: dict[str, int], outputs: dict, rejected_by: dict, unbalanced: bool) -> dict:
    written = counts["segment"] + counts["bitext"] + counts["codeswitch"]
    created = counts["bitext"] + counts["codeswitch"]
    read = counts["segment"] + counts["rejected"] + (5 if unbalanced else 0)
    entry = {
        "files": 1,
        "read": read,
        "created": created,
        "written": written,
        "duplicates": 0,
        "rejected": counts["rejected"],
        "rejected_by_stage": rejected_by,
        "rejected_stored": counts["rejected"],
        "unaccounted": read + created - written - counts["rejected"],
        "balanced": not unbalanced,
    }
    stages = [
        {"name": "lid", "version": "2", "model": "lid.176.ftz"},
        {"name": "premium", "version": "1"},
        {"name": "lang_filter", "version": "1", "allowed": None, "thresholds": {"hin": 0.5, "urd": 0.7}, "default_threshold": 0.0},
        {"name": "translate", "version": "1", "model": "synthetic-mt@0000"},
        {"name": "entity_switch", "version": "1", "lexicon": "synthetic"},
    ]
    return {
        "corpusforge_version": __version__,
        "created_at": "2026-01-01T00:10:00Z",
        "run": {"runner": "synthetic", "started_at": "2026-01-01T00:00:00Z"},
        "recipe_hash": "synthetic0000000",
        "config": {"name": "synthetic"},
        "stages": stages,
        "models": {"lid": {"model": "lid.176.ftz"}, "translate": {"model": "synthetic-mt@0000"}},
        "balanced": not unbalanced,
        "unbalanced_sources": ["synthetic"] if unbalanced else [],
        "sources": {"synthetic": entry},
        "totals": entry,
        "stage_counts": {"read": {"read": read}, "write": {"written": written, "stored": counts["rejected"]}},
        "outputs": outputs,
    }


def _sampling(sizes: dict[str, list[float]], temperature: float = 0.3) -> dict:
    total = sum(v[2] for v in sizes.values())
    weights = {lang: (v[2] / total) ** temperature for lang, v in sizes.items()}
    norm = sum(weights.values())
    languages = {}
    for lang, (segments, _, norm_bytes) in sorted(sizes.items()):
        target = weights[lang] / norm
        achieved = norm_bytes / total
        languages[lang] = {
            "segments_in": segments,
            "norm_bytes_in": norm_bytes,
            "rate": 1.0,
            "target_norm_bytes": target * total,
            "target_share": target,
            "segments_out": segments,
            "norm_bytes_out": norm_bytes,
            "achieved_share": achieved,
            "share_error_pp": 100 * (achieved - target),
        }
    return {"seed": 0, "languages": languages}
