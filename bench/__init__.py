"""Benchmarks of ninefold's tracking against MLflow, run with ``python -m bench``.

Each benchmark prints one JSON line to stdout; progress goes to stderr. The
workloads run in fresh interpreters (see :mod:`bench._worker`) so that neither
tool's import cost or global state leaks into the other's numbers. See
``bench/README.md``.
"""
