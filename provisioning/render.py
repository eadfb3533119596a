"""How deployments are shown by the commands and the API: JSON with stable keys, and text.

JSON keys are only ever added. ``deployments list``: a list of ``{name, state, dry_run,
repo_url, node_type, current_step, floating_ip, created_at, finished_at}``. ``deployments show``
and the API: that plus ``requested_node_type, requested_duration_hours, started_at, plan, ids
{lease_id, reservation_id, server_id, server_name, floating_ip, fixed_ip, keypair_name, network_id,
image_id, image_name}, ssh_command, info_path, error, advice, warnings, leftovers, steps``; each
step is ``{step, label, state, attempts, started_at, finished_at, duration_seconds, message}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone

from provisioning.models import Deployment, DeploymentStep
from provisioning.states import DeploymentState

NONE = "-"
COLUMN_GAP = "  "

STEP_MARKS = {
    "pending": " ",
    "running": ">",
    "waiting": "~",
    "succeeded": "x",
    "failed": "!",
    "skipped": "-",
}
ID_FIELDS = ("lease_id", "reservation_id", "server_id", "server_name", "floating_ip", "fixed_ip",
             "keypair_name", "network_id", "image_id", "image_name")  # fmt: skip


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def seconds(value: float | None) -> float | None:
    """Durations in JSON: seconds, to the millisecond."""
    return round(value, 3) if value is not None else None


def when(moment: datetime | None) -> str:
    """A time for people: local (``TIME_ZONE``), to the second."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else NONE


def took(value: float | None) -> str:
    return f"{value:.2f}s" if value is not None else NONE


