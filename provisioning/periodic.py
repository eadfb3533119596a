from orchestrator.periodic import Periodic

# A deployment whose worker died mid-step is picked up again from its last finished step.
PERIODIC_TASKS = [
    Periodic(
        "dagyard: resume stalled deployments",
        "provisioning.resume_stalled",
        every_seconds=60,
    ),
]
