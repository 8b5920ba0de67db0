"""``snnlab bench ui``: frames per second that reach the browser (see ``ui_fps.py``)."""

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("snnlab_bench_ui_fps", Path(__file__).with_name("ui_fps.py"))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
run, main = _module.run, _module.main

if __name__ == "__main__":
    sys.exit(main())
