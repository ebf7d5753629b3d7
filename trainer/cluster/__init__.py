"""Ray as the job executor, when ``LORAPORT_RAY_ADDRESS`` is set: jobs run as Ray tasks anywhere in a cluster.

The worker loop stays the same (claim, record, finish); ``RayExecutor`` replaces "run the job in this process"
with "submit it to the cluster with the resources it needs, and relay what it says". ``ray`` is an optional
dependency (``pip install loraport[cluster]``), imported only when an executor is built.
"""

from trainer.cluster.resources import Resources, default_resources

__all__ = ["Resources", "default_resources"]
