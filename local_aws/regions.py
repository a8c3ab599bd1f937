"""The AWS regions the emulator answers for: every region of botocore's partitions.

A request's region comes from its SigV4 credential scope and names folders and state records,
so it is checked against this list before anything else happens. The list is botocore's own
endpoint data (``endpoints.json``, the regions of the partitions aws, aws-cn, aws-us-gov,
aws-iso*, ...), so it grows with botocore, never by hand.
"""

from __future__ import annotations

import functools

from botocore.loaders import create_loader


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region of every partition in botocore's endpoint data (e.g. ``us-east-1``)."""
    endpoints = create_loader().load_data("endpoints")
    return frozenset(
        region for partition in endpoints["partitions"] for region in partition["regions"]
    )


def is_known_region(region: str) -> bool:
    """Whether ``region`` is one of ``known_regions()``."""
    return region in known_regions()
