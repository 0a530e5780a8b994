"""Benchmarks (not tests): ``python -m bench [--size-mib N]``. See bench/__main__.py."""
