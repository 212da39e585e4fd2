"""`tabrl train` and `tabrl export-onnx`: train a policy, export it for browsers and robots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from tabrl.cli._common import console, err_console, print_json


def register(app: typer.Typer) -> None:
    """Add `train` and `export-onnx` to the root app."""
    app.command("train")(train_cmd)
    app.command("check")(check_cmd)
    app.command("export-onnx")(export_onnx_cmd)
    app.command("presets")(presets_cmd)


def presets_cmd(
    out: Path = typer.Option(Path("configs"), "--out", help="Folder to write the preset files into."),
    check: bool = typer.Option(False, "--check", help="Only compare; exit 1 when a file differs."),
) -> None:
    """Write the training presets as YAML files (`configs/`: CartpoleBalance CPU, Go1 CPU and GPU), or
    check that the files there still equal the presets."""
    from tabrl.training.config import PRESET_FILES, preset_yaml

    stale = []
    for name, (scene, device, physics) in PRESET_FILES.items():
        text, path = preset_yaml(scene, device, physics), out / name
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
            continue
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        console.print(f"wrote {path}", highlight=False)
    if stale:
        err_console.print(f"differ from the presets: {', '.join(stale)}; run `tabrl presets --out {out}`")
        raise typer.Exit(1)


def _parse_steps(value: str | None) -> int | str | None:
    from tabrl.training.config import STEPS_PRESETS, ConfigError, TrainOverrides

    if value is None or value in STEPS_PRESETS:
        return value
    try:
        # The config's own parsing of a count ("500000", "5e5", "1_000"): one rule for --steps and --set.
        steps = int(TrainOverrides.model_validate({"num_timesteps": value}).num_timesteps)
    except (ValueError, ConfigError):
        raise ConfigError(
            f"--steps must be a number of environment steps (e.g. 500000 or 5e5) or one of "
            f"{', '.join(STEPS_PRESETS)}, got {value!r}"
        ) from None
    if steps < 1:
        raise ConfigError(f"--steps must be >= 1, got {steps}")
    return steps


def _base_dir(base: str, scene: str) -> Path:
    """A base policy id's folder, or `base` as a policy folder."""
    from tabrl.errors import NotFoundError
    from tabrl.scenes.bases import get_base, list_bases

    if Path(base).is_dir():
        return Path(base)
    try:
        found = get_base(base)
    except NotFoundError:
        ids = ", ".join(b.id for b in list_bases()) or "(none)"
        raise NotFoundError(
            f"--base {base!r} is neither a policy folder nor a base policy id (base policies here: {ids})"
        ) from None
    if found.scene_id != scene:
        raise NotFoundError(f"base policy {found.id} is for {found.scene_id}, not {scene}")
    return found.dir


def _read(path: Path, what: str) -> str:
    from tabrl.errors import TabRLError

    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TabRLError(f"cannot read {what} {path}: {exc.strerror}") from None