def json_text(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def table(headers: Sequence[str] | None, rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to their widest cell; the last column is left ragged."""
    lines = [[str(cell) for cell in row] for row in rows]
    if headers:
        lines.insert(0, list(headers))
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "\n".join(
        COLUMN_GAP.join(
            [*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]]
        ).rstrip()
        for line in lines
    )


def fields_text(pairs: Iterable[tuple[str, object]]) -> str:
    """``name  value`` lines, the names aligned; empty values show as ``-``."""
    return table(None, [(name, NONE if value in (None, "") else value) for name, value in pairs])


def indented(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def summary_data(deployment: Deployment) -> dict[str, Any]:
    return {
        "name": deployment.name,
        "state": deployment.state,
        "dry_run": deployment.dry_run,
        "repo_url": deployment.repo_url,
        "node_type": deployment.node_type or None,
        "current_step": deployment.current_step or None,
        "floating_ip": deployment.floating_ip or None,
        "created_at": iso(deployment.created_at),
        "finished_at": iso(deployment.finished_at),
    }


def step_data(row: DeploymentStep) -> dict[str, Any]:
    return {
        "step": row.step,
        "label": row.label,
        "state": row.state,
        "attempts": row.attempts,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "duration_seconds": seconds(row.duration_seconds),
        "message": row.message,
    }


def detail_data(deployment: Deployment, steps: Sequence[DeploymentStep]) -> dict[str, Any]:
    data = summary_data(deployment)
    data.update(
        requested_node_type=deployment.requested_node_type or None,
        requested_duration_hours=deployment.requested_duration_hours,
        started_at=iso(deployment.started_at),
        plan=deployment.plan,
        ids={name: getattr(deployment, name) or None for name in ID_FIELDS},
        ssh_command=deployment.ssh_command or None,
        info_path=deployment.info_path or None,
        error=deployment.error or None,
        advice=deployment.advice or None,
        warnings=list(deployment.warnings),
        leftovers=list(deployment.leftovers),
        steps=[step_data(row) for row in steps],
    )
    return data


def list_text(found: Sequence[Deployment]) -> str:
    if not found:
        return "no deployments yet (start one with `dagyard provision --repo URL`)"
    return table(
        ("NAME", "STATE", "NODE TYPE", "FLOATING IP", "CREATED", "STEP"),
        [
            (
                d.name,
                f"{d.state} (dry run)"
                if d.dry_run and d.state != DeploymentState.PLANNED
                else d.state,
                d.node_type or "-",
                d.floating_ip or "-",
                when(d.created_at),
                d.current_step or "-",
            )
            for d in found
        ],
    )


def step_line(row: DeploymentStep) -> str:
    mark = STEP_MARKS.get(row.state, "?")
    timing = took(row.duration_seconds) if row.finished_at else ""
    message = f"  {row.message}" if row.message else ""
    return f"[{mark}] {row.label:<36} {row.state:<9} {timing:>7}{message}"


def steps_text(steps: Sequence[DeploymentStep]) -> str:
    return "\n".join(step_line(row) for row in steps)


def plan_lines(plan: dict[str, Any]) -> list[tuple[str, object]]:
    requirements = plan.get("requirements") or {}
    decisions = plan.get("decisions") or {}
    window = plan.get("lease_window") or {}
    lines: list[tuple[str, object]] = []
    if requirements:
        gpu = (f"GPU {requirements.get('gpu_memory_gb')} GB" if requirements.get("gpu_required")
               else "no GPU")  # fmt: skip
        lines.append(
            (
                "requirements",
                f"{requirements.get('cpu_cores')} cores, {requirements.get('ram_gb')} GB RAM, "
                f"{gpu}, {requirements.get('disk_gb')} GB disk, {requirements.get('os_type')} "
                f"{requirements.get('os_version')}",
            )
        )
    if plan.get("image"):
        lines.append(("image", plan["image"]["name"]))
    if plan.get("node_type"):
        lines.append(("node type", plan["node_type"]))
    if plan.get("duration_hours"):
        lines.append(("lease", f"{plan['duration_hours']} h, {window.get('start')} to "
                               f"{window.get('end')} UTC"))  # fmt: skip
    for name, record in decisions.items():
        why = record.get("fallback_reason")
        source = f"{record['source']} ({why})" if why else record["source"]
        lines.append((f"  {name.replace('_', ' ')}", f"{source}: {record.get('reasoning', '')}"))
    for attempt in plan.get("lease_attempts") or []:
        lines.append(
            (
                "  lease attempt",
                f"{attempt['node_type']} {attempt['hours']} h: {attempt['answer']}",
            )
        )
    return lines


def plan_text(plan: dict[str, Any]) -> str:
    return fields_text(plan_lines(plan)) if plan else "no plan yet"


def detail_text(deployment: Deployment, steps: Sequence[DeploymentStep]) -> str:
    header = fields_text(
        [
            ("deployment", deployment.name),
            ("state", f"{deployment.state}{' (dry run)' if deployment.dry_run else ''}"),
            ("repository", deployment.repo_url),
            ("created", when(deployment.created_at)),
            ("finished", when(deployment.finished_at) if deployment.finished_at else None),
            *[(name.replace("_", " "), getattr(deployment, name) or None) for name in ID_FIELDS],
            ("ssh", deployment.ssh_command or None),
            ("info file", deployment.info_path or None),
            ("error", deployment.error or None),
            ("what to do", deployment.advice or None),
            *[("warning", warning) for warning in deployment.warnings],
        ]
    )
    plan = plan_text(deployment.plan)
    return f"{header}\n\nplan\n{indented(plan)}\n\nsteps\n{indented(steps_text(steps))}"


def outcome_line(deployment: Deployment) -> str:
    if deployment.state == DeploymentState.SUCCEEDED:
        return f"deployment {deployment.name} is up: {deployment.ssh_command}"
    if deployment.state == DeploymentState.PLANNED:
        return f"deployment {deployment.name} planned (dry run): nothing was created in the cloud"
    if deployment.error:
        return f"deployment {deployment.name} {deployment.state}: {deployment.error}"
    return f"deployment {deployment.name} {deployment.state}"
