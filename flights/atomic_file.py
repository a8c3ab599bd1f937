"""Files that appear only complete: written to a recognizable hidden temporary, then renamed.

A temporary is named ``.<name>.atomic-<pid>-<random>.tmp`` next to its target, so a later run
can tell which ones it made and whether their writer is still alive: one left by a process that
was killed (kill -9, a power cut) is removed the next time the same target is written. Files of
any other name, and temporaries of a process that is still running, are never touched.
"""

import contextlib
import os
import re
import stat
import tempfile
from pathlib import Path

_TAG = "atomic"


def _temp_pattern(name):
    """The names of our temporaries for the target file ``name``; group 1 is the writer's pid."""
    return re.compile(rf"\.{re.escape(name)}\.{_TAG}-([0-9]+)-[a-z0-9_]+\.tmp")


def _is_running(pid):
    """True if a process ``pid`` exists (one of another user counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(path):
    """Remove the temporaries for ``path`` left by writers that no longer run.

    Returns the names removed. A pid reused by an unrelated process keeps its file until that
    process ends (the safe side: nothing that may still be written is removed).
    """
    path = Path(path)
    pattern = _temp_pattern(path.name)
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path.parent):
            match = pattern.fullmatch(entry.name)
            if match and not _is_running(int(match.group(1))):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def _final_mode(path):
    """The permission bits ``path`` should get: those of the file it replaces, else 0666 less
    the umask (what a plain ``open`` would create)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_output(path):
    """Yield a binary file that replaces ``path`` only when the block completes.

    The data goes to a hidden temporary file in the same directory (stale ones of earlier,
    killed writers are removed first); on any exception (including KeyboardInterrupt) it is
    removed and ``path`` is left untouched. The file keeps the permissions of the file it
    replaces; a new file gets 0666 less the umask, not the private mode of a temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.{_TAG}-{os.getpid()}-", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
