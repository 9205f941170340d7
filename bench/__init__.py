"""Benchmarks of free-generation-image against the sandbox on loopback: ``python -m bench``.

Every figure is measured side by side with its baseline in the same run; see ``bench/README.md``.
"""
