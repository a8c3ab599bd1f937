"""The locks in locks/ against the requirements files they are compiled from (`make lock`), and
the lab's SDK imports without the parts the locks leave out."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)(?: ; (.+?))?(?: \\)?$")
NEVER = "sys_platform == 'never'"


def normalized(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock):
    """{name: (version, marker or None)} of a lock file."""
    found = {}
    for line in (PROJECT_ROOT / "locks" / lock).read_text().splitlines():
        match = PIN.match(line)
        if match:
            found[normalized(match[1])] = (match[2], match[3])
    return found


def required(requirements):
    """Project names a requirements file asks for, following ``-r`` includes."""
    names = []
    for line in (PROJECT_ROOT / requirements).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names += required(line[3:].strip())
        elif line:
            names.append(normalized(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0]))
    return names


def left_out():
    """Projects locks/overrides.txt leaves out of every lock."""
    lines = (PROJECT_ROOT / "locks" / "overrides.txt").read_text().splitlines()
    return [normalized(line.split(";")[0]) for line in lines if line and not line.startswith("#")]


@pytest.mark.parametrize(
    "requirements, lock",
    [
        ("requirements.txt", "lab.txt"),
        ("requirements-dev.txt", "dev.txt"),
        ("requirements-jupyter.txt", "jupyter.txt"),
        ("requirements-sdk-v2.txt", "sdk-v2.txt"),
    ],
)
def test_every_requirement_is_pinned_with_hashes(requirements, lock):
    locked = pins(lock)
    for name in required(requirements):
        assert name in locked, f"{name} from {requirements} is not in locks/{lock}"
        assert locked[name][1] != NEVER, f"{name} is required but left out of locks/{lock}"
    lines = (PROJECT_ROOT / "locks" / lock).read_text().splitlines()
    for pin, following in zip(lines, lines[1:], strict=False):
        if PIN.match(pin):
            assert following.strip().startswith("--hash=sha256:"), f"{pin} has no hash"


@pytest.mark.parametrize("lock", ["lab.txt", "dev.txt", "jupyter.txt"])
def test_the_sdk_parts_the_lab_never_imports_are_left_out(lock):
    locked = pins(lock)
    for name in left_out():
        assert locked.get(name, (None, NEVER))[1] == NEVER, f"{name} would be installed"


@pytest.mark.parametrize("lock", ["dev.txt", "jupyter.txt"])
def test_the_larger_sets_install_the_lab_set_unchanged(lock):
    lab, larger = pins("lab.txt"), pins(lock)
    for name, (version, marker) in lab.items():
        if marker != NEVER:
            assert larger[name][0] == version, f"{name}: lab {version}, {lock} {larger[name][0]}"


def test_the_notebooks_sdk_imports_work_without_the_parts_left_out():
    blocked = ["mlflow", "sagemaker.serve", "sagemaker.mlops"]
    script = (
        "import sys\n"
        f"for name in {blocked!r}:\n"
        "    sys.modules[name] = None  # importing it now raises ImportError\n"
        "from sagemaker.core import image_uris\n"
        "from sagemaker.core.resources import Endpoint, EndpointConfig, Model, TrainingJob\n"
        "from sagemaker.core.shapes import ContainerDefinition, ProductionVariant\n"
        "from sagemaker.train import ModelTrainer\n"
        "from sagemaker.train.configs import Compute, InputData, OutputDataConfig, S3DataSource\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
