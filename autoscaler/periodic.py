from orchestrator.periodic import Periodic

# A tick every 30 s picks the pools whose own interval (default 300 s) has passed.
PERIODIC_TASKS = [
    Periodic("dagyard: evaluate due pools", "autoscaler.tick", every_seconds=30),
    Periodic("dagyard: apply pool schedules", "autoscaler.check_schedules", every_seconds=60),
    Periodic("dagyard: size worker pools", "autoscaler.scale_worker_pools", every_seconds=30),
    Periodic("dagyard: heartbeat to the backend", "autoscaler.heartbeat", every_seconds=60),
    Periodic(
        "dagyard: prune old pool evaluations", "autoscaler.prune_evaluations", every_seconds=3600
    ),  # fmt: skip
]
