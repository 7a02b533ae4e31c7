"""Pin the worked numbers of the seed articles, op by op, through the engine.

Every expected value below was recomputed independently in float64 (a
stand-alone numpy script, not the engine). Where an article prints a number,
the assertion uses the article's printed precision; where the article is wrong,
the assertion uses the correct value and a comment records what was printed.
Full-precision constants (abs=1e-9 or tighter) come from the independent script.
See docs/seed-notes.md for the list of slips per article.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tui_backprop.engine import Session
from tui_backprop.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
REPO = Path(__file__).resolve().parents[2]

LINEAR = "linear_sse.toml"
SIG222 = "sigmoid_2_2_2_lr1_2.toml"
XOR_ID = "xor_identity_2_3_1.toml"
MOMENTUM = "sigmoid_3_3_3_1_momentum.toml"
H1_0632 = "sigmoid_2_2_2_h1_0632.toml"
XOR_TF = "xor_sigmoid_2_3_1_sse.toml"

ALL = [LINEAR, SIG222, XOR_ID, MOMENTUM, H1_0632, XOR_TF]


# --------------------------------------------------------------------------- helpers


def session_for(name: str | Path) -> Session:
    path = name if isinstance(name, Path) else SCENARIOS / name
    return Session(load_scenario(path))


def arr(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def close(actual: Any, expected: Any, tol: float) -> None:
    """Element-wise |actual - expected| <= tol, with matching shapes."""
    a, e = arr(actual), arr(expected)
    assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a, e, rtol=0, atol=tol)


def one_step_records(session: Session, layers: int, limit: int = 200) -> list[Any]:
    """Run single ops until every layer's W has been written by an update; return the records."""
    records = []
    pending = {f"W{layer}" for layer in range(1, layers + 1)}
    for _ in range(limit):
        rec = session.step()
        records.append(rec)
        pending -= set(rec.writes)
        if not pending:
            return records
    raise AssertionError(f"no update of {sorted(pending)} within {limit} ops")


def op_name(record: Any) -> str:
    """The op's name: ``record.name`` per the API brief, else ``record.op.kind``."""
    name = getattr(record, "name", None)
    return name if name is not None else record.op.kind


def op_layer(record: Any) -> int | None:
    """The op's layer (None or 0 for batch-wide ops such as the loss)."""
    layer = getattr(record, "layer", None)
    if layer is None and hasattr(record, "op"):
        layer = record.op.layer
    return layer or None


def find(records: list[Any], name: str, layer: int | None = None) -> Any:
    hits = [r for r in records if op_name(r) == name and (layer is None or op_layer(r) == layer)]
    assert len(hits) == 1, f"expected one {name!r} op for layer {layer}, got {len(hits)}"
    return hits[0]


