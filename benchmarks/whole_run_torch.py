"""The reference for benchmarks/whole_run.py: what `backprop train` does, written the usual way
with pandas and PyTorch. Reads the network file (YAML), the CSV (pandas.read_csv), scales every
feature column by the training rows' mean and standard deviation (as `--normalize standard`,
a constant column scale 1), trains 784-128-64-10 (sigmoid, sigmoid, softmax; the mean
categorical cross-entropy, which is torch's CrossEntropyLoss on the last layer's z) with plain
SGD, shuffled every epoch, then measures the final cost and accuracy on the training rows and
saves the trained weights with the scaling (torch.save, PyTorch's own format: faster to write
than the YAML backprop writes). The network file is read with libyaml (CSafeLoader), the
fastest YAML reader for Python.

    python benchmarks/whole_run_torch.py NET.yaml DATA.csv OUT.pt \
        [--epochs 6] [--batch-size 64] [--lr 0.1] [--dtype float32] [--target label]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch
import yaml


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("net")
    parser.add_argument("data")
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--target", default="label")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.manual_seed(args.seed)

    with open(args.net, encoding="utf-8") as f:
        spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    frame = pd.read_csv(args.data)
    labels = torch.tensor(frame.pop(args.target).to_numpy(), dtype=torch.long)
    x = torch.from_numpy(frame.to_numpy(dtype=np.float64))
    mean, std = x.mean(dim=0), x.std(dim=0, unbiased=False)
    std[std <= 64 * torch.finfo(torch.float64).eps * x.abs().amax(dim=0)] = 1.0
    x = ((x - mean) / std).to(dtype)

    modules: list[torch.nn.Module] = []
    width = spec["input_size"]
    for i, layer in enumerate(spec["layers"]):
        linear = torch.nn.Linear(width, layer["size"], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(layer["weights"], dtype=dtype))
            linear.bias.copy_(torch.tensor(layer["biases"], dtype=dtype))
        modules.append(linear)
        if i < len(spec["layers"]) - 1:
            assert layer["activation"] == "sigmoid"
            modules.append(torch.nn.Sigmoid())
        width = layer["size"]
    model = torch.nn.Sequential(*modules)
    loss_fn = torch.nn.CrossEntropyLoss()  # softmax + mean categorical cross-entropy
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    m = len(x)
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(m)
        total = 0.0
        for start in range(0, m, args.batch_size):
            rows = order[start:start + args.batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[rows]), labels[rows])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        print(f"epoch {epoch}/{args.epochs}  train cost {total / m:.5f}", file=sys.stderr)

    with torch.no_grad():
        logits = model(x)
        cost = float(loss_fn(logits, labels))
        accuracy = float((logits.argmax(dim=1) == labels).double().mean())
    print(f"train cost {cost:.5f}, accuracy {100 * accuracy:.2f}%")

    torch.save({"state_dict": model.state_dict(), "mean": mean, "std": std}, args.out)


if __name__ == "__main__":
    main()
