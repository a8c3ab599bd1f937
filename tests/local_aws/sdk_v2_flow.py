"""The lab's flow through the classic SageMaker Python SDK v2, against a running emulator.

Run by ``test_sdk_v2_flow.py`` with the Python of a venv holding SDK v2
(``requirements-sdk-v2.txt``; v2 cannot share a venv with v3), in the emulator's client
environment (``local_aws.start().env``, what ``python -m local_aws serve`` prints). It
imports nothing from this project but ``flow_script`` beside it, prints each step and
fails (exit status 1) at the first step that does not behave; every host name lookup other
than the loopback address fails it.

Steps: a plain ``sagemaker.Session()`` (default bucket from the SDK config, no STS),
``Session.upload_data``, ``Estimator`` (``image_uris`` linear-learner, role from the SDK
config) ``fit`` with CSV ``TrainingInput`` channels and tags, ``TrainingJobAnalytics``,
``deploy``, ``Predictor.predict`` with ``CSVSerializer`` / ``JSONDeserializer``, delete,
``Estimator.attach``, ListTags, and batch transform with ``estimator.transformer(...)
.transform(..., wait=True, logs=True)``.

With the argument ``tuning``, the tuning flow instead: ``HyperparameterTuner`` (3 jobs, 2 at a
time, Minimize ``validation:objective_loss``) ``fit`` on CSV ``train`` and ``validation``
channels, ``best_training_job``, ``HyperparameterTuningJobAnalytics(...).dataframe()``,
``deploy`` of the best job, ``predict``, delete.
"""

from __future__ import annotations

# isort: off
from flow_script import check, run, step  # beside this script: limits lookups to loopback

# isort: on
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import sagemaker
from sagemaker import image_uris
from sagemaker.analytics import (
    HyperparameterTuningJobAnalytics,
    TrainingJobAnalytics,
)
from sagemaker.deserializers import JSONDeserializer
from sagemaker.estimator import Estimator
from sagemaker.inputs import TrainingInput
from sagemaker.predictor import Predictor
from sagemaker.serializers import CSVSerializer
from sagemaker.tuner import ContinuousParameter, HyperparameterTuner

FEATURES = 2
TAGS = [{"Key": "project", "Value": "flight-delays"}]


