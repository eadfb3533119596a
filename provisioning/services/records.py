"""The deployment's record for its user: ``{server_name}_info.json`` and the same in the database.

It holds every id the seed lists and nothing secret (the private key's path, never its content).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.utils import timezone

from orchestrator.environment import write_private_file
from provisioning import config
from provisioning.models import Deployment

INFO_FILE_NAME = "{server_name}_info.json"


def info_of(deployment: Deployment) -> dict[str, Any]:
    return {
        "deployment": deployment.name,
        "repository": deployment.repo_url,
        "server_name": deployment.server_name,
        "server_id": deployment.server_id,
        "lease_id": deployment.lease_id,
        "reservation_id": deployment.reservation_id,
        "lease_start": deployment.lease_start,
        "lease_end": deployment.lease_end,
        "floating_ip": deployment.floating_ip or None,
        "fixed_ip": deployment.fixed_ip or None,
        "image_name": deployment.image_name,
        "image_id": deployment.image_id,
        "node_type": deployment.node_type,
        "key_name": deployment.keypair_name,
        "private_key_path": deployment.private_key_path or None,
        "network_id": deployment.network_id,
        "ssh_user": deployment.ssh_user,
        "ssh_command": deployment.ssh_command,
        "warnings": list(deployment.warnings),
        "saved_at": timezone.now().isoformat(),
    }


def write_info_file(deployment: Deployment) -> tuple[Path, dict[str, Any]]:
    import json

    info = info_of(deployment)
    path = config.deployments_dir() / INFO_FILE_NAME.format(server_name=deployment.server_name)
    write_private_file(path, json.dumps(info, indent=2) + "\n")
    return path, info
