"""Build hook: compile the call reader (``src/ringfence/contract/_callreader.c``) into the wheel.

The reader is a faster road to the same result as the pure-Python reference path, so a machine
without a C compiler still gets a working wheel: the hook says why it could not build the reader,
and Ringfence then reads every call with the reference path (on the benchmark, about 100,000
decisions/s instead of about 170,000).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

MODULE = "ringfence.contract._callreader"
SOURCE = "src/ringfence/contract/_callreader.c"


class CallReaderBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        try:
            built = self._compile(Path(self.root) / "build" / "callreader")
        except Exception as err:  # no compiler, no headers: the reference path still works
            self.app.display_warning(f"ringfence: the compiled call reader was not built ({err}); "
                                     "calls will be read by the pure-Python reference path")
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version == "editable":
            # An editable install imports the package from src/, so the module goes beside its
            # source (as `setup.py build_ext --inplace` would put it).
            shutil.copy2(built, Path(self.root) / "src" / "ringfence" / "contract" / built.name)
        else:
            build_data["force_include"][str(built)] = f"ringfence/contract/{built.name}"

    def _compile(self, folder: Path) -> Path:
        from setuptools import Distribution, Extension
        from setuptools.command.build_ext import build_ext

        extension = Extension(MODULE, [SOURCE])
        command = build_ext(Distribution({"name": "ringfence", "ext_modules": [extension]}))
        command.build_lib = str(folder)
        command.build_temp = str(folder / "temp")
        command.ensure_finalized()
        command.run()
        return Path(command.get_ext_fullpath(MODULE))
