from dags.models.clone import AutoCloneStatus, Clone
from dags.models.dag import Dag
from dags.models.run import DagRun, NodeAttempt, NodeRun, RunEvent

__all__ = ["AutoCloneStatus", "Clone", "Dag", "DagRun", "NodeAttempt", "NodeRun", "RunEvent"]
