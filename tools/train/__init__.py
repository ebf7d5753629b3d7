"""Running training: ``launch`` (queue a run, its status, cancel, resume, the job kinds a worker runs) and
``retrain`` (a new run from an earlier one with changes, proposed before it is launched)."""
