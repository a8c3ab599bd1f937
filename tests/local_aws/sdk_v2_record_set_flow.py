"""SDK v2's own linear-learner flow on RecordIO-protobuf, against a running emulator.

Run by ``test_sdk_v2_flow.py`` like ``sdk_v2_flow.py`` (same venv, same environment, loopback
lookups only). Steps, as the SDK's MNIST and fraud notebooks do them: ``sagemaker.LinearLearner``
(regressor), ``record_set`` for train and test (``upload_numpy_to_s3_shards``: protobuf shards
and a manifest, channels without ContentType), ``fit``, ``deploy`` (a
``LinearLearnerPredictor``: ``RecordSerializer`` / ``RecordDeserializer``), ``predict`` on a
numpy array, each result's ``label["score"]``, delete.
"""

from __future__ import annotations

import socket
import sys

from loopback_lookups import loopback_only  # beside this script

REFUSED: list[str] = []
socket.getaddrinfo = loopback_only(REFUSED)

import numpy as np  # noqa: E402
import sagemaker  # noqa: E402
from sagemaker import LinearLearner  # noqa: E402

FEATURES = 2


def step(text: str) -> None:
    print(f"step: {text}", flush=True)


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}", flush=True)


def regression_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 features (rows, 2) and labels 3*x1 - 2*x2 + 1 + small noise."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, FEATURES)).astype("float32")
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 + rng.normal(scale=0.01, size=rows)
    return features, labels.astype("float32")


def main() -> None:
    session = sagemaker.Session()
    bucket = session.default_bucket()

    step("LinearLearner(predictor_type='regressor').record_set for train and test")
    estimator = LinearLearner(
        instance_count=1,
        instance_type="ml.m4.xlarge",
        predictor_type="regressor",
        output_path=f"s3://{bucket}/sdk-v2-records/output",
        data_location=f"s3://{bucket}/sdk-v2-records/data/",
        sagemaker_session=session,
    )
    train = estimator.record_set(*regression_rows(2000, 0), channel="train")
    test = estimator.record_set(*regression_rows(500, 1), channel="test")
    check(train.s3_data_type == "ManifestFile", f"train is a manifest at {train.s3_data}")
    keys = sorted(session.list_s3_files(bucket, "sdk-v2-records/data/"))
    check(any(k.endswith("/matrix_0.pbr") for k in keys), f"protobuf shards uploaded: {keys}")

    step("fit([train, test]) on RecordIO-protobuf")
    estimator.fit([train, test], mini_batch_size=100, wait=True, logs="All")
    job = estimator.latest_training_job.name
    described = session.describe_training_job(job)
    check(described["TrainingJobStatus"] == "Completed", f"job {job} Completed")
    channels = described["InputDataConfig"]
    check(all("ContentType" not in c for c in channels), "channels sent without ContentType")
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    check(metrics["test:mse"] < 0.1, f"test:mse {metrics['test:mse']}")

    step("deploy, then LinearLearnerPredictor.predict(numpy array)")
    endpoint = f"{job}-ep"[:63]
    predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.m4.xlarge", endpoint_name=endpoint, wait=False
    )
    session.wait_for_endpoint(endpoint, poll=1)
    results = predictor.predict(np.array([[1.0, 2.0], [2.0, 0.0]], dtype="float32"))
    scores = [record.label["score"].float32_tensor.values[0] for record in results]
    print(f"  scores {scores}", flush=True)
    check(len(results) == 2, "one Record per row")
    check(np.allclose(scores, [0.0, 7.0], atol=1.0), "scores near 3*x1 - 2*x2 + 1")
    predictor.delete_model()
    predictor.delete_endpoint()
    waiter = session.sagemaker_client.get_waiter("endpoint_deleted")
    waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    check(not session.sagemaker_client.list_endpoints()["Endpoints"], "endpoint deleted")

    check(REFUSED == [], "no host other than the loopback address was looked up")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:
        print(f"FAILED: {type(error).__name__}: {error}", flush=True)
        if REFUSED:
            print(f"hosts looked up: {sorted(set(REFUSED))}", flush=True)
        raise SystemExit(1) from error
    sys.exit(0)
