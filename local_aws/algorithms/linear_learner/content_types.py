"""Content-Type and Accept negotiation for ``POST /invocations``.

Media types compare case-insensitively and their parameters are ignored, except
``text/csv;label_size=N``: inference payloads carry no label, so only ``label_size=0`` is accepted.

Requests may be ``text/csv``, ``application/json``, ``application/jsonlines`` or
``application/x-recordio-protobuf`` (reference spec section 4); others are refused with 415.

Accept follows the real linear-learner endpoint: JSON is the default (no Accept, ``*/*``,
``application/*``), ``application/jsonlines`` and ``application/x-recordio-protobuf`` are
answered as such, and ``text/csv`` is answered with JSON as the service does, since the
algorithm has no CSV output. Other types are refused with 406. Among several acceptable types the
highest ``q`` wins, then a type we produce as such over a wildcard, then the order given.
"""

from __future__ import annotations

from .payloads import CSV, JSON, JSONLINES, RECORDIO_PROTOBUF, InvocationError

REQUEST_TYPES = (CSV, JSON, JSONLINES, RECORDIO_PROTOBUF)
RESPONSE_TYPES = (JSON, JSONLINES, RECORDIO_PROTOBUF)
_ANSWERED_WITH_JSON = ("*/*", "application/*", CSV)


def request_format(content_type: str | None) -> str:
    """The request media type (one of REQUEST_TYPES) for a Content-Type header; 415 otherwise."""
    media_type, parameters = parse_media_type(content_type or "")
    if media_type not in REQUEST_TYPES:
        given = f"Content-Type {content_type!r} is" if content_type else "a Content-Type is"
        raise InvocationError(
            f"{given} not supported; use one of {', '.join(REQUEST_TYPES)}", status=415
        )
    if media_type == CSV and parameters.get("label_size", "0") != "0":
        raise InvocationError(
            f"Content-Type {content_type!r} is not supported: inference rows carry no label, "
            "send features only (label_size=0)",
            status=415,
        )
    return media_type


def response_format(accept: str | None) -> str:
    """The response media type (one of RESPONSE_TYPES) for an Accept header; 406 otherwise."""
    if not accept or not accept.strip():
        return JSON
    best = None
    for order, item in enumerate(accept.split(",")):
        media_type, parameters = parse_media_type(item)
        quality = _quality(parameters.get("q", "1"))
        if media_type in RESPONSE_TYPES:
            rank = (quality, 1, -order)
        elif media_type in _ANSWERED_WITH_JSON:
            rank, media_type = (quality, 0, -order), JSON
        else:
            continue
        if quality > 0 and (best is None or rank > best[0]):
            best = (rank, media_type)
    if best is None:
        raise InvocationError(
            f"Accept {accept!r} is not supported; use one of {', '.join(RESPONSE_TYPES)}",
            status=406,
        )
    return best[1]


def parse_media_type(value: str) -> tuple[str, dict[str, str]]:
    """``"text/csv; Label_Size=0"`` -> ``("text/csv", {"label_size": "0"})`` (names lower-cased)."""
    media_type, *pairs = value.split(";")
    parameters = {}
    for pair in pairs:
        name, _, parameter = pair.partition("=")
        parameters[name.strip().lower()] = parameter.strip().strip('"')
    return media_type.strip().lower(), parameters


def _quality(text: str) -> float:
    try:
        return min(max(float(text), 0.0), 1.0)
    except ValueError:
        return 0.0
