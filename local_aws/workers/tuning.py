"""The thread that runs one hyperparameter tuning job.

It asks the search space for hyperparameter values, creates each training job through the
backend's CreateTrainingJob path (so it is an ordinary training job, with its own worker
process), keeps at most MaxParallelTrainingJobs of them running at once until
``job.max_jobs`` have run, follows each to its end, tells the search space the objective,
and finally ends the tuning job. StopHyperParameterTuningJob sets ``stop()``: running
training jobs are stopped, none is started, and the job ends Stopped once they have ended.
``close()`` (the server stopping) ends the thread without a final status, so a recorded job
still reads InProgress and is Failed after a restart.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)

POLL_SECONDS = 0.1
"""How often the running training jobs' statuses are looked at."""


class TuningRun(threading.Thread):
    """Runs ``job`` (a ``sagemaker.tuning.TuningJob``) with ``space`` (its ``SearchSpace``).

    ``backend`` serves ``create_training_job(request)``, ``training_job_named(name)`` and
    ``stop_training_job(name)``, and ``training_arn(name)``; ``on_change(job)`` is called,
    holding ``job.lock``, after each change worth recording (a training job started or ended,
    the tuning job ended).
    """

    def __init__(self, job, space, backend, on_change):
        super().__init__(name=f"tuning-{job.name}", daemon=True)
        self.job = job
        self.space = space
        self.backend = backend
        self.on_change = on_change
        self._stop_asked = threading.Event()
        self._closed = threading.Event()
        self._running: dict[str, tuple] = {}  # training job name -> (Trial, optuna trial)

    def stop(self) -> None:
        """Stop the running training jobs, start no more, end Stopped."""
        self._stop_asked.set()

    def close(self) -> None:
        """The server is stopping: end the thread, leaving the job's status as it is."""
        self._closed.set()
        self._stop_asked.set()

    def run(self) -> None:
        try:
            self._run()
        except Exception as error:  # a fault of ours: the job fails rather than hangs
            log.exception("tuning job %s failed", self.job.name)
            with self.job.lock:
                self.job.fail(f"InternalServerError: the local emulator failed: {error}")
                self.on_change(self.job)

    def _run(self) -> None:
        limit = self.job.config["ResourceLimits"]["MaxParallelTrainingJobs"]
        stopping_sent = False
        while not self._closed.is_set():
            self._follow_running()
            if self._stop_asked.is_set():
                if not stopping_sent:
                    self._stop_running()
                    stopping_sent = True
                if not self._running:
                    return self._end(stopped=True)
            else:
                while len(self._running) < limit and len(self.job.trials) < self.job.max_jobs:
                    if not self._launch():
                        return
                if not self._running:
                    return self._end(stopped=False)
            self._stop_asked.wait(POLL_SECONDS)

    def _launch(self) -> bool:
        """Create the next training job; False (the tuning job failed) if it was refused."""
        trial, tuned = self.space.ask()
        with self.job.lock:
            record, request = self.job.new_trial(tuned, self.backend.training_arn)
        try:
            self.backend.create_training_job(request)
        except Exception as error:
            self.space.tell(trial, None)
            with self.job.lock:
                self.job.trials.remove(record)
                self.job.fail(f"Training job {record.name} could not be created: {error}")
                self.on_change(self.job)
            return False
        self._running[record.name] = (record, trial)
        with self.job.lock:
            self.on_change(self.job)
        return True

    def _follow_running(self) -> None:
        """Take each running training job's state; tell the search space of those that ended."""
        metric = self.job.objective["MetricName"]
        for name, (record, trial) in list(self._running.items()):
            training = self.backend.training_job_named(name)
            with training.lock:
                with self.job.lock:
                    record.follow(training, metric)
            if record.is_terminal:
                del self._running[name]
                self.space.tell(trial, record.objective)
                with self.job.lock:
                    self.job.touch()
                    self.on_change(self.job)

    def _stop_running(self) -> None:
        with self.job.lock:
            self.job.status = "Stopping"
            self.job.touch()
        for name in list(self._running):
            try:
                self.backend.stop_training_job(name)
            except Exception as error:  # it ended meanwhile: nothing to stop
                log.debug("tuning job %s: %s not stopped: %s", self.job.name, name, error)

    def _end(self, stopped: bool) -> None:
        with self.job.lock:
            self.job.finish(stopped)
            self.on_change(self.job)
