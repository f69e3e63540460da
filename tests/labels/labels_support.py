"""Helpers for the labels tests: addresses from many countries, poppler readers, and
the pieces of the real-CUPS fixture (the fixtures themselves are in conftest.py)."""

from __future__ import annotations

import getpass
import pwd
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from discflow.domain import Address
from discflow.labels import LabelItem

STREET_60 = "1234 Extraordinarily Long Boulevard Name Extension, Bldg 5 C"
assert len(STREET_60) == 60


def world_items() -> list[LabelItem]:
    """Ten addresses: US, CA, GB, DE, FR, IT, BR, RU (Cyrillic), JP (Japanese), AU."""

    def a(name: str, lines: tuple[str, ...], city: str, postcode: str, country: str,
          region: str | None = None) -> Address:  # fmt: skip
        return Address(name, lines, city, postcode, country, region)

    rows = [
        a("Jane Doe", (STREET_60,), "Mountain View", "94043", "US", "CA"),
        a("Émilie Tremblay", ("1200 Rue Sainte-Catherine O",), "Montréal", "H3B 1K9", "CA", "QC"),
        a("Oliver Smith", ("Flat 3", "221B Baker Street"), "London", "NW1 6XE", "GB"),
        a("Jürgen Groß", ("Königstraße 12",), "Stuttgart", "70173", "DE"),
        a("Amélie Poulain", ("15 rue des Trois Frères",), "Paris", "75018", "FR"),
        a("Giulia Bianchi", ("Via del Corso 101",), "Roma", "00186", "IT", "RM"),
        a("João Conceição", ("Av. Paulista, 1578", "Bela Vista"), "São Paulo", "01310-200", "BR",
          "SP"),
        a("Иван Петров", ("ул. Лесная, д. 5, кв. 176",), "Москва", "125075", "RU",
          "Московская обл."),
        a("山田太郎", ("千代田1-1",), "千代田区", "100-0001", "JP", "東京都"),
        a("Mia Nguyen", ("Unit 4", "88 George Street"), "Sydney", "2000", "AU", "NSW"),
    ]  # fmt: skip
    return [
        LabelItem(ship_to=a, order_id=f"ORD-{i:03d}", request_id=f"REQ-{i:03d}-A")
        for i, a in enumerate(rows)
    ]


def pdftotext(pdf: Path | bytes, *, layout: bool = False) -> str:
    args = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else []) + ["-", "-"]
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    return subprocess.run(args, input=data, capture_output=True, check=True).stdout.decode()


def pdfinfo(pdf: Path | bytes) -> dict[str, str]:
    data = pdf.read_bytes() if isinstance(pdf, Path) else pdf
    out = subprocess.run(["pdfinfo", "-"], input=data, capture_output=True, check=True)
    info: dict[str, str] = {}
    for line in out.stdout.decode().splitlines():
        key, _, value = line.partition(":")
        info[key.strip()] = value.strip()
    return info


@dataclass(frozen=True)
class Word:
    page: int
    text: str
    x0: float
    y0: float  # poppler's coordinates: points from the page's top-left corner
    x1: float
    y1: float


def pdf_words(pdf: bytes) -> list[Word]:
    """Every word poppler finds, with its bounding box (``pdftotext -bbox``)."""
    html = subprocess.run(
        ["pdftotext", "-bbox", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
        check=True,
    ).stdout.decode()  # fmt: skip
    words: list[Word] = []
    page = -1
    for line in html.splitlines():
        if "<page " in line:
            page += 1
        m = re.search(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*)</word>',
            line,
        )
        if m:
            x0, y0, x1, y1 = (float(m.group(i)) for i in range(1, 5))
            text = m.group(5).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
            words.append(Word(page, text, x0, y0, x1, y1))
    return words


# ---------------------------------------------------------------- real CUPS


@dataclass(frozen=True)
class CupsQueue:
    name: str
    output_dir: Path


def scheduler_running() -> bool:
    done = subprocess.run(["lpstat", "-r"], capture_output=True, text=True, check=False)
    return "is running" in done.stdout


def cups_pdf_out_dir() -> Path:
    # cups-pdf writes to the ``Out`` directory of /etc/cups/cups-pdf.conf, where
    # ${HOME} is the home of the user who submitted the job (Debian: ${HOME}/PDF).
    conf = Path("/etc/cups/cups-pdf.conf")
    out = "/var/spool/cups-pdf/${USER}"
    if conf.exists():
        for line in conf.read_text().splitlines():
            if line.startswith("Out "):
                out = line.split(None, 1)[1].strip()
    user = getpass.getuser()
    home = pwd.getpwnam(user).pw_dir
    return Path(out.replace("${HOME}", home).replace("${USER}", user))


def wait_for_pdf(folder: Path, token: str, *, timeout_s: float = 60) -> Path:
    """The finished cups-pdf output whose name contains ``token`` (bounded wait)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for path in folder.glob(f"*{token}*.pdf") if folder.exists() else []:
            size = path.stat().st_size
            time.sleep(0.3)  # cups-pdf writes then renames; make sure it stopped growing
            if size > 0 and path.stat().st_size == size:
                return path
        time.sleep(0.3)
    listing = sorted(p.name for p in folder.glob("*")) if folder.exists() else "missing"
    pytest.fail(f"cups-pdf produced no PDF named *{token}* in {folder} within {timeout_s}s"
                f" (folder holds {listing}; see /var/log/cups/error_log)")  # fmt: skip
