"""Tags of SageMaker resources: AddTags, ListTags, DeleteTags, and the Tags given at Create.

Rules, and where they come from:

- AddTags "adds or overwrites" tags, and "tag keys must be unique per resource" (the
  operation's documentation in botocore's service model).
- At most 50 tags per resource, keys of 1 to 128 characters, values of 0 to 256, both of
  letters, separators, digits and ``_.:/=+-@`` (AWS's tagging rules; the lengths and the
  pattern are the ``Tag`` shape's constraints in botocore's model, checked here with AWS's
  usual "1 validation error detected" wording, since the pattern's ``\\p{..}`` classes are
  not Python regex syntax).
- Keys beginning with ``aws:`` are reserved for AWS (AWS's tagging rules): refused.
- ListTags pages with MaxResults (at least 50, botocore's model; 50 when not given, our
  choice) and an opaque NextToken. With at most 50 tags per resource one page holds them
  all, so NextToken only ever comes back if those limits change; a token ListTags did not
  give is refused.

The wording of the 50-tag, reserved-prefix, unknown-resource and bad-token errors is our
own: no public source quotes SageMaker's. Resources are known by ARN; a resource registers
its ARN when created and forgets it when deleted, and its tags go with it.
"""

from __future__ import annotations

import threading
import unicodedata

from .exceptions import ValidationException

MAX_TAGS_PER_RESOURCE = 50
DEFAULT_PAGE = 50
TAG_PATTERN = r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)"
"""The pattern of ``Tag.Key`` and ``Tag.Value`` in botocore's service model."""
_TAG_PUNCTUATION = set("_.:/=+-@")
RESERVED_PREFIX = "aws:"


class TagStore:
    """Tags by resource ARN, each resource's kept in the order the keys were first added."""

    def __init__(self):
        self._tags: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()

    def check(self, tags: list[dict] | None, member: str = "tags") -> None:
        """ValidationException if ``tags`` (a Create's or AddTags' ``Tags``) break a rule."""
        self._merged({}, tags or [], member)

    def register(self, arn: str, tags: list[dict] | None) -> None:
        """A resource was created with ``tags`` (already ``check``-ed)."""
        with self._lock:
            self._tags[arn] = self._merged({}, tags or [], "tags")

    def forget(self, arn: str) -> None:
        """A resource was deleted: its tags go with it."""
        with self._lock:
            self._tags.pop(arn, None)

    def add(self, arn: str, tags: list[dict]) -> dict:
        """AddTags: add or overwrite ``tags``; the answer lists the tags given."""
        with self._lock:
            current = self._resource(arn)
            self._tags[arn.lower()] = self._merged(current, tags, "tags")
        return {"Tags": tags}

    def list(self, arn: str, max_results: int | None, next_token: str | None) -> dict:
        """ListTags: one page of the resource's tags, with NextToken if more remain."""
        with self._lock:
            items = list(self._resource(arn).items())
        start = _token_start(next_token, len(items))
        end = start + (max_results or DEFAULT_PAGE)
        answer = {"Tags": [{"Key": key, "Value": value} for key, value in items[start:end]]}
        if end < len(items):
            answer["NextToken"] = str(end)
        return answer

    def delete(self, arn: str, keys: list[str]) -> dict:
        """DeleteTags: remove ``keys`` (keys the resource lacks are ignored)."""
        for index, key in enumerate(keys, start=1):
            _check_not_reserved(key, f"tagKeys.{index}.member")
        with self._lock:
            current = self._resource(arn)
            for key in keys:
                current.pop(key, None)
        return {}

    def _resource(self, arn: str) -> dict[str, str]:
        """The tags of the resource ``arn`` names (SageMaker ARNs are lower case, so the
        ARN is matched regardless of case, as the resource's name is)."""
        found = self._tags.get(arn.lower())
        if found is None:
            raise ValidationException(
                f'Could not find resource "{arn}": no SageMaker resource served here has this '
                "ARN (training job, hyperparameter tuning job, transform job, model, endpoint "
                "configuration or endpoint)."
            )
        return found

    @staticmethod
    def _merged(current: dict[str, str], tags: list[dict], member: str) -> dict[str, str]:
        """``current`` updated with ``tags``, or ValidationException naming the first fault."""
        merged = dict(current)
        for index, tag in enumerate(tags, start=1):
            path = f"{member}.{index}.member"
            _check_pattern(tag["Key"], f"{path}.key")
            _check_pattern(tag["Value"], f"{path}.value")
            _check_not_reserved(tag["Key"], f"{path}.key")
            merged[tag["Key"]] = tag["Value"]
        if len(merged) > MAX_TAGS_PER_RESOURCE:
            raise ValidationException(
                f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; this request would "
                f"give it {len(merged)}."
            )
        return merged


def _check_pattern(text: str, path: str) -> None:
    """AWS-worded ValidationException if ``text`` holds a character ``TAG_PATTERN`` refuses."""
    for character in text:
        if character in _TAG_PUNCTUATION or unicodedata.category(character)[0] in "LZN":
            continue
        raise ValidationException(
            f"1 validation error detected: Value '{text}' at '{path}' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {TAG_PATTERN}"
        )


def _check_not_reserved(key: str, path: str) -> None:
    if key.lower().startswith(RESERVED_PREFIX):
        raise ValidationException(
            f"Tag key '{key}' at '{path}' uses the prefix '{RESERVED_PREFIX}', which is reserved "
            "for AWS use."
        )


def _token_start(token: str | None, size: int) -> int:
    """The index a ListTags NextToken stands for; ValidationException if it is not ours."""
    if token is None:
        return 0
    if not token.isdigit() or int(token) > size:
        raise ValidationException(f"Invalid NextToken '{token}': pass the one ListTags returned.")
    return int(token)
