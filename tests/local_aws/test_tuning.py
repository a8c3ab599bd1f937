"""Hyperparameter tuning jobs on a real server: real linear-learner training jobs, small data.

Each strategy completes with the best job's objective the best of its jobs; parallel jobs
really overlap and never exceed the limit; Stop stops; a job whose trainings all fail fails as
SageMaker words it; List filters, sorts and pages; bad requests get clear errors.
"""

from __future__ import annotations

import itertools
import re
import threading

import pytest
from botocore.exceptions import ClientError

from local_aws.sagemaker import tuning_space
from local_aws.sagemaker.responses import OPERATIONS

from . import flow, tuning_flow

TUNING_OPERATIONS = {name for name in OPERATIONS if "HyperParameterTuningJob" in name}


@pytest.fixture(scope="module")
def channels(aws, clients):
    return tuning_flow.upload_channels(clients.s3, aws.bucket, "tuning")


def request_for(aws, channels, name, **options):
    output = f"s3://{aws.bucket}/tuning/out"
    return tuning_flow.tuning_request(name, aws.role_arn, channels, output, **options)


def best_is_best(answer: dict, jobs: list[dict]) -> None:
    """BestTrainingJob is the job with the best objective among ``jobs``."""
    objective = answer["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
    values = {
        job["TrainingJobName"]: job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        for job in jobs
    }
    best = (max if objective["Type"] == "Maximize" else min)(values.values())
    chosen = answer["BestTrainingJob"]
    assert chosen["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == best
    assert values[chosen["TrainingJobName"]] == best


class ConcurrencyWatch:
    """Counts the tuning job's InProgress training jobs (ListTrainingJobs) every 20 ms, in a
    thread, until ``stop()``; ``most`` is the highest count seen."""

    def __init__(self, sagemaker, name: str):
        self.sagemaker, self.name, self.most = sagemaker, name, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        for _ in range(30_000):  # bounded: 10 minutes at most
            running = self.sagemaker.list_training_jobs(
                NameContains=self.name, StatusEquals="InProgress", MaxResults=100
            )["TrainingJobSummaries"]
            self.most = max(self.most, len(running))
            if self._done.wait(0.02):
                return

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return self.most


def test_random_search_runs_parallel_real_trainings_and_reports_the_best(aws, clients, channels):
    sagemaker = clients.sagemaker
    request = request_for(aws, channels, "tune-random", max_jobs=4, max_parallel=2)
    request["Tags"] = [{"Key": "project", "Value": "flights"}]
    arn = sagemaker.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    assert arn.endswith(":hyper-parameter-tuning-job/tune-random")
    watch = ConcurrencyWatch(sagemaker, "tune-random")
    answer = tuning_flow.wait_for_tuning(sagemaker, "tune-random")
    most_at_once = watch.stop()

    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer.get("FailureReason")
    assert most_at_once == 2  # two really ran at once, never three
    assert answer["TrainingJobStatusCounters"]["Completed"] == 4
    assert answer["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    jobs = tuning_flow.training_jobs_of(sagemaker, "tune-random")
    assert len(jobs) == 4
    best_is_best(answer, jobs)
    names = sorted(job["TrainingJobName"] for job in jobs)
    assert [name[: len("tune-random-001")] for name in names] == [
        f"tune-random-00{n}" for n in range(1, 5)
    ]
    assert all(re.fullmatch(r"tune-random-00\d-[0-9a-f]{8}", name) for name in names)

    described = sagemaker.describe_training_job(
        TrainingJobName=answer["BestTrainingJob"]["TrainingJobName"]
    )
    assert described["TuningJobArn"] == arn
    assert described["HyperParameters"] == {
        **request["TrainingJobDefinition"]["StaticHyperParameters"],
        **answer["BestTrainingJob"]["TunedHyperParameters"],
        "_tuning_objective_metric": tuning_flow.OBJECTIVE,
    }
    assert 0.0001 <= float(described["HyperParameters"]["learning_rate"]) <= 0.5
    listed = sagemaker.list_training_jobs(NameContains="tune-random", MaxResults=100)
    assert len(listed["TrainingJobSummaries"]) == 4
    tags = sagemaker.list_tags(ResourceArn=described["TrainingJobArn"])["Tags"]
    assert tags == request["Tags"]  # the tuning job's tags go to its training jobs
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "lab"}])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [
        {"Key": "project", "Value": "flights"},
        {"Key": "stage", "Value": "lab"},
    ]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_hyper_parameter_tuning_job(**request)
    assert caught.value.response["Error"]["Code"] == "ResourceInUse"


