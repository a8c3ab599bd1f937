"""What a Describe answer repeats of its Create request."""

from __future__ import annotations

NOT_DESCRIBED = ("Tags", "SessionChainingConfig", "DeploymentConfig")
"""Create members that no Describe answer carries."""


def echo_request(request: dict) -> dict:
    """The request's members a Describe answer repeats (all but ``NOT_DESCRIBED``)."""
    return {key: value for key, value in request.items() if key not in NOT_DESCRIBED}
