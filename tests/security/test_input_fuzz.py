"""Hypothesis against the parsers that read what others wrote: the hot-folder
status files of PTBurn and TD Bridge, the workload loader, and the agent
config. Each either gives a result or refuses with discflow's own error (a
clear message); nothing else may escape. ISO ingest is fuzzed in
``tests/archive/test_iso_ingest.py``; here we add its server endpoint.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discflow.agent import parse_config
from discflow.agent.drivers import DRIVERS, DriverSettings, MediaTiming, WriteOrder, WriteReport
from discflow.archive import BlobStore
from discflow.errors import DiscflowError
from discflow.scheduler import parse_workload

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# INI-ish text that often hits the keys the drivers look for
_KEYS = st.sampled_from(
    [
        "GoodDiscs",
        "BadDiscs",
        "CurrentStatus",
        "SystemStatus",
        "STATUS",
        "COMPLETION_NUMBER",
        "ERRORDISC_NUMBER",
        "DETAIL_STATUS",
        "ERROR",
        "RobotList",
        "Robot0",
        "NAME",
    ]
)
_VALUES = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", "1", "2", "3", "4", "5", "9", "out of discs", "x", "-0", "1e9", "NaN"]),
    st.text(max_size=40),
)


@st.composite
def status_text(draw: st.DrawFn, stem: str) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["section", "job", "pair", "junk"]))
        if kind == "section":
            lines.append(f"[{draw(st.sampled_from(['System', 'Robot0', 'PUBLISHER1', '']))}]")
        elif kind == "job":
            lines.append(f"[{stem}]")
        elif kind == "pair":
            lines.append(f"{draw(_KEYS)} = {draw(_VALUES)}")
        else:
            lines.append(draw(st.text(max_size=60)))
    return "\n".join(lines)


def _driver(kind: str, jobs: Path) -> object:
    options: dict[str, object] = {"jobs_dir": str(jobs)}
    options["robot_name" if kind == "ptburn" else "publisher"] = "Robot0"
    return DRIVERS[kind].factory(
        DriverSettings(
            device_name="fuzz",
            drives=1,
            options=options,
            media={"CD-R": MediaTiming(write_Bps=7_800_000)},
            work_dir=jobs.parent / "work",
        )
    )


@pytest.fixture(scope="module")
def small_iso(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    root = tmp_path_factory.mktemp("iso")
    (root / "tree").mkdir()
    (root / "tree" / "a.txt").write_text("fuzz\n" * 100)
    blobs = BlobStore(root / "archive")
    stored = blobs.ingest_directory(root / "tree", volume_name="FUZZ")
    return blobs.path_of(stored.sha256), stored.sha256, stored.size_bytes


@pytest.mark.parametrize(
    ("kind", "status_name", "extensions"),
    [
        ("ptburn", "Status/Robot0.txt", ["JRQ", "QRJ", "INP", "DON", "ERR"]),
        ("tdbridge", "TDBStatus.txt", ["JDF", "RJD", "INP", "STP", "DON", "ERR", None]),
    ],
)
@FUZZ
@given(data=st.data())
def test_status_files_never_crash_the_driver(
    data: st.DataObject,
    kind: str,
    status_name: str,
    extensions: list[str | None],
    small_iso: tuple[Path, str, int],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    jobs = tmp_path_factory.mktemp(kind) / "jobs"
    jobs.mkdir()
    driver = _driver(kind, jobs)
    image, sha, size = small_iso
    order = WriteOrder(
        order_id="job-1",
        job_id="job-1",
        image=image,
        sha256=sha,
        size_bytes=size,
        media="CD-R",
        copies=data.draw(st.integers(1, 5)),
        volume_name="FUZZ",
        verify=data.draw(st.booleans()),
    )

    async def scenario() -> WriteReport | None:
        handle = await driver.submit(order)  # type: ignore[attr-defined]
        submitted = next(p for p in jobs.iterdir() if p.is_file() and p.stem == handle)
        ext = data.draw(st.sampled_from(extensions))
        if ext is None:
            submitted.unlink()
        else:
            submitted.rename(submitted.with_suffix(f".{ext}"))
        status = jobs / status_name
        status.parent.mkdir(parents=True, exist_ok=True)
        status.write_text(data.draw(status_text(handle)), "utf-8")
        try:
            report: WriteReport = await driver.poll(handle)  # type: ignore[attr-defined]
            return report
        except DiscflowError as error:
            assert str(error), "a refusal must say what was wrong"
            return None

    report = asyncio.run(scenario())
    if report is not None:
        assert len(report.discs) <= order.copies * 3 + 10, "discs counted out of thin air"
        assert 0.0 <= report.progress


_JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(2**64), 2**64), st.floats(), st.text(max_size=8)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_WORKLOAD_KEYS = ["devices", "requests", "contents", "media", "capacity_bytes", "drives", "copies"]


@FUZZ
@given(
    data=st.one_of(
        _JSON,
        st.dictionaries(st.sampled_from(_WORKLOAD_KEYS), _JSON, max_size=6),
    )
)
def test_workload_loader_refuses_cleanly(data: object) -> None:
    try:
        parse_workload(data)
    except DiscflowError as error:
        assert str(error)


@FUZZ
@given(text=st.text(max_size=300))
def test_workload_loader_from_json_text(text: str) -> None:
    try:
        parse_workload(json.loads(text))
    except json.JSONDecodeError:
        return  # not JSON: the CLI reports that before the loader runs
    except DiscflowError as error:
        assert str(error)


_CONFIG_KEYS = [
    "name",
    "driver",
    "listen",
    "token",
    "cache_dir",
    "cache_bytes",
    "drives",
    "media",
    "driver_options",
    "enrol_code",
    "tls_cert",
]


@FUZZ
@given(config=st.dictionaries(st.sampled_from(_CONFIG_KEYS), _JSON, max_size=8))
def test_agent_config_refuses_cleanly(config: dict[str, object]) -> None:
    try:
        parse_config(config, source="fuzz.toml")
    except DiscflowError as error:
        assert "fuzz.toml" in str(error), "the refusal names the file"
