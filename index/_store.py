"""On-disk layout of an index folder, written atomically, with a manifest that detects staleness.

    manifest.json   model, dims, corpus fingerprint, chunk count, library versions
    chunks.jsonl    one chunk per line (metadata and text)
    vectors.faiss   FAISS IndexFlatIP over L2-normalised vectors, row i = chunk i
    graph.json      contract -> package -> base contracts (for folding later additions)
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import faiss
import numpy as np

from app.errors import IndexMismatch
from index._chunks import Chunk

FORMAT = 2  # 2: chunks carry body facts and trailing comments


def fingerprint(chunks: list[Chunk]) -> str:
    h = hashlib.sha256()
    for c in chunks:
        h.update(c.id.encode())
    return h.hexdigest()


def versions() -> dict[str, str]:
    import bm25s

    return {"format": str(FORMAT), "faiss": faiss.__version__, "bm25s": bm25s.__version__}


def _precision(embedder) -> str:
    return getattr(embedder, "precision", "float32")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save(root: Path, chunks: list[Chunk], vectors: np.ndarray, graph: dict, embedder) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    _atomic_write(root / "chunks.jsonl", "".join(json.dumps(c.to_dict()) + "\n" for c in chunks).encode())
    flat = faiss.IndexFlatIP(embedder.dim)
    if len(vectors):
        flat.add(vectors)
    tmp = root / "vectors.faiss.tmp"
    faiss.write_index(flat, str(tmp))
    os.replace(tmp, root / "vectors.faiss")
    _atomic_write(root / "graph.json", json.dumps(graph).encode())
    manifest = {
        "model": embedder.name, "model_version": getattr(embedder, "version", ""), "dims": embedder.dim,
        "precision": _precision(embedder),
        "chunk_count": len(chunks), "fingerprint": fingerprint(chunks), "versions": versions(),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    # The manifest goes last: a crash mid-save leaves a manifest that no longer matches, so it is caught.
    _atomic_write(root / "manifest.json", json.dumps(manifest, indent=2).encode())
    return manifest


def load(root: Path, embedder) -> tuple[list[Chunk], np.ndarray, dict, dict]:
    """Chunks, vectors, graph and manifest; IndexMismatch when anything disagrees."""
    manifest = json.loads((root / "manifest.json").read_text())
    fix = f"rebuild it (delete {root} and add the sources again)"
    if manifest.get("model") != embedder.name or manifest.get("dims") != embedder.dim:
        raise IndexMismatch(
            f"index at {root} was built with {manifest.get('model')} ({manifest.get('dims')}-d), "
            f"not {embedder.name} ({embedder.dim}-d); {fix}",
            details={"index_model": manifest.get("model"), "model": embedder.name})
    # Quantized and float vectors of one model are not comparable: a query must use the build's.
    if manifest.get("precision", "float32") != _precision(embedder):
        raise IndexMismatch(
            f"index at {root} was built with {manifest.get('precision', 'float32')} embeddings, "
            f"not {_precision(embedder)}; {fix}",
            details={"index_precision": manifest.get("precision", "float32"), "precision": _precision(embedder)})
    if manifest.get("versions", {}).get("format") != str(FORMAT):
        raise IndexMismatch(f"index at {root} has an old on-disk format; {fix}")
    try:
        chunks = [Chunk(**json.loads(line)) for line in (root / "chunks.jsonl").read_text().splitlines() if line]
        flat = faiss.read_index(str(root / "vectors.faiss"))
        graph = json.loads((root / "graph.json").read_text())
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        raise IndexMismatch(f"index at {root} is incomplete or corrupt ({e}); {fix}") from e
    if flat.ntotal != len(chunks) or len(chunks) != manifest.get("chunk_count") \
            or fingerprint(chunks) != manifest.get("fingerprint"):
        raise IndexMismatch(f"index at {root} is stale: its manifest does not match its chunks or vectors; {fix}")
    vectors = flat.reconstruct_n(0, flat.ntotal) if flat.ntotal else np.zeros((0, embedder.dim), np.float32)
    return chunks, np.ascontiguousarray(vectors, dtype=np.float32), graph, manifest


def size_on_disk(root: Path) -> int:
    return sum(p.stat().st_size for p in root.iterdir() if p.is_file())
