"""Claims of book/part8/pretraining.md, asserted with the chapter's own calls (cached)."""

import inspect

import numpy as np
import pytest

from generalization import data, pretrain
from generalization.chapters.part8 import pretraining as pt

S = pt.settings()
SIG, RELU = 0, 1


@pytest.fixture(scope="module")
def res():
    return pt.experiment(**S)  # the chapter's call


def _gap(res):
    """Test error of the random start minus the pre-trained one: (regime, seed, size)."""
    return res.test_error[:, 0] - res.test_error[:, 1]


def test_pretraining_reads_no_label(monkeypatch):
    """Pre-training has no label argument, and permuting every MNIST training label leaves the
    pre-trained weights bit for bit unchanged (at small sizes, with the chapter's settings)."""
    for f in (pt.pretrained_stack, pretrain.pretrain_layerwise, pretrain.train_dae):
        assert not {"y", "labels", "targets"} & set(inspect.signature(f).parameters)
    small = dict(S["pretraining"], num_epochs=1)
    first, _ = pt.pretrained_stack(0, 300, 16, 2, "sigmoid", small)
    real = data.load_mnist()
    shuffled = data.MNIST(
        real.X_train, np.random.default_rng(1).permutation(real.y_train), real.X_test, real.y_test
    )
    monkeypatch.setattr(data, "load_mnist", lambda: shuffled)
    second, _ = pt.pretrained_stack(0, 300, 16, 2, "sigmoid", small)
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(first, second)
    )


def test_pretraining_lowers_the_reconstruction_loss(res):
    """Pre-training cuts the first layer's clean reconstruction cross-entropy to about a third."""
    ratio = res.pretrain_loss[:, 1] / res.pretrain_loss[:, 0]
    assert np.all((0.2 < ratio) & (ratio < 0.45))  # quick: about 0.30 (544 -> 163 to 166 nats)


def test_sigmoid_sgd_pretraining_lowers_test_error_at_every_size_and_seed(res):
    """In the paper's setting the pre-trained network tests better for every seed and size."""
    gap = _gap(res)[SIG]
    assert np.all(gap > 0.003)  # quick: smallest 0.013
    mean = gap.mean(axis=0)
    assert 0.005 < mean[0] < 0.08  # quick: 0.030 at 100 labels
    assert 0.02 < mean[1] < 0.2  # quick: 0.081 at 300
    assert 0.02 < mean[-1] < 0.15  # quick: 0.064 at 1,000


def test_the_sigmoid_gain_is_larger_with_more_labels_than_with_the_fewest(res):
    """The mean gain at the two larger sizes exceeds the one at the smallest."""
    mean = _gap(res)[SIG].mean(axis=0)
    assert mean[1] > mean[0] + 0.01  # quick: 0.081 against 0.029
    assert mean[-1] > mean[0] + 0.01  # quick: 0.064 against 0.029


def test_with_the_fewest_labels_both_fit_the_training_set_and_pretrained_still_tests_better(res):
    """Equal (zero) training error and lower test error: the regularizer's signature."""
    assert np.all(res.train_error[SIG, :, :, 0] <= 0.01)  # quick: 0 for both starts
    assert np.mean(_gap(res)[SIG, :, 0]) > 0.005  # quick: 0.030 (0.013 to 0.039 over seeds)


def test_at_a_fixed_budget_the_random_sigmoid_network_underfits_and_the_pretrained_one_less(res):
    """Pre-training also acts as an optimizer here: lower training error at the largest size."""
    rand, pre = res.train_error[SIG, 0, :, -1], res.train_error[SIG, 1, :, -1]
    assert 0.04 < rand.mean() < 0.3  # quick: 0.123
    assert 0.0 <= pre.mean() < 0.08  # quick: 0.030
    assert np.all(rand - pre > 0.02)  # quick: about 0.07 to 0.13


def test_relu_adam_fits_every_training_set_and_the_gain_shrinks_to_a_point_or_two(res):
    """With ReLU, He initialization and Adam the gain is small, at most a few points per seed."""
    assert res.train_error[RELU].max() <= 0.01  # quick: 0
    gap = _gap(res)[RELU]
    mean = gap.mean(axis=0)
    assert np.all((-0.015 < mean) & (mean < 0.035))  # quick: 0.010, 0.019, 0.008
    assert np.all(np.abs(gap) < 0.06)  # quick: -0.018 to 0.037
    assert np.all(mean > 0.0)  # quick: 0.010, 0.019, 0.008: positive on average at every size
    sigmoid = _gap(res)[SIG].mean()
    assert 0.02 < sigmoid - mean.mean() < 0.12  # quick: 0.058 - 0.012 = 0.046


def test_the_gain_grows_with_depth_because_the_deep_random_network_barely_trains(res):
    """From 1 to 3 sigmoid layers the gain grows from a point or two to tens of points."""
    dgap = res.depth_test_error[0] - res.depth_test_error[1]  # (seed, depth)
    assert np.all(dgap[:, 0] < 0.05)  # quick: 0.010 to 0.021
    assert np.all(dgap[:, -1] > dgap[:, 0] + 0.2)  # quick: 0.41 to 0.57 at 3 layers
    assert 0.4 < res.depth_train_error[0, :, -1].mean() < 0.9  # quick: 0.71, random, 3 layers
    assert res.depth_train_error[1, :, -1].max() <= 0.02  # quick: 0, pre-trained
    assert 0.15 < res.depth_test_error[1, :, -1].mean() < 0.35  # quick: 0.258
