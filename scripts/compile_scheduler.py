"""Compile the planner's hot modules with mypyc, in place (run by ``make venv``).

Run: ``.venv/bin/python scripts/compile_scheduler.py [--clean]``.

The modules listed in ``discflow.scheduler._accel.COMPILED`` are type-checked
and compiled to C extension modules beside their .py files, and a manifest
records the SHA-256 of each source built, so that a build older than its
source is never used (see ``_accel``). Needs mypy (the dev extra) and a C
compiler with the Python headers; without them it says so and exits 0, and
the planner runs from source (same plans, more CPU). ``--clean`` removes the
build. ``DISCFLOW_PURE=1`` at run time ignores it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
PACKAGE = SRC / "discflow" / "scheduler"
sys.path.insert(0, str(SRC))
os.environ["DISCFLOW_PURE"] = "1"  # this process never loads the build it replaces

from discflow.scheduler import _accel  # noqa: E402  (after the path is set)

MYPY_CONFIG = """[mypy]
strict = True
python_version = 3.11
mypy_path = src
[mypy-scipy.*]
ignore_missing_imports = True
"""


def clean() -> None:
    """Remove every compiled module, the runtime library and the manifest."""
    for module in _accel.COMPILED:
        for path in _accel.compiled_files(module):
            path.unlink()
    for path in SRC.glob("*__mypyc*"):
        path.unlink()
    (PACKAGE / _accel.BUILD_MANIFEST).unlink(missing_ok=True)


def build() -> int:
    try:
        from mypyc.build import mypycify
        from setuptools import setup
    except ImportError as exc:
        print(f"compile_scheduler: not compiled ({exc}); the planner runs from source")
        return 0
    digests = {m: _accel.source_digest(m) for m in _accel.COMPILED}
    with tempfile.TemporaryDirectory(prefix="discflow-mypyc-") as tmp:
        work = Path(tmp)
        # A directory of its own: setuptools would read the project's pyproject.toml.
        (work / "src").symlink_to(SRC)
        (work / "mypy.ini").write_text(MYPY_CONFIG)
        out = work / "lib"
        here = Path.cwd()
        os.chdir(work)
        try:
            files = [f"src/discflow/scheduler/{m}.py" for m in _accel.COMPILED]
            modules = mypycify(["--config-file", "mypy.ini", *files], opt_level="3")
            setup(
                name="discflow-scheduler-compiled",
                ext_modules=modules,
                script_args=["-q", "build_ext", "--build-lib", str(out), "--build-temp", "tmp"],
            )
        except (SystemExit, Exception) as exc:  # a compiler error ends setup() with SystemExit
            print(f"compile_scheduler: not compiled ({exc}); the planner runs from source")
            return 0
        finally:
            os.chdir(here)
        clean()
        for built in out.rglob("*.so"):
            target = SRC / built.relative_to(out)
            shutil.copy2(built, target)
    (PACKAGE / _accel.BUILD_MANIFEST).write_text(json.dumps(digests, indent=1) + "\n")
    print(f"compile_scheduler: compiled {len(digests)} modules of discflow.scheduler")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    args = parser.parse_args()
    if args.clean:
        clean()
        return 0
    return build()


if __name__ == "__main__":
    sys.exit(main())
