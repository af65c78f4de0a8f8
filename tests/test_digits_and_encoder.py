"""The embedded digits-text dataset and the cached offline text encoder."""

import numpy as np
import pytest

from mmadbench.datasets import encoders, list_datasets, load_dataset
from mmadbench.errors import MmadbenchError, RegistryError


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_digits_shapes_and_captions(digits):
    assert len(digits) == 1797
    assert digits["image"].shape == (1797, 1, 8, 8) and digits["text"].shape == (1797, 384)
    assert digits["image"].min() >= 0 and digits["image"].max() <= 1
    assert np.bincount(digits.labels).min() >= 170
    assert len(set(digits.texts.tolist())) > 10  # several templates, not one caption per class
    norms = np.linalg.norm(digits["text"], axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-4)


def test_captions_of_one_class_are_closer_than_across(digits):
    text, y = digits["text"], digits.labels
    sim = text @ text.T
    same = sim[y[:, None] == y[None, :]].mean()
    other = sim[y[:, None] != y[None, :]].mean()
    assert same > other + 0.1


def test_second_load_uses_the_cache(digits, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("the encoder ran again instead of reading the cache")

    monkeypatch.setattr(encoders, "_run_text_model", boom)
    again = load_dataset("digits")
    np.testing.assert_array_equal(again["text"], digits["text"])


def test_model_names_and_paths_pass_through():
    assert encoders.resolve_text_model("bert-base-uncased") == "bert-base-uncased"
    assert encoders.resolve_text_model("/some/local/model") == "/some/local/model"
    assert encoders.resolve_text_model(encoders.DEFAULT_TEXT_MODEL).endswith("model")


def test_listing_and_errors():
    assert "digits" in [d.name for d in list_datasets()]
    with pytest.raises(RegistryError, match="unknown dataset 'digit'; did you mean"):
        load_dataset("digit")
    with pytest.raises(MmadbenchError, match="has no option"):
        load_dataset("digits", colour="red")


def test_digits_halves_are_the_two_halves_of_each_image():
    from sklearn.datasets import load_digits

    from mmadbench.datasets.registry import load_dataset

    d = load_dataset("digits-halves")
    raw = load_digits().images / 16.0
    assert list(d.names) == ["left", "right"] and d.kinds == {"left": "image", "right": "image"}
    assert d["left"].shape == d["right"].shape == (1797, 1, 8, 4)
    np.testing.assert_allclose(np.concatenate([d["left"], d["right"]], axis=-1)[:, 0], raw, rtol=1e-6)
