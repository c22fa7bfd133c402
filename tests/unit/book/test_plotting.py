import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from generalization.book import plotting  # noqa: E402


def test_house_style_sets_size_fonts_and_palette():
    plotting.use_house_style()
    rc = matplotlib.rcParams
    assert tuple(rc["figure.figsize"]) == plotting.FIGSIZE
    assert rc["font.size"] >= 11 and rc["xtick.labelsize"] >= 10
    assert [c.lower() for c in rc["axes.prop_cycle"].by_key()["color"]] == [
        c.lower() for c in plotting.PALETTE
    ]
    fig, ax = plt.subplots()
    assert tuple(fig.get_size_inches()) == plotting.FIGSIZE
    plt.close(fig)


def test_palette_is_distinct_okabe_ito():
    assert len(set(plotting.PALETTE)) == 8
    assert set(plotting.PALETTE) == set(plotting.OKABE_ITO.values())


def test_panels_keep_the_column_width():
    fig, axes = plotting.panels(2, nrows=2)
    assert axes.shape == (2, 2)
    assert fig.get_size_inches()[0] == plotting.FIGSIZE[0]
    plt.close(fig)
    with pytest.raises(ValueError, match="at least 1; got ncols=0"):
        plotting.panels(0)
