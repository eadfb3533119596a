from orchestrator.periodic import Periodic

PERIODIC_TASKS = [
    Periodic("dagyard: reap orphaned nodes and overdue runs", "dags.reap", every_seconds=30),
    Periodic("dagyard: AutoClone manager", "dags.autoclone_tick", every_seconds=10),
    Periodic(
        "dagyard: keep continuous DAGs running",
        "dags.keep_continuous_dags_running",
        every_seconds=10,
    ),
]
