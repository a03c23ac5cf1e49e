"""The IAM policies (deploy/iam/): what each role may write and delete, their shape, and how they are filled in.

tests/flows/test_least_privilege.py checks that each role allows what its stage really does; here,
that it allows nothing more where it matters (writes, deletes, the audit log, other installs), judged
by the small evaluator in tests/fakes/iam.py, which is tested first.
"""

from __future__ import annotations

import fnmatch
import json

import pytest
from typer.testing import CliRunner

from airwatch.cli import app
from airwatch.errors import AirWatchError
from airwatch.iam import BUCKET_POLICY, ROLES, load, render, split_store_url
from tests.fakes import iam
from tests.fakes.iam import POLICY_DIR, Request, allowed, decide

BUCKET, PREFIX = "airwatch-prod", "store"

# The areas each role may write (store keys, IAM wildcards): the list, extended with what the
# stages really write (docs/security.md says why for each).
MAY_WRITE: dict[str, tuple[str, ...]] = {
    "ingest": ("raw/*", "state/watermarks/*", "state/backfills/*"),
    "validate": ("processed/observations/*", "processed/superseded/*", "quarantine/*"),
    "transform": ("processed/weather/*", "processed/features/*"),
    "train": ("models/*/training/*",),
    "select": ("models/*/promotions/*", "locks/promotion-*"),
    "predict": ("predictions/*",),
    "monitor": ("monitoring/*", "state/incidents/*", "state/retrain/*"),
    "report": (),
    "operator": ("raw/*/_manifests/*", "raw/*/_claims/*"),
    "deployer": (),
    "auditor": (),
}
READ_ONLY = ("report", "auditor")  # they change nothing, so they have nothing to audit
# One key in every area of the store (and beside it).
PROBES = (
    "raw/epa-daily/ab/abcdef/pm25_daily_2012.csv.gz",
    "raw/aqs/_manifests/20260101T000000.000000Z_v1.json",
    "raw/weather/_claims/v1.json",
    "processed/observations/v1/run/part-0000.parquet",
    "processed/observations/_manifests/20260101T000000.000000Z_v1.json",
    "processed/superseded/v1/rows.parquet",
    "processed/weather/v1/run/part-0000.parquet",
    "processed/features/pm25/_claims/v1.json",
    "quarantine/files/abc.json",
    "quarantine/validate/v1/rows.parquet",
    "models/pm25/training/20260101T000000.000000Z_t1.json",
    "models/ozone/promotions/20260101T000000.000000Z_airwatch-ozone-v2.json",
    "predictions/pm25/2026-01-01/predictions_x_airwatch-pm25-v1.parquet",
    "monitoring/scores/pm25/_manifests/20260101T000000.000000Z_v1.json",
    "monitoring/alerts/pm25/20260101T000000.000000Z_drift.json",
    "state/incidents/pm25.json",
    "state/retrain/pm25.json",
    "state/watermarks/aqs/dailyData/88101_36.json",
    "state/backfills/r1.json",
    "locks/promotion-pm25/000000000001.json",
    "audit/2026-01-01/20260101T000000.000000Z_publish_abc.json",
    "mlflow/artifacts/1/model.bin",
)


def key_arn(key: str, prefix: str = PREFIX, bucket: str = BUCKET) -> str:
    return iam.object_arn(bucket, f"{prefix}/{key}")


def create(key: str, **where: str) -> Request:
    return Request("s3:PutObject", key_arn(key, **where), {"s3:if-none-match": "*"})


# The evaluator first: a check is only as good as it.


