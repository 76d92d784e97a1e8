"""backprop import (ONNX, safetensors) and backprop export --format onnx|safetensors.

The models made by torch.onnx.export, safetensors.torch and skl2onnx are fixtures made once by
tests/fixtures/make_torch_fixtures.py (neither torch nor skl2onnx is a test dependency); the
other models are built here with the onnx helper API. onnxruntime is the independent reader of
what export writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import invoke, networks, valid_pairs, write
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.io.config import dump_network, load_network
from backprop_cli.network import Layer, Network, Preprocessing
from backprop_cli.reports.train import predict_rows

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
st_numpy = pytest.importorskip("safetensors.numpy")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from backprop_cli.io.onnx_export import onnx_bytes  # noqa: E402
from backprop_cli.io.onnx_import import read_onnx  # noqa: E402

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FLOAT = TensorProto.FLOAT


def session(path: Path) -> Any:
    return ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"])


def csv_of(path: Path, inputs: np.ndarray, names: list[str],
           labels: list[str] | None = None) -> Path:
    header = [*names, *(["label"] if labels is not None else [])]
    rows = [",".join([*(repr(float(v)) for v in row), *([labels[i]] if labels else [])])
            for i, row in enumerate(inputs)]
    path.write_text("\n".join([",".join(header), *rows]) + "\n", encoding="utf-8")
    return path


def predicted(net_file: Path, data: Path) -> np.ndarray:
    result = invoke("predict", net_file, data, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return np.array(json.loads(result.stdout)["outputs"])


def gradient(net_file: Path) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """analyze's C and ∂C/∂w, ∂C/∂b per layer (JSON)."""
    result = invoke("analyze", net_file, "--format", "json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    layers = doc["gradient"]["layers"]
    return (doc["cost"], [np.array(la["dC_dw"]) for la in layers],
            [np.array(la["dC_db"]) for la in layers])


def model_file(tmp_path: Path, nodes: list[Any], inits: dict[str, np.ndarray],
               n_in: int | list[Any], n_out: int, *, name: str = "model.onnx",
               opset: int = 13, out: str = "y") -> Path:
    """A model from the onnx helper API: input ``x`` (batch, n_in), output ``out``."""
    shape = [None, n_in] if isinstance(n_in, int) else n_in
    graph = helper.make_graph(
        nodes, "test", [helper.make_tensor_value_info("x", FLOAT, shape)],
        [helper.make_tensor_value_info(out, FLOAT, [None, n_out])],
        [numpy_helper.from_array(v if v.dtype == bool else v.astype(np.float32), k)
         for k, v in ((k, np.asarray(v)) for k, v in inits.items())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return path


# --- models made elsewhere ------------------------------------------------------------------

TORCH = np.load(FIXTURES / "torch_mlp.npz")


@pytest.mark.parametrize("model", ["torch_mlp.onnx", "torch_mlp_dynamo.onnx",
                                   "torch_mlp.safetensors"])
def test_a_pytorch_model_imports_and_its_gradient_is_torchs(tmp_path: Path, model: str) -> None:
    """nn.Sequential(Linear(4, 8), Tanh(), Linear(8, 3), Softmax(dim=1)) as torch exported
    it; analyze's C and ∂C/∂w, ∂C/∂b on its 5 examples equal torch's autograd of the mean
    categorical cross-entropy (float32 there, hence 1e-5)."""
    labels = [f"c{j}" for j in TORCH["y"].argmax(axis=1)]
    data = csv_of(tmp_path / "x.csv", TORCH["x"], ["f0", "f1", "f2", "f3"], labels)
    extra = ["--activations", "tanh,softmax"] if model.endswith(".safetensors") else []
    result = invoke("import", FIXTURES / model, "--examples", data, "-o", tmp_path / "n.yaml",
                    *extra)
    assert result.exit_code == 0, result.stderr
    assert "imported 2 layers (sizes 4,8,3; activations tanh,softmax; cost " \
           "categorical_cross_entropy)" in result.stderr
    net = load_network(tmp_path / "n.yaml")
    assert net.preprocessing is not None and net.preprocessing.classes == ("c0", "c1", "c2")
    cost, dw, db = gradient(tmp_path / "n.yaml")
    assert cost == pytest.approx(float(TORCH["cost"]), rel=1e-6)
    for l, torch_index in enumerate((0, 2)):  # noqa: E741
        np.testing.assert_allclose(dw[l], TORCH[f"grad_{torch_index}.weight"], rtol=1e-4,
                                   atol=1e-6)
        np.testing.assert_allclose(db[l], TORCH[f"grad_{torch_index}.bias"], rtol=1e-4,
                                   atol=1e-6)
    outputs = predicted(tmp_path / "n.yaml", csv_of(tmp_path / "f.csv", TORCH["x"],
                                                    ["f0", "f1", "f2", "f3"]))
    np.testing.assert_allclose(outputs, TORCH["out"], atol=1e-6)


@pytest.mark.parametrize("model", ["torch_mixed.onnx", "torch_mixed_dynamo.onnx"])
def test_every_other_torch_activation_imports(tmp_path: Path, model: str) -> None:
    """Flatten, Linear, LeakyReLU, Dropout (eval), Softplus, ReLU, Sigmoid, Identity: predict
    gives torch's outputs (torch.export's Softplus has a threshold, said in a note)."""
    mixed = np.load(FIXTURES / "torch_mixed.npz")
    result = invoke("import", FIXTURES / model, "-o", tmp_path / "n.yaml")
    assert result.exit_code == 0, result.stderr
    assert "sizes 6,5,4,3,2; activations leaky_relu,softplus,relu,sigmoid; cost " \
           "cross_entropy" in result.stderr
    assert ("torch's Softplus gives z itself for z > 20" in result.stderr) == (
        "dynamo" in model)
    outputs = predicted(tmp_path / "n.yaml", csv_of(tmp_path / "x.csv", mixed["x"],
                                                    [f"f{k}" for k in range(6)]))
    np.testing.assert_allclose(outputs, mixed["out"], atol=1e-6)


SKL = np.load(FIXTURES / "skl.npz")


@pytest.mark.parametrize(("model", "expected", "left_out"), [
    ("skl_classifier.onnx", "proba", "ZipMap"), ("skl_regressor.onnx", "value", "Reshape")])
def test_a_scikit_learn_mlp_imports_without_its_post_processing(
        tmp_path: Path, model: str, expected: str, left_out: str) -> None:
    result = invoke("import", FIXTURES / model, "-o", tmp_path / "n.yaml")
    assert result.exit_code == 0, result.stderr
    assert "note: left out the post-processing after the network's output" in result.stderr
    assert left_out in result.stderr
    outputs = predicted(tmp_path / "n.yaml", csv_of(tmp_path / "x.csv", SKL["x"],
                                                    ["x0", "x1", "x2"]))
    np.testing.assert_allclose(outputs.reshape(SKL[expected].shape), SKL[expected], atol=1e-6)
    net = load_network(tmp_path / "n.yaml")
    if model == "skl_classifier.onnx":  # ZipMap's class labels are the network's classes
        assert net.preprocessing is not None and net.preprocessing.classes == (0, 1, 2)
        assert net.cost == "categorical_cross_entropy"
    else:
        assert [la.activation for la in net.layers] == ["relu", "relu", "linear"]
        assert net.cost == "squared_error"


def test_a_model_built_with_the_onnx_helper_has_an_independently_computed_gradient(
        tmp_path: Path) -> None:
    """Flatten, Sub/Div scaling, MatMul + Add → LeakyRelu (α = 0.01), Gemm with transB 0,
    α 0.5 and β 2 → Sigmoid, a trailing Identity; cost given. ∂C/∂w from the chain rule
    written out here for this network (squared error, mean over the examples)."""
    rng = np.random.default_rng(3)
    w1, b1 = rng.normal(size=(3, 4)), rng.normal(size=4)  # MatMul: x (m, 3) @ w1 (3, 4)
    w2, c2 = rng.normal(size=(4, 2)), rng.normal(size=(1, 2))  # Gemm: 0.5 a w2 + 2 c2
    shift, scale = rng.normal(size=3), rng.uniform(0.5, 2, size=3)
    nodes = [helper.make_node("Flatten", ["x"], ["flat"]),
             helper.make_node("Sub", ["flat", "shift"], ["centred"]),
             helper.make_node("Div", ["centred", "scale"], ["scaled"]),
             helper.make_node("MatMul", ["scaled", "w1"], ["m1"], name="first"),
             helper.make_node("Add", ["m1", "b1"], ["z1"]),
             helper.make_node("LeakyRelu", ["z1"], ["a1"], alpha=0.01),
             helper.make_node("Gemm", ["a1", "w2", "c2"], ["z2"], alpha=0.5, beta=2.0),
             helper.make_node("Sigmoid", ["z2"], ["a2"]),
             helper.make_node("Identity", ["a2"], ["y"])]
    inits = {"shift": shift, "scale": scale, "w1": w1, "b1": b1, "w2": w2, "c2": c2}
    path = model_file(tmp_path, nodes, inits, 3, 2)
    x = rng.normal(size=(6, 3))
    y = rng.uniform(size=(6, 2))
    data = tmp_path / "d.csv"
    data.write_text("a,b,c,t0,t1\n" + "".join(
        ",".join(repr(float(v)) for v in [*xi, *yi]) + "\n" for xi, yi in zip(x, y, strict=True)))
    result = invoke("import", path, "--examples", data, "--target", "t0,t1", "--cost",
                    "squared_error", "-o", tmp_path / "n.yaml")
    assert result.exit_code == 0, result.stderr
    # the chain rule by hand, in the model's own float32 numbers
    f = [np.asarray(v, dtype=np.float32).astype(np.float64) for v in (w1, b1, w2, c2, shift,
                                                                       scale)]
    w1, b1, w2, c2, shift, scale = f
    a0 = (x - shift) / scale
    z1 = a0 @ w1 + b1
    a1 = np.where(z1 > 0, z1, 0.01 * z1)
    z2 = 0.5 * a1 @ w2 + 2 * c2
    a2 = 1 / (1 + np.exp(-z2))
    delta2 = 2 * (a2 - y) * a2 * (1 - a2)  # (m, 2)
    delta1 = (delta2 @ (0.5 * w2).T) * np.where(z1 > 0, 1, 0.01)
    m = len(x)
    cost, dw, db = gradient(tmp_path / "n.yaml")
    assert cost == pytest.approx(np.mean(np.sum((a2 - y) ** 2, axis=1)), rel=1e-12)
    np.testing.assert_allclose(dw[1], delta2.T @ a1 / m, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db[1], delta2.mean(axis=0), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dw[0], delta1.T @ a0 / m, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(db[0], delta1.mean(axis=0), rtol=1e-10, atol=1e-14)
    net = load_network(tmp_path / "n.yaml")
    assert net.preprocessing is not None and net.preprocessing.features == ("a", "b", "c")
    np.testing.assert_array_equal(net.preprocessing.shift, shift)


# --- round trips ----------------------------------------------------------------------------

def _with_preprocessing(net: Network, rng: np.random.Generator) -> Network:
    n0, n_out = net.input_size, net.output_size
    regression = not net.cost_fn.probability_targets
    pre = Preprocessing(
        tuple(f"f{k}" for k in range(n0)), tuple(f"t{j}" for j in range(n_out)), "standard",
        rng.normal(size=n0), rng.uniform(0.5, 2, size=n0), None,
        "standard" if regression else "none",
        rng.normal(size=n_out) if regression else None,
        rng.uniform(0.5, 2, size=n_out) if regression else None)
    return Network(n0, net.layers, net.cost, name="generated", preprocessing=pre)


@pytest.mark.parametrize(("activation", "cost"), valid_pairs())
@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_exported_onnx_gives_predicts_outputs_and_imports_back_bit_for_bit(
        tmp_path: Path, activation: str, cost: str, data: st.DataObject) -> None:
    """For every activation and cost: onnxruntime on the exported model gives predict's
    outputs (raw feature columns in, the stored scaling and target scaling inside) within 1e-6
    (float32, the model's numbers; relative where an output is above 1) and 1e-12 (float64,
    the file's numbers); float64 export →
    import → the same network file, number for number. (The core functions the commands call;
    the commands themselves are run on one network below.)"""
    base = data.draw(networks(activation, cost, max_layers=3, max_size=5, max_examples=1))
    net = _with_preprocessing(base, np.random.default_rng(data.draw(st.integers(0, 99))))
    x = np.random.default_rng(0).normal(size=(7, net.input_size)) * 2
    for dtype, tolerance in (("float32", 1e-6), ("float64", 1e-12)):
        model = tmp_path / f"{dtype}.onnx"
        model.write_bytes(onnx_bytes(net, dtype))
        # predict of the network the model holds (float32: its numbers rounded, as import
        # reads them back) on the rows the model is given
        rows = x.astype(dtype)
        expected = _predict(read_onnx(model).network, rows.astype(np.float64))
        (out,) = session(model).run(None, {"input": rows})
        worst = float(np.max(np.abs(out - expected) / np.maximum(1, np.abs(expected))))
        assert worst <= tolerance, (dtype, worst)
    assert dump_network(read_onnx(tmp_path / "float64.onnx").network) == dump_network(net)


def _predict(net: Network, x: np.ndarray) -> np.ndarray:
    """What `backprop predict` computes for raw feature rows ``x``."""
    assert net.preprocessing is not None
    return predict_rows(net, net.preprocessing.apply(x))


def test_export_and_predict_commands_agree_in_onnxruntime(tmp_path: Path) -> None:
    net_file = write(tmp_path, "net.yaml", dump_network(_classifier()))
    x = np.random.default_rng(2).normal(size=(9, 2)) * 3
    expected = predicted(net_file, csv_of(tmp_path / "x.csv", x, ["sepal", "petal"]))
    for dtype, tolerance in (("float32", 1e-6), ("float64", 1e-12)):
        model = tmp_path / f"{dtype}.onnx"
        result = invoke("export", net_file, "--format", "onnx", "--dtype", dtype, "-o", model)
        assert result.exit_code == 0, result.stderr
        (out,) = session(model).run(None, {"input": x.astype(dtype)})
        assert np.max(np.abs(out - expected)) <= tolerance
    result = invoke("import", tmp_path / "float64.onnx", "-o", tmp_path / "back.yaml")
    assert result.exit_code == 0, result.stderr
    assert dump_network(load_network(tmp_path / "back.yaml")) == dump_network(_classifier())


def test_the_exported_model_names_its_columns_and_states_its_opset(tmp_path: Path) -> None:
    net_file = write(tmp_path, "net.yaml", dump_network(_classifier()))
    assert invoke("export", net_file, "-f", "onnx", "-o", tmp_path / "m.onnx").exit_code == 0
    model = onnx.load(tmp_path / "m.onnx")
    assert [(o.domain, o.version) for o in model.opset_import] == [("", 13)]
    meta = {p.key: json.loads(p.value) for p in model.metadata_props}
    assert meta["backprop.features"] == ["sepal", "petal"]
    assert meta["backprop.classes"] == ["a", "b", "c"]
    assert meta["backprop.outputs"] == ["p_a", "p_b", "p_c"]
    assert [n.op_type for n in model.graph.node] == ["Sub", "Div", "Gemm", "Tanh", "Gemm",
                                                     "Softmax", "Identity"]


def _classifier() -> Network:
    rng = np.random.default_rng(5)
    layers = (Layer("tanh", rng.normal(size=(4, 2)), rng.normal(size=4)),
              Layer("softmax", rng.normal(size=(3, 4)), rng.normal(size=3)))
    pre = Preprocessing(("sepal", "petal"), ("species",), "minmax", np.array([1.0, 2.0]),
                        np.array([3.0, 0.5]), ("a", "b", "c"))
    return Network(2, layers, "categorical_cross_entropy", preprocessing=pre)


def test_safetensors_export_is_torchs_state_dict_and_imports_back(tmp_path: Path) -> None:
    """The torch fixture's weights imported, exported (float32) are torch's file array for
    array under torch's names; float64 export → import gives the same network file."""
    assert invoke("import", FIXTURES / "torch_mlp.safetensors", "--activations",
                  "tanh,softmax", "-o", tmp_path / "t.yaml").exit_code == 0
    result = invoke("export", tmp_path / "t.yaml", "-f", "safetensors", "-o",
                    tmp_path / "t.safetensors")
    assert result.exit_code == 0, result.stderr
    assert "nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3), nn.Softmax(dim=-1))" \
        in result.stderr
    torch_arrays = st_numpy.load_file(FIXTURES / "torch_mlp.safetensors")
    ours = st_numpy.load_file(tmp_path / "t.safetensors")
    assert sorted(ours) == sorted(torch_arrays) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    for key, value in torch_arrays.items():
        assert ours[key].dtype == value.dtype and np.array_equal(ours[key], value)
    net_file = write(tmp_path, "c.yaml", dump_network(_classifier()))
    assert invoke("export", net_file, "-f", "safetensors", "--dtype", "float64", "-o",
                  tmp_path / "c.safetensors").exit_code == 0
    result = invoke("import", tmp_path / "c.safetensors", "-o", tmp_path / "back.yaml")
    assert result.exit_code == 0, result.stderr  # activations from the file's metadata
    assert dump_network(load_network(tmp_path / "back.yaml")) == dump_network(_classifier())


def test_safetensors_names_pattern(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = {"fc1.weight": rng.normal(size=(3, 2)), "fc1.bias": rng.normal(size=3),
              "fc2.weight": rng.normal(size=(1, 3))}
    st_numpy.save_file(arrays, tmp_path / "w.safetensors")
    result = invoke("import", tmp_path / "w.safetensors", "--names", "fc{}",
                    "--activations", "relu,sigmoid", "-o", tmp_path / "n.yaml")
    assert result.exit_code == 0, result.stderr
    assert "fc2 has no bias" in result.stderr
    net = load_network(tmp_path / "n.yaml")
    assert np.array_equal(net.layers[0].weights, arrays["fc1.weight"])
    assert net.layers[1].biases.tolist() == [0.0] and net.cost == "cross_entropy"
    wrong = invoke("import", tmp_path / "w.safetensors", "--activations", "relu,sigmoid")
    assert wrong.exit_code == 2 and "'fc1.bias' is not a layer's weight or bias" in wrong.stderr
    count = invoke("import", tmp_path / "w.safetensors", "--names", "fc{}", "--activations",
                   "relu")
    assert count.exit_code == 2 and "names 1 activations, but" in count.stderr


# --- what is refused ------------------------------------------------------------------------

def _chain(extra: list[Any], extra_inits: dict[str, np.ndarray] | None = None) -> tuple[
        list[Any], dict[str, np.ndarray]]:
    """Gemm 'one' (2 → 3) → Relu → ``extra`` nodes, the last writing 'y'."""
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["z"], name="one", transB=1),
             helper.make_node("Relu", ["z"], ["h"], name="act"), *extra]
    return nodes, {"w": np.ones((3, 2)), "b": np.zeros(3), **(extra_inits or {})}


REFUSED = {
    "convolution": ([helper.make_node("Conv", ["h", "k"], ["y"], name="conv")],
                    {"k": np.ones((1, 3, 1))}, "node 'conv' (Conv): a convolution"),
    "residual": ([helper.make_node("Gemm", ["h", "w2"], ["z2"], name="two", transB=1),
                  helper.make_node("Add", ["z2", "h"], ["y"], name="skip")],
                 {"w2": np.ones((3, 3))}, "node 'skip' (Add): combines"),
    "dropout in training": (
        [helper.make_node("Dropout", ["h", "", "on"], ["y"], name="drop")],
        {"on": np.array(True)}, "node 'drop' (Dropout): dropout in training mode"),
    "leaky slope": ([helper.make_node("Gemm", ["h", "w2"], ["z2"], transB=1),
                     helper.make_node("LeakyRelu", ["z2"], ["y"], name="lr", alpha=0.2)],
                    {"w2": np.ones((3, 3))}, "node 'lr' (LeakyRelu): LeakyRelu with alpha = 0.2"),
    "unknown op": ([helper.make_node("Gemm", ["h", "w2"], ["z2"], transB=1),
                    helper.make_node("Elu", ["z2"], ["y"], name="elu")],
                   {"w2": np.ones((3, 3))}, "node 'elu' (Elu): Elu is not one of the"),
    "hidden softmax": ([helper.make_node("Gemm", ["h", "w2"], ["z2"], transB=1),
                        helper.make_node("Softmax", ["z2"], ["s"], name="sm"),
                        helper.make_node("Gemm", ["s", "w3"], ["y"], transB=1)],
                       {"w2": np.ones((3, 3)), "w3": np.ones((3, 3))},
                       "node 'sm' (Softmax): softmax is only allowed on the output layer"),
    "mismatched shapes": ([helper.make_node("Gemm", ["h", "w2"], ["y"], name="two",
                                            transB=1)],
                          {"w2": np.ones((3, 4))}, "node 'two' (Gemm): weights 'w2' take 4 "
                                                   "inputs, but layer 1 has 3 neurons: "
                                                   "mismatched shapes"),
    "NaN initializer": ([helper.make_node("Gemm", ["h", "w2"], ["y"], name="two", transB=1)],
                        {"w2": np.array([[1, np.nan, 0]] * 3)},
                        "node 'two' (Gemm): weights 'w2' holds nan at [0][1]: every weight"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_what_cannot_be_represented_is_refused_naming_the_node(tmp_path: Path,
                                                               case: str) -> None:
    extra, inits, message = REFUSED[case]
    nodes, all_inits = _chain(extra, inits)
    path = model_file(tmp_path, nodes, all_inits, 2, 3)
    result = invoke("import", path)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_onnx_files_give_a_message(tmp_path: Path) -> None:
    nodes, inits = _chain([helper.make_node("Identity", ["h"], ["y"])])
    good = model_file(tmp_path, nodes, inits, 2, 3).read_bytes()
    truncated = write(tmp_path, "t.onnx", "")
    truncated.write_bytes(good[: len(good) // 2])
    cycle = [helper.make_node("Gemm", ["x", "w", "b"], ["z"], transB=1),
             helper.make_node("Add", ["z", "y"], ["h"]),
             helper.make_node("Relu", ["h"], ["y"])]
    external = onnx.load_model_from_string(good)
    weights = external.graph.initializer[0]
    weights.ClearField("raw_data")
    weights.ClearField("float_data")
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", "0"),
                       ("length", str(2 * 2**30))):
        weights.external_data.add(key=key, value=value)
    (tmp_path / "external.onnx").write_bytes(external.SerializeToString())
    cases = {
        truncated: "not a readable ONNX model",
        model_file(tmp_path, cycle, inits, 2, 3, name="cycle.onnx"):
            "the ONNX checker refuses the model: Nodes in a graph must be topologically "
            "sorted",
        tmp_path / "external.onnx": "keeps its values in the external file 'weights.bin', "
                                    "2,147,483,648 bytes",
        write(tmp_path, "text.onnx", "not a model"): "text.onnx: not a readable ONNX model",
        write(tmp_path, "empty.onnx", ""): "empty.onnx: the file is empty",
    }
    for path, message in cases.items():
        result = invoke("import", path)
        assert result.exit_code == 2, (path, result.stdout)
        assert message in result.stderr, (path, result.stderr)
        assert "Traceback" not in result.stderr


def test_pickled_pytorch_files_are_refused_with_the_recipe(tmp_path: Path) -> None:
    path = write(tmp_path, "model.pt", "anything")
    result = invoke("import", path)
    assert result.exit_code == 2
    assert "a pickled PyTorch file is never loaded" in result.stderr
    assert "save_file(torch.load('model.pt', weights_only=True), 'model.safetensors')" \
        in result.stderr


def test_a_missing_extra_names_its_install_command(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    net_file = write(tmp_path, "net.yaml", dump_network(_classifier()))
    result = invoke("export", net_file, "-f", "onnx", "-o", tmp_path / "m.onnx")
    assert result.exit_code == 2
    assert "pip install '.[onnx]'" in result.stderr and not (tmp_path / "m.onnx").exists()
    result = invoke("import", FIXTURES / "torch_mlp.safetensors", "--activations", "tanh,relu")
    assert result.exit_code == 2 and "pip install '.[safetensors]'" in result.stderr
