"""Training jobs and endpoints as child processes of the emulator.

``kill_all()`` stops every live one at once; the server calls it when it shuts down (it also
runs at interpreter exit).
"""

from local_aws.workers.hosting import EndpointWorker, InvokeResult, WorkerError, WorkerUnavailable
from local_aws.workers.processes import kill_all
from local_aws.workers.training import ChannelData, TrainingEvent, TrainingWorker

__all__ = [
    "ChannelData",
    "EndpointWorker",
    "InvokeResult",
    "TrainingEvent",
    "TrainingWorker",
    "WorkerError",
    "WorkerUnavailable",
    "kill_all",
]
