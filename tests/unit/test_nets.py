import numpy as np
import pytest
import torch

from generalization import data, nets


def test_zhang_construction_fits_random_labels_exactly():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(300, 50))
    y = rng.integers(0, 10, 300).astype(float)
    w, b, a = nets.zhang_construction(X, y, seed=1)
    assert w.shape == (50,) and b.shape == (300,) and a.shape == (300,)
    assert w.size + b.size + a.size == 2 * 300 + 50  # 2n + d parameters
    np.testing.assert_allclose(nets.zhang_predict(X, w, b, a), y, atol=1e-6)
    x0 = X[7]
    assert a @ np.maximum(x0 @ w - b, 0) == pytest.approx(y[7], abs=1e-6)


def test_zhang_construction_on_mnist_images():
    mnist = data.load_mnist()
    X, _ = data.subsample(mnist.X_train, mnist.y_train, 500, seed=0)
    y = data.random_labels(np.zeros(500), seed=0).astype(float)
    w, b, a = nets.zhang_construction(X, y)
    np.testing.assert_allclose(nets.zhang_predict(X, w, b, a), y, atol=1e-5)


def test_zhang_construction_rejects_duplicates_and_bad_shapes():
    X = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="X must have distinct rows"):
        nets.zhang_construction(X, np.array([0.0, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"got shapes \(3, 2\) and \(2,\)"):
        nets.zhang_construction(X, np.zeros(2))


def test_mlp_is_seeded_and_shaped():
    a, b = nets.mlp(hidden=(32, 16), seed=3), nets.mlp(hidden=(32, 16), seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert a(torch.zeros(5, 784)).shape == (5, 10)
    assert nets.small_cnn(seed=0)(torch.zeros(2, 784)).shape == (2, 10)
    with pytest.raises(ValueError, match="hidden must be a non-empty sequence"):
        nets.mlp(hidden=())


def test_training_fits_a_small_set_and_records_example_losses():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 20)).astype(np.float32)
    y = rng.integers(0, 3, 128)  # random labels: only memorization can fit them
    model = nets.mlp(n_inputs=20, hidden=(256,), n_classes=3, seed=0)
    log = nets.train(
        model,
        X,
        y,
        X,
        y,
        lr=0.05,
        num_epochs=300,
        batch_size=32,
        record_example_loss=True,
        stop_at_train_acc=1.0,
        seed=0,
    )
    assert log.train_acc[-1] == 1.0 and log.epochs_to_fit is not None
    assert log.example_loss.shape == (log.epochs_to_fit, 128)
    assert np.all(log.example_loss[0] > 0)
    assert log.example_loss[-1].mean() < log.example_loss[0].mean()
    assert len(log.train_loss) == log.epochs_to_fit + 1  # epoch 0 is before training


def test_training_is_reproducible_and_full_batch_works():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 10)).astype(np.float32)
    y = rng.integers(0, 2, 64)
    logs = [
        nets.train(
            nets.mlp(n_inputs=10, hidden=(16,), n_classes=2, seed=0),
            X,
            y,
            lr=0.1,
            num_epochs=5,
            batch_size=None,
            seed=0,
        )
        for _ in range(2)
    ]
    assert logs[0].train_loss == logs[1].train_loss
    with pytest.raises(ValueError, match="optimizer must be one of \\('sgd', 'adam'\\)"):
        nets.train(nets.mlp(n_inputs=10, hidden=(4,), n_classes=2), X, y, optimizer="lbfgs")