def train_cmd(
    scene: str = typer.Option(..., "--scene", help="Scene id (see `tabrl scenes list`)."),
    out: Path = typer.Option(
        ..., "--out", help="Run folder: config, checkpoints, events and the final policy/."
    ),
    reward: Path | None = typer.Option(
        None, "--reward", help="Reward module (.py); default: the scene's own reward."
    ),
    base: str | None = typer.Option(
        None,
        "--base",
        help="Base policy id (`tabrl base list`) or policy folder to fine-tune from; uses fine-tuning "
        "settings (see `FINE_TUNE_SETTINGS`) unless --set or --config says otherwise.",
    ),
    commands: Path | None = typer.Option(
        None,
        "--commands",
        help="Command program (.py defining command(t)) the joystick policy follows while it trains.",
    ),
    check: Path | None = typer.Option(
        None,
        "--check",
        help="Success check (.py defining measure(s) and GOALS): judged on rollouts of the final policy.",
    ),
    steps: str | None = typer.Option(
        None, "--steps", help="Environment steps (e.g. 2e6) or a preset: quick | standard | quality."
    ),
    config: Path | None = typer.Option(None, "--config", help="YAML file of training settings."),
    backend: str = typer.Option(
        "auto",
        "--backend",
        help="Physics backend: mjx (Brax PPO on MJX), mujoco (MuJoCo C on CPU threads) or auto "
        "(MuJoCo C for contact-rich scenes on a CPU, else MJX).",
    ),
    overrides: list[str] = typer.Option(
        [], "--set", help="Override a setting: --set learning_rate=3e-4 (repeatable)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in --out from its latest checkpoint."
    ),
    tensorboard: bool = typer.Option(
        False, "--tensorboard", help="Also write TensorBoard logs to OUT/tensorboard."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print progress as JSON lines; the last line is the result."
    ),
) -> None:
    """Train a policy with PPO (MJX or MuJoCo C; CPU or GPU), with live progress, checkpoints and Ctrl-C to stop early."""
    from tabrl.training.backends.mjx import configure_xla_for_cpu

    # Must happen before anything starts JAX's backend.
    configure_xla_for_cpu()
    from tabrl.errors import TabRLError
    from tabrl.training import CancelToken, TrainRequest, resolve_config, run_training
    from tabrl.training.session import CONFIG_FILE

    base_dir = _base_dir(base, scene) if base is not None else None
    commands_source = _read(commands, "command program") if commands is not None else None
    reward_source = None
    if reward is not None:
        try:
            reward_source = reward.read_text(encoding="utf-8")
        except OSError as exc:
            raise TabRLError(f"cannot read reward file {reward}: {exc.strerror}") from None
    if backend != "auto":
        overrides = [*overrides, f"backend={backend}"]
    if resume and config is None and not overrides and steps is None and (out / CONFIG_FILE).is_file():
        cfg = None  # the run's own saved config
    else:
        yaml_path = (
            config
            if config is not None
            else (out / CONFIG_FILE if resume and (out / CONFIG_FILE).is_file() else None)
        )
        cfg = resolve_config(
            scene, yaml_path=yaml_path, overrides=overrides, steps=_parse_steps(steps),
            fine_tune=base_dir is not None and not resume, reward_source=reward_source,
            base_dir=base_dir if not resume else None,
        )  # fmt: skip
    request = TrainRequest(
        scene_id=scene,
        out_dir=out,
        config=cfg,
        reward_source=reward_source,
        reward_name=reward.stem if reward is not None else None,
        base_policy=base_dir,
        resume=resume,
        tensorboard=tensorboard,
        commands=commands_source,
        success_check=_read(check, "success check") if check is not None else None,
    )
    cancel = CancelToken()
    printer = _JsonPrinter() if as_json else _RichPrinter()
    try:
        with printer:
            result = _run_interruptible(run_training, request, printer, cancel)
    except KeyboardInterrupt:
        raise
    if as_json:
        sys.stdout.write(
            json.dumps(
                {
                    "policy_dir": str(result.policy_dir),
                    "eval_reward": result.eval_reward,
                    "steps": result.steps,
                    "wall_s": round(result.wall_s, 2),
                    "status": result.status,
                    "check": result.check,
                }
            )
            + "\n"
        )
        sys.stdout.flush()
        return
    reward_text = f"{result.eval_reward:.1f}" if result.eval_reward is not None else "n/a"
    console.print(
        f"[bold green]{result.status}[/]: eval reward {reward_text} after {result.steps:,} steps "
        f"in {result.wall_s:.0f} s -> {result.policy_dir}"
    )
    if result.check is not None:
        _print_verdict(result.check)


def _print_verdict(verdict: dict) -> None:  # type: ignore[type-arg]
    mark = "[bold green]passed[/]" if verdict["passed"] else "[bold red]failed[/]"
    console.print(
        f"success check {mark}: {verdict['figure']} ({verdict['rollouts']} rollouts of "
        f"{verdict['seconds']:g} s; {verdict['pass_rate']:.0%} pass on their own)"
    )


