import os
import sys
from pathlib import Path

import tempfile

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".numba_cache"))
# runs indexed by the tests go to a throwaway index, never the user's
os.environ.setdefault("SNNLAB_HOME", tempfile.mkdtemp(prefix="snnlab-test-home-"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The test-only fifth learner (tests/spiking_perceptron), added as any learner outside snnlab
# is: its package named in SNNLAB_LEARNERS. PYTHONPATH lets the processes the tests start (CLI
# runs, sweep workers) import it too.
TESTS = str(Path(__file__).resolve().parent)
os.environ["SNNLAB_LEARNERS"] = "spiking_perceptron"
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")]))