def test_bayesian_search_with_integer_and_continuous_ranges(aws, clients, channels):
    ranges = {
        "IntegerParameterRanges": [
            {
                "Name": "mini_batch_size",
                "MinValue": "20",
                "MaxValue": "100",
                "ScalingType": "Linear",
            }
        ],
        "ContinuousParameterRanges": [
            {
                "Name": "wd",
                "MinValue": "0.0",
                "MaxValue": "0.9",
                "ScalingType": "ReverseLogarithmic",
            }
        ],
    }
    request = request_for(
        aws, channels, "tune-bayes", strategy="Bayesian", ranges=ranges, max_jobs=3
    )
    del request["TrainingJobDefinition"]["StaticHyperParameters"]["mini_batch_size"]
    clients.sagemaker.create_hyper_parameter_tuning_job(**request)
    answer = tuning_flow.wait_for_tuning(clients.sagemaker, "tune-bayes")

    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer.get("FailureReason")
    jobs = tuning_flow.training_jobs_of(clients.sagemaker, "tune-bayes")
    assert len(jobs) == 3
    best_is_best(answer, jobs)
    for job in jobs:
        tuned = job["TunedHyperParameters"]
        assert 20 <= int(tuned["mini_batch_size"]) <= 100
        assert 0.0 <= float(tuned["wd"]) <= 0.9


def test_grid_search_runs_every_combination_once_and_maximizes(aws, clients, channels):
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "learning_rate", "Values": ["0.001", "0.1"]},
            {"Name": "use_bias", "Values": ["true", "false"]},
        ]
    }
    request = request_for(
        aws,
        channels,
        "tune-grid",
        strategy="Grid",
        ranges=ranges,
        max_jobs=None,
        objective_type="Maximize",
    )
    clients.sagemaker.create_hyper_parameter_tuning_job(**request)
    answer = tuning_flow.wait_for_tuning(clients.sagemaker, "tune-grid")

    assert answer["HyperParameterTuningJobStatus"] == "Completed", answer.get("FailureReason")
    jobs = tuning_flow.training_jobs_of(clients.sagemaker, "tune-grid")
    combinations = sorted(
        (job["TunedHyperParameters"]["learning_rate"], job["TunedHyperParameters"]["use_bias"])
        for job in jobs
    )
    assert combinations == sorted(itertools.product(["0.001", "0.1"], ["true", "false"]))
    best_is_best(answer, jobs)  # Maximize: the highest loss wins, as asked


def test_stop_stops_the_running_training_job(aws, clients, channels):
    sagemaker = clients.sagemaker
    request = request_for(aws, channels, "tune-stop", max_jobs=3, max_parallel=1)
    request["TrainingJobDefinition"]["StaticHyperParameters"]["epochs"] = "200"
    sagemaker.create_hyper_parameter_tuning_job(**request)
    first = flow.poll_until(
        lambda: tuning_flow.training_jobs_of(sagemaker, "tune-stop"), bool, 60, 0.05
    )[0]["TrainingJobName"]
    flow.wait_for_status(sagemaker, first, "Training")
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    stopping = sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-stop"
    )
    assert stopping["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    answer = tuning_flow.wait_for_tuning(sagemaker, "tune-stop")

    assert answer["HyperParameterTuningJobStatus"] == "Stopped"
    assert sagemaker.describe_training_job(TrainingJobName=first)["TrainingJobStatus"] == "Stopped"
    assert answer["TrainingJobStatusCounters"]["Stopped"] == 1
    assert len(tuning_flow.training_jobs_of(sagemaker, "tune-stop")) == 1  # none started after
    with pytest.raises(ClientError, match="in status Stopped") as caught:
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="tune-stop")
    assert caught.value.response["Error"]["Code"] == "ValidationException"


