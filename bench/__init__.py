"""Benchmarks: each module's ``main()`` prints our figures and the baseline's side by side."""
