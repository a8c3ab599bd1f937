"""SDK v2's own linear-learner flow on RecordIO-protobuf, against a running emulator.

Run by ``test_sdk_v2_flow.py`` like ``sdk_v2_flow.py`` (same venv, same environment, loopback
lookups only). Steps, as the SDK's MNIST and fraud notebooks do them:
``sagemaker.LinearLearner`` (binary_classifier), ``record_set`` for train and test
(``upload_numpy_to_s3_shards``: protobuf shards and a manifest, channels without ContentType),
``fit``, ``deploy`` (a
``LinearLearnerPredictor``: ``RecordSerializer`` / ``RecordDeserializer``), ``predict`` on a
numpy array, each result's ``label["score"]`` and ``label["predicted_label"]``, delete.
"""

from __future__ import annotations

# isort: off
from flow_script import check, run, step  # beside this script: limits lookups to loopback

# isort: on
import numpy as np
import sagemaker
from sagemaker import LinearLearner

FEATURES = 2


def labelled_rows(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """float32 features (rows, 2) and labels 1 where 3*x1 - 2*x2 + 1 > 0, else 0."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, FEATURES)).astype("float32")
    labels = 3 * features[:, 0] - 2 * features[:, 1] + 1 > 0
    return features, labels.astype("float32")


def main() -> None:
    session = sagemaker.Session()
    bucket = session.default_bucket()

    step("LinearLearner(predictor_type='binary_classifier').record_set for train and test")
    estimator = LinearLearner(
        instance_count=1,
        instance_type="ml.m4.xlarge",
        predictor_type="binary_classifier",
        output_path=f"s3://{bucket}/sdk-v2-records/output",
        data_location=f"s3://{bucket}/sdk-v2-records/data/",
        sagemaker_session=session,
    )
    train = estimator.record_set(*labelled_rows(2000, 0), channel="train")
    test = estimator.record_set(*labelled_rows(500, 1), channel="test")
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
    accuracy = metrics["test:binary_classification_accuracy"]
    check(accuracy > 0.95, f"test:binary_classification_accuracy {accuracy}")

    step("deploy, then LinearLearnerPredictor.predict(numpy array)")
    endpoint = f"{job}-ep"[:63]
    predictor = estimator.deploy(
        initial_instance_count=1, instance_type="ml.m4.xlarge", endpoint_name=endpoint, wait=False
    )
    session.wait_for_endpoint(endpoint, poll=1)
    results = predictor.predict(np.array([[2.0, 0.0], [-1.0, 2.0]], dtype="float32"))
    scores = [record.label["score"].float32_tensor.values[0] for record in results]
    labels = [record.label["predicted_label"].float32_tensor.values[0] for record in results]
    print(f"  scores {scores}, predicted labels {labels}", flush=True)
    check(len(results) == 2, "one Record per row")
    check(labels == [1.0, 0.0], "predicted_label 1 where 3*x1 - 2*x2 + 1 > 0, else 0")
    check(scores[0] > 0.5 > scores[1], "score: the probability of label 1")
    predictor.delete_model()
    predictor.delete_endpoint()
    waiter = session.sagemaker_client.get_waiter("endpoint_deleted")
    waiter.wait(EndpointName=endpoint, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    check(not session.sagemaker_client.list_endpoints()["Endpoints"], "endpoint deleted")


if __name__ == "__main__":
    run(main)
