"""The phase-diagram plot draws the hull, the candidate and the DFT value it was given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from jupyter_matopt.stability import ReferenceHull  # noqa: E402
from jupyter_matopt.stability.core import StabilityResult  # noqa: E402
from jupyter_matopt.widgets.stability_plot import stability_plot  # noqa: E402

HULL = ReferenceHull(
    pd.DataFrame({"formula": ["NiAl", "NiAl3", "Ni3Al", "CrNi2", "AlCr2"],
                  "formation_energy": [-0.6, -0.4, -0.2, -0.05, -0.1]}),  # fmt: skip
    name="toy",
)


def test_binary_plot_has_hull_candidate_and_dft_point() -> None:
    res = StabilityResult(composition="Ni0.25Al0.75", e_above_hull=0.1, formation_energy=-0.3,
                          dft_formation_energy=-0.4, hull=HULL, potential="p/v",
                          prototype="l12")  # fmt: skip
    fig = stability_plot(res)
    ax = fig.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    hull_line = lines["DFT hull"]
    # Hull vertices: Al, NiAl3, NiAl, Ni (Ni3Al at -0.2 lies above the NiAl-Ni line).
    assert np.allclose(hull_line.get_xdata(), [0, 0.25, 0.5, 1])
    assert np.allclose(hull_line.get_ydata(), [0, -0.4, -0.6, 0])
    star = lines["p (l12)"]
    assert (star.get_xdata()[0], star.get_ydata()[0]) == (0.25, -0.3)
    assert lines["DFT on record"].get_ydata()[0] == -0.4
    assert "+0.100" in ax.get_title()


def test_ternary_and_no_hull_plots() -> None:
    res = StabilityResult(composition="Ni0.4Al0.4Cr0.2", e_above_hull=0.05,
                          formation_energy=-0.4, hull=HULL, potential="p/v")  # fmt: skip
    ax = stability_plot(res).axes[0]
    assert any("+0.050 eV/atom" in t.get_text() for t in ax.texts)
    assert {"Al", "Cr", "Ni"} <= {t.get_text() for t in ax.texts}
    bare = StabilityResult(composition="NiAl", formation_energy=-0.5, potential="p/v")
    ax = stability_plot(bare).axes[0]
    assert [p.get_width() for p in ax.patches] == [-0.5]
