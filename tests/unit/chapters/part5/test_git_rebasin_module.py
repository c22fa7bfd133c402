"""Unit tests of the chapter module of book/part5/git_rebasin.md against independent
computations (hand-made curves, torch's parameter vector, the landscape module)."""

import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector

from generalization import landscape, nets, rebasin
from generalization.chapters.part5 import git_rebasin as gr


def test_mean_barrier_is_the_peak_above_the_mean_of_the_endpoints():
    curves = np.array([[1.0, 3.0, 2.0, 0.0], [0.5, 0.4, 0.3, 0.5]])
    assert np.allclose(gr.mean_barrier(curves), [3.0 - 0.5, 0.5 - 0.5])


def test_relative_distance_matches_the_parameter_vectors():
    a, b = (
        nets.mlp(n_inputs=5, hidden=(4, 3), n_classes=2, seed=0),
        nets.mlp(n_inputs=5, hidden=(4, 3), n_classes=2, seed=1),
    )
    va = parameters_to_vector(a.parameters()).detach().double()
    vb = parameters_to_vector(b.parameters()).detach().double()
    expected = float(torch.linalg.norm(va - vb) / torch.linalg.norm(va))
    assert gr.relative_distance(a, b) == pytest.approx(expected, rel=1e-6)  # float32 weights


def test_max_output_gap_sees_a_shifted_output_bias():
    model = nets.mlp(n_inputs=5, hidden=(4,), n_classes=3, seed=2)
    shifted = nets.mlp(n_inputs=5, hidden=(4,), n_classes=3, seed=2)
    with torch.no_grad():
        shifted[-1].bias[1] += 0.25
    X = np.random.default_rng(0).standard_normal((10, 5))
    assert gr.max_output_gap(model, model, X) == 0.0
    assert gr.max_output_gap(model, shifted, X) == pytest.approx(0.25, abs=1e-6)


def test_train_mlp_is_seeded():
    rng = np.random.default_rng(3)
    X, y = rng.random((40, 784)).astype(np.float32), rng.integers(0, 10, 40)
    first, again, other = (gr.train_mlp(6, 2, s, X, y, 1, 20, 1e-3) for s in (0, 0, 1))
    v = [parameters_to_vector(m.parameters()) for m in (first, again, other)]
    assert torch.equal(v[0], v[1]) and not torch.equal(v[0], v[2])


def test_barriers_are_those_of_the_landscape_module():
    curves = np.array([[[0.2, 0.9, 0.4]]])
    fake = gr.RebasinResult(
        seeds=(0,), widths=(4,), depth=1, n_train=1, n_test=1, alphas=np.array([0.0, 0.5, 1.0]),
        curves={("naive", "test", "loss"): curves}, output_gap=None, distance_naive=None,
        distance_matched=None, sweeps=None, match_time_s=None, recovered=None,
        recovery_sweeps=None, run_time_s=0.0,
    )  # fmt: skip
    assert gr.barriers(fake, "naive", "test", "loss")[0, 0] == pytest.approx(0.9 - 0.3)
    with pytest.raises(ValueError, match="path must be one of"):
        gr.barriers(fake, "aligned", "test")


def test_tiny_experiment_paths_start_at_a_and_end_at_functionally_equal_b():
    """Both paths start at A, and end at B and at permuted B, which have equal losses."""
    res = gr.rebasin_experiment.uncached(
        seeds=(0,), widths=(5,), depth=2, n_train=60, n_test=30, num_epochs=1, batch_size=20,
        lr=1e-3, n_alphas=3,
    )  # fmt: skip
    for split in gr.SPLITS:
        for q in gr.QUANTITIES:
            naive, matched = res.curves["naive", split, q], res.curves["matched", split, q]
            assert naive.shape == (1, 1, 3)
            assert naive[0, 0, 0] == matched[0, 0, 0]
            assert naive[0, 0, -1] == pytest.approx(matched[0, 0, -1], abs=1e-5)
    X, y, X_test, y_test = gr.mnist_subsets(60, 30)
    model_a = gr.train_mlp(5, 2, 0, X, y, 1, 20, 1e-3)
    loss, error = landscape.evaluate(model_a, X_test, y_test)
    assert res.curves["naive", "test", "loss"][0, 0, 0] == pytest.approx(loss, rel=1e-5)
    assert res.curves["naive", "test", "error"][0, 0, 0] == pytest.approx(error)
    assert res.recovered.all() and res.output_gap[0, 0] < 1e-5
    assert rebasin.hidden_widths(model_a) == (5, 5)
