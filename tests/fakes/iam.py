"""A small IAM evaluator for S3 identity policies, and the S3 requests each store operation makes.

Enough of AWS's policy evaluation to judge AirWatch's own policies (deploy/iam/): Action and Resource
with IAM's wildcards (``*`` any run of characters, ``/`` included; ``?`` one character; actions
case-insensitive, ARNs case-sensitive), an explicit Deny over any Allow, no match meaning denied, and
the condition operators the policies use (StringLike, StringEquals, StringNotLike; a key absent from
the request fails a positive operator; Null), and a bucket policy's ``"Principal": "*"``. Anything
else in a policy (NotAction, NotResource, other operators, ForAnyValue:..., a named principal)
raises, so a policy can never pass by being misread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The S3 API operations S3Store (through s3fs) sends, and the IAM action that authorizes each.
OPERATION_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",  # AWS: HEAD needs s3:GetObject
    "PutObject": "s3:PutObject",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
    "AbortMultipartUpload": "s3:AbortMultipartUpload",
    "ListObjectsV2": "s3:ListBucket",
    "DeleteObject": "s3:DeleteObject",
}
_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition", "Principal"}
_OPERATORS = {"StringLike", "StringEquals", "StringNotLike", "Null"}


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)  # condition keys, e.g. {"s3:prefix": ...}


def object_arn(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def s3_request(
    operation: str, bucket: str, *, key: str | None = None, prefix: str | None = None, if_none_match: str | None = None
) -> Request:
    """The authorization request of one S3 API call, with the condition keys it carries."""
    action = OPERATION_ACTIONS[operation]
    if action == "s3:ListBucket":
        return Request(action, bucket_arn(bucket), {"s3:prefix": prefix or ""})
    assert key is not None, operation
    return Request(action, object_arn(bucket, key), {"s3:if-none-match": if_none_match} if if_none_match else {})


def store_requests(op: str, key: str, bucket: str, prefix: str) -> list[Request]:
    """The S3 requests an S3Store at s3://bucket/prefix makes for one Store operation.

    tests/io/test_s3store.py checks this against the requests S3Store really sends to an S3 server.
    """
    full = f"{prefix}/{key}" if prefix else key
    match op:
        case "read":
            return [s3_request("HeadObject", bucket, key=full), s3_request("GetObject", bucket, key=full)]
        case "write":
            return [s3_request("PutObject", bucket, key=full)]
        case "create":  # write_bytes(..., if_absent=True): S3 creates it only if no object has the key
            return [s3_request("PutObject", bucket, key=full, if_none_match="*")]
        case "delete":
            return [s3_request("DeleteObject", bucket, key=full)]
        case "exists" | "list":
            return [s3_request("ListObjectsV2", bucket, prefix=full.lstrip("/"))]
    raise ValueError(f"unknown store operation {op!r}")


def _glob(pattern: str, text: str, *, case: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, text, 0 if case else re.IGNORECASE) is not None


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(condition: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    for operator, tests in condition.items():
        if operator not in _OPERATORS:
            raise ValueError(f"condition operator {operator!r} is not understood by this evaluator")
        for key, values in tests.items():
            patterns = _listed(values)
            if operator == "Null":  # "true": the key is absent from the request; "false": present
                if (key not in context) != (patterns == ["true"]):
                    return False
                continue
            if key not in context:
                if operator != "StringNotLike":
                    return False
                continue
            value = context[key]
            exact = operator == "StringEquals"
            hit = value in patterns if exact else any(_glob(p, value, case=True) for p in patterns)
            if hit == (operator == "StringNotLike"):
                return False
    return True


def _applies(statement: dict[str, Any], request: Request) -> bool:
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise ValueError(f"statement keys {sorted(unknown)} are not understood by this evaluator")
    if statement["Effect"] not in ("Allow", "Deny"):
        raise ValueError(f"effect {statement['Effect']!r}")
    if statement.get("Principal", "*") not in ("*", {"AWS": "*"}):
        raise ValueError("a named principal is not understood by this evaluator")
    actions, resources = _listed(statement["Action"]), _listed(statement["Resource"])
    return (
        any(_glob(a, request.action, case=False) for a in actions)
        and any(_glob(r, request.resource, case=True) for r in resources)
        and _condition_holds(statement.get("Condition", {}), request.context)
    )


def decide(policies: Iterable[dict[str, Any]], request: Request) -> str:
    """IAM's decision: "Allow", "Deny" (an explicit Deny) or "ImplicitDeny" (no statement allows it)."""
    matching = [s for p in policies for s in _listed_statements(p) if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in matching):
        return "Deny"
    return "Allow" if matching else "ImplicitDeny"


def allowed(policies: Iterable[dict[str, Any]], request: Request) -> bool:
    return decide(policies, request) == "Allow"


def _listed_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    if policy.get("Version") != "2012-10-17":
        raise ValueError("a policy must say Version 2012-10-17 (older versions ignore policy variables)")
    statements = policy["Statement"]
    return [statements] if isinstance(statements, dict) else list(statements)


POLICY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "iam"


def policies(role: str, bucket: str, prefix: str, directory: Path = POLICY_DIR) -> list[dict[str, Any]]:
    """A role's policy and the bucket's, as deployed for s3://bucket/prefix: what IAM weighs together."""
    from airwatch.iam import BUCKET_POLICY, load, render

    return [render(load(directory, name), bucket, prefix) for name in (role, BUCKET_POLICY)]


def denied(documents: list[dict[str, Any]], requests: Iterable[Request]) -> list[Request]:
    """The requests the documents do not allow, each once, in order."""
    out: list[Request] = []
    for r in requests:
        if not allowed(documents, r) and r not in out:
            out.append(r)
    return out
