"""Tasks: event datasets (bundled digits-events, N-MNIST folders), spike-train tasks, regression.

``load_task(name, **options)`` returns a :class:`~snnlab.data.task.Task`.
"""

from snnlab.data.registry import load_task, task_names, task_options, tasks_of_kind
from snnlab.data.task import Batch, Split, Task, make_batch

__all__ = ["Batch", "Split", "Task", "load_task", "make_batch", "task_names", "task_options", "tasks_of_kind"]