def trace(name: str | Path, steps: int) -> dict[str, Any]:
    path = name if isinstance(name, Path) else SCENARIOS / name
    proc = subprocess.run(
        [sys.executable, "-m", "tui_backprop", "trace", str(path), "--steps", str(steps), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["steps"]) == steps
    return data


def writes_of(step: dict[str, Any]) -> dict[str, np.ndarray]:
    """All values written during one traced step, by name (later writes win)."""
    merged: dict[str, np.ndarray] = {}
    for op in step["ops"]:
        for key, value in op["writes"].items():
            merged[key] = arr(value)
    return merged


def copy_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = (SCENARIOS / name).read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} not found exactly once in {name}"
    target = tmp_path / name
    target.write_text(text.replace(old, new), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- all scenarios


@pytest.mark.parametrize("name", ALL)
def test_seed_scenario_loads(name: str) -> None:
    scenario = load_scenario(SCENARIOS / name)
    assert scenario.title
    assert scenario.description and len(scenario.description) > 200


# --------------------------------------------------------------------------- linear y = W x (loss 30, slope 60)


def test_linear_ops_in_order() -> None:
    session = session_for(LINEAR)
    records = one_step_records(session, layers=1)
    # an op that only loads the batch (x, y), if the engine has one, is not part of the contract's list
    ops = [r for r in records if op_name(r) != "batch"]
    names = [op_name(r) for r in ops]
    assert names[:6] == ["linear", "activation", "loss", "loss_grad", "activation_grad", "weight_grad"]
    assert [op_layer(ops[i]) for i in (0, 1, 4, 5)] == [1, 1, 1, 1]
    assert "propagate" not in names  # a single layer has nothing to propagate to
    assert "W1" in records[-1].writes


def test_linear_forward_loss_and_derivative() -> None:
    session = session_for(LINEAR)
    records = one_step_records(session, layers=1)
    close(find(records, "linear", 1).writes["z1"], [[0], [3], [6], [9], [12]], 1e-12)
    close(find(records, "activation", 1).writes["a1"], [[0], [3], [6], [9], [12]], 1e-12)
    loss_op = find(records, "loss")
    close(loss_op.writes["losses"], [0, 1, 4, 9, 16], 1e-12)  # the squared-error column
    assert float(loss_op.writes["loss"]) == pytest.approx(30.0, abs=1e-12)
    # dL/dy_hat = 2 (W x - y), summed over the batch (reduction = sum, no 1/B)
    close(find(records, "loss_grad").writes["dA1"], [[0], [2], [4], [6], [8]], 1e-12)
    close(find(records, "activation_grad", 1).writes["delta1"], [[0], [2], [4], [6], [8]], 1e-12)
    close(find(records, "weight_grad", 1).writes["dW1"], [[60.0]], 1e-12)  # the article's "60x"
    assert "b1" not in session.params or np.all(arr(session.params["b1"]) == 0)
    close(session.params["W1"], [[2.4]], 1e-12)  # 3 - 0.01 * 60


def test_linear_finite_difference_table(tmp_path: Path) -> None:
    plus = copy_with(tmp_path, LINEAR, "weights = [[3.0]]", "weights = [[3.0001]]")
    session = session_for(plus)
    session.finish_step()
    loss_plus = float(session.values["loss"])
    # article prints 30.006; exact is 30.0060003 (30 * 1.0001**2)
    assert loss_plus == pytest.approx(30.006, abs=5e-4)
    assert loss_plus == pytest.approx(30.0060003, abs=1e-9)
    close(session.values["losses"], [0, 1.00020001, 4.00080004, 9.00180009, 16.00320016], 1e-9)
    (tmp_path / "m").mkdir()
    minus = copy_with(tmp_path / "m", LINEAR, "weights = [[3.0]]", "weights = [[2.9999]]")
    session = session_for(minus)
    session.finish_step()
    loss_minus = float(session.values["loss"])
    # article prints 29.994; exact is 29.9940003
    assert loss_minus == pytest.approx(29.994, abs=5e-4)
    assert loss_minus == pytest.approx(29.9940003, abs=1e-9)
    assert (loss_plus - loss_minus) / 2e-4 == pytest.approx(60.0, abs=1e-6)


def test_linear_half_unit_step_does_not_reach_zero(tmp_path: Path) -> None:
    # The article extrapolates 30 / 60 = 0.5 and says lowering W by 0.5 zeroes the error.
    # The loss is 30 (W - 2)^2: at W = 2.5 it is 7.5; it is zero only at W = 2.
    half = copy_with(tmp_path, LINEAR, "weights = [[3.0]]", "weights = [[2.5]]")
    session = session_for(half)
    session.finish_step()
    assert float(session.values["loss"]) == pytest.approx(7.5, abs=1e-12)
    (tmp_path / "two").mkdir()
    exact = copy_with(tmp_path / "two", LINEAR, "weights = [[3.0]]", "weights = [[2.0]]")
    session = session_for(exact)
    session.finish_step()
    assert float(session.values["loss"]) == pytest.approx(0.0, abs=1e-12)
    close(session.values["dW1"], [[0.0]], 1e-12)


def test_linear_converges_to_w_2() -> None:
    session = session_for(LINEAR)
    session.run_steps(40)
    close(session.params["W1"], [[2.0]], 1e-9)  # (W - 2) shrinks by 0.4 per step


def test_linear_trace_json() -> None:
    data = trace(LINEAR, 2)
    assert data["scenario"] == load_scenario(SCENARIOS / LINEAR).title
    first, second = data["steps"]
    assert first["samples"] == [0, 1, 2, 3, 4]
    assert first["loss"] == pytest.approx(30.0, abs=1e-12)
    close(first["grads"]["W1"], [[60.0]], 1e-12)
    close(first["params_after"]["W1"], [[2.4]], 1e-12)
    assert second["loss"] == pytest.approx(4.8, abs=1e-12)  # 30 * 0.4**2
    close(second["params_after"]["W1"], [[2.16]], 1e-12)
    close(writes_of(first)["losses"], [0, 1, 4, 9, 16], 1e-12)


# --------------------------------------------------------------------------- 2-2-2 sigmoid, lr 1.2


def test_sig222_forward() -> None:
    session = session_for(SIG222)
    records = one_step_records(session, layers=2)
    z1 = arr(find(records, "linear", 1).writes["z1"])
    # article writes 0.5*0.1 - 0.05*(-0.2) + 0.01 (typo for -0.5); its total 0.16 is right
    close(z1, [[0.16, -0.145]], 1e-12)
    a1 = arr(find(records, "activation", 1).writes["a1"])
    close(a1, [[0.5399, 0.4638]], 5e-5)
    close(a1, [[0.5399148846, 0.4638133798]], 1e-10)
    z2 = arr(find(records, "linear", 2).writes["z2"])
    # article prints 0.9271 and 0.0955; correct 0.92720 and 0.09556
    close(z2, [[0.9272, 0.0956]], 5e-5)
    close(z2, [[0.9272005491, 0.0955611198]], 1e-10)
    a2 = arr(find(records, "activation", 2).writes["a2"])
    # article prints 0.7164 and 0.5238; correct 0.7165 and 0.5239
    close(a2, [[0.7165, 0.5239]], 5e-5)
    close(a2, [[0.7165069926, 0.5238721162]], 1e-10)
    assert float(find(records, "loss").writes["loss"]) == pytest.approx(0.10666862731870302, abs=1e-12)


def test_sig222_output_layer_backward() -> None:
    session = session_for(SIG222)
    records = one_step_records(session, layers=2)
    dA2 = arr(find(records, "loss_grad").writes["dA2"])
    # article: e = -(0.9 - 0.7164) = -0.1836; correct -(0.9 - 0.716507) = -0.1835
    assert dA2[0, 0] == pytest.approx(-0.1835, abs=5e-5)
    close(dA2, [[-0.1834930074, 0.4238721162]], 1e-10)
    delta2 = arr(find(records, "activation_grad", 2).writes["delta2"])
    a2 = arr(session.values["a2"])
    assert (a2 * (1 - a2))[0, 0] == pytest.approx(0.2031, abs=5e-5)  # article: 0.2031
    close(delta2, [[-0.0372719661, 0.1057264737]], 1e-10)
    grads = find(records, "weight_grad", 2).writes
    assert arr(grads["dW2"])[0, 0] == pytest.approx(-0.0201, abs=5e-5)  # article: 0.0201 (as -dE/dw)
    close(grads["dW2"], [[-0.0201236893, 0.0570832968], [-0.0172872366, 0.0490373531]], 1e-10)
    close(grads["db2"], [-0.0372719661, 0.1057264737], 1e-10)


def test_sig222_hidden_layer_backward() -> None:
    session = session_for(SIG222)
    records = one_step_records(session, layers=2)
    dA1 = arr(find(records, "propagate", 2).writes["dA1"])
    # article prints -0.0370; the sum is -0.0370505 (-0.0371 at four places)
    assert dA1[0, 0] == pytest.approx(-0.0370504517, abs=1e-9)
    close(dA1, [[-0.0370504517, -0.0462319464]], 1e-10)
    a1 = arr(session.values["a1"])
    assert (a1 * (1 - a1))[0, 0] == pytest.approx(0.2484, abs=5e-5)  # article: 0.2484
    close(find(records, "activation_grad", 1).writes["delta1"], [[-0.0092035842, -0.0114974472]], 1e-10)
    dW1 = arr(find(records, "weight_grad", 1).writes["dW1"])
    # article prints -0.0045954 (product of rounded factors); correct -0.0046018
    assert dW1[0, 0] == pytest.approx(-0.0046017921, abs=1e-10)
    close(dW1, [[-0.0046017921, -0.0057487236], [0.0046017921, 0.0057487236]], 1e-10)


def test_sig222_updates() -> None:
    session = session_for(SIG222)
    session.finish_step()
    W1, W2 = arr(session.params["W1"]), arr(session.params["W2"])
    assert W2[0, 0] == pytest.approx(0.3941, abs=5e-5)  # article: 0.37 + 1.2 * 0.0201 = 0.3941
    assert W1[0, 0] == pytest.approx(0.1055, abs=5e-5)  # article: 0.1 + 1.2 * 0.0045954 = 0.1055
    close(W1, [[0.1055221505, 0.3068984683], [-0.2055221505, 0.5431015317]], 1e-10)
    close(session.params["b1"], [0.0210443011, -0.0062030634], 1e-10)
    close(W2, [[0.3941484272, -0.2884999562], [0.9207446839, -0.1788448237]], 1e-10)
    close(session.params["b2"], [0.3547263594, 0.1431282316], 1e-10)


def test_sig222_online_epoch_trace() -> None:
    data = trace(SIG222, 3)
    steps = data["steps"]
    assert [s["samples"] for s in steps] == [[0], [1], [2]]
    assert [s["loss"] for s in steps] == pytest.approx(
        [0.10666862731870302, 0.1023269297554748, 0.31464431606557886], abs=1e-12
    )
    first = writes_of(steps[0])
    close(first["a1"], [[0.5399, 0.4638]], 5e-5)
    close(first["a2"], [[0.7165, 0.5239]], 5e-5)
    close(steps[0]["grads"]["W2"], [[-0.0201236893, 0.0570832968], [-0.0172872366, 0.0490373531]], 1e-10)
    close(steps[0]["params_after"]["W2"], [[0.3941484272, -0.2884999562], [0.9207446839, -0.1788448237]], 1e-10)
    after = steps[2]["params_after"]
    close(after["W1"], [[0.0985847148268, 0.2889128784765], [-0.2145236629019, 0.5200100558252]], 1e-11)
    close(after["b1"], [0.0078555912339, -0.0305826066627], 1e-11)
    close(after["W2"], [[0.3438024293549, -0.2859847692506], [0.8458244888063, -0.1902837201199]], 1e-11)
    close(after["b2"], [0.2475139750175, 0.1437677614439], 1e-11)


# --------------------------------------------------------------------------- XOR, identity units, all weights 1


def test_xor_identity_first_sample() -> None:
    session = session_for(XOR_ID)
    records = one_step_records(session, layers=2)
    close(find(records, "activation", 1).writes["a1"], [[1, 1, 1]], 1e-12)
    # article says "predicted an output of 1"; the output is 4
    close(find(records, "activation", 2).writes["a2"], [[4]], 1e-12)
    # article reports a "loss" of -4 (that is y - y_hat); half squared error is 8
    assert float(find(records, "loss").writes["loss"]) == pytest.approx(8.0, abs=1e-12)
    # gradient w.r.t. the output is y_hat - y = +4 (article's delta is -4, opposite sign)
    close(find(records, "loss_grad").writes["dA2"], [[4]], 1e-12)
    close(find(records, "activation_grad", 2).writes["delta2"], [[4]], 1e-12)
    close(find(records, "propagate", 2).writes["dA1"], [[4, 4, 4]], 1e-12)
    close(find(records, "activation_grad", 1).writes["delta1"], [[4, 4, 4]], 1e-12)
    grads1 = find(records, "weight_grad", 1).writes
    close(grads1["dW1"], np.zeros((2, 3)), 1e-12)  # inputs are 0: no gradient for input weights
    close(grads1["db1"], [4, 4, 4], 1e-12)
    grads2 = find(records, "weight_grad", 2).writes
    close(grads2["dW2"], [[4], [4], [4]], 1e-12)
    close(grads2["db2"], [4], 1e-12)


def test_xor_identity_first_update() -> None:
    session = session_for(XOR_ID)
    session.finish_step()
    # article sets every weight to 1.4 (wrong sign, and input weights have zero gradient)
    close(session.params["W1"], np.ones((2, 3)), 1e-12)
    close(session.params["b1"], [0.6, 0.6, 0.6], 1e-12)
    close(session.params["W2"], [[0.6], [0.6], [0.6]], 1e-12)
    close(session.params["b2"], [0.6], 1e-12)


def test_xor_identity_first_epoch_trace() -> None:
    data = trace(XOR_ID, 4)
    steps = data["steps"]
    assert [s["samples"] for s in steps] == [[0], [1], [2], [3]]
    expected_losses = [8.0, 3.0752, 0.02800197095915512, 1.1097413928950335]
    assert [s["loss"] for s in steps] == pytest.approx(expected_losses, abs=1e-12)
    first = steps[0]
    close(first["grads"]["W1"], np.zeros((2, 3)), 1e-12)
    close(first["grads"]["b2"], [4], 1e-12)
    close(first["params_after"]["W2"], [[0.6], [0.6], [0.6]], 1e-12)
    close(first["params_after"]["W1"], np.ones((2, 3)), 1e-12)
    after = steps[3]["params_after"]
    close(after["W1"], [[0.9700350261252] * 3, [0.8260437850116] * 3], 1e-11)
    close(after["b1"], [0.4212350261252] * 3, 1e-11)
    close(after["W2"], [[-0.1727199672833]] * 3, 1e-11)
    close(after["b2"], [0.179355561326], 1e-11)


def test_xor_identity_symmetry_never_breaks_and_xor_is_not_learned() -> None:
    # The article expects the hidden units to diverge with training; identical starts keep them identical,
    # and a purely linear net cannot beat predicting 0.5 everywhere (mean half squared error 0.125).
    session = session_for(XOR_ID)
    session.run_steps(4000)
    W1, b1 = arr(session.params["W1"]), arr(session.params["b1"])
    W2, b2 = arr(session.params["W2"]), arr(session.params["b2"])
    assert np.all(np.isfinite(W1)) and np.all(np.isfinite(W2))
    for j in (1, 2):
        close(W1[:, j], W1[:, 0], 1e-12)
        close(b1[j], b1[0], 1e-12)
        close(W2[j], W2[0], 1e-12)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([[0], [1], [1], [0]], dtype=float)
    out = (x @ W1 + b1) @ W2 + b2
    mean_half_sse = float(np.mean(0.5 * (out - y) ** 2))
    assert mean_half_sse >= 0.125 - 1e-12
    assert mean_half_sse == pytest.approx(0.12513720655825097, abs=1e-6)


# --------------------------------------------------------------------------- 3-3-3-1 sigmoid with momentum


MOM_W0 = {
    "W1": [[0.2, -0.4, 0.7], [0.5, 0.3, -0.6], [-0.1, 0.8, 0.2]],
    "W2": [[0.6, -0.3, 0.1], [-0.5, 0.4, 0.9], [0.3, -0.7, 0.2]],
    "W3": [[0.8], [-0.6], [0.5]],
}


def test_momentum_first_step_forward_and_loss() -> None:
    session = session_for(MOMENTUM)
    records = one_step_records(session, layers=3)
    close(
        find(records, "activation", 1).writes["a1"],
        [
            [0.475020812521, 0.689974481128, 0.549833997312],
            [0.598687660112, 0.750260105595, 0.401312339888],
            [0.524979187479, 0.598687660112, 0.710949502625],
            [0.645656306226, 0.668187772168, 0.574442516812],
        ],
        1e-11,
    )
    close(
        find(records, "activation", 2).writes["a2"],
        [
            [0.526219787792, 0.437478880066, 0.685345076154],
            [0.526095329128, 0.45998056434, 0.693251643416],
            [0.556983483248, 0.39755014801, 0.675574324484],
            [0.556170063196, 0.418597963775, 0.68585748995],
        ],
        1e-11,
    )
    close(
        find(records, "activation", 3).writes["a3"],
        [[0.622732141157], [0.620462967423], [0.632938501848], [0.631045821246]],
        1e-11,
    )
    loss_op = find(records, "loss")
    close(loss_op.writes["losses"], [0.193897659815, 0.072024179549, 0.067367071713, 0.199109414256], 1e-11)
    assert float(loss_op.writes["loss"]) == pytest.approx(0.133099581333, abs=1e-11)
    # mean reduction: dA3 = (p - a) / 4
    close(
        find(records, "loss_grad").writes["dA3"],
        [[0.155683035289], [-0.094884258144], [-0.091765374538], [0.157761455312]],
        1e-11,
    )


def test_momentum_first_step_gradients() -> None:
    session = session_for(MOMENTUM)
    records = one_step_records(session, layers=3)
    close(
        find(records, "activation_grad", 3).writes["delta3"],
        [[0.036575677477], [-0.022344168085], [-0.021319606722], [0.03673112521]],
        1e-11,
    )
    close(find(records, "weight_grad", 3).writes["dW3"], [[0.016045766193], [0.012623164787], [0.02036616765]], 1e-11)
    close(
        find(records, "weight_grad", 2).writes["dW2"],
        [
            [0.003271019128, -0.002426357258, 0.00177931655],
            [0.004016830586, -0.002977501329, 0.0021838783],
            [0.003397204085, -0.002535963202, 0.001826996887],
        ],
        1e-11,
    )
    close(
        find(records, "weight_grad", 1).writes["dW1"],
        [
            [0.000537187176, -0.000195382818, 0.000847055931],
            [0.000514789063, -0.000223714945, 0.000647784176],
            [0.00119151894, -0.000411999437, 0.001524222442],
        ],
        1e-11,
    )
    assert "b1" not in session.params or np.all(arr(session.params["b1"]) == 0)


def test_momentum_dw1_matches_corrected_chain_rule() -> None:
    # dJ/dW1_ij = x_i * y_j(1-y_j) * sum_k W2_jk * z_k(1-z_k) * W3_k * (p-a) p(1-p), averaged over the batch.
    # (The article writes the last factor as a sum over all inputs and nests the sums the other way.)
    session = session_for(MOMENTUM)
    records = one_step_records(session, layers=3)
    v = session.values
    x, y_, z_, p = arr(v["x"]), arr(v["a1"]), arr(v["a2"]), arr(v["a3"])
    a = arr(v["y"])
    W2, W3 = arr(MOM_W0["W2"]), arr(MOM_W0["W3"])
    B = x.shape[0]
    expected = np.zeros((3, 3))
    for n in range(B):
        out_term = (p[n, 0] - a[n, 0]) * p[n, 0] * (1 - p[n, 0]) / B
        for i in range(3):
            for j in range(3):
                inner = sum(W2[j, k] * z_[n, k] * (1 - z_[n, k]) * W3[k, 0] for k in range(3))
                expected[i, j] += x[n, i] * y_[n, j] * (1 - y_[n, j]) * inner * out_term
    close(find(records, "weight_grad", 1).writes["dW1"], expected, 1e-15)


def test_momentum_updates() -> None:
    session = session_for(MOMENTUM)
    session.finish_step()
    g1 = {k: arr(session.values[f"d{k}"]) for k in MOM_W0}
    p1 = {k: arr(session.params[k]) for k in MOM_W0}
    for k in MOM_W0:  # velocity starts at 0: first step is plain gradient descent
        close(p1[k], arr(MOM_W0[k]) - 0.5 * g1[k], 1e-14)
    close(
        p1["W1"],
        [
            [0.199731406412, -0.399902308591, 0.699576472034],
            [0.499742605468, 0.300111857473, -0.600323892088],
            [-0.10059575947, 0.800205999718, 0.199237888779],
        ],
        1e-11,
    )
    close(p1["W3"], [[0.791977116903], [-0.606311582393], [0.489816916175]], 1e-11)
    session.finish_step()
    assert float(session.values["loss"]) == pytest.approx(0.132651256028, abs=1e-11)
    g2 = {k: arr(session.values[f"d{k}"]) for k in MOM_W0}
    close(g2["W3"], [[0.015627432761], [0.012330788448], [0.019857494222]], 1e-11)
    for k in MOM_W0:  # v2 = 0.9 v1 - 0.5 g2 with v1 = p1 - p0
        v1 = p1[k] - arr(MOM_W0[k])
        close(session.params[k], p1[k] + 0.9 * v1 - 0.5 * g2[k], 1e-13)
    close(
        session.params["W1"],
        [
            [0.199230534714, -0.399715809855, 0.698779687688],
            [0.499262942598, 0.300326815383, -0.600930748009],
            [-0.101707465455, 0.800600190788, 0.197806926955],
        ],
        1e-11,
    )
    close(session.params["W3"], [[0.776942805736], [-0.618157400772], [0.470723393621]], 1e-11)


def test_momentum_learns_xor() -> None:
    session = session_for(MOMENTUM)
    session.run_steps(1499)
    session.finish_step()  # step 1500
    assert float(session.values["loss"]) == pytest.approx(0.0003318914253342242, rel=1e-6)
    assert float(session.values["loss"]) < 1e-3


def test_momentum_trace_json() -> None:
    data = trace(MOMENTUM, 2)
    first, second = data["steps"]
    assert first["samples"] == [0, 1, 2, 3]
    assert first["loss"] == pytest.approx(0.133099581333, abs=1e-11)
    assert second["loss"] == pytest.approx(0.132651256028, abs=1e-11)
    close(first["grads"]["W3"], [[0.016045766193], [0.012623164787], [0.02036616765]], 1e-11)
    close(second["params_after"]["W3"], [[0.776942805736], [-0.618157400772], [0.470723393621]], 1e-11)
    close(writes_of(first)["a3"], [[0.622732141157], [0.620462967423], [0.632938501848], [0.631045821246]], 1e-11)


# --------------------------------------------------------------------------- 2-2-2 sigmoid, h1 = 0.632


def test_h1_0632_forward_and_error() -> None:
    session = session_for(H1_0632)
    records = one_step_records(session, layers=2)
    z1 = arr(find(records, "linear", 1).writes["z1"])
    assert z1[0, 0] == pytest.approx(0.541, abs=5e-13)  # 0.1*0.27 + 0.2*0.57 + 0.4
    a1 = arr(find(records, "activation", 1).writes["a1"])
    assert a1[0, 0] == pytest.approx(0.632, abs=5e-4)
    assert a1[0, 0] == pytest.approx(0.6320450125, abs=1e-10)
    a2 = arr(find(records, "activation", 2).writes["a2"])
    close(a2, [[0.735, 0.455]], 5e-4)  # the article's stated outputs
    close(a2, [[0.7352638413, 0.4553041529]], 1e-10)
    dA2 = arr(find(records, "loss_grad").writes["dA2"])
    close(-dA2, [[-0.235, 0.045]], 5e-4)  # article's errors, target - output
    halves = 0.5 * dA2**2
    assert halves[0, 0] == pytest.approx(0.0276, abs=1e-4)
    assert halves[0, 1] == pytest.approx(0.001, abs=5e-4)
    # article totals 0.0286 from rounded errors (0.0276125 + 0.0010125); from the actual outputs it is 0.0287
    loss = float(find(records, "loss").writes["loss"])
    assert loss == pytest.approx(0.0287, abs=5e-5)
    assert loss == pytest.approx(0.028673396880558342, abs=1e-12)
    assert loss == pytest.approx(float(halves.sum()), abs=1e-15)


def test_h1_0632_w6_gradient_and_update() -> None:
    session = session_for(H1_0632)
    records = one_step_records(session, layers=2)
    dW2 = arr(find(records, "weight_grad", 2).writes["dW2"])
    close(dW2, [[0.0289440743, -0.0070060117], [0.0289334228, -0.0070034334]], 1e-10)
    # w6 (h1 -> o2) = dE/d out_o2 * out_o2 (1 - out_o2) * out_h1
    a1, a2 = arr(session.values["a1"]), arr(session.values["a2"])
    assert dW2[0, 1] == pytest.approx((a2[0, 1] - 0.5) * a2[0, 1] * (1 - a2[0, 1]) * a1[0, 0], abs=1e-15)
    close(
        find(records, "weight_grad", 1).writes["dW1"],
        [[0.0008323493, 0.0007070262], [0.0016646985, 0.0014140525]],
        1e-10,
    )
    close(session.params["W1"], [[0.2695838254, 0.3996464869], [0.5691676507, 0.4992929738]], 1e-10)
    close(session.params["b1"], [0.3958382537, 0.3964648689], 1e-10)
    close(session.params["W2"], [[0.5855279629, -0.7464969942], [0.6855332886, 0.1535017167]], 1e-10)
    close(session.params["b2"], [0.1771028378, 0.205542336], 1e-10)


def test_h1_0632_training_is_not_the_articles_optimal_weights() -> None:
    session = session_for(H1_0632)
    session.run_steps(199)
    session.finish_step()  # step 200
    assert float(session.values["loss"]) == pytest.approx(6.7801917992025315e-12, rel=1e-5)
    close(session.values["a2"], [[0.5, 0.5]], 1e-5)
    W2 = arr(session.params["W2"])
    close(W2, [[0.2478674977952, -0.6906632066012], [0.3473755127151, 0.2094097842785]], 1e-9)
    assert abs(W2[0, 1] - 0.967) > 1.0  # article's "optimal w6 = 0.967"


def test_h1_0632_trace_json() -> None:
    data = trace(H1_0632, 1)
    (step,) = data["steps"]
    w = writes_of(step)
    assert w["a1"][0, 0] == pytest.approx(0.632, abs=5e-4)
    close(w["a2"], [[0.735, 0.455]], 5e-4)
    assert step["loss"] == pytest.approx(0.028673396880558342, abs=1e-12)
    close(step["grads"]["W2"], [[0.0289440743, -0.0070060117], [0.0289334228, -0.0070034334]], 1e-10)
    close(step["params_after"]["b2"], [0.1771028378, 0.205542336], 1e-10)


# --------------------------------------------------------------------------- 2-3-1 XOR program, sum of squares, lr 1.0


def test_xor_tf_first_step() -> None:
    session = session_for(XOR_TF)
    records = one_step_records(session, layers=2)
    close(
        find(records, "activation", 2).writes["a2"],
        [[0.869621092645], [0.898435295468], [0.886699849349], [0.885209088528]],
        1e-11,
    )
    loss_op = find(records, "loss")
    close(loss_op.writes["losses"], [0.756240844774, 0.807185980142, 0.012836924137, 0.013176953357], 1e-11)
    assert float(loss_op.writes["loss"]) == pytest.approx(1.58944070241, abs=1e-10)  # reduce_sum: no 1/B
    close(
        find(records, "loss_grad").writes["dA2"],
        [[1.739242185291], [1.796870590935], [-0.226600301301], [-0.229581822944]],
        1e-11,
    )
    g2 = find(records, "weight_grad", 2).writes
    close(g2["dW2"], [[0.222908603975], [0.235108821221], [0.224366068964]], 1e-11)
    close(g2["db2"], [0.31506520609], 1e-10)
    g1 = find(records, "weight_grad", 1).writes
    close(
        g1["dW1"],
        [[0.01987913002, 0.012153511975, 0.001949613951], [0.018924996042, 0.012784251267, 0.002081845252]],
        1e-11,
    )
    close(g1["db1"], [0.053941669309, 0.04243637816, 0.006169738028], 1e-11)
    close(
        session.params["W1"],
        [[0.59012086998, 0.307846488025, 0.128050386049], [0.091075003958, 0.737215748733, 0.827918154748]],
        1e-11,
    )
    close(session.params["b1"], [0.536058330691, 0.63756362184, 0.523830261972], 1e-11)
    close(session.params["W2"], [[0.627091396025], [0.514891178779], [-0.124366068964]], 1e-11)
    close(session.params["b2"], [0.47493479391], 1e-10)


def test_xor_tf_500_steps() -> None:
    session = session_for(XOR_TF)
    session.run_steps(500)
    session.finish_step()  # forward pass with the weights after 500 updates
    assert float(session.values["loss"]) == pytest.approx(0.01683591312658214, rel=1e-7)
    close(session.values["a2"], [[0.030095044458], [0.082881817247], [0.935315668232], [0.930166318877]], 1e-8)


def test_xor_tf_trace_json() -> None:
    data = trace(XOR_TF, 1)
    (step,) = data["steps"]
    assert step["samples"] == [0, 1, 2, 3]
    assert step["loss"] == pytest.approx(1.58944070241, abs=1e-10)
    close(step["grads"]["b2"], [0.31506520609], 1e-10)
    close(step["params_after"]["W2"], [[0.627091396025], [0.514891178779], [-0.124366068964]], 1e-11)
