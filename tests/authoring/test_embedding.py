"""The NumPy all-MiniLM-L6-v2 encoder against published reference values."""

from __future__ import annotations

import numpy as np
import pytest

from tabrl.authoring.embedding import MiniLMEncoder, cached_embeddings, embed, embed_many


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder.shared()


def test_matches_sentence_transformers_reference(encoder: MiniLMEncoder) -> None:
    # sbert.net's quick-start prints these similarities for all-MiniLM-L6-v2:
    # [[1.0000, 0.6660, 0.1046], [0.6660, 1.0000, 0.1411], [0.1046, 0.1411, 1.0000]]
    vecs = encoder.encode(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    )
    assert vecs.shape == (3, 384)
    sims = vecs @ vecs.T
    np.testing.assert_allclose(np.diag(sims), 1.0, atol=1e-5)
    assert sims[0, 1] == pytest.approx(0.6660, abs=1e-3)
    assert sims[0, 2] == pytest.approx(0.1046, abs=1e-3)
    assert sims[1, 2] == pytest.approx(0.1411, abs=1e-3)


def test_paraphrases_close_unrelated_far() -> None:
    a, b, c = embed_many(["walk forward", "move ahead on foot", "the stock market crashed"])
    assert float(a @ b) > 0.5
    assert float(a @ c) < 0.2


def test_padding_does_not_change_embeddings(encoder: MiniLMEncoder) -> None:
    alone = encoder.encode(["spin in place"])
    batched = encoder.encode(
        ["spin in place", "a much longer sentence about breakdancing with lots of style"]
    )
    np.testing.assert_allclose(alone[0], batched[0], atol=1e-5)


def test_deterministic_and_cached(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TABRL_CACHE_DIR", str(tmp_path))
    texts = ["hop like a kangaroo", "stand still"]
    first = cached_embeddings(texts, "test")
    files = list((tmp_path / "embeddings").glob("test-*.npy"))
    assert len(files) == 1
    again = cached_embeddings(texts, "test")
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(embed("stand still"), first[1])
