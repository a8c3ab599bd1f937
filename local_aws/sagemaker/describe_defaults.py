"""The defaults SageMaker fills into a Create request, which its Describe answers then show.

A client reads these members whether or not the Create sent them: SageMaker SDK v2's
``Estimator.attach`` reads ``OutputDataConfig["KmsKeyId"]``, ``ResourceConfig["VolumeSizeInGB"]``
and ``StoppingCondition["MaxRuntimeInSeconds"]`` unconditionally
(``_prepare_init_params_from_job_description`` in src/sagemaker/estimator.py, v2.257.6).

Where each default comes from:

- A public ``aws sagemaker describe-training-job`` output (schematical/sc-terraform, a module
  README) shows, for a job created without them: ``AlgorithmSpecification``
  ``EnableSageMakerMetricsTimeSeries: false``; each channel ``CompressionType: "None"`` and
  ``RecordWrapperType: "None"``; ``OutputDataConfig.KmsKeyId: ""``;
  ``EnableNetworkIsolation``, ``EnableInterContainerTrafficEncryption`` and
  ``EnableManagedSpotTraining`` false; ``ProfilingStatus: "Disabled"``; no CheckpointConfig,
  RetryStrategy or DebugHookConfig unless given.
- botocore's service model documents ``OutputDataConfig.CompressionType`` "Defaults to gzip",
  ``StoppingCondition.MaxRuntimeInSeconds`` "The default value is 1 day" and
  ``ProductionVariant.InitialVariantWeight`` "If unspecified, it defaults to 1.0".
- AWS's TransformInput reference: ``SplitType`` and ``CompressionType`` "The default value is
  None" (DescribeTransformJob shows ``"None"``).
- Our choices, where nothing public says: ``ResourceConfig.VolumeSizeInGB`` 30 (the SageMaker
  SDK's default), ``S3DataDistributionType`` ``FullyReplicated`` (the SDK's default), a
  container's ``Mode`` ``SingleModel`` (the only mode served here).
"""

from __future__ import annotations

import copy

TRAINING_FLAGS = (
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
)
DEFAULT_MAX_RUNTIME_SECONDS = 86_400
DEFAULT_VOLUME_SIZE_GB = 30


def training_job_request(request: dict) -> dict:
    """A copy of a CreateTrainingJob request with SageMaker's defaults filled in."""
    filled = copy.deepcopy(request)
    filled.setdefault("HyperParameters", {})
    filled["AlgorithmSpecification"].setdefault("EnableSageMakerMetricsTimeSeries", False)
    for channel in filled.get("InputDataConfig", []):
        channel.setdefault("CompressionType", "None")
        channel.setdefault("RecordWrapperType", "None")
        source = channel["DataSource"].get("S3DataSource")
        if source is not None:
            source.setdefault("S3DataDistributionType", "FullyReplicated")
    output = filled["OutputDataConfig"]
    output.setdefault("KmsKeyId", "")
    output.setdefault("CompressionType", "GZIP")
    if "ResourceConfig" in filled:
        filled["ResourceConfig"].setdefault("VolumeSizeInGB", DEFAULT_VOLUME_SIZE_GB)
    stopping = filled.setdefault("StoppingCondition", {})
    stopping.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)
    for flag in TRAINING_FLAGS:
        filled.setdefault(flag, False)
    return filled


def profiling_status(request: dict) -> str:
    """DescribeTrainingJob's ProfilingStatus: Enabled only if a ProfilerConfig asks for it."""
    config = request.get("ProfilerConfig")
    return "Enabled" if config and not config.get("DisableProfiler") else "Disabled"


def model_request(request: dict) -> dict:
    """A copy of a CreateModel request with SageMaker's defaults filled in."""
    filled = copy.deepcopy(request)
    for container in [filled.get("PrimaryContainer"), *filled.get("Containers", [])]:
        if container is not None:
            container.setdefault("Mode", "SingleModel")
    filled.setdefault("EnableNetworkIsolation", False)
    return filled


def endpoint_config_request(request: dict) -> dict:
    """A copy of a CreateEndpointConfig request with SageMaker's defaults filled in."""
    filled = copy.deepcopy(request)
    for variant in filled["ProductionVariants"]:
        variant.setdefault("InitialVariantWeight", 1.0)
    return filled


def transform_job_request(request: dict) -> dict:
    """A copy of a CreateTransformJob request with SageMaker's defaults filled in."""
    filled = copy.deepcopy(request)
    filled["TransformInput"].setdefault("SplitType", "None")
    filled["TransformInput"].setdefault("CompressionType", "None")
    return filled
