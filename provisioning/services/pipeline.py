"""The seed's steps, one handler each: what the step does and what it records.

Every handler is idempotent: it reads the deployment, passes over work already recorded, and
records each id the cloud hands out the moment it exists. A step interrupted between creating a
lease or a server and recording it adopts it by name on its next run instead of making a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from provisioning import catalogue, config
from provisioning.ai.advisor import Decision, DecisionSource
from provisioning.ai.fallbacks import lease_attempts
from provisioning.ai.schemas import Requirements
from provisioning.cloud import openstack as cloud
from provisioning.cloud.errors import NoResourcesAvailable, ServerFailed
from provisioning.errors import NoResourcesAfterLadder
from provisioning.repo_analysis import snapshot_repository
from provisioning.services.records import write_info_file
from provisioning.services.steps import Handler, StepContext, StepResult
from provisioning.states import Step

USER_SOURCE = "user"
# The seed asks no model for the node type: the tree decides it, which is no fallback.
NEVER_ASKED = frozenset({"node_type"})


def decision_record(decision: Decision[Any], **extra: Any) -> dict[str, Any]:
    return {**decision.as_record(), **extra}


def requirements_of(plan: dict[str, Any]) -> Requirements:
    data = dict(plan["requirements"])
    for key in ("special_requirements", "frameworks"):
        data[key] = tuple(data.get(key) or ())
    return Requirements(**data)


def requirements_text(req: Requirements) -> str:
    gpu = f"GPU with {req.gpu_memory_gb} GB" if req.gpu_required else "no GPU"
    python = f", Python {req.python_version}" if req.python_version else ""
    return (
        f"{req.cpu_cores} CPU cores, {req.ram_gb} GB RAM, {gpu}, {req.disk_gb} GB disk, "
        f"{req.os_type} {req.os_version}{python}"
    )


def source_text(record: dict[str, Any], *, asked: bool = True) -> str:
    if record["source"] == DecisionSource.MODEL:
        return "from the model"
    if record["source"] == USER_SOURCE:
        return "as asked"
    if not asked:
        return "by the decision tree"
    reason = record.get("fallback_reason")
    return f"by the rules ({reason})" if reason else "by the rules"


def _decisions(context: StepContext, **records: dict[str, Any]) -> None:
    decisions = dict(context.deployment.plan.get("decisions", {}))
    decisions.update(records)
    fallbacks = [
        f"{name}: {record['fallback_reason']}"
        for name, record in decisions.items()
        if record["source"] == DecisionSource.RULES
        and record.get("fallback_reason")
        and name not in NEVER_ASKED
    ]
    context.update_plan(decisions=decisions, fallback_reasons=fallbacks)


# --- the plan (a dry run stops after these) -----------------------------------------------------


def analyse_repository(context: StepContext) -> StepResult:
    snapshot = snapshot_repository(context.deployment.repo_url)
    decision = context.advisor.analyse_repository(snapshot)
    context.update_plan(
        requirements=decision.value.as_dict(),
        repository={
            "commit": snapshot.commit,
            "files": sorted(snapshot.files),
            "truncated": sorted(snapshot.truncated),
        },
    )
    record = decision_record(decision)
    _decisions(context, requirements=record)
    files = ", ".join(sorted(snapshot.files)) or "no environment files"
    return StepResult(
        f"Read {files}. Needs {requirements_text(decision.value)}; {source_text(record)}."
    )


def select_image(context: StepContext) -> StepResult:
    requirements = requirements_of(context.deployment.plan)
    if context.deployment.dry_run:
        images: list[Any] = list(catalogue.DRY_RUN_IMAGES)
        offered_from = catalogue.DRY_RUN_IMAGES_NOTE
    else:
        images = cloud.list_images(context.cloud)
        offered_from = f"chosen from the cloud's {len(images)} CC-* images"
    shortlist, choice = context.advisor.select_image(requirements, images)
    image = choice.value
    context.record(image_name=image.name, image_id=image.id)
    context.update_plan(image={"name": image.name, "id": image.id, "offered": offered_from})
    _decisions(
        context,
        image_shortlist=decision_record(shortlist, candidates=list(shortlist.value.candidates)),
        image=decision_record(choice, name=image.name, id=image.id),
    )
    return StepResult(
        f"{image.name}, {source_text(choice.as_record())}; candidates "
        f"{', '.join(shortlist.value.candidates)} {source_text(shortlist.as_record())}; "
        f"{offered_from}."
    )


def plan_lease(context: StepContext) -> StepResult:
    deployment = context.deployment
    requirements = requirements_of(deployment.plan)
    if deployment.requested_node_type:
        node_type = deployment.requested_node_type
        node_record = {"source": USER_SOURCE, "reasoning": f"Asked for {node_type}.",
                       "fallback_reason": None}  # fmt: skip
    else:
        node_decision = context.advisor.choose_node_type(requirements)
        node_type = node_decision.value.node_type
        node_record = decision_record(node_decision)
    duration = context.advisor.choose_lease_duration(
        requirements, now=context.now, requested_hours=deployment.requested_duration_hours
    )
    hours = duration.value.hours
    duration_record = decision_record(duration)
    if deployment.requested_duration_hours is not None:
        duration_record["source"] = USER_SOURCE
        duration_record["fallback_reason"] = None
    body = cloud.lease_request(
        name=deployment.lease_name, node_type=node_type, duration_hours=hours, now=context.now
    )
    window = {"start": body["start_date"], "end": body["end_date"], "timezone": "UTC"}
    context.record(node_type=node_type)
    context.update_plan(node_type=node_type, duration_hours=hours, lease_window=window)
    _decisions(context, node_type=node_record, lease_duration=duration_record)
    return StepResult(
        f"{node_type} ({source_text(node_record, asked=False)}) for {hours} h "
        f"({source_text(duration_record)}), {window['start']} to {window['end']} UTC."
    )


# --- the cloud ------------------------------------------------------------------------------


def public_key_of(private_key: Path) -> Path:
    """``<key>.pub`` beside a private key Dagyard made earlier, derived from it if missing, so
    a key pair deleted from the cloud is imported again instead of refused."""
    from cryptography.hazmat.primitives import serialization

    public = private_key.with_name(private_key.name + ".pub")
    if not public.is_file():
        key = serialization.load_ssh_private_key(private_key.read_bytes(), password=None)
        line = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        public.write_text(line.decode() + " dagyard\n")
    return public


def keypair(context: StepContext) -> StepResult:
    name = config.keypair_name()
    private_key = config.private_key_path(name)
    public_key = config.public_key_path()
    if public_key is None and private_key.is_file():
        public_key = public_key_of(private_key)
    result = cloud.ensure_keypair(
        context.cloud,
        name=name,
        private_key_path=private_key,
        public_key_path=public_key,
    )
    kept = result.private_key_path or (private_key if private_key.is_file() else None)
    context.record(keypair_name=name, private_key_path=str(kept or ""))
    if result.created and result.private_key_path:
        return StepResult(f"Created key pair {name}; its private key is in {kept} (mode 600).")
    if result.created:
        return StepResult(f"Imported key pair {name} from {public_key}.")
    return StepResult(f"Using the existing key pair {name}.")


def network(context: StepContext) -> StepResult:
    name = config.network_name()
    network_id = cloud.find_network_id(context.cloud, name)
    context.record(network_id=network_id)
    return StepResult(f"Network {name} is {network_id}.")


def _ladder(context: StepContext) -> list[Any]:
    deployment = context.deployment
    plan = deployment.plan
    rungs = lease_attempts(
        requirements_of(plan), node_type=plan["node_type"], hours=plan["duration_hours"]
    )
    # What the user named is not second-guessed: only the other dimension may change.
    if deployment.requested_node_type:
        rungs = tuple(r for r in rungs if r.node_type == deployment.requested_node_type)
    if deployment.requested_duration_hours is not None:
        rungs = tuple(r for r in rungs if r.hours == plan["duration_hours"])
    return list(rungs)  # never empty: the first rung is the plan itself


def _record_lease(context: StepContext, lease: cloud.LeaseInfo, node_type: str, hours: int) -> None:
    context.record(
        lease_id=lease.id,
        reservation_id=lease.reservation_id or "",
        lease_start=lease.start_date,
        lease_end=lease.end_date,
        node_type=node_type,
    )
    window = {"start": lease.start_date, "end": lease.end_date, "timezone": "UTC"}
    context.update_plan(node_type=node_type, duration_hours=hours, lease_window=window)


def create_lease(context: StepContext) -> StepResult:
    deployment = context.deployment
    if deployment.lease_id:
        return StepResult(f"Lease {deployment.lease_id} was already made.")
    adopted = cloud.find_lease(context.cloud, deployment.lease_name)
    if adopted is not None:
        plan = deployment.plan
        _record_lease(context, adopted, plan["node_type"], plan["duration_hours"])
        return StepResult(f"Lease {adopted.id} ({adopted.status}) found and kept.")
    attempts = list(deployment.plan.get("lease_attempts", []))
    tried: list[str] = []
    last_refusal: NoResourcesAvailable | None = None
    for rung in _ladder(context):
        entry = {"node_type": rung.node_type, "hours": rung.hours, "reasoning": rung.reasoning}
        try:
            lease = cloud.create_lease(
                context.cloud,
                name=deployment.lease_name,
                node_type=rung.node_type,
                duration_hours=rung.hours,
                now=context.now,
            )
        except NoResourcesAvailable as refusal:
            attempts.append({**entry, "outcome": "no_resources", "answer": str(refusal)})
            context.update_plan(lease_attempts=attempts)
            tried.append(f"{rung.node_type} for {rung.hours} h")
            last_refusal = refusal
            continue
        attempts.append(
            {**entry, "outcome": "created", "answer": f"lease {lease.id} {lease.status}"}
        )
        context.update_plan(lease_attempts=attempts)
        _record_lease(context, lease, rung.node_type, rung.hours)
        fallback = f" after {len(tried)} refused request(s)" if tried else ""
        return StepResult(
            f"Lease {lease.id} for one {rung.node_type} node, {rung.hours} h from "
            f"{lease.start_date} UTC{fallback}."
        )
    assert last_refusal is not None  # noqa: S101 - the ladder always has its first rung
    raise NoResourcesAfterLadder(tried=tried, last=last_refusal)


def wait_for_lease(context: StepContext) -> StepResult:
    deployment = context.deployment
    lease = cloud.check_lease(
        context.cloud, deployment.lease_id, waited=context.waited, timeout=config.lease_timeout()
    )
    seconds = int(context.waited.total_seconds())
    if not lease.is_active:
        return StepResult(
            f"Lease {lease.status}, waited {seconds} s.", wait_seconds=config.lease_poll_seconds()
        )
    context.record(reservation_id=lease.reservation_id or deployment.reservation_id)
    return StepResult(f"Lease ACTIVE after {seconds} s; reservation {lease.reservation_id}.")


def create_server(context: StepContext) -> StepResult:
    deployment = context.deployment
    if deployment.server_id:
        return StepResult(f"Server {deployment.server_id} was already launched.")
    name = deployment.server_name or deployment.name
    context.record(server_name=name)
    adopted = cloud.find_server(context.cloud, name)
    if adopted is not None:
        context.record(server_id=adopted.id)
        return StepResult(f"Server {adopted.id} ({adopted.status}) found and kept.")
    server = cloud.create_server(
        context.cloud,
        name=name,
        image_id=deployment.image_id,
        network_id=deployment.network_id,
        key_name=deployment.keypair_name,
        reservation_id=deployment.reservation_id,
        flavor=config.flavor(),
    )
    context.record(server_id=server.id)
    return StepResult(f"Server {name} ({server.id}) is {server.status}.")


def wait_for_server(context: StepContext) -> StepResult:
    server = cloud.check_server(
        context.cloud,
        context.deployment.server_id,
        waited=context.waited,
        timeout=config.server_timeout(),
    )
    seconds = int(context.waited.total_seconds())
    if not server.is_active:
        return StepResult(
            f"Server {server.status}, waited {seconds} s.",
            wait_seconds=config.server_poll_seconds(),
        )
    context.record(fixed_ip=server.fixed_ip or "")
    return StepResult(f"Server ACTIVE after {seconds} s at {server.fixed_ip}.")


def floating_ip(context: StepContext) -> StepResult:
    result = cloud.attach_floating_ip(
        context.cloud, context.deployment.server_id, pool=config.floating_ip_pool()
    )
    if result.address is None:
        warnings = [*context.deployment.warnings, result.warning]
        context.record(warnings=warnings)
        return StepResult(str(result.warning))
    context.record(floating_ip=result.address, floating_ip_id=result.floating_ip_id or "")
    how = "reused" if result.reused else "allocated"
    return StepResult(f"Floating IP {result.address} {how} and attached.")


def ssh_command(*, user: str, address: str, private_key_path: str) -> str:
    key = f"-i {private_key_path} " if private_key_path else ""
    return f"ssh {key}{user}@{address}"


def verify(context: StepContext) -> StepResult:
    deployment = context.deployment
    server = cloud.get_server(context.cloud, deployment.server_id)
    if server is None:
        raise ServerFailed(server=deployment.server_id, fault="it no longer exists")
    address = server.floating_ip or deployment.floating_ip or server.fixed_ip or ""
    user = config.ssh_user(deployment.image_name)
    command = ssh_command(user=user, address=address, private_key_path=deployment.private_key_path)
    context.record(
        fixed_ip=server.fixed_ip or deployment.fixed_ip,
        floating_ip=server.floating_ip or deployment.floating_ip,
        ssh_user=user,
        ssh_command=command,
    )
    return StepResult(f"Server {server.status}; connect with: {command}")


def save_state(context: StepContext) -> StepResult:
    path, info = write_info_file(context.deployment)
    context.record(info_path=str(path), info=info)
    return StepResult(f"Saved {path}.")


HANDLERS: dict[Step, Handler] = {
    Step.ANALYSE_REPOSITORY: analyse_repository,
    Step.SELECT_IMAGE: select_image,
    Step.PLAN_LEASE: plan_lease,
    Step.KEYPAIR: keypair,
    Step.NETWORK: network,
    Step.CREATE_LEASE: create_lease,
    Step.WAIT_FOR_LEASE: wait_for_lease,
    Step.CREATE_SERVER: create_server,
    Step.WAIT_FOR_SERVER: wait_for_server,
    Step.FLOATING_IP: floating_ip,
    Step.VERIFY: verify,
    Step.SAVE_STATE: save_state,
}
