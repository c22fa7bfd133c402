"""Claims of book/part1/rethinking.md, asserted with the chapter's own calls (cached)."""

import numpy as np
import pytest

from generalization import data, nets
from generalization.chapters.part1 import rethinking

S = rethinking.settings()
COMMON = (S["n_train"], S["n_test"], S["hidden"])


@pytest.fixture(scope="module")
def fits():
    return rethinking.fit_corruptions(
        *COMMON, S["seeds"], S["max_epochs"], S["lr"], S["batch_size"]
    )


@pytest.fixture(scope="module")
def reg():
    return rethinking.fit_with_regularizers(
        *COMMON, S["seeds"][0], S["max_epochs"], S["augment_epochs"], S["lr"], S["batch_size"]
    )


def test_every_corruption_is_fitted_to_100_percent(fits):
    assert fits.final_train_acc.min() == 1.0
    assert not np.isnan(fits.epochs_to_fit).any()


def test_random_labels_take_a_small_constant_factor_longer(fits):
    ratio = fits.epochs_to_fit[1] / fits.epochs_to_fit[0]
    assert np.all(ratio > 1.5) and np.all(ratio < 6)  # measured 2.5 to 3.5 at quick scale


def test_shuffled_pixels_as_fast_as_true_labels_random_inputs_faster_than_random_labels(fits):
    e = fits.epochs_to_fit.mean(axis=1)
    true, random_labels, shuffled, pixels, noise = e
    assert abs(shuffled - true) <= 0.25 * true
    assert pixels < random_labels and noise < random_labels


def test_generalization_depends_on_the_data_not_the_fit(fits):
    test = fits.test_acc.mean(axis=1)
    assert test[0] > 0.8 and test[2] > 0.8  # true labels, shuffled pixels
    assert abs(test[1] - 0.1) < 0.05  # random labels: chance
    assert abs(test[4] - 0.1) < 0.05  # Gaussian inputs: chance


def test_weight_decay_and_dropout_do_not_stop_memorization(reg):
    names = list(reg.regularizers)
    for name in ("none", "weight decay", "dropout"):
        assert reg.final_train_acc[names.index(name), 1] == 1.0


def test_augmentation_slows_but_does_not_prevent_memorization(reg):
    names = list(reg.regularizers)
    for name in ("augmentation", "all three"):
        acc = reg.final_train_acc[names.index(name), 1]
        assert (
            0.2 < acc < 1.0
        )  # at least twice the 10% of a network that could not memorize; not fitted
    # on true labels augmentation helps test accuracy, a little
    gain = reg.test_acc[names.index("augmentation"), 0] - reg.test_acc[names.index("none"), 0]
    assert 0 < gain < 0.15  # measured 7 points with 1,000 images


def test_test_error_grows_with_the_fraction_of_random_labels():
    curve = rethinking.label_corruption_curve(
        *COMMON, S["fractions"], S["curve_seeds"], S["max_epochs"], S["lr"], S["batch_size"]
    )
    err = curve.test_error.mean(axis=1)
    assert np.all(np.diff(err) > 0)
    assert err[0] < 0.2 and abs(err[-1] - 0.9) < 0.05


def test_exercise_narrow_network_needs_longer_for_random_labels(fits):
    narrow = rethinking.fit_corruptions(
        S["n_train"],
        S["n_test"],
        (64,),
        S["seeds"][:1],
        S["max_epochs"],
        S["lr"],
        S["batch_size"],
        corruptions=("random labels",),
    )
    assert (
        np.isnan(narrow.epochs_to_fit[0, 0])
        or narrow.epochs_to_fit[0, 0] > fits.epochs_to_fit[1, 0]
    )


def test_construction_fits_random_labels_with_2n_plus_d_weights():
    mnist = data.load_mnist()
    X_c, _ = data.subsample(mnist.X_train, mnist.y_train, S["n_train"], seed=0)
    y_c = data.random_labels(np.zeros(S["n_train"]), seed=0).astype(float)
    w, b, a = nets.zhang_construction(X_c, y_c, seed=0)
    assert w.size + b.size + a.size == 2 * S["n_train"] + 784
    assert np.abs(nets.zhang_predict(X_c, w, b, a) - y_c).max() < 1e-3
