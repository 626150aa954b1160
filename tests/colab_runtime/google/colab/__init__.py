"""Stands in for Colab's `google.colab` in the Colab tests (tests/test_colab_runtime.py).

What the book's notebooks and the libraries they use look at is only whether `google.colab` is
imported: the setup cell installs and restarts only then, and TensorBoard's `%tensorboard` takes the
Colab way of showing itself. The test kernel imports this module at start-up, as Colab's does.
"""
