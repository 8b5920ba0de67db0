"""The memory a learner may take when it is built, checked before anything is allocated.

Layer widths within their bounds can still multiply into more memory than the machine has
(``hidden=[10000, 10000, 10000]``, a link away). ``Learner.setup`` asks the learner for an
estimate of what its network will hold (:meth:`Learner.estimated_bytes`) and refuses, with a
message naming the size asked and the limit, when it exceeds :func:`budget`: a quarter of the
machine's memory unless set with ``--max-memory`` (``snnlab train``, ``lab``, ``compare``).
"""

from __future__ import annotations

import os
import re

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_budget: int | None = None


def physical_memory() -> int:
    """Bytes of memory of this machine (8 GiB when the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def budget() -> int:
    """The most bytes one learner may take: ``--max-memory``, else a quarter of the memory."""
    return _budget if _budget is not None else physical_memory() // 4


def set_budget(n_bytes: int | None) -> None:
    """Set the budget (``None``: back to a quarter of the machine's memory)."""
    global _budget
    if n_bytes is not None and n_bytes < 1:
        raise ValueError(f"a memory budget is a positive size, not {n_bytes}")
    _budget = n_bytes


def parse_size(text: str) -> int:
    """Bytes from ``512M``, ``4G``, ``2.5GiB``, ``1000000``; ``ValueError`` otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower(), re.ASCII)
    if not match or len(text) > 30:
        raise ValueError(f"a size is a number with an optional unit K, M, G or T, like 4G; "
                         f"not {text[:30]!r}")
    value = int(float(match.group(1)) * _UNITS[match.group(2)])
    if value < 1:
        raise ValueError(f"a memory budget is a positive size, not {text!r}")
    return value


def human(n_bytes: float) -> str:
    for unit, scale in (("TB", 2**40), ("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} B"


def check_build(learner_key: str, need: int) -> None:
    """``ValueError`` when a network of ``need`` bytes is more than the budget."""
    limit = budget()
    if need > limit:
        raise ValueError(
            f"building {learner_key} with these sizes needs about {human(need)}, more than the "
            f"{human(limit)} a learner may take (--max-memory); choose smaller layers"
        )
