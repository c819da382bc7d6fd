"""Bucket policies are evaluated for an SDK's (TLS) request: a statement conditioned on
aws:SecureTransport applies exactly when S3 would apply it to such a request."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from localaws.motoserver.bucket_policies import for_request

DENY_WITHOUT_TLS = {
    "Sid": "DenyUnencryptedTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}

statements = st.fixed_dictionaries(
    {
        "Effect": st.sampled_from(["Allow", "Deny"]),
        "Principal": st.just("*"),
        "Action": st.sampled_from(["s3:*", "s3:PutObject"]),
        "Resource": st.just("arn:aws:s3:::b/*"),
    },
    optional={
        "Condition": st.fixed_dictionaries(
            {},
            optional={
                "Bool": st.fixed_dictionaries(
                    {},
                    optional={
                        "aws:SecureTransport": st.sampled_from(["true", "false", "True", "FALSE"]),
                        "aws:ViaAWSService": st.sampled_from(["true", "false"]),
                    },
                ),
                "StringEquals": st.just({"aws:PrincipalAccount": "123456789012"}),
            },
        )
    },
)


def tls(statement: dict[str, Any]) -> str | None:
    value = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    return None if value is None else str(value).lower()


def test_the_deny_without_tls_statement_does_not_apply_to_an_sdk_request() -> None:
    allow = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [DENY_WITHOUT_TLS, allow]}
    assert for_request(policy) == {"Version": "2012-10-17", "Statement": [allow]}


@given(st.lists(statements, max_size=6))
def test_statements_apply_as_to_a_tls_request(given_statements: list[dict[str, Any]]) -> None:
    result = for_request({"Statement": given_statements})["Statement"]
    kept = [s for s in given_statements if tls(s) != "false"]
    assert len(result) == len(kept)
    for before, after in zip(kept, result, strict=True):
        # The TLS condition is decided and gone; everything else is as it was.
        assert tls(after) is None
        assert {k: v for k, v in after.items() if k != "Condition"} == {
            k: v for k, v in before.items() if k != "Condition"
        }
        conditions = dict(before.get("Condition", {}))
        booleans = {
            k: v for k, v in conditions.pop("Bool", {}).items() if k != "aws:SecureTransport"
        }
        expected = conditions | ({"Bool": booleans} if booleans else {})
        assert after.get("Condition", {}) == expected
