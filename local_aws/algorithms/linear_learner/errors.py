"""The two failure kinds of a SageMaker training job, as the real container reports them.

``ClientError`` is the customer's fault (data, configuration); ``AlgorithmError`` is ours.
``str(error)`` is the text written to ``/opt/ml/output/failure`` (first line = FailureReason).
"""


class TrainingFailure(Exception):
    """Base of the failures that end a training job with a reason."""

    kind = "AlgorithmError"

    def __str__(self) -> str:
        return f"{self.kind}: {super().__str__()}"


class ClientError(TrainingFailure):
    """Bad hyperparameters, channels or data: the customer can fix it."""

    kind = "ClientError"


class AlgorithmError(TrainingFailure):
    """A fault of the algorithm itself."""

    kind = "AlgorithmError"
