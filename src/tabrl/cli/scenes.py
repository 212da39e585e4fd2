"""`tabrl scenes ...`: list, show, thumbnail and add scenes."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from tabrl.cli._common import console, fail, print_json

scenes_app = typer.Typer(help="Robot scenes: list, inspect, render, add your own MJCF.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `scenes` group to the root app."""
    app.add_typer(scenes_app, name="scenes")


@scenes_app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array instead of a table."),
    include_all: bool = typer.Option(
        False, "--all", help="Include scenes whose robot files are not on this machine."
    ),
    category: str | None = typer.Option(
        None, "--category", help="locomotion | manipulation | classic_control | other"
    ),
) -> None:
    """List the scenes a person can teach (no scene is loaded: sizes come from cards or the shipped index)."""
    from tabrl.runtime import device_kind
    from tabrl.scenes import has_base_policy, list_specs
    from tabrl.scenes.cards import SIZE_KEYS, licences
    from tabrl.scenes.index import scene_facts
    from tabrl.training.estimates import format_duration, scene_estimate

    specs = [s for s in list_specs(include_all) if category in (None, s.category)]
    device = device_kind()
    rows = []
    for spec in specs:
        row: dict = {"id": spec.id, "name": spec.name, "category": spec.category, "source": spec.source}
        if not spec.available:
            rows.append({**row, "available": False, "missing": spec.missing()})
            continue
        # Sizes from a card built before or the shipped index; None for a scene neither knows.
        facts = scene_facts(spec) or {}
        row.update({k: facts.get(k) for k in SIZE_KEYS})
        row["has_base_policy"] = has_base_policy(spec.id)
        row["available"] = True
        row["licences"] = [f"{lic.robot}: {lic.license}, {lic.attribution}" for lic in licences(spec)]
        found = scene_estimate(spec.id, device, facts=facts or None)
        if found is not None:
            steps, physics, est = found
            row["estimate"] = {"preset": "standard", "steps": steps, "backend": physics, **est.to_dict()}
        rows.append(row)
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} scenes", header_style="bold")
    table.add_column("id", no_wrap=True)
    numeric = ("nq", "nv", "nu", "obs", "act")
    for col in ("category", "source", *numeric, "base", "train"):
        table.add_column(col, justify="right" if col in numeric else "left")
    unbuilt = 0
    for r in rows:
        if not r["available"]:
            table.add_row(
                r["id"], r["category"], r["source"], *[""] * 6, f"[dim]needs {', '.join(r['missing'])}[/]"
            )
            continue
        sizes = [str(r[k]) if r[k] is not None else "" for k in ("nq", "nv", "nu", "obs_size", "action_size")]
        unbuilt += r["nq"] is None
        est = r.get("estimate")
        when = format_duration(est["total_s"]) + ("" if est["basis"] == "measured" else "*") if est else ""
        table.add_row(
            r["id"], r["category"], r["source"], *sizes, "yes" if r["has_base_policy"] else "", when
        )
    console.print(table)
    console.print(
        f"[dim]train: the standard step budget on this {device.upper()} (measured throughput; * scaled from "
        "measured scenes by physics cost, see tabrl.training.estimates).[/]"
    )
    if unbuilt:
        console.print(
            f"[dim]{unbuilt} scene(s) are not in the shipped index and have no robot card yet (sizes and time estimate "
            "appear once one is built: "
            "`tabrl scenes show ID`, or opening the scene).[/]"
        )