def test_the_evaluator_matches_wildcards_as_iam_does() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/p/models/*/training/*"},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/p/locks/promotion-?"},
    ]}  # fmt: skip
    assert allowed([policy], Request("S3:GETOBJECT", "arn:aws:s3:::b/p/models/pm25/training/x.json"))  # case
    assert allowed([policy], Request("s3:GetObject", "arn:aws:s3:::b/p/models/a/b/training/c"))  # * spans "/"
    assert not allowed([policy], Request("s3:GetObject", "arn:aws:s3:::b/p/models/pm25/promotions/x.json"))
    assert not allowed([policy], Request("s3:GetObject", "arn:aws:s3:::B/p/models/pm25/training/x.json"))
    assert allowed([policy], Request("s3:PutObject", "arn:aws:s3:::b/p/locks/promotion-1"))
    assert not allowed([policy], Request("s3:PutObject", "arn:aws:s3:::b/p/locks/promotion-12"))  # ? is one
    assert not allowed([policy], Request("s3:DeleteObject", "arn:aws:s3:::b/p/locks/promotion-1"))


def test_an_explicit_deny_wins_over_any_allow() -> None:
    allow = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}
    deny = {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}}
    delete = Request("s3:DeleteObject", "arn:aws:s3:::b/k")
    assert decide([allow], delete) == "Allow" and decide([allow, deny], delete) == "Deny"
    assert decide([deny], Request("s3:GetObject", "arn:aws:s3:::b/k")) == "ImplicitDeny"


def test_the_evaluator_weighs_list_prefixes_and_create_only_conditions() -> None:
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
         "Condition": {"StringLike": {"s3:prefix": ["p/raw/*", "p/state/watermarks/*"]}}},
        {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/p/audit/*",
         "Condition": {"Null": {"s3:if-none-match": "true"}}},
    ]}  # fmt: skip
    assert allowed([policy], Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "p/raw/aqs/_manifests/"}))
    assert not allowed([policy], Request("s3:ListBucket", "arn:aws:s3:::b", {"s3:prefix": "p/processed/"}))
    assert not allowed([policy], Request("s3:ListBucket", "arn:aws:s3:::b"))  # no prefix: the whole bucket
    assert allowed([policy], Request("s3:PutObject", "arn:aws:s3:::b/p/audit/x", {"s3:if-none-match": "*"}))
    assert decide([policy], Request("s3:PutObject", "arn:aws:s3:::b/p/audit/x")) == "Deny"


def test_the_evaluator_refuses_what_it_does_not_understand() -> None:
    for statement in ({"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"},
                      {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                       "Condition": {"ForAnyValue:StringLike": {"s3:prefix": "x"}}},
                      {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject",
                       "Resource": "*"}):  # fmt: skip
        with pytest.raises(ValueError, match="not understood"):
            decide([{"Version": "2012-10-17", "Statement": [statement]}], Request("s3:GetObject", "arn:aws:s3:::b/k"))


# The policies.


def test_there_is_one_policy_per_role_and_no_other() -> None:
    assert sorted(p.stem for p in POLICY_DIR.glob("*.json")) == sorted((*ROLES, BUCKET_POLICY))


@pytest.mark.parametrize("role", ROLES)
def test_no_policy_grants_a_wildcard_action_or_a_whole_account_resource(role: str) -> None:
    for statement in load(POLICY_DIR, role)["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert not [a for a in actions if "*" in a or "?" in a], statement
        assert all(r.startswith("arn:aws:s3:::{bucket}") for r in resources), statement
        if statement["Effect"] == "Allow":
            assert all(r == "arn:aws:s3:::{bucket}" or r.startswith("arn:aws:s3:::{bucket}/{prefix}/")
                       for r in resources), statement  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
def test_each_role_writes_only_its_own_areas(role: str) -> None:
    documents = iam.policies(role, BUCKET, PREFIX)
    areas = (*MAY_WRITE[role], *(() if role in READ_ONLY else ("audit/*",)))
    for key in PROBES:
        expected = any(fnmatch.fnmatchcase(key, a) for a in areas)
        assert allowed(documents, create(key)) == expected, (role, key)


@pytest.mark.parametrize("role", ROLES)
def test_only_the_operator_deletes_and_only_payloads_and_quarantine_records(role: str) -> None:
    documents = iam.policies(role, BUCKET, PREFIX)
    for key in PROBES:
        expected = role == "operator" and (
            key.startswith("quarantine/files/") or (key.startswith("raw/") and "/_" not in key)
        )
        assert allowed(documents, Request("s3:DeleteObject", key_arn(key))) == expected, (role, key)
        assert not allowed(documents, Request("s3:DeleteObjectVersion", key_arn(key))), (role, key)


@pytest.mark.parametrize("role", ROLES)
def test_the_audit_log_is_append_only_for_every_role(role: str) -> None:
    documents = iam.policies(role, BUCKET, PREFIX)
    record = "audit/2026-01-01/20260101T000000.000000Z_publish_abc.json"
    rewrite = Request("s3:PutObject", key_arn(record))  # without If-None-Match: could replace a record
    assert decide(documents, rewrite) == "Deny"  # by the bucket policy, whoever asks
    assert not allowed(documents, Request("s3:DeleteObject", key_arn(record)))
    assert allowed(documents, Request("s3:GetObject", key_arn(record))) == (role == "auditor")


@pytest.mark.parametrize("role", ROLES)
def test_no_role_reaches_another_install_or_bucket(role: str) -> None:
    documents = iam.policies(role, BUCKET, PREFIX)
    for key in PROBES:
        for where in ({"prefix": "staging"}, {"bucket": "someone-else"}):
            for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
                assert not allowed(documents, Request(action, key_arn(key, **where), {"s3:if-none-match": "*"}))
        assert not allowed(documents, Request("s3:ListBucket", iam.bucket_arn(BUCKET), {"s3:prefix": f"staging/{key}"}))
    assert not allowed(documents, Request("s3:ListBucket", iam.bucket_arn(BUCKET), {"s3:prefix": ""}))


def test_published_manifests_claims_and_promotions_are_create_only() -> None:
    """The bucket policy: what is published or logged once is never replaced, whoever asks."""
    documents = iam.policies("validate", BUCKET, PREFIX)
    manifest = "processed/observations/_manifests/20260101T000000.000000Z_v1.json"
    assert allowed(documents, create(manifest))
    assert decide(documents, Request("s3:PutObject", key_arn(manifest))) == "Deny"
    part = "processed/observations/v1/run/part-0000.parquet"  # parts are plain writes (large ones multipart)
    assert allowed(documents, Request("s3:PutObject", key_arn(part)))
    promotion = "models/ozone/promotions/20260101T000000.000000Z_airwatch-ozone-v2.json"
    assert decide(iam.policies("select", BUCKET, PREFIX), Request("s3:PutObject", key_arn(promotion))) == "Deny"


# Filling the placeholders.


def test_render_fills_bucket_and_prefix_and_drops_an_empty_prefix() -> None:
    document = load(POLICY_DIR, "train")
    text = json.dumps(render(document, "my-bucket", "prod/airwatch"))
    assert "arn:aws:s3:::my-bucket/prod/airwatch/models/*/training/*" in text
    assert "{bucket}" not in text and "{prefix}" not in text
    at_root = json.dumps(render(document, "my-bucket", ""))
    assert "arn:aws:s3:::my-bucket/models/*/training/*" in at_root and '"models/*/training/*"' in at_root
    with pytest.raises(AirWatchError, match="unknown placeholder"):
        render({"Resource": "arn:aws:s3:::{bucket}/{stage}/*"}, "b", "p")


def test_store_urls_split_into_bucket_and_prefix() -> None:
    assert split_store_url("s3://b/prod/airwatch/") == ("b", "prod/airwatch")
    assert split_store_url("s3://b") == ("b", "")
    with pytest.raises(AirWatchError, match="on S3"):
        split_store_url("data/store")


def test_the_cli_prints_a_role_policy_for_the_configured_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRWATCH_STORE", "s3://my-bucket/prod")
    result = CliRunner().invoke(app, ["iam-policy", "predict", "--dir", str(POLICY_DIR)])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document == render(load(POLICY_DIR, "predict"), "my-bucket", "prod")
    assert CliRunner().invoke(app, ["iam-policy", "admin", "--dir", str(POLICY_DIR)]).exit_code == 1
