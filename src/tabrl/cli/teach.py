"""`tabrl teach`: the whole loop from a prompt -- approaches, parallel training, checks, a ranking.

A thin shell over the same parts the web UI uses: `generate_approaches` writes the approaches,
`tabrl.jobs.batches.submit_batch` checks and queues them as jobs in the job store (the server's
database), the job scheduler runs them in worker processes, and `rank_jobs` orders them by their
success checks. With `--rounds N`, while the best approach fails its check, the next round is
written from the results (`tabrl.authoring.reflection.reflect`: feedback to an LLM provider, or
the offline rules), trained with the steps its level gets within the budget (`plan_steps`, as in
the web UI), judged and ranked with the earlier
rounds; it stops once an approach passes. The jobs stay in the library: `tabrl models list`, the web UI and the API see them.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from collections.abc import Iterator
from typing import Any

import typer

from tabrl.cli._common import console

#: Most rounds one `tabrl teach` may run (each one trains every approach again).
MAX_ROUNDS = 5


def register(app: typer.Typer) -> None:
    """Add the `teach` command to the root app."""
    app.command("teach")(teach_cmd)


def teach_cmd(
    prompt: str = typer.Argument(..., help='The behaviour in plain language, e.g. "run backwards".'),
    scene: str = typer.Option(..., "--scene", help="Scene id (see `tabrl scenes list`)."),
    provider: str | None = typer.Option(
        None, "--provider", help="LLM provider (default: settings, else offline)."
    ),
    model: str | None = typer.Option(None, "--model", help="Model name (default: the provider's default)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Server URL of a local OpenAI-compatible model."
    ),
    n: int = typer.Option(3, "--n", min=1, max=6, help="How many approaches."),
    budget: str = typer.Option(
        "minutes", "--budget", help="instant | minutes | unlimited (see `tabrl generate`)."
    ),
    steps: int | None = typer.Option(
        None, "--steps", min=1000, help="Steps per approach instead of the plan's."
    ),
    overrides: list[str] = typer.Option([], "--set", help="Training override key=value (repeatable)."),
    concurrent: int = typer.Option(
        0, "--concurrent", min=0, max=16, help="Jobs at once (0: one per approach)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Training and video seed (same for every approach)."),
    as_json: bool = typer.Option(False, "--json", help="Print the ranked result as one JSON document."),
    rounds: int = typer.Option(
        1,
        "--rounds",
        min=1,
        max=MAX_ROUNDS,
        help="Rounds at most: while the best approach fails its check, write the next round from the "
        "results (feedback to the provider, or the offline rules) and train it within the same budget.",
    ),
) -> None:
    """Teach a robot a behaviour end to end: approaches, parallel training, success checks, a ranking
    (and, with --rounds, refined rounds until an approach passes)."""
    from tabrl.authoring import generate_approaches
    from tabrl.authoring.reflection import reflect
    from tabrl.errors import TabRLError
    from tabrl.jobs.batches import job_outcome, rank_jobs
    from tabrl.jobs.store import JobStore
    from tabrl.training.config import parse_override
    from tabrl.training.levels import plan_steps

    result = generate_approaches(
        scene, prompt, provider=provider, model=model, base_url=base_url, n=n, budget=budget
    )
    plan_steps(result.scene, result.approaches, budget)
    valid = [a for a in result.approaches if a.valid]
    if not valid:
        raise TabRLError(
            "no approach passed the checks: "
            + "; ".join(f"{a.name}: {_first_error(a)}" for a in result.approaches)
        )
    store = JobStore()
    settings = {"steps": steps, "overrides": dict(parse_override(o) for o in overrides), "seed": seed,
                "concurrent": concurrent}  # fmt: skip
    batches: list[str] = []
    judged: list[tuple[int, Any]] = []  # (round, job) of every round
    for rnd in range(1, rounds + 1):
        if not as_json:
            if rounds > 1:
                console.print(f"[bold]Round {rnd}[/]")
            for a in result.approaches:
                state = "[green]ok[/]" if a.valid else f"[red]refused[/] ({_first_error(a)})"
                shown = steps if steps and a.level != "command" else a.steps
                console.print(f"- {a.name} [dim]({a.level}, {shown:,} steps)[/] {state}")
        lineage = {"round": rnd, "parent_batch_id": batches[-1] if batches else None, "prompt": prompt}
        batch_id, jobs = _train_round(store, scene, valid, {**settings, **lineage}, quiet=as_json)
        batches.append(batch_id)
        ranked = rank_jobs(jobs)
        judged += [(rnd, j) for j in ranked]
        best = ranked[0].result or {}
        if (best.get("check") or {}).get("passed") or rnd == rounds:
            break
        approach_of = {j.id: a for j, a in zip(jobs, valid, strict=True)}
        outcomes = [job_outcome(j, approach_of[j.id], rnd) for j in ranked]
        result = reflect(scene, prompt, outcomes, provider=provider, model=model, base_url=base_url,
                         n=n, budget=budget)  # fmt: skip
        plan_steps(result.scene, result.approaches, budget)
        valid = [a for a in result.approaches if a.valid]
        if not valid:
            if not as_json:
                console.print(f"[yellow]No round {rnd + 1}[/]: {_no_next_round(result)}")
            break
    round_of = {job.id: rnd for rnd, job in judged}
    ranked = rank_jobs([job for _, job in judged])
    rows = [{**_row(i + 1, job), "round": round_of[job.id]} for i, job in enumerate(ranked)]
    if as_json:
        sys.stdout.write(
            json.dumps({"batch_id": batches[0], "batch_ids": batches, "rounds": len(batches), "scene_id": scene,
                        "prompt": prompt, "ranking": rows, "best": rows[0]}) + "\n"
        )  # fmt: skip
        return
    _print_table(rows, rounds=len(batches))


def batch_items(approaches: list[Any], steps: int | None) -> list[Any]:
    """The batch items of `approaches`; `steps` (`--steps`) replaces each trained approach's own plan
    (submit_batch lets an item's steps win); command programs train nothing."""
    from tabrl.jobs.batches import BatchApproach

    items = [BatchApproach.from_approach(a) for a in approaches]
    if not steps:
        return items
    return [i.model_copy(update={"steps": steps}) if i.level != "command" else i for i in items]


def _train_round(
    store: Any, scene: str, approaches: list[Any], settings: dict[str, Any], *, quiet: bool
) -> tuple[str, list[Any]]:
    """Submit one round's approaches as a batch, run them in worker processes, return (batch id,
    the jobs as they ended, in the approaches' order)."""
    from tabrl.jobs.batches import submit_batch
    from tabrl.jobs.scheduler import Scheduler

    items = batch_items(approaches, settings["steps"])
    batch_id, jobs = submit_batch(
        store, scene, items, steps=settings["steps"],
        overrides=settings["overrides"], seed=settings["seed"], round=settings.get("round", 1),
        parent_batch_id=settings.get("parent_batch_id"), prompt=settings.get("prompt"),
    )  # fmt: skip
    concurrent = settings["concurrent"] or len(jobs)
    scheduler = Scheduler(store, max_concurrent=concurrent, resume_interrupted=False)
    scheduler.start()
    try:
        with _terminate_as_interrupt():
            _wait(store, [j.id for j in jobs], quiet=quiet)
    except KeyboardInterrupt:
        for job in jobs:
            store.request_cancel(job.id)
        raise
    finally:
        scheduler.stop(interrupt_running=True)
    return batch_id, [store.get(j.id) for j in jobs]


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP (a `kill`, a closed terminal, a CI timeout) end `teach` as Ctrl-C does:
    its jobs are cancelled and their workers stopped. Python's default for both is to die at once,
    which left the workers (own sessions, so Ctrl-C in the terminal does not reach them) training."""

    def _raise(*_: object) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _no_next_round(result: Any) -> str:
    if not result.approaches:
        return "the rules found nothing to change (no failed goal they can act on)"
    return "; ".join(f"{a.name}: {_first_error(a)}" for a in result.approaches)


def _first_error(approach: Any) -> str:
    errors = [*approach.errors, *approach.check_errors]
    if not errors:
        return "invalid"
    e = errors[0]
    return f"line {e['line']}: {e['message']}" if e.get("line") else str(e["message"])


def _wait(store: Any, ids: list[str], *, quiet: bool) -> None:
    """Poll the jobs until all end; print each one's progress as it changes."""
    from tabrl.jobs.models import TERMINAL

    # `teach` runs its own scheduler without resuming interrupted jobs: for it, interrupted is the end too.
    ended = {*TERMINAL, "interrupted"}
    last: dict[str, str] = {}
    while True:
        jobs = [store.get(i) for i in ids]
        for job in jobs:
            line = _progress_line(job)
            if not quiet and last.get(job.id) != line:
                console.print(f"  {job.name}: {line}")
                last[job.id] = line
        if all(j.status in ended for j in jobs):
            return
        time.sleep(1.0)


def _progress_line(job: Any) -> str:
    p = job.progress or {}
    if job.status != "running" or not p:
        return job.status
    total = job.request.get("steps") or p.get("total_steps")
    reward = p.get("eval_reward_mean")
    parts = [f"{p.get('step', 0):,}" + (f"/{int(total):,} steps" if total else " steps")]
    if reward is not None:
        parts.append(f"eval reward {reward:.1f}")
    return ", ".join(parts)


def _row(rank: int, job: Any) -> dict[str, Any]:
    from tabrl.jobs.tasks import policies_dir
    from tabrl.render.store import video_path

    result = job.result or {}
    video = result.get("video_id")
    model = result.get("model_id")
    return {
        "rank": rank, "name": job.name, "status": job.status, "check": result.get("check"),
        "eval_reward": result.get("eval_reward"), "model_id": model,
        "policy_dir": str(policies_dir() / model) if model else None,
        "video": str(video_path(video)) if video else None, "error": job.error,
    }  # fmt: skip


def _print_table(rows: list[dict[str, Any]], *, rounds: int = 1) -> None:
    from rich.table import Table

    title = "Ranked by success check" + (f", across {rounds} rounds" if rounds > 1 else "")
    table = Table(title=title, show_lines=True)
    for column in ("#", "round", "approach", "check", "eval reward", "policy / video"):
        table.add_column(column)
    for r in rows:
        check = r["check"]
        if check is None:
            verdict = f"[dim]{r['status']}{': ' + r['error'] if r['error'] else ''}[/]"
        else:
            mark = "[green]passed[/]" if check["passed"] else "[red]failed[/]"
            verdict = f"{mark} {check['figure']}"
        reward = f"{r['eval_reward']:.1f}" if r["eval_reward"] is not None else "-"
        where = "\n".join(p for p in (r["policy_dir"], r["video"]) if p) or "-"
        table.add_row(str(r["rank"]), str(r["round"]), r["name"], verdict, reward, where)
    console.print(table)
