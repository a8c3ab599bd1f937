"""iam:SimulatePrincipalPolicy, which the SageMaker SDK calls to check a role and moto lacks.

The decision: every action is ``allowed`` for the provisioned lab role and for any role with
AmazonSageMakerFullAccess attached; ``implicitDeny`` for other roles; an unknown role is
``NoSuchEntity``. Answers are awsQuery XML, as IAM sends them.
"""

from __future__ import annotations

import uuid
from xml.sax.saxutils import escape

from .constants import ROLE_ARN, SAGEMAKER_POLICY_ARN
from .http_guard import query_error_body
from .moto_store import MotoStore
from .validation import shorten

_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def simulate_principal_policy(store: MotoStore, form: dict[str, list[str]]) -> tuple[int, str]:
    """Answer one SimulatePrincipalPolicy form request: (HTTP status, XML body)."""
    source = _first(form, "PolicySourceArn")
    actions = _members(form, "ActionNames")
    resources = _members(form, "ResourceArns") or ["*"]
    if not source or not actions:
        missing = "policySourceArn" if not source else "actionNames"
        return _error(
            400,
            "ValidationError",
            f"Value null at '{missing}' failed to satisfy constraint: Member must not be null",
        )
    decision = _decision(store, source)
    if decision is None:
        return _error(
            404,
            "NoSuchEntity",
            f"The role with name {shorten(source.rsplit('/', 1)[-1])} cannot be found.",
        )
    results = "".join(
        "<member>"
        f"<EvalActionName>{escape(action)}</EvalActionName>"
        f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
        f"<EvalDecision>{decision}</EvalDecision>"
        "<MatchedStatements/><MissingContextValues/>"
        "</member>"
        for action in actions
        for resource in resources
    )
    body = (
        f'<SimulatePrincipalPolicyResponse xmlns="{_NAMESPACE}">'
        "<SimulatePrincipalPolicyResult>"
        f"<IsTruncated>false</IsTruncated><EvaluationResults>{results}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
    return 200, body


def _decision(store: MotoStore, source_arn: str) -> str | None:
    if source_arn == ROLE_ARN:
        return "allowed"
    if ":role/" not in source_arn:
        return "implicitDeny"
    role = next((r for r in store.iam().get_roles() if r.arn == source_arn), None)
    if role is None:
        return None
    return "allowed" if SAGEMAKER_POLICY_ARN in role.managed_policies else "implicitDeny"


def _first(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


def _members(form: dict[str, list[str]], name: str) -> list[str]:
    """``Name.member.1``, ``Name.member.2``, ... in order."""
    found = []
    number = 1
    while f"{name}.member.{number}" in form:
        found.append(form[f"{name}.member.{number}"][0])
        number += 1
    return found


def _error(status: int, code: str, message: str) -> tuple[int, str]:
    return status, query_error_body(code, message, str(uuid.uuid4()), _NAMESPACE)
