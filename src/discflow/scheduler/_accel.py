# Which build of the planner's hot modules runs (imported first by __init__).
#
# ``make venv`` compiles the modules in COMPILED with mypyc
# (scripts/compile_scheduler.py): the same source, type-checked and turned
# into C, about a third less planner CPU (BENCHMARKS.md, "Planner CPU, session
# 7"). An extension module shadows its .py, so a build left over from older
# source would run old code: the build writes each source's SHA-256 beside
# it (BUILD_MANIFEST), and unless every compiled module's source still
# hashes the same, or when DISCFLOW_PURE=1, every hot module is imported from
# its .py instead (a warning says why). Import-time file reads only; the
# planning itself stays free of I/O.
"""Use the mypyc-compiled hot modules when they match their source, else the source."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import warnings
from collections.abc import Sequence
from importlib.abc import MetaPathFinder
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from pathlib import Path
from types import ModuleType

# What the standing planner's step runs, its batch allocation and the model's
# records included (compiled, those are native classes: attribute reads in the
# planner are struct reads; the simulator, the baselines and the validator
# stay Python). Written for mypyc: a module constant read in a hot path is
# ``Final`` (a C constant, not a lookup in the module's globals), a hot record
# writes its own ``__init__`` (a dataclass's generated one stays interpreted),
# and a stdlib function is imported by name (``heapq.heappush`` would be an
# attribute lookup at every call). BENCHMARKS.md, "Planner CPU, session 9".
COMPILED = (
    "_allocate",
    "_blanks",
    "_build",
    "_cache",
    "_candidates",
    "_commit",
    "_discflow",
    "_handoff",
    "_keyheap",
    "_ledger",
    "_model",
    "_planned",
    "_pool",
    "_prefetch",
    "_regroup",
    "_state",
    "_wake",
)
BUILD_MANIFEST = "_compiled.json"  # module -> SHA-256 of the source it was built from
PURE_ENV = "DISCFLOW_PURE"
_HERE = Path(__file__).resolve().parent
_PACKAGE = __name__.rpartition(".")[0]


def source_digest(module: str, package_dir: Path = _HERE) -> str:
    return hashlib.sha256((package_dir / f"{module}.py").read_bytes()).hexdigest()


def compiled_files(module: str, package_dir: Path = _HERE) -> list[Path]:
    found = (package_dir / f"{module}{suffix}" for suffix in EXTENSION_SUFFIXES)
    return [path for path in found if path.exists()]


def stale_modules(package_dir: Path = _HERE) -> list[str]:
    """Compiled modules whose source changed since they were built (or whose
    build left no manifest)."""
    try:
        built = json.loads((package_dir / BUILD_MANIFEST).read_text())
    except (OSError, ValueError):
        built = {}
    return [
        module
        for module in COMPILED
        if compiled_files(module, package_dir)
        and built.get(module) != source_digest(module, package_dir)
    ]


class _FromSource(MetaPathFinder):
    """Finds the hot modules' .py files, ahead of their extension modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        package, _, module = fullname.rpartition(".")
        if package != _PACKAGE or module not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, _HERE / f"{module}.py")


def choose_build() -> str:
    """'compiled' or 'source', installing the source finder for the latter."""
    if not any(compiled_files(m) for m in COMPILED):
        return "source"
    if os.environ.get(PURE_ENV) != "1":
        stale = stale_modules()
        if not stale:
            return "compiled"
        warnings.warn(
            f"the compiled planner was built from other source ({', '.join(stale)}): "
            "running the source (slower); `make venv` rebuilds it",
            RuntimeWarning,
            stacklevel=2,
        )
    sys.meta_path.insert(0, _FromSource())
    return "source"


BUILD = choose_build()
