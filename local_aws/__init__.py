"""A local AWS for the SageMaker lab: moto's S3, IAM, STS and Logs plus our SageMaker.

``start()`` runs the server and returns a handle (URL, client environment, ``stop()``);
``python -m local_aws serve`` runs it in the foreground.
"""

from .launcher import LocalAWS, start
from .persistence import StateDirInUse

__all__ = ["LocalAWS", "StateDirInUse", "start"]
