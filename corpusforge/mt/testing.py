"""Small CTranslate2 translation models built offline, for tests and benchmarks.

No weights are downloaded: a sentencepiece model is trained on text the caller gives, and the
Transformer's weights are written from numpy through ``ctranslate2.specs``. Two kinds:

- ``copy``: weights set by hand so the model copies its source to its target (cross-attention
  at decoder step ``t`` looks at source position ``t + offset``), so tests can check real
  outputs: order kept, prefix honoured, truncation visible in the text.
- ``random``: seeded random weights in any shape (Transformer-base, NLLB-600M) for throughput;
  output is junk, so benchmarks fix its length (min = max decoding length).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from corpusforge.mt.tokenize import CONVENTIONS, EOS

SPECIALS = ["<s>", "<pad>", EOS, "<unk>"]  # fairseq order, as NLLB / M2M vocabularies start
# File names ct2-transformers-converter users copy next to model.bin (``--copy_files``).
SPM_FILES = {
    "nllb": ("sentencepiece.bpe.model", None),
    "m2m": ("sentencepiece.bpe.model", None),
    "marian": ("source.spm", "target.spm"),
    "generic": ("sentencepiece.model", None),
}


@dataclass(frozen=True)
class Shape:
    """Transformer dimensions: layers (encoder, decoder), heads, model width, FFN width."""

    encoder_layers: int
    decoder_layers: int
    heads: int
    d_model: int
    ffn: int


TINY = Shape(1, 1, 2, 32, 64)
TRANSFORMER_BASE = Shape(6, 6, 8, 512, 2048)
NLLB_600M = Shape(12, 12, 16, 1024, 4096)


def train_sentencepiece(texts: Iterable[str], path: Path, *, vocab_size: int = 200) -> Path:
    """Train a unigram sentencepiece model on ``texts`` (deterministic: one thread) and write it
    to ``path``. ``vocab_size`` is an upper bound: small corpora get fewer pieces."""
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)),
        model_writer=model,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    path = Path(path)
    path.write_bytes(model.getvalue())
    return path


def spm_pieces(path: Path) -> list[str]:
    """The pieces of a sentencepiece model without its control and unknown symbols."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(path))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i))]


def language_tag(convention: str, lang: str) -> str:
    """The tag a model of ``convention`` spells ``lang`` with (Marian: three letters, ``>>fra<<``)."""
    spellings = CONVENTIONS[convention].spellings(lang)
    return spellings[1] if convention == "marian" else spellings[0]