def test_corruptions_keep_shapes_and_statistics():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(200, 30)).astype(np.float32)
    shuffled = data.shuffled_pixels(X, seed=0)
    perm = np.random.default_rng(0).permutation(30)
    np.testing.assert_array_equal(X[:, perm], shuffled)  # one permutation for every image
    randomized = data.random_pixels(X, seed=0)
    np.testing.assert_allclose(np.sort(randomized, axis=1), np.sort(X, axis=1))
    assert not np.array_equal(randomized[:, :5], X[:, :5])
    noise = data.gaussian_inputs(X, seed=0)
    assert noise.shape == X.shape and noise.dtype == X.dtype
    np.testing.assert_allclose(noise.mean(0), X.mean(0), atol=0.1)
    np.testing.assert_allclose(noise.std(0), X.std(0), rtol=0.2)
    labels = data.random_labels(np.zeros(5000), seed=0)
    assert set(np.unique(labels)) == set(range(10))
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        data.random_pixels(X[0], seed=0)


def test_on_epoch_sees_every_epoch_and_does_not_change_training():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 784)).astype(np.float32), rng.integers(0, 10, 64)
    calls = []

    def probe(epoch, model):
        model.eval()  # train() must restore training mode afterwards
        with torch.no_grad():
            calls.append(
                (epoch, model(torch.tensor(X)).argmax(1).eq(torch.tensor(y)).float().mean().item())
            )

    plain = nets.train(
        nets.mlp(hidden=(32,), dropout=0.2, seed=1), X, y, num_epochs=4, batch_size=16, seed=2
    )
    probed = nets.train(
        nets.mlp(hidden=(32,), dropout=0.2, seed=1),
        X,
        y,
        num_epochs=4,
        batch_size=16,
        seed=2,
        on_epoch=probe,
    )
    assert [epoch for epoch, _ in calls] == [0, 1, 2, 3, 4]
    np.testing.assert_allclose([acc for _, acc in calls], probed.train_acc)
    assert probed.train_loss == plain.train_loss
    with pytest.raises(ValueError, match="on_epoch must be callable"):
        nets.train(nets.mlp(hidden=(8,)), X, y, num_epochs=1, on_epoch="print")


def test_training_uses_the_requested_threads_and_restores_the_count():
    before = torch.get_num_threads()
    seen = []
    X, y = np.zeros((8, 4), dtype=np.float32), np.zeros(8, dtype=np.int64)
    nets.train(
        nets.mlp(n_inputs=4, hidden=(2,), n_classes=2),
        X,
        y,
        num_epochs=1,
        num_threads=1,
        on_epoch=lambda epoch, model: seen.append(torch.get_num_threads()),
    )
    assert seen == [1, 1] and torch.get_num_threads() == before
    nets.train(
        nets.mlp(n_inputs=4, hidden=(2,), n_classes=2),
        X,
        y,
        num_epochs=1,
        on_epoch=lambda epoch, model: seen.append(torch.get_num_threads()),
    )
    assert seen[2:] == [before, before]
    with pytest.raises(ValueError, match="number of threads must be a positive integer"):
        nets.train(nets.mlp(n_inputs=4, hidden=(2,), n_classes=2), X, y, num_threads=0)


def test_threads_context_restores_the_count_even_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError):
        with nets.threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="number of threads must be a positive integer"):
        with nets.threads(True):
            pass


def test_weight_norm_is_the_norm_of_all_parameters():
    model = nets.mlp(n_inputs=3, hidden=(2,), n_classes=2, seed=0)
    flat = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    assert nets.weight_norm(model) == pytest.approx(np.linalg.norm(flat), rel=1e-6)


def test_weight_norm_with_a_reference_is_a_distance():
    a, b = (
        nets.mlp(n_inputs=3, hidden=(2,), n_classes=2, seed=0),
        nets.mlp(n_inputs=3, hidden=(2,), n_classes=2, seed=1),
    )
    diff = np.concatenate(
        [(p - q).detach().numpy().ravel() for p, q in zip(a.parameters(), b.parameters())]
    )
    assert nets.weight_norm(a, b) == pytest.approx(np.linalg.norm(diff), rel=1e-6)
    assert nets.weight_norm(a, a) == 0.0
    with pytest.raises(ValueError, match="same architecture"):
        nets.weight_norm(a, nets.mlp(n_inputs=3, hidden=(4,), n_classes=2, seed=0))
