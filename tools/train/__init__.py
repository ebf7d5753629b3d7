"""Running training: ``config`` (build a run's config), ``launch`` (queue a run, its status, cancel, resume),
``disk`` (will it fit), ``cluster`` (what a job asks of a Ray cluster) and ``retrain`` (a new run from an earlier
one with changes, proposed before it is launched). The job kinds a worker runs are in ``tools.jobs``."""
