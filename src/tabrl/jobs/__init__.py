"""Persistent job queue: jobs live in a real database, run in worker processes.

- `store.JobStore`: the jobs and their events in SQLite (default) or PostgreSQL
  (`DATABASE_URL`), through SQLModel.
- `executors`: where a job runs. `LocalProcessExecutor` starts one worker process per
  job on this machine; a Ray or Modal executor implements the same `Executor` protocol.
- `scheduler.Scheduler`: starts queued jobs while fewer than `max_concurrent` run, reaps
  finished workers, marks dead ones failed and recovers after a restart.
- `worker`: the process that runs one job (`python -m tabrl.jobs.worker JOB_ID`).
"""