def check_cmd(
    policy: Path = typer.Argument(..., help="Policy folder (a run's policy/, or a model of the library)."),
    check: Path = typer.Argument(..., help="Success check (.py defining measure(s) and GOALS)."),
    rollouts: int = typer.Option(8, "--rollouts", min=1, max=256, help="Seeded rollouts to judge."),
    seconds: float = typer.Option(10.0, "--seconds", min=0.1, max=600.0, help="Length of each rollout."),
    save: bool = typer.Option(False, "--save", help="Record the verdict in the policy's manifest."),
    as_json: bool = typer.Option(False, "--json", help="Print the verdict as JSON."),
) -> None:
    """Judge a trained policy on a success check: roll it out on fixed seeds and measure what it did."""
    from tabrl.training.backends.mjx import configure_xla_for_cpu

    configure_xla_for_cpu()
    from tabrl.policies.store import read_manifest, update_manifest
    from tabrl.rewards.checks import compile_success
    from tabrl.training.behaviour import evaluate_check

    source = _read(check, "success check")
    compiled = compile_success(source, read_manifest(policy).scene_id)
    verdict = evaluate_check(policy, compiled, rollouts=rollouts, seconds=seconds).to_dict()
    if save:
        update_manifest(policy, check={"code": source, "verdict": verdict})
    if as_json:
        sys.stdout.write(json.dumps(verdict) + "\n")
        return
    _print_verdict(verdict)
    if not verdict["passed"]:
        raise typer.Exit(1)


def _run_interruptible(run, request, printer, cancel):  # type: ignore[no-untyped-def]
    """Run; the first Ctrl-C asks for a cooperative stop (keeping the last checkpoint), the second aborts."""
    import signal

    previous = signal.getsignal(signal.SIGINT)

    def on_sigint(_signum, _frame):  # type: ignore[no-untyped-def]
        if cancel.cancelled:
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        cancel.cancel()
        err_console.print("stopping at the next evaluation (Ctrl-C again to abort without saving)")

    signal.signal(signal.SIGINT, on_sigint)
    try:
        return run(request, printer, cancel)
    finally:
        signal.signal(signal.SIGINT, previous)


class _JsonPrinter:
    """Every event as one JSON line on stdout."""

    def __enter__(self) -> _JsonPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __call__(self, event) -> None:  # type: ignore[no-untyped-def]
        sys.stdout.write(event.to_json() + "\n")
        sys.stdout.flush()


class _RichPrinter:
    """A progress bar with reward, throughput and ETA; one line per evaluation."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task = None

    def __enter__(self) -> _RichPrinter:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, event) -> None:  # type: ignore[no-untyped-def]
        from tabrl.training.estimates import format_duration

        if self._task is None:
            self._task = self._progress.add_task(
                event.scene_id, total=event.total_steps, completed=event.step, status=""
            )
        eta = f"ETA {format_duration(event.eta_s)}" if event.eta_s else ""
        if event.kind in ("started", "compiling", "failed"):
            self._progress.console.print(f"[dim]{event.message}[/]")
            self._progress.update(self._task, status=f"[yellow]{event.kind}[/] {eta}")
            return
        if event.kind == "eval":
            sps = f"{event.env_steps_per_s:,.0f} steps/s" if event.env_steps_per_s else ""
            terms = " ".join(f"{k}={v:.1f}" for k, v in list(event.reward_terms.items())[:6])
            self._progress.console.print(
                f"step {event.step:>11,}  reward {event.eval_reward_mean:8.1f} ± {event.eval_reward_std:6.1f}  "
                f"len {event.episode_length:6.0f}  {sps}  [dim]{terms}[/]"
            )
            status = f"reward {event.eval_reward_mean:.1f} {sps} {eta}"
        else:
            status = event.message
        self._progress.update(self._task, completed=event.step, status=status)


def export_onnx_cmd(
    policy_dir: Path = typer.Argument(..., help="Policy folder (the run's policy/ or a checkpoint)."),
    out: Path = typer.Option(..., "--out", help="Where to write the .onnx file."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Export a policy (normaliser + MLP + deterministic action) to ONNX for browsers and robots."""
    from tabrl.policies import export_onnx, read_manifest

    path = export_onnx(policy_dir, out)
    manifest = read_manifest(policy_dir)
    info = {
        "onnx": str(path),
        "bytes": path.stat().st_size,
        "observation_size": manifest.observation_size,
        "action_size": manifest.action_size,
        "input": "observation",
        "output": "action",
    }
    if as_json:
        print_json(info)
        return
    console.print(
        f"wrote {path} ({info['bytes']:,} bytes): input 'observation' [batch, {manifest.observation_size}] -> "
        f"output 'action' [batch, {manifest.action_size}]"
    )


__all__ = ["register"]
