"""The training hot path (train.Model.gradients with kernels.py) duplicates the engine's math in
place: it must equal engine.backprop for every activation × cost, stay in float32 when asked,
and allocate no arrays per batch once its buffers exist."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import HIDDEN_ACTIVATIONS, Array, networks, output_activations, valid_pairs
from hypothesis import HealthCheck, given, settings
from test_data import CLASSIFIER
from test_train import NET, layer_grads

from backprop_cli.activations import ACTIVATIONS
from backprop_cli.costs import COSTS
from backprop_cli.engine import backprop
from backprop_cli.errors import DataError, NumericalError
from backprop_cli.fastpath import Model
from backprop_cli.io import csv_fast
from backprop_cli.io import datasets as data
from backprop_cli.io.config import loads_network
from backprop_cli.network import Examples, Layer, Network
from backprop_cli.train import Trainer, TrainOptions


def random_network(hidden: str, output: str, cost: str, m: int = 6, seed: int = 0,
                   sizes: tuple[int, ...] = (4, 5, 3, 3)) -> Network:
    rng = np.random.default_rng(seed)
    names = [hidden] * (len(sizes) - 2) + [output]
    layers = tuple(
        Layer(name, rng.normal(0, 1, (sizes[i + 1], sizes[i])), rng.normal(0, 0.5, sizes[i + 1]))
        for i, name in enumerate(names)
    )
    x = rng.normal(0, 1.5, (m, sizes[0]))
    if cost == "categorical_cross_entropy":
        y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], m)]
        y[0] = rng.dirichlet(np.ones(sizes[-1]))  # one soft row: Σ y ≠ 1 is not assumed
    elif COSTS[cost].probability_targets:
        y = rng.uniform(0, 1, (m, sizes[-1]))
    else:
        y = rng.normal(0, 1, (m, sizes[-1]))
    return Network(sizes[0], layers, cost, examples=Examples(x, y))


def assert_same_as_engine(net: Network, scale: float = 1.0) -> None:
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    trace = backprop(net, x, y)
    model = Model(net)
    cost = model.gradients(x, y, scale)
    assert cost == pytest.approx(trace.cost, rel=1e-10, abs=1e-12)
    for gw, gb, ew, eb in zip(*layer_grads(model), trace.grad_w, trace.grad_b, strict=True):
        np.testing.assert_allclose(gw, scale * ew, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gb, scale * eb, rtol=1e-9, atol=1e-12)


COMBINATIONS = [
    (hidden, output, cost)
    for cost in COSTS
    for output in output_activations(cost)
    for hidden in HIDDEN_ACTIVATIONS
]


def test_every_activation_has_a_kernel() -> None:
    assert all(a.forward_into and a.backward_into for a in ACTIVATIONS.values())
    assert {h for h, _, _ in COMBINATIONS} | {o for _, o, _ in COMBINATIONS} == set(ACTIVATIONS)


@pytest.mark.parametrize(("hidden", "output", "cost"), COMBINATIONS)
def test_gradients_equal_engine_backprop(hidden: str, output: str, cost: str) -> None:
    net = random_network(hidden, output, cost)
    assert_same_as_engine(net)
    assert_same_as_engine(net, scale=0.37)  # what SGD and momentum ask for: η·∂C/∂w


@pytest.mark.parametrize(("activation", "cost"), valid_pairs())
def test_gradients_equal_engine_on_hypothesis_networks(activation: str, cost: str) -> None:
    @settings(max_examples=15, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(networks(activation, cost))
    def check(net: Network) -> None:
        assert net.examples is not None
        try:
            backprop(net, net.examples.inputs, net.examples.targets)
        except NumericalError:  # the engine refuses overflow; nothing to compare
            return
        assert_same_as_engine(net)

    check()


def test_buffers_are_reused_and_the_short_batch_gets_its_own() -> None:
    net = random_network("sigmoid", "sigmoid", "squared_error", m=7)
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    model = Model(net)
    model.gradients(x[:4], y[:4])
    first = model._buffers[4]
    model.gradients(x[4:], y[4:])
    model.gradients(x[:4], y[:4])
    assert model._buffers[4] is first and set(model._buffers) == {4, 3}
    # the second batch of 4 must not see the first one's values
    fresh = Model(net)
    fresh.gradients(x[:4], y[:4])
    for a, b in zip(model.grads(), fresh.grads(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("output", "cost"), [("sigmoid", "squared_error"),
                                              ("softmax", "categorical_cross_entropy"),
                                              ("sigmoid", "cross_entropy"),
                                              ("relu", "squared_error")])
def test_float32_never_upcasts(output: str, cost: str) -> None:
    net = random_network("tanh", output, cost, m=16)
    assert net.examples is not None
    x64, y64 = net.examples.inputs, net.examples.targets
    model = Model(net, np.float32)
    cost32 = model.gradients(x64.astype(np.float32), y64.astype(np.float32))
    zs, acts, deltas, scratch, x1 = model._buffers[16]
    arrays: list[Array] = [*model.w, *model.b, *model.grads(), *zs, *acts, *deltas, x1]
    arrays += [s.t for s in scratch] + [s.col for s in scratch] + [s.col2 for s in scratch]
    assert all(a.dtype == np.float32 for a in arrays)
    reference = backprop(net, x64, y64)
    assert cost32 == pytest.approx(reference.cost, rel=1e-4)
    for gw, ew in zip(layer_grads(model)[0], reference.grad_w, strict=True):
        np.testing.assert_allclose(gw, ew, rtol=1e-3, atol=1e-5)


def peak_growth(run: object, repeats: int = 3) -> int:
    """Bytes the traced peak grows by over ``repeats`` calls of ``run`` (numpy reports its
    array data to tracemalloc)."""
    assert callable(run)
    tracemalloc.start()
    try:
        run()  # warm-up: the buffers are allocated here
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(repeats):
            run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


@pytest.mark.parametrize(("hidden", "output", "cost"), [
    ("sigmoid", "sigmoid", "squared_error"),
    ("relu", "softmax", "categorical_cross_entropy"),
    ("leaky_relu", "sigmoid", "cross_entropy"),
    ("softplus", "linear", "squared_error"),
])
def test_steady_state_step_allocates_no_arrays(hidden: str, output: str, cost: str) -> None:
    # One (256, 64) float64 array is 128 KiB. Below that: Python's small objects (views,
    # floats) and numpy's fixed-size ufunc buffer for the broadcast z += b (8192 elements).
    net = random_network(hidden, output, cost, m=256, sizes=(32, 64, 64, 10))
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    model = Model(net)
    with np.errstate(over="ignore"):  # as in Trainer.run: e^−z may overflow to inf → σ = 0
        growth = peak_growth(lambda: model.gradients(x, y, 0.1))
    assert growth < 80 * 1024, growth
    # the same measurement does see an allocating pass
    assert peak_growth(lambda: backprop(net, x, y)) > 128 * 1024


def test_training_epochs_allocate_no_arrays_per_batch() -> None:
    net = random_network("sigmoid", "sigmoid", "squared_error", m=512, sizes=(32, 64, 64, 10))
    assert net.examples is not None
    x, y = net.examples.inputs, net.examples.targets
    sizes = []
    for epochs in (2, 5):  # from 2 on, one epoch's snapshot overlaps the next one's
        trainer = Trainer(net, x, y, TrainOptions(epochs=epochs, batch_size=64, lr=0.1))
        tracemalloc.start()
        try:
            base, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            list(trainer.run())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        sizes.append(peak - base)
    # the peak (buffers, the shuffled copy, one snapshot) does not grow with more batches
    assert sizes[1] < sizes[0] + 80 * 1024, sizes


# --- the plain CSV reader (data._plain_blocks, _parse_decimals) and its fallback ------------

def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["x1,x2,x3,y1,y2", *rows]) + "\n", encoding="utf-8")
    return path


def test_plain_reader_is_used_and_equals_the_careful_one(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    net = loads_network(NET)
    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, (50, 5)).round(6)
    path = _csv(tmp_path / "d.csv", [",".join(map(repr, row.tolist())) for row in values])
    fast = data.load_dataset(path, net, target="y1,y2")
    chunks = list(data.iter_csv_chunks(path, net, target="y1,y2", chunk_rows=7))
    with monkeypatch.context() as m:
        def refuse(*args: object, **kwargs: object) -> Iterator[Array]:
            raise data._NotPlain
            yield  # pragma: no cover

        m.setattr(data, "_plain_blocks", refuse)
        careful = data.load_dataset(path, net, target="y1,y2")
    np.testing.assert_array_equal(fast.inputs, careful.inputs)
    np.testing.assert_array_equal(fast.inputs, values[:, :3])
    assert fast.targets is not None and careful.targets is not None
    np.testing.assert_array_equal(fast.targets, careful.targets)
    np.testing.assert_array_equal(np.concatenate([y for _, y in chunks]), values[:, 3:])
    # the careful reader is not touched for a plain file
    monkeypatch.setattr(data._Reader, "rows", None)
    again = data.load_dataset(path, net, target="y1,y2")
    np.testing.assert_array_equal(again.inputs, fast.inputs)


def test_plain_classifier_labels(tmp_path: Path) -> None:
    net = loads_network(CLASSIFIER)
    path = tmp_path / "c.csv"
    path.write_text("a,b,label\n0,1,10\n1,0,2.5\n1,1,9\n0,0,10\n", encoding="utf-8")
    ds = data.load_dataset(path, net)
    assert ds.classes == (2.5, 9, 10)
    assert ds.labels is not None and ds.labels.tolist() == [2, 0, 1, 2]
    assert ds.targets is not None and ds.targets.tolist()[1] == [1, 0, 0]
    # against stored classes in their own (unsorted) order
    pre = data.Preprocessing(("a", "b"), ("label",), classes=(10, 2.5, 9))
    stored = data.load_dataset(path, net, preprocessing=pre)
    assert stored.labels is not None and stored.labels.tolist() == [0, 1, 2, 0]
    chunk = next(data.iter_csv_chunks(path, net, preprocessing=pre, chunk_rows=3))
    assert chunk[1].tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_fallback_after_plain_chunks_keeps_rows_and_names_the_line(tmp_path: Path) -> None:
    net = loads_network(NET)
    rows = [f"{i},{i + 1},{i + 2},0,1" for i in range(40)]
    quoted = rows.copy()
    quoted[25] = '"25",26,27,0,1'  # fine for the careful reader, not for the plain one
    path = _csv(tmp_path / "q.csv", quoted)
    chunks = list(data.iter_csv_chunks(path, net, target="y1,y2", chunk_rows=10))
    assert [len(x) for x, _ in chunks] == [10, 10, 10, 10]
    np.testing.assert_array_equal(np.concatenate([x for x, _ in chunks])[:, 0], np.arange(40))
    assert data.load_dataset(path, net, target="y1,y2").inputs[25, 0] == 25
    bad = rows.copy()
    bad[33] = "33,x,35,0,1"
    path = _csv(tmp_path / "bad.csv", bad)
    with pytest.raises(DataError, match=r"bad\.csv:35:2: feature column 'x2'"):
        list(data.iter_csv_chunks(path, net, target="y1,y2", chunk_rows=10))
    with pytest.raises(DataError, match=r"bad\.csv:35:2:"):
        data.load_dataset(path, net, target="y1,y2")


def _texts(rng: np.random.Generator, count: int, digits: int) -> list[str]:
    """Decimal numbers as people write them: signs, leading and trailing zeros, ".5", "5."."""
    out = []
    for _ in range(count):
        whole = str(int(rng.integers(0, 10**int(rng.integers(1, digits + 1)))))
        whole = whole.zfill(int(rng.integers(1, digits + 1)))
        kind = int(rng.integers(0, 5))
        if kind >= 2:
            cut = int(rng.integers(0, len(whole) + 1))
            whole = whole[:cut] + "." + whole[cut:]
            if whole == ".":
                whole = "0."
        out.append(("-" if rng.random() < 0.3 else "") + whole)
    return out


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_decimal_parser_equals_float_of_every_field_bit_for_bit(sep: str) -> None:
    rng = np.random.default_rng(1)
    for digits in (1, 3, 4, 5, 9, 10, 15, 17):
        width = int(rng.integers(1, 6))
        texts = _texts(rng, 300 * width, digits)
        fields = [texts[i:i + width] for i in range(0, len(texts), width)]
        body = "".join(sep.join(row) + "\n" for row in fields).encode()
        out = csv_fast._parse_decimals(body, width, ord(sep), chunk=997)  # many ~1 kB pieces
        exact = all(abs(int(t.replace("-", "").replace(".", "") or 0)) <= 2**53 for t in texts)
        if not exact:  # 17 digits: above 2^53 M / 10^f is not certainly exact; refused
            assert out is None
            continue
        assert out is not None and out.dtype == np.float64
        expected = np.array([[float(v) for v in row] for row in fields])
        assert out.view(np.uint64).tolist() == expected.view(np.uint64).tolist()  # -0.0 too
    whole = csv_fast._parse_decimals(b"1,234567890123456,9007199254740992\n", 3, ord(","))
    assert whole is not None and whole[0].tolist() == [1, 234567890123456, 2**53]
    for text in ("0.1", "-0.3", "123.456", "0.000001", "-.5", "5.", "-0", "007.50"):
        parsed = csv_fast._parse_decimals(f"{text}\n".encode(), 1, ord(","))
        assert parsed is not None and repr(parsed[0, 0].item()) == repr(float(text)), text


@pytest.mark.parametrize("body", [
    b"1,2\n3\n",            # a line one field short
    b"1,2\n3,4,5,6\n",       # 2 × 3 fields, but split 2 + 4
    b"1,,2\n",              # an empty cell
    b",1,2\n", b"1,2,\n",   # empty at either end
    b"1,2,3\n\n4,5,6\n",    # a blank line
    b"1,2,9007199254740993\n",  # above 2^53: not every such number is exact in float64
    b"1,2,12345678901234567890\n",  # 20 digits
    b"1,2,1.2.3\n", b"1,2,3-\n", b"1,2,3-4\n", b"1,2,--3\n",  # not numbers
    b"1,2,-\n", b"1,2,.\n", b"1,2,-.\n",  # no digits
])
def test_decimal_parser_refuses_what_is_not_plain(body: bytes) -> None:
    assert csv_fast._parse_decimals(body, 3, ord(",")) is None


def test_plain_whole_numbers_and_their_fallbacks(tmp_path: Path) -> None:
    net = loads_network(NET)
    rows = [f"{i},{i * 7},{i * 13 % 256},0,1" for i in range(30)]
    path = _csv(tmp_path / "w.csv", rows)
    ds = data.load_dataset(path, net, target="y1,y2")
    assert ds.inputs[:, 0].tolist() == list(range(30))
    assert ds.inputs[29].tolist() == [29, 203, 29 * 13 % 256]
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))  # numpy's reader takes these
    np.testing.assert_array_equal(data.load_dataset(crlf, net, target="y1,y2").inputs, ds.inputs)
    bad = rows.copy()
    bad[20] = "20,,40,0,1"
    with pytest.raises(DataError, match=r"w2\.csv:22:2: feature column 'x2': expected a number, "
                                        r"got an empty cell"):
        data.load_dataset(_csv(tmp_path / "w2.csv", bad), net, target="y1,y2")
