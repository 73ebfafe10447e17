"""``%matopt train --backend ...`` in a real IPython shell."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")


@pytest.fixture
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    import jupyter_matopt as mo

    mo.session().reset()
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False
    sh = InteractiveShell.instance(config=cfg)
    sh.run_cell("%load_ext jupyter_matopt", store_history=False).raise_error()
    yield sh
    mo.session().reset()
    InteractiveShell.clear_instance()


def test_train_with_the_attention_backend(shell, data_dir, capsys):
    import jupyter_matopt as mo

    r = shell.run_cell(f"%matopt load matbench_steels --data-dir {data_dir} --sample 19",
                       store_history=False)
    r.raise_error()
    r = shell.run_cell("%matopt train --backend attention --n-ensemble 2", store_history=False)
    r.raise_error()
    model = mo.session().model
    assert model.backend_name_ == "attention" and model.backend_.n_members == 2
    assert "Trained attention on 19 rows" in capsys.readouterr().out
    # options that do not fit the backend are one-line usage errors
    r = shell.run_cell("%matopt train --backend attention --n-estimators 5", store_history=False)
    assert "applies to tree backends" in str(r.error_in_exec)
    r = shell.run_cell("%matopt train --backend rf --pretrained formation_enthalpy",
                       store_history=False)
    assert "--pretrained applies to the attention" in str(r.error_in_exec)
    r = shell.run_cell("%matopt train --backend nope", store_history=False)
    assert r.error_in_exec is not None and "nope" in str(r.error_in_exec)
