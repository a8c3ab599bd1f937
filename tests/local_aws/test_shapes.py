"""The answer checker itself: it must reject what moto sends and the SDK cannot read."""

from __future__ import annotations

import datetime

import pytest

from local_aws.validation import operation_model

from .shapes import assert_matches_output_shape, assert_strict_json

NOW = datetime.datetime.now(datetime.UTC)
MODEL = {
    "ModelName": "m",
    "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/m",
    "CreationTime": NOW,
}


def test_a_complete_answer_passes():
    assert_matches_output_shape(operation_model("sagemaker", "DescribeModel"), dict(MODEL))


def test_an_empty_structure_is_rejected():
    with pytest.raises(AssertionError, match="VpcConfig"):
        assert_matches_output_shape(
            operation_model("sagemaker", "DescribeModel"), {**MODEL, "VpcConfig": {}}
        )


def test_a_missing_required_member_is_rejected():
    answer = {key: value for key, value in MODEL.items() if key != "ModelArn"}
    with pytest.raises(AssertionError, match="ModelArn"):
        assert_matches_output_shape(operation_model("sagemaker", "DescribeModel"), answer)


def test_a_value_outside_its_enum_is_rejected():
    answer = {
        "EndpointName": "e",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e",
        "EndpointStatus": "Starting",
        "CreationTime": NOW,
        "LastModifiedTime": NOW,
    }
    with pytest.raises(AssertionError, match="Member must satisfy enum value set"):
        assert_matches_output_shape(operation_model("sagemaker", "DescribeEndpoint"), answer)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_body_holding_a_non_finite_number_is_rejected(constant):
    with pytest.raises(AssertionError, match=f"holds {constant}"):
        assert_strict_json(f'{{"Value": {constant}}}'.encode(), "DescribeTrainingJob")


def test_strict_json_passes_finite_numbers():
    assert_strict_json(b'{"Value": 1e308, "Other": -0.5}', "DescribeTrainingJob")
