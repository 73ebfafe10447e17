"""The attention backend behind the sliders, the magics' choices, and the optional extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from jupyter_matopt.core import to_formula


def test_sliders_headless_with_the_attention_backend(attention_model):
    from jupyter_matopt.widgets import CompositionSliders

    elements = ["Fe", "Cr", "Ni", "Mo"]
    w = CompositionSliders(elements, model=attention_model,
                           fractions={"Fe": 0.7, "Cr": 0.15, "Ni": 0.1, "Mo": 0.05})
    w.set_fraction("Cr", 0.2)
    p = w.prediction
    assert w.error == "" and w.busy is False
    formula = to_formula({e: v for e, v in w.fractions.items() if v > 0}, decimals=12)
    mean, std = attention_model.predict([formula], return_std=True)
    assert p["mean"] == pytest.approx(float(mean[0]), rel=1e-6)
    assert p["std"] == pytest.approx(float(std[0]), rel=1e-6)
    exp = attention_model.explain(formula)
    assert set(elements) <= set(p["contributions"])
    for e in elements:
        assert p["contributions"][e] == pytest.approx(float(exp.per_element[e]), abs=1e-6)
    assert sum(p["contributions"].values()) == pytest.approx(p["mean"] - exp.base_value,
                                                             abs=1e-6 * 2000)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)


def test_importing_the_package_and_backends_loads_no_torch():
    r = _run("""
        import sys
        import jupyter_matopt, jupyter_matopt.models
        import jupyter_matopt.models.backends.attention, jupyter_matopt.models.backends.stack
        import jupyter_matopt.models.deep
        from jupyter_matopt.models.backends import available_backends
        assert {"attention", "stack", "auto"} <= set(available_backends()), available_backends()
        print("torch" in sys.modules, "safetensors" in sys.modules)
    """)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["False", "False"]


BLOCK_TORCH = """
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError(f"No module named {name!r} (blocked by the test)")
            return None
    sys.meta_path.insert(0, _Block())
"""


def test_without_torch_the_backend_raises_one_clear_error(data_dir):
    r = _run(BLOCK_TORCH + f"""
    import jupyter_matopt as mo
    from jupyter_matopt.models.backends import BackendUnavailableError
    ds = mo.load_dataset("matbench_steels", data_dir={str(data_dir)!r})
    for backend in ("attention", "stack", "auto"):
        try:
            mo.PropertyModel(backend=backend).fit(ds.subset(list(range(30))))
        except BackendUnavailableError as exc:
            assert isinstance(exc, ValueError) and isinstance(exc, ImportError)
            print("ERR", exc)
        else:
            raise SystemExit(backend + " fitted without torch")
    # the tree backends keep working
    mo.PropertyModel(n_ensemble=1, params={{"n_estimators": 5}}, calibrate=False).fit(
        ds.subset(list(range(30))))
    print("trees ok")
    """)
    assert r.returncode == 0, r.stderr[-3000:]
    lines = r.stdout.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("ERR")]
    assert len(errors) == 3
    for ln in errors:
        assert 'pip install "jupyter_matopt[deep]"' in ln
    assert lines[-1] == "trees ok"


def test_stack_and_auto_record_their_choice(small_steels):
    from jupyter_matopt.models import PropertyModel

    sub = small_steels.subset(np.arange(45))
    params = {"attention": {"epochs": 2}, "xgboost": {"n_estimators": 20}}
    auto = PropertyModel(backend="auto", n_ensemble=2, params=params, calibrate=False).fit(sub)
    sel = auto.backend_.selection
    assert sel["choice"] in ("xgboost", "attention", "stack")
    assert sel["choice"] in sel["reason"] and sel["scheme"] == "3-fold inner CV"
    errs = sel["errors_by_attention_weight"]
    assert len(errs) == 11 and all(np.isfinite(v) for v in errs.values())
    # the pick is the candidate with the lowest out-of-fold error
    cands = {"xgboost": errs["0.0"], "attention": errs["1.0"],
             "stack": min(v for k, v in errs.items() if k not in ("0.0", "1.0"))}
    assert cands[sel["choice"]] == pytest.approx(min(cands.values()))
    exp = auto.explain("Fe0.7Cr0.2Ni0.1")
    assert exp.per_element.sum() == pytest.approx(exp.prediction - exp.base_value, abs=1e-5)

    stack = PropertyModel(backend="stack", n_ensemble=2, params={**params, "weight": 0.5},
                          calibrate=False).fit(sub)
    assert stack.backend_.weight == 0.5 and set(stack.backend_.parts) == {"xgboost", "attention"}
    m, s = stack.predict(["Fe0.7Cr0.2Ni0.1"], return_std=True)
    exp = stack.explain("Fe0.7Cr0.2Ni0.1")
    assert exp.prediction == pytest.approx(float(m[0]), rel=1e-9)
    assert exp.per_element.sum() == pytest.approx(exp.prediction - exp.base_value, abs=1e-5)