def build_model(
    out_dir: Path,
    texts: Sequence[str],
    *,
    convention: Literal["nllb", "m2m", "marian", "generic"] = "nllb",
    languages: Sequence[str] = ("eng_Latn", "fra_Latn", "hin_Deva"),
    kind: Literal["copy", "random"] = "copy",
    shape: Shape = TINY,
    spm_vocab_size: int = 200,
    vocab_size: int | None = None,
    max_positions: int = 300,
    quantization: str | None = None,
    seed: int = 0,
) -> Path:
    """Write a complete model directory as ``ct2-transformers-converter --copy_files`` leaves it:
    model.bin, config.json, vocabulary and the sentencepiece file(s) under the convention's names.

    ``vocab_size`` pads the vocabulary with ``madeupwordN`` tokens (as M2M-100 does) to reach a
    real model's size; ``max_positions`` bounds source and target length of a copy model.
    Marian models get language tags only when ``languages`` has more than one target.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source_name, target_name = SPM_FILES[convention]
    spm = train_sentencepiece(texts, out_dir / source_name, vocab_size=spm_vocab_size)
    if target_name:
        (out_dir / target_name).write_bytes(spm.read_bytes())
    multilingual = convention in ("nllb", "m2m") or (convention == "marian" and len(languages) > 1)
    tags = [language_tag(convention, lang) for lang in languages] if multilingual else []
    vocabulary = SPECIALS + [p for p in spm_pieces(spm) if p not in SPECIALS] + tags
    if vocab_size is not None:
        vocabulary += [f"madeupword{i}" for i in range(vocab_size - len(vocabulary))]
    if kind == "copy":
        spec = copy_spec(len(vocabulary), max_positions=max_positions)
    else:
        spec = random_spec(len(vocabulary), shape=shape, seed=seed)
    spec.register_source_vocabulary(vocabulary)
    spec.register_target_vocabulary(vocabulary)
    spec.config.bos_token, spec.config.eos_token, spec.config.unk_token = "<s>", EOS, "<unk>"
    spec.config.decoder_start_token = "<s>" if convention == "generic" else EOS
    spec.config.add_source_eos = convention == "generic"  # a generic model whose config adds EOS itself
    spec.validate()
    spec.optimize(quantization=quantization)
    spec.save(str(out_dir))
    (out_dir / "corpusforge_test_model.json").write_text(
        json.dumps({"kind": kind, "convention": convention, "languages": list(languages)}), encoding="utf-8"
    )
    return out_dir


def random_spec(vocab: int, *, shape: Shape, seed: int = 0):
    """A pre-norm Transformer spec with seeded random weights (N(0, 1/d) projections);
    source and target embeddings are shared, as in NLLB, and stored once."""
    from ctranslate2.specs import TransformerSpec

    rng = np.random.default_rng(seed)
    d = shape.d_model

    def weight(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols), dtype=np.float32) / np.sqrt(cols)).astype(np.float32)

    spec = TransformerSpec.from_config((shape.encoder_layers, shape.decoder_layers), shape.heads)
    # Untied output projection: with random weights a projection tied to the embeddings
    # predicts the decoder's own input token forever (NLLB ties them; the compute is the same).
    _fill(spec, d=d, ffn=shape.ffn, embeddings=weight(vocab, d), projection=weight(vocab, d), weight=weight)
    return spec


def copy_spec(vocab: int, *, max_positions: int = 300, sharpness: float = 50.0, confidence: float = 8.0):
    """A one-layer pre-norm Transformer whose decoder copies the source token at its own position.

    Width ``d = vocab + max_positions``: a token one-hot, then a position one-hot. Every
    sublayer's output projection is zero (identity residual) except cross-attention, whose
    query and key read the position one-hots (query scaled by ``sharpness``) and whose value
    carries the source token one-hot back into the token slots, which the output projection
    reads (scaled by ``confidence``: scores are small negative numbers, near 0). Decoder embeddings are zero, so only the decoder position matters: step ``t``
    emits source token ``t`` when no target prefix is forced (Marian), and with a one-token
    prefix (NLLB/M2M) step ``t`` emits source token ``t``, which skips the source's language tag.
    """
    from ctranslate2.specs import TransformerSpec

    d = vocab + max_positions
    spec = TransformerSpec.from_config((1, 1), 1, no_final_norm=True)

    def zeros(rows: int, cols: int) -> np.ndarray:
        return np.zeros((rows, cols), dtype=np.float32)

    tokens = np.eye(vocab, d, dtype=np.float32)  # token i -> slot i
    positions = np.eye(max_positions, d, k=vocab, dtype=np.float32)  # position p -> slot vocab + p
    _fill(spec, d=d, ffn=1, embeddings=tokens, projection=confidence * tokens, weight=zeros)
    spec.decoder.embeddings.weight = zeros(vocab, d)
    for side in (spec.encoder, spec.decoder):
        side.scale_embeddings = False
        side.position_encodings.encodings = positions
    cross = spec.decoder.layer[0].attention
    select_position = np.zeros((d, d), dtype=np.float32)
    select_position[vocab:, vocab:] = np.eye(max_positions)
    select_token = np.zeros((d, d), dtype=np.float32)
    select_token[:vocab, :vocab] = np.eye(vocab)
    cross.linear[0].weight = sharpness * select_position  # query: decoder position
    cross.linear[1].weight = np.concatenate([select_position, select_token])  # key: source position; value: source token
    cross.linear[2].weight = select_token.copy()  # output: copied token into the token slots
    return spec


def _fill(spec, *, d: int, ffn: int, embeddings: np.ndarray, projection: np.ndarray, weight) -> None:
    """Set every weight of a TransformerSpec: ``weight(rows, cols)`` for projections, unit
    layer norms, the given embedding and output projection matrices."""

    def norm(layer_norm) -> None:
        layer_norm.gamma = np.ones(d, dtype=np.float32)
        layer_norm.beta = np.zeros(d, dtype=np.float32)

    def attention(block, *, cross: bool) -> None:
        norm(block.layer_norm)
        if cross:
            block.linear[0].weight, block.linear[1].weight, block.linear[2].weight = weight(d, d), weight(2 * d, d), weight(d, d)
        else:
            block.linear[0].weight, block.linear[1].weight = weight(3 * d, d), weight(d, d)

    def feed_forward(block) -> None:
        norm(block.layer_norm)
        block.linear_0.weight, block.linear_1.weight = weight(ffn, d), weight(d, ffn)

    spec.encoder.embeddings[0].weight = embeddings
    spec.decoder.embeddings.weight = embeddings
    spec.decoder.projection.weight = projection
    for side in (spec.encoder, spec.decoder):
        if hasattr(side, "layer_norm"):
            norm(side.layer_norm)
        for layer in side.layer:
            attention(layer.self_attention, cross=False)
            if hasattr(layer, "attention"):
                attention(layer.attention, cross=True)
            feed_forward(layer.ffn)
