"""Claims of book/part7/pruning_is_all_you_need.md, asserted with the chapter's own calls."""

import numpy as np
import pytest

from generalization.chapters.part7 import pruning_is_all_you_need as pp

S = pp.settings()


@pytest.fixture(scope="module")
def wid():
    return pp.width_experiment(S["target"], S["widths"])  # the chapter's call


@pytest.fixture(scope="module")
def neu():
    return pp.neuron_experiment(**S["neuron"])  # the chapter's call


def test_the_target_is_a_modest_mnist_classifier(wid):
    """The small target trained on ten principal components has a modest test accuracy."""
    assert 0.85 < wid.target_accuracy_all < 0.90  # quick: 0.8725 on all 10,000 test images


def test_one_product_per_weight_gives_error_like_one_over_n(wid):
    """With one product per weight the median weight error falls along a log-log line of slope
    close to -1, for every seed."""
    slope = pp.fit_slope(wid.ns["product"], wid.results["product"]["median_error"])
    assert np.all((-1.0 < slope) & (slope < -0.75))  # quick: -0.864, -0.868, -0.888


def test_subset_sums_give_error_exponential_in_n(wid):
    """With subset sums log(error) falls linearly in n, at a rate of about a third per unit of
    n for every seed, and the error ends far below that of products at eight times the width."""
    ns = np.array(wid.ns["subset_sum"])
    errors = wid.results["subset_sum"]["median_error"]
    rate = -pp.fit_slope(ns, errors, log_x=False)
    assert np.all((0.25 < rate) & (rate < 0.36))  # quick: 0.282, 0.295, 0.307
    # a straight line in n: the residuals of the log-linear fit are small (quick: R^2 > 0.98)
    for row in np.log(errors):
        fit = np.polyval(np.polyfit(ns, row, 1), ns)
        assert 1 - np.sum((row - fit) ** 2) / np.sum((row - row.mean()) ** 2) > 0.97
    # on log-log axes the same points have an average slope far below -1 (quick: -4.8 to -5.2)
    loglog = pp.fit_slope(ns, errors)
    assert np.all((-6.0 < loglog) & (loglog < -4.0))
    products = wid.results["product"]["median_error"][:, -1]
    assert np.all(errors[:, -1] < products / 20)  # quick: 5e-5 against 4e-3


def test_the_worst_weight_stays_far_off_more_than_the_median(wid):
    """At the largest SubsetSum width the worst weight is off by far more than the median, and
    one width below one network still has a weight off by a tenth or more."""
    sub = wid.results["subset_sum"]
    assert np.all(sub["max_error"][:, -1] > 100 * sub["median_error"][:, -1])  # quick: ~1000x
    assert 0.1 < sub["max_error"][:, -2].max() < 0.5  # quick: 0.32


def test_subset_sum_pruning_agrees_with_the_target_with_a_smaller_network(wid):
    """The widest SubsetSum network agrees with the target on almost every test image, much more
    often than one product per weight at the same n, and better than products at the largest
    width with a random network eight times larger; the narrowest networks agree poorly."""
    sub, prod = wid.results["subset_sum"], wid.results["product"]
    ns_prod = np.array(wid.ns["product"])
    same = int(np.flatnonzero(ns_prod == wid.ns["subset_sum"][-1])[0])
    assert np.all(sub["agreement"][:, -1] > 0.985)  # quick: 0.993 to 0.9965
    assert np.all(sub["agreement"][:, -1] < 1.0)
    assert prod["agreement"][:, same].mean() < 0.85  # quick: 0.79
    assert np.all((0.95 < prod["agreement"][:, -1]) & (prod["agreement"][:, -1] < 0.99))  # 0.97
    assert prod["total"][0, -1] / sub["total"][0, -1] == pytest.approx(8, rel=0.01)
    assert np.all(prod["agreement"][:, -1] < sub["agreement"][:, -1])
    first = max(sub["agreement"][:, 0].mean(), prod["agreement"][:, 0].mean())
    assert 0.3 < first < 0.6  # quick: 0.443 (subset sums), 0.376 (products)
    # its accuracy on the same images is within half a point of the target's (quick: 0.848 to
    # 0.851 against 0.8505)
    assert np.all(np.abs(sub["accuracy"][:, -1] - wid.target_accuracy) < 0.005)


def test_the_guaranteed_bound_holds_and_is_far_above_the_measured_gap(wid):
    """The error bound over the input box is above the measured logit gap, by a factor of five
    or more at every width."""
    for method in ("product", "subset_sum"):
        res = wid.results[method]
        ratio = res["bound"] / res["sup_output"]
        assert np.all(ratio > 5)  # quick: from 10.3 (subset sums) and 31.9 (products)
        assert np.all(ratio < 150)  # quick: up to 60 and 75


def test_weight_pruning_approximates_a_single_neuron_closely(neu):
    """The SubsetSum weight pruning of a single ReLU neuron has a relative error (median over
    seeds) from a few hundredths of a percent at d = 4 to about a percent at d = 64."""
    median = np.median(neu.pruned, axis=1)
    assert 3e-4 < median[0] < 9e-4  # quick: 4.5e-4 at d = 4 (seeds: 1.6e-4, 4.5e-4, 4.9e-4)
    assert 1.2e-3 < median[1] < 4e-3  # quick: 2.2e-3 at d = 16 (5.7e-4, 2.2e-3, 0.45)
    assert 6e-3 < median[2] < 2e-2  # quick: 1.0e-2 at d = 64 (7.7e-3, 1.0e-2, 1.4e-2)
    assert 0.3 < neu.pruned.max() < 0.6  # quick: one unlucky network at 0.45


def test_random_features_stay_far_from_a_single_neuron_in_high_dimension(neu):
    """The best random-features fit improves with more neurons but its error grows with the
    dimension; at the largest N it is many times the error of weight pruning in every
    dimension, and in the highest dimension it stays above a third."""
    feat = np.median(neu.features, axis=1)  # (dims, n_features)
    assert np.all(np.diff(feat, axis=1) < 0)  # more features help
    assert np.all(np.diff(feat, axis=0) > 0)  # higher dimension hurts, at every N
    assert 0.02 < feat[0, -1] < 0.06  # quick: 0.037 at d = 4
    assert 0.35 < feat[-1, -1] < 0.5  # quick: 0.42 at d = 64
    ratio = feat[:, -1] / np.median(neu.pruned, axis=1)
    assert 20 < ratio.min() < 80  # quick: 81, 76, 41 for d = 4, 16, 64
