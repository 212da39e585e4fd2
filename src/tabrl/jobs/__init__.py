"""Persistent job queue: jobs live in a real database, run in worker processes.

- `store.JobStore`: the jobs and their events in SQLite (default) or PostgreSQL
  (`DATABASE_URL`), through SQLModel.
- `executors`: where a job runs. `LocalProcessExecutor` starts one worker process per
  job on this machine; `ray_executor.RayExecutor` runs each job in a Ray actor on a cluster
  and `modal_executor.ModalExecutor` as a call of the Modal app in `modal_app`; both relay
  its progress and files (`relay`, `bundles`) back to this server. All implement the
  `Executor` protocol (`executor_protocol`); each owns its handles (the scheduler never sees a pid).
  The Modal settings both sides share are in `modal_config`.
- `scheduler.Scheduler`: starts queued jobs while fewer than `max_concurrent` run, reaps
  finished workers, marks dead ones failed, requeues lost ones (a dead cluster node) to
  resume, and recovers after a restart.
- `worker`: the process that runs one job (`python -m tabrl.jobs.worker JOB_ID`).
"""