def test_a_job_whose_trainings_all_fail_fails_as_sagemaker_words_it(aws, clients, channels):
    request = request_for(
        aws, channels, "tune-fail", max_jobs=2, static={"mini_batch_size": "100000"}
    )
    clients.sagemaker.create_hyper_parameter_tuning_job(**request)
    answer = tuning_flow.wait_for_tuning(clients.sagemaker, "tune-fail")

    assert answer["HyperParameterTuningJobStatus"] == "Failed"
    assert answer["FailureReason"] == (
        "No training job succeeded after 2 attempts. Please take a look at the training job "
        "failures to get more details."
    )
    assert answer["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert answer["ObjectiveStatusCounters"]["Failed"] == 2
    assert "BestTrainingJob" not in answer
    jobs = tuning_flow.training_jobs_of(clients.sagemaker, "tune-fail")
    assert all("mini_batch_size" in job["FailureReason"] for job in jobs)


def test_lists_filter_sort_and_page(clients):
    """Runs after the jobs above."""
    sagemaker = clients.sagemaker
    names = [
        summary["HyperParameterTuningJobName"]
        for summary in sagemaker.list_hyper_parameter_tuning_jobs(
            SortBy="Name", SortOrder="Ascending", MaxResults=100
        )["HyperParameterTuningJobSummaries"]
    ]
    assert names == sorted(["tune-random", "tune-bayes", "tune-grid", "tune-stop", "tune-fail"])
    completed = sagemaker.list_hyper_parameter_tuning_jobs(
        StatusEquals="Completed", NameContains="TUNE-", SortBy="Name", SortOrder="Ascending"
    )["HyperParameterTuningJobSummaries"]
    assert [s["HyperParameterTuningJobName"] for s in completed] == [
        "tune-bayes",
        "tune-grid",
        "tune-random",
    ]
    first = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=2)
    second = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=2, NextToken=first["NextToken"])
    paged = first["HyperParameterTuningJobSummaries"] + second["HyperParameterTuningJobSummaries"]
    newest = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=4)
    assert paged == newest["HyperParameterTuningJobSummaries"]

    by_value = tuning_flow.training_jobs_of(
        sagemaker, "tune-random", SortBy="FinalObjectiveMetricValue", SortOrder="Ascending"
    )
    values = [job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for job in by_value]
    assert values == sorted(values) and len(values) == 4
    page = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="tune-random", MaxResults=3, SortBy="Name"
    )
    assert len(page["TrainingJobSummaries"]) == 3 and "NextToken" in page
    stopped = tuning_flow.training_jobs_of(sagemaker, "tune-stop", StatusEquals="Stopped")
    assert len(stopped) == 1
    assert tuning_flow.training_jobs_of(sagemaker, "tune-stop", StatusEquals="Completed") == []


