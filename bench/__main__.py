"""``python -m bench``: run the ``main()`` of every module in this package, in name order."""

import importlib
import pkgutil

import bench


def run_all():
    """Import each bench module and call its ``main()`` with no arguments."""
    for module in sorted(m.name for m in pkgutil.iter_modules(bench.__path__)):
        if module.startswith("_"):
            continue
        entry = getattr(importlib.import_module(f"bench.{module}"), "main", None)
        if callable(entry):
            print(f"== bench.{module}", flush=True)
            entry()


if __name__ == "__main__":
    run_all()
