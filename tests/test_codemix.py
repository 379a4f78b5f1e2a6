"""Code-mixing metrics against hand-worked examples (the arithmetic is in the comments), and the
stage that adds them as columns."""

import math

import pyarrow as pa
import pytest

from corpusforge.codeswitch.metrics import code_mixing_metrics
from corpusforge.schemas import extend, load_schema
from corpusforge.transforms.codemix import CodeMixingMetrics
from corpusforge.transforms.tokens import TOKENS_TYPE, TokenTagger

HI, EN, UR, ES = "hin_Deva", "eng_Latn", "urd_Arab", "spa_Latn"


def check(metrics, **expected):
    for key, value in expected.items():
        assert metrics[key] == pytest.approx(value, abs=1e-4), key


def test_hindi_english():
    # मुझे यह movie बहुत अच्छी लगी , 10/10 !  (tags from TokenTagger, see test_tokens)
    tags = [HI, HI, EN, HI, HI, HI, "other", "other", "other"]
    # n = 9, u = 3, m = 6; t_hin = 5, t_eng = 1
    # CMI = 100 * (1 - 5/6) = 16.6667
    # sum p^2 = 25/36 + 1/36 = 26/36; M = (10/36) / (1 * 26/36) = 10/26 = 0.384615
    # language sequence hin hin eng hin hin hin: P = 2; I = 2 / (6 - 1) = 0.4
    # spans 2, 1, 3: mu = 2, sigma = sqrt((0 + 1 + 1) / 3) = 0.816497; B = (0.816497 - 2) / (0.816497 + 2) = -0.420204
    # switch fraction = 2 / 9 = 0.222222
    m = code_mixing_metrics(tags)
    check(m, cmi=16.6667, m_index=0.384615, i_index=0.4, burstiness=-0.420204, switch_points=2, switch_fraction=0.222222)
    assert (m["n_tokens"], m["n_language_tokens"], m["languages"]) == (9, 6, {HI: 5, EN: 1})


def test_urdu_english():
    # میں نے آج meeting attend کی ۔
    tags = [UR, UR, UR, EN, EN, UR, "other"]
    # n = 7, u = 1, m = 6; t_urd = 4, t_eng = 2
    # CMI = 100 * (1 - 4/6) = 33.3333
    # sum p^2 = 16/36 + 4/36 = 20/36; M = (16/36) / (20/36) = 0.8
    # P = 2 (urd->eng, eng->urd); I = 2/5 = 0.4
    # spans 3, 2, 1: mu = 2, sigma = sqrt(2/3); B = -0.420204 as above
    # switch fraction = 2/7 = 0.285714
    check(code_mixing_metrics(tags), cmi=33.3333, m_index=0.8, i_index=0.4, burstiness=-0.420204, switch_points=2, switch_fraction=0.285714)


def test_spanish_english():
    # I want to go a | la playa con | my friends
    tags = [EN] * 5 + [ES] * 3 + [EN] * 2
    # n = m = 10; t_eng = 7, t_spa = 3
    # CMI = 100 * (1 - 7/10) = 30
    # sum p^2 = 0.49 + 0.09 = 0.58; M = 0.42 / 0.58 = 0.724138
    # P = 2; I = 2/9 = 0.222222
    # spans 5, 3, 2: mu = 10/3; squared deviations 25/9, 1/9, 16/9 -> variance 42/27 = 1.555556,
    # sigma = 1.247219; B = (1.247219 - 3.333333) / (1.247219 + 3.333333) = -0.455427
    # switch fraction = 2/10
    check(
        code_mixing_metrics(tags), cmi=30.0, m_index=0.724138, i_index=0.222222, burstiness=-0.455427, switch_points=2, switch_fraction=0.2
    )


def test_edge_cases():
    # three languages alternating evenly: p = 1/3 each, sum p^2 = 1/3, M = (2/3) / (2 * 1/3) = 1;
    # CMI = 100 * (1 - 2/6) = 66.6667; every boundary switches: I = 5/5 = 1; all spans 1: sigma = 0, B = -1
    check(code_mixing_metrics(["a", "b", "c", "a", "b", "c"]), m_index=1.0, cmi=66.6667, i_index=1.0, burstiness=-1.0, switch_points=5)
    # a bursty text: spans 1, 1, 1, 9 -> mu = 3, sigma = sqrt((3 * 4 + 36) / 4) = sqrt(12); B = (3.464102 - 3) / (3.464102 + 3)
    check(code_mixing_metrics(["a", "b", "a"] + ["b"] * 9), burstiness=(math.sqrt(12) - 3) / (math.sqrt(12) + 3))
    # language-independent tokens are skipped when counting switches: hin , eng is one switch
    check(code_mixing_metrics([HI, "other", EN]), switch_points=1, i_index=1.0, switch_fraction=1 / 3, cmi=50.0)
    # monolingual: no mixing, burstiness undefined
    mono = code_mixing_metrics([EN, EN, "other"])
    check(mono, cmi=0.0, m_index=0.0, i_index=0.0, switch_points=0)
    assert mono["burstiness"] is None
    # nothing language-specific at all
    check(code_mixing_metrics(["other", "und"]), cmi=0.0, m_index=0.0, i_index=0.0, switch_points=0, switch_fraction=0.0)
    # other tags can be declared language-independent
    check(code_mixing_metrics([HI, "NE", EN], independent={"NE"}), switch_points=1, cmi=50.0)


def test_stage_adds_metric_columns_from_tags():
    tagger = TokenTagger(languages=[HI, EN])
    batch = pa.RecordBatch.from_pydict(
        {"id": ["1", "2", "3"], "source": ["t"] * 3, "text": ["मुझे यह movie बहुत अच्छी लगी, 10/10!", "just English here", ""]}
    )
    tagged = tagger.process(batch).kept
    assert tagged.schema.field("tokens").type == TOKENS_TYPE
    stage = CodeMixingMetrics()
    out = stage.process(tagged).kept
    assert out.column("cmi").to_pylist() == pytest.approx([100 / 6, 0.0, 0.0])
    assert out.column("switch_points").to_pylist() == [2, 0, 0]
    assert out.column("burstiness").to_pylist()[1:] == [None, None]
    assert out.schema.field("switch_points").type == pa.int32()
    # the same column types as the codeswitch schema's cmi and switch_points
    extend(load_schema("codeswitch"), stage.output_fields("codeswitch") + tagger.output_fields("codeswitch"))
    with pytest.raises(ValueError, match="TokenTagger"):
        stage.process(batch)