LOG_RANGE = {"Name": "learning_rate", "MinValue": "0", "MaxValue": "0.5"}


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"][
                "ContinuousParameterRanges"
            ][0].update(MinValue="0"),
            "ValidationException",
            "Logarithmic scaling works only for ranges that have only values greater than 0",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(
                ParameterRanges={
                    "IntegerParameterRanges": [
                        {**LOG_RANGE, "MaxValue": "5", "ScalingType": "ReverseLogarithmic"}
                    ]
                }
            ),
            "ValidationException",
            "ReverseLogarithmic scaling is not supported for integer ranges",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(
                ParameterRanges={"ContinuousParameterRanges": [{**LOG_RANGE, "MinValue": "0.6"}]}
            ),
            "ValidationException",
            "MinValue 0.6 is greater than MaxValue 0.5",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(Strategy="Grid"),
            "ValidationException",
            "The Grid strategy takes categorical parameter ranges only; learning_rate is not",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(
                Strategy="Grid",
                ParameterRanges={
                    "CategoricalParameterRanges": [
                        {"Name": "use_bias", "Values": ["true", "false"]}
                    ]
                },
            ),
            "ValidationException",
            "MaxNumberOfTrainingJobs is 3, but the Grid strategy runs every one of the 2",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].pop(
                "MaxNumberOfTrainingJobs"
            ),
            "ValidationException",
            "MaxNumberOfTrainingJobs is required for the Random strategy",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"].update(Strategy="Hyperband"),
            "ValidationException",
            "Strategy 'Hyperband' is not served",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"].update(
                MetricName="validation:accuracy"
            ),
            "ValidationException",
            "The objective metric 'validation:accuracy' is not one the algorithm reports",
        ),
        (
            lambda r: r["TrainingJobDefinition"]["StaticHyperParameters"].update(
                learning_rate="0.1"
            ),
            "ValidationException",
            "learning_rate are given both as static hyperparameters and as ranges",
        ),
        (
            lambda r: r["TrainingJobDefinition"]["AlgorithmSpecification"].update(
                TrainingImage="123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"
            ),
            "ValidationException",
            "only the built-in linear-learner image runs",
        ),
        (
            lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(
                MaxParallelTrainingJobs=0
            ),
            "ValidationException",
            "Member must have value greater than or equal to 1",
        ),
    ],
)
def test_bad_requests_are_refused_clearly(aws, clients, channels, change, code, message):
    request = request_for(aws, channels, "tune-bad")
    change(request)
    with pytest.raises(ClientError) as caught:
        flow.unchecked_client(aws, "sagemaker").create_hyper_parameter_tuning_job(**request)
    error = caught.value.response["Error"]
    assert (error["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        code,
        400,
    )
    assert message in error["Message"]


def test_missing_tuning_job_is_resource_not_found(clients):
    for call in (
        clients.sagemaker.describe_hyper_parameter_tuning_job,
        clients.sagemaker.stop_hyper_parameter_tuning_job,
        clients.sagemaker.list_training_jobs_for_hyper_parameter_tuning_job,
    ):
        with pytest.raises(clients.sagemaker.exceptions.ResourceNotFound, match="no-such-tuning"):
            call(HyperParameterTuningJobName="no-such-tuning")


@pytest.mark.parametrize("strategy", ["Random", "Bayesian"])
def test_random_seed_makes_the_proposals_reproducible(strategy):
    def proposals(seed: int) -> list[dict]:
        config = {
            "Strategy": strategy,
            "RandomSeed": seed,
            "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:mse"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 12, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {
                "ContinuousParameterRanges": [
                    {
                        "Name": "wd",
                        "MinValue": "0",
                        "MaxValue": "0.99",
                        "ScalingType": "ReverseLogarithmic",
                    }
                ],
                "IntegerParameterRanges": [
                    {"Name": "mini_batch_size", "MinValue": "10", "MaxValue": "500"}
                ],
            },
        }
        ranges, jobs = tuning_space.parse(config)
        space = tuning_space.SearchSpace(config, ranges)
        found = []
        for number in range(jobs):  # past TPE's 10 random start-up trials
            trial, tuned = space.ask()
            space.tell(trial, float(tuned["wd"]) + number)
            found.append(tuned)
        return found

    first = proposals(5)
    assert first == proposals(5)
    assert first != proposals(6)
    assert all(
        0 <= float(p["wd"]) <= 0.99 and 10 <= int(p["mini_batch_size"]) <= 500 for p in first
    )


def test_every_tuning_operation_answer_was_validated(response_checker):
    """Runs last in this module: each tuning operation was checked against its output shape."""
    expected = {("sagemaker", name) for name in TUNING_OPERATIONS}
    assert len(expected) == 5
    assert expected - response_checker.checked == set()
