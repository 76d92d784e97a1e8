"""backprop_cli: make backpropagation visible, one chain-rule factor at a time."""

__version__ = "0.1.0"

__all__ = ["__version__"]
