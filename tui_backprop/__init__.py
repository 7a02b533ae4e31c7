"""tui-backprop: step through one training step of a neural network, op by op, in the terminal."""

__version__ = "0.1.0"
