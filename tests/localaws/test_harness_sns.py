"""SNS Publish limits the local AWS enforces (and records) before moto sees a request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import LocalAws
from localaws.rules import sns as sns_rules


@pytest.fixture
def sns(aws_client: Callable[..., Any]) -> Any:
    return aws_client("sns", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def topic(sns: Any) -> str:
    return str(sns.create_topic(Name="findings")["TopicArn"])


def _refused(aws: LocalAws, sns: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as caught:
        sns.publish(**params)
    assert caught.value.response["Error"]["Code"] == "InvalidParameter"
    [violation] = aws.violations
    aws.violations.clear()
    return violation


def test_a_legal_publish_goes_through(aws: LocalAws, sns: Any, topic: str) -> None:
    message = json.dumps({"default": "text", "https": json.dumps({"version": "1.0"})})
    response = sns.publish(
        TopicArn=topic,
        Subject="CRITICAL: 1 new finding in app:v1",
        Message=message,
        MessageStructure="json",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "CRITICAL"}},
    )
    assert response["MessageId"]
    assert aws.violations == []


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"Subject": "x" * 100}, "Subject is 100 characters: it must be fewer than 100"),
        ({"Subject": "two\nlines"}, "Subject holds line breaks or control characters"),
        ({"Message": "é" * 131_073}, "Message too long: 262146 bytes"),
        ({"MessageStructure": "json"}, "Message is not valid JSON"),
        (
            {"MessageStructure": "json", "Message": '{"https": "no default"}'},
            "a string 'default'",
        ),
        (
            {"MessageAttributes": {"AWS.reserved": {"DataType": "String", "StringValue": "x"}}},
            "message attribute name 'AWS.reserved' is not allowed",
        ),
    ],
)
def test_what_sns_refuses_is_refused_and_recorded(
    aws: LocalAws, sns: Any, topic: str, params: dict[str, Any], problem: str
) -> None:
    request = {"TopicArn": topic, "Message": "text", **params}
    assert problem in _refused(aws, sns, **request)


def test_attributes_count_against_the_size() -> None:
    text = "x" * (262_144 - len("severity") - len("String") - len("CRITICAL"))
    attribute = sns_rules.Attribute("severity", "String", "CRITICAL")
    assert sns_rules.publish_problem(sns_rules.PublishRequest(text, attributes=[attribute])) is None
    over = sns_rules.PublishRequest(text + "x", attributes=[attribute])
    assert "Message too long" in str(sns_rules.publish_problem(over))


def test_an_empty_attribute_value_or_too_many_attributes() -> None:
    empty = sns_rules.PublishRequest("m", attributes=[sns_rules.Attribute("a", "String", "")])
    assert sns_rules.publish_problem(empty) == "message attribute 'a' has an empty value"
    many = [sns_rules.Attribute(f"a{i}", "String", "v") for i in range(11)]
    assert sns_rules.publish_problem(sns_rules.PublishRequest("m", attributes=many)) == (
        "11 message attributes, over 10"
    )
