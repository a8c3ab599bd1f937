"""SageMaker resource names: unique regardless of case, as the service treats them.

SageMaker's API reference says of CreateEndpoint's ``EndpointName``: "The name is
case-insensitive in CreateEndpoint, but the case is preserved and must be matched in
InvokeEndpoint" (botocore's service model carries the same text), and its ARNs carry the name
in lower case. The emulator applies that to every resource it serves (training jobs, models,
endpoint configs, endpoints): ``ERR-EP`` beside ``err-ep`` is a duplicate, and Describe,
Delete, Stop and Update find a resource whatever the case of the name they are given (for
the resources other than endpoints, and for the control plane's lookups, the rule is our
choice, as nothing public says otherwise). The record keeps the name as created.
"""

from __future__ import annotations


def name_key(name: str) -> str:
    """The key two names share when they differ only in case."""
    return name.lower()


class NameTable:
    """Resources of one kind by name, matched regardless of case; insertion-ordered."""

    def __init__(self):
        self._items: dict[str, object] = {}

    def get(self, name: str):
        """The resource named ``name`` in any case, or None."""
        return self._items.get(name_key(name))

    def __contains__(self, name: str) -> bool:
        return name_key(name) in self._items

    def __setitem__(self, name: str, item) -> None:
        self._items[name_key(name)] = item

    def __delitem__(self, name: str) -> None:
        del self._items[name_key(name)]

    def pop(self, name: str, default=None):
        return self._items.pop(name_key(name), default)

    def setdefault(self, name: str, item):
        return self._items.setdefault(name_key(name), item)

    def values(self) -> list:
        """A snapshot of the resources (safe to iterate while others add or delete)."""
        return list(self._items.values())
