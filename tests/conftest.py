import os
import sys
from pathlib import Path

import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))
# runs indexed by the tests go to a throwaway index, never the user's
os.environ.setdefault("SNNLAB_HOME", tempfile.mkdtemp(prefix="snnlab-test-home-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
