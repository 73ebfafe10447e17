"""``%matopt generate`` through a real IPython shell whose errors raise."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from IPython.core.error import UsageError  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402

import jupyter_matopt as mo  # noqa: E402


@pytest.fixture
def shell(mpea, gen):  # type: ignore[no-untyped-def]
    from traitlets.config import Config

    mo.session().reset()
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False
    sh = InteractiveShell.instance(config=cfg)
    sh.run_cell("%load_ext jupyter_matopt", store_history=False).raise_error()
    st = mo.session()
    st.dataset = mpea
    # the session fixture's short-trained generator stands in for the magic's own fit
    st.extras["generator"], st.extras["generator_key"] = gen, (id(mpea), "wae", None)
    yield sh
    mo.session().reset()
    InteractiveShell.clear_instance()


def run(shell: InteractiveShell, line: str):  # type: ignore[no-untyped-def]
    res = shell.run_cell(f"%matopt {line}", store_history=False)
    res.raise_error()
    return res.result


def test_generate_needs_a_model(shell) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError, match="train"):
        run(shell, "generate -n 5")


def test_generate_returns_ranked_table_and_map(shell, gen) -> None:  # type: ignore[no-untyped-def]
    from jupyter_matopt.widgets import ScreenTable

    run(shell, "train --n-ensemble 2 --n-estimators 40")
    frame = run(shell, "generate -n 6 --n-samples 400 --frame --no-map")
    assert len(frame) == 6
    assert list(frame["rank_score"]) == sorted(frame["rank_score"])
    assert {"mean", "std", "in_domain", "novel", "nearest_training"} <= set(frame.columns)
    assert mo.session().extras["generate_result"] is frame
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    table = run(shell, "generate -n 4 --n-samples 400 --target min")
    assert isinstance(table, ScreenTable) and len(table.rows) == 4
    means = [r["mean"] for r in table.rows]
    assert np.isfinite(means).all()
    assert set(plt.get_fignums()) == before  # the map was displayed and closed, not leaked
    with pytest.raises(UsageError, match="target"):
        run(shell, "generate --target best")


def test_latent_map_draws_training_and_proposals(gen) -> None:  # type: ignore[no-untyped-def]
    from jupyter_matopt.widgets.latent import latent_map

    props = gen.sample(7, seed=0)
    fig = latent_map(gen, props)
    ax = fig.axes[0]
    sizes = [len(c.get_offsets()) for c in ax.collections]
    assert sizes == [len(gen.training_X_), 7]
    assert len(ax.texts) == 7
    import matplotlib.pyplot as plt

    plt.close(fig)