def regression_csv(path: Path, rows: int, seed: int) -> None:
    """``label,x1,x2`` rows, label = 3*x1 - 2*x2 + 1 + small noise, no header."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, FEATURES))
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + rng.normal(scale=0.01, size=rows)
    np.savetxt(path, np.column_stack([labels, features]), delimiter=",", fmt="%.6f")


def upload_channels(session, prefix: str, channels: tuple, rows: int) -> dict:
    """Upload a CSV of ``rows`` rows per channel under ``prefix``; channel -> TrainingInput."""
    inputs = {}
    with tempfile.TemporaryDirectory() as folder:
        for seed, channel in enumerate(channels):
            local = Path(folder) / f"{channel}.csv"
            regression_csv(local, rows, seed)
            uri = session.upload_data(str(local), session.default_bucket(), f"{prefix}/{channel}")
            inputs[channel] = TrainingInput(uri, content_type="text/csv")
    return inputs


def main() -> None:
    step("sagemaker.Session() and its default bucket (from the SDK config, no STS)")
    session = sagemaker.Session()
    bucket = session.default_bucket()
    check(bucket.startswith("sagemaker-"), f"default bucket {bucket}")

    step("Session.upload_data: train and test CSV")
    inputs = upload_channels(session, "sdk-v2", ("train", "test"), 2000)
    uploaded = sorted(session.list_s3_files(bucket, "sdk-v2/"))
    check(uploaded == ["sdk-v2/test/test.csv", "sdk-v2/train/train.csv"], f"uploaded {uploaded}")

    step("Estimator(image_uris linear-learner).fit(CSV TrainingInput channels)")
    image = image_uris.retrieve("linear-learner", session.boto_region_name)
    estimator = Estimator(
        image_uri=image,
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path=f"s3://{bucket}/sdk-v2/output",
        sagemaker_session=session,
        tags=TAGS,
    )
    estimator.set_hyperparameters(feature_dim=FEATURES, predictor_type="regressor")
    estimator.fit(inputs, wait=True, logs="All")
    job = estimator.latest_training_job.name
    described = session.describe_training_job(job)
    check(described["TrainingJobStatus"] == "Completed", f"job {job} Completed")
    check(estimator.model_data.endswith("/output/model.tar.gz"), f"model {estimator.model_data}")

    step("TrainingJobAnalytics(job).dataframe()")
    frame = TrainingJobAnalytics(job, sagemaker_session=session).dataframe()
    print(frame.to_string(max_rows=12), flush=True)
    check(not frame.empty, f"{len(frame)} metric rows")
    check({"train:objective_loss", "test:mse"} <= set(frame["metric_name"]), "losses present")

    step("deploy, then Predictor.predict with CSVSerializer / JSONDeserializer")
    endpoint = f"{job}-ep"[:63]
    estimator.deploy(
        initial_instance_count=1,
        instance_type="ml.m4.xlarge",
        endpoint_name=endpoint,
        wait=False,
    )
    predict_and_delete(session, endpoint)

    step("Estimator.attach(job)")
    attached = Estimator.attach(job, sagemaker_session=session)
    check(attached.model_data == estimator.model_data, "attached to the same model")

    step("ListTags of the training job")
    arn = described["TrainingJobArn"]
    tags = session.sagemaker_client.list_tags(ResourceArn=arn)["Tags"]
    check(all(tag in tags for tag in TAGS), f"tags {tags}")

    step("estimator.transformer(...).transform(CSV split by line, wait=True, logs=True)")
    rows = "1.0,2.0\n2.0,0.0\n0.5,0.5\n"
    batch = session.upload_string_as_file_body(rows, bucket, "sdk-v2/batch/rows.csv")
    transformer = estimator.transformer(
        instance_count=1,
        instance_type="ml.m4.xlarge",
        strategy="MultiRecord",
        assemble_with="Line",
        accept="application/jsonlines",
        output_path=f"s3://{bucket}/sdk-v2/predictions",
    )
    transformer.transform(batch, content_type="text/csv", split_type="Line", wait=True, logs=True)
    status = session.describe_transform_job(transformer.latest_transform_job.name)
    check(status["TransformJobStatus"] == "Completed", "transform job Completed")
    out = session.read_s3_file(bucket, "sdk-v2/predictions/rows.csv.out")
    scores = [json.loads(line)["score"] for line in out.splitlines()]
    check(np.allclose(scores, [0.0, 7.0, 1.5], atol=1.0), f"batch scores {scores}")


def predict_and_delete(session, endpoint: str) -> None:
    """Wait for ``endpoint``, predict two rows, delete its model and the endpoint."""
    session.wait_for_endpoint(endpoint, poll=1)
    predictor = Predictor(
        endpoint,
        sagemaker_session=session,
        serializer=CSVSerializer(),
        deserializer=JSONDeserializer(),
    )
    answer = predictor.predict(np.array([[1.0, 2.0], [2.0, 0.0]]))
    scores = [prediction["score"] for prediction in answer["predictions"]]
    print(f"  scores {scores}", flush=True)
    check(np.allclose(scores, [0.0, 7.0], atol=1.0), "scores near 3*x1 - 2*x2 + 1")
    predictor.delete_model()
    predictor.delete_endpoint()
    # DeleteEndpoint answers at once with the endpoint Deleting; botocore's waiter sees it go
    waiter = session.sagemaker_client.get_waiter("endpoint_deleted")
    waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    check(not session.sagemaker_client.list_endpoints()["Endpoints"], "endpoint deleted")


def tuning() -> None:
    """The tuning flow: HyperparameterTuner fit, best job, analytics, deploy, predict."""
    session = sagemaker.Session()
    bucket = session.default_bucket()
    step("Session.upload_data: train and validation CSV")
    inputs = upload_channels(session, "sdk-v2-tuning", ("train", "validation"), 300)

    step("HyperparameterTuner(estimator, 3 jobs, 2 at a time).fit")
    estimator = Estimator(
        image_uri=image_uris.retrieve("linear-learner", session.boto_region_name),
        instance_count=1,
        instance_type="ml.m4.xlarge",
        output_path=f"s3://{bucket}/sdk-v2-tuning/output",
        sagemaker_session=session,
    )
    estimator.set_hyperparameters(
        feature_dim=FEATURES, predictor_type="regressor", epochs=10, mini_batch_size=10
    )
    tuner = HyperparameterTuner(
        estimator,
        objective_metric_name="validation:objective_loss",
        hyperparameter_ranges={
            "learning_rate": ContinuousParameter(0.02, 0.3, scaling_type="Logarithmic"),
        },
        objective_type="Minimize",
        max_jobs=3,
        max_parallel_jobs=2,
        random_seed=7,
        tags=TAGS,
    )
    tuner.fit(inputs, wait=True)
    name = tuner.latest_tuning_job.name
    described = session.sagemaker_client.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )
    check(described["HyperParameterTuningJobStatus"] == "Completed", f"tuning job {name} Completed")
    best = tuner.best_training_job()
    check(best.startswith(f"{name}-"), f"best training job {best}")

    step("HyperparameterTuningJobAnalytics(name).dataframe()")
    frame = HyperparameterTuningJobAnalytics(name, sagemaker_session=session).dataframe()
    print(frame.to_string(), flush=True)
    check(len(frame) == 3, "3 training jobs")
    check(
        frame["FinalObjectiveValue"].min()
        == frame.loc[frame["TrainingJobName"] == best, "FinalObjectiveValue"].iloc[0],
        "the best job has the lowest objective",
    )

    step("tuner.deploy (the best job's model), predict, delete")
    tuner.deploy(initial_instance_count=1, instance_type="ml.m4.xlarge", wait=False)
    predict_and_delete(session, best)


if __name__ == "__main__":
    run(tuning if sys.argv[1:] == ["tuning"] else main)