@scenes_app.command("show")
def show_cmd(
    scene_id: str = typer.Argument(..., help="Scene id (see `tabrl scenes list`) or a path to an MJCF file."),
    as_json: bool = typer.Option(False, "--json", help="Print the robot card as JSON."),
) -> None:
    """Show a scene's robot card: bodies, joints, actuators, sensors, feet, sizes, timesteps."""
    from tabrl.scenes import robot_card

    card = robot_card(scene_id)
    if as_json:
        print_json(card.to_dict())
        return
    console.print(f"[bold]{card.name}[/] ({card.id}) - {card.category}, source {card.source}")
    console.print(card.description)
    console.print(
        f"nq={card.nq} nv={card.nv} nu={card.nu} dof={card.dof} obs={card.obs_size} action={card.action_size} "
        f"sim_dt={card.sim_dt:g}s ctrl_dt={card.ctrl_dt:g}s floating_base={card.floating_base} "
        f"mass={card.total_mass:.2f}kg base_policy={'yes' if card.has_base_policy else 'no'}"
    )
    acts = Table(title="actuators", header_style="bold")
    for col in ("name", "type", "target", "ctrl range", "force range"):
        acts.add_column(col)
    for a in card.actuators:
        acts.add_row(a.name, a.type, a.target, _rng(a.ctrl_range), _rng(a.force_range))
    console.print(acts)
    for lic in card.licences:
        console.print(
            f"robot {lic.robot}: {lic.license} licence, {lic.attribution} (files from {lic.source})"
        )
    joints = Table(title="joints", header_style="bold")
    for col in ("name", "type", "body", "range", "qpos", "qvel"):
        joints.add_column(col)
    for j in card.joints:
        joints.add_row(j.name, j.type, j.body, _rng(j.range), str(j.qpos_adr), str(j.qvel_adr))
    console.print(joints)
    console.print("bodies: " + ", ".join(f"{b.name} ({b.mass:.2f}kg)" for b in card.bodies))
    if card.sensors:
        console.print("sensors: " + ", ".join(f"{s.name}[{s.dim}]" for s in card.sensors))
    if card.sites:
        console.print("sites: " + ", ".join(s.name for s in card.sites))
    console.print("feet: " + (", ".join(card.feet) or "-"))
    console.print("observation: " + " + ".join(f"{o.name}[{o.size}]" for o in card.observation))


def _rng(r: tuple[float, float] | None) -> str:
    return f"[{r[0]:.3g}, {r[1]:.3g}]" if r else "-"


@scenes_app.command("thumbnail")
def thumbnail_cmd(
    scene_id: str = typer.Argument(..., help="Scene id."),
    out: Path = typer.Option(..., "--out", help="PNG file to write."),
) -> None:
    """Render (or reuse the cached) still of a scene to a PNG file."""
    from tabrl.scenes.thumbnails import thumbnail

    if out.suffix.lower() != ".png":
        raise fail(f"--out must be a .png file, got {out}")
    png = thumbnail(scene_id).read_bytes()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    console.print(f"wrote {out} ({len(png) // 1024} KiB)")


@scenes_app.command("add")
def add_cmd(
    name: str = typer.Argument(..., help="Name for the scene (its id becomes mjcf:NAME)."),
    xml_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The MJCF file."),
    assets: Path | None = typer.Option(None, "--assets", exists=True, file_okay=False, help="Asset folder."),
    category: str = typer.Option(
        "other", "--category", help="locomotion | manipulation | classic_control | other"
    ),
) -> None:
    """Register your own MJCF scene (checked with MuJoCo first)."""
    from tabrl.scenes import register_mjcf

    spec = register_mjcf(name, xml_path=xml_file, assets_dir=assets, category=category)
    console.print(f"added scene [bold]{spec.id}[/]")


@scenes_app.command("index")
def index_cmd(
    out: Path | None = typer.Option(
        None, "--out", help="Write the index here (the shipped one: src/tabrl/scenes/data/scene_index.json)."
    ),
    check: bool = typer.Option(
        False, "--check", help="Exit 1 when the shipped index differs from fresh cards."
    ),
    only: list[str] = typer.Option([], "--only", help="Only these scene ids (repeatable)."),
) -> None:
    """Build every scene's card and write (or check) the index listings read instead of loading scenes."""
    from tabrl.scenes.index import build_index, compare

    built = build_index(list(only) or None)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(built, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        console.print(f"{len(built['scenes'])} scenes -> {out}")
    if check:
        diffs = compare(built)
        for line in diffs:
            console.print(f"[red]{line}[/]")
        if diffs:
            console.print("Regenerate: tabrl scenes index --out src/tabrl/scenes/data/scene_index.json")
            raise typer.Exit(1)
        console.print(f"the shipped index agrees with {len(built['scenes'])} freshly built cards")
