"""SageMaker SDK v2's Estimator flow, replayed as the requests v2 sends.

SDK v2 cannot be installed beside v3 (both own the ``sagemaker`` package), so this replays
what v2's ``Estimator(image_uri=..., instance_type=...).fit()`` / ``.deploy()`` /
``Predictor.predict()`` send (request members as built by v2's ``Session.train``,
``create_model``, ``endpoint_from_production_variants``; a default profiler rule as v2 adds
it in regions with SageMaker Debugger) and checks the answer members v2 then reads.
"""

from __future__ import annotations

from . import flow

PROFILER_RULE_IMAGE = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"


def test_sdk_v2_estimator_requests(aws, clients):
    channels = flow.upload_dataset(clients.s3, aws.bucket, "v2")
    job = "linear-learner-2026-11-28-02-50-00-123"
    request = flow.training_job_request(job, aws.role_arn, channels, f"s3://{aws.bucket}/v2/out")
    request["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = False
    request["StoppingCondition"] = {"MaxRuntimeInSeconds": 86400}
    request["ProfilerConfig"] = {"S3OutputPath": f"s3://{aws.bucket}/"}
    request["ProfilerRuleConfigurations"] = [
        {
            "RuleConfigurationName": "ProfilerReport-1764298200",
            "RuleEvaluatorImage": PROFILER_RULE_IMAGE,
            "RuleParameters": {"rule_to_invoke": "ProfilerReport"},
        }
    ]
    described = flow.train(clients.sagemaker, request)

    # What v2's logs_for_job / _check_job_status / Estimator.model_data read.
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert described["ResourceConfig"]["InstanceCount"] == 1
    assert described["BillableTimeInSeconds"] >= 1
    assert described["SecondaryStatusTransitions"][-1]["StatusMessage"]
    assert described["ProfilerConfig"] == request["ProfilerConfig"]
    model_data = described["ModelArtifacts"]["S3ModelArtifacts"]

    clients.sagemaker.create_model(
        ModelName=job,
        ExecutionRoleArn=aws.role_arn,
        PrimaryContainer={
            "Image": flow.LINEAR_LEARNER_IMAGE,
            "Environment": {},
            "ModelDataUrl": model_data,
        },
    )
    clients.sagemaker.create_endpoint_config(
        EndpointConfigName=job,
        ProductionVariants=[
            {
                "ModelName": job,
                "VariantName": "AllTraffic",
                "InitialVariantWeight": 1,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m4.xlarge",
            }
        ],
    )
    clients.sagemaker.create_endpoint(EndpointName=job, EndpointConfigName=job, Tags=[])
    endpoint = flow.wait_for_endpoint(clients.sagemaker, job)
    assert endpoint["EndpointStatus"] == "InService"  # v2's _deploy_done

    # Predictor(serializer=CSVSerializer(), deserializer=JSONDeserializer()).predict(...)
    predictions = flow.invoke(clients.runtime, job, "1.0,2.0\n2.0,0.0")["predictions"]
    assert len(predictions) == 2
    # predictor.delete_endpoint(); predictor.delete_model()
    clients.sagemaker.delete_endpoint(EndpointName=job)
    clients.sagemaker.delete_endpoint_config(EndpointConfigName=job)
    clients.sagemaker.delete_model(ModelName=job)
