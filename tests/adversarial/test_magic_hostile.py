"""``%matopt`` never evaluates ``{...}`` or ``$name`` in its arguments (finding 1 of issue 16).

A campaign log whose file name carries Python in braces was inserted by the Campaigns panel
as ``%matopt campaign <name>`` and IPython expanded the braces before the magic saw the line.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import jupyter_matopt as mo
from jupyter_matopt import CompositionSpace
from jupyter_matopt.optimize import Campaign

HOSTILE = [
    'x{__import__("os").system("echo hi>PWNED")}.json',
    "x{open('PWNED','w').write('1')}.json",
    "$PWN.json",
    "x$(touch PWNED).json",
]


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from traitlets.config import Config

    monkeypatch.chdir(tmp_path)
    mo.session().reset()
    InteractiveShell.clear_instance()
    cfg = Config()
    cfg.HistoryManager.enabled = False
    sh = InteractiveShell.instance(config=cfg)
    sh.run_cell("%load_ext jupyter_matopt", store_history=False).raise_error()
    # a variable a `$PWN` expansion would pick up
    sh.user_ns["PWN"] = "__import__('os').system('echo hi>PWNED')"
    yield sh
    mo.session().reset()
    InteractiveShell.clear_instance()


@pytest.mark.parametrize("name", HOSTILE)
def test_braces_and_dollars_in_a_missing_file_name_are_not_evaluated(shell, tmp_path, name):
    result = shell.run_cell(f"%matopt campaign {shlex.quote(name)}", store_history=False)
    assert not (tmp_path / "PWNED").exists()
    # the name reaches the magic verbatim: it says that file does not exist
    assert isinstance(result.error_in_exec, UsageError)
    assert name in str(result.error_in_exec)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_real_log_with_a_hostile_name_opens(shell, tmp_path, name):
    space = CompositionSpace({"Fe": (0.5, 0.9), "Cr": (0.1, 0.5)}, step=0.05)
    camp = Campaign(space, path=tmp_path / name, seed=1)
    camp.tell([{"Fe": 0.7, "Cr": 0.3}], [1.0])
    result = shell.run_cell(f"%matopt campaign {shlex.quote(name)}", store_history=False)
    result.raise_error()
    assert not (tmp_path / "PWNED").exists()
    assert Path(mo.session().campaign.path).name == name
    assert len(mo.session().campaign.history) == 1


def test_the_magic_is_marked_no_var_expand():
    from IPython.core.magic import MAGIC_NO_VAR_EXPAND_ATTR

    from jupyter_matopt.magics import MatoptMagics

    assert getattr(MatoptMagics.matopt, MAGIC_NO_VAR_EXPAND_ATTR, False) is True
    assert os.sep  # keep os used for the hostile names above
