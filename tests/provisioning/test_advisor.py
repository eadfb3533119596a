"""The real openai client against the loopback stand-in: good answers, and every way to fail."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

import pytest

from provisioning.ai.advisor import Advisor, DecisionSource
from provisioning.ai.fallbacks import DEFAULT_LEASE_HOURS
from provisioning.ai.schemas import OfferedImage, Requirements
from tests.fakes.openai_api import FakeOpenAI

API_KEY = "sk-dagyard-test-secret-key"
NOW = dt.datetime(2025, 12, 4, 10, 30, tzinfo=dt.UTC)
TORCH_FILES = {"requirements.txt": "torch==2.0.0\nnumpy\n"}
IMAGES = [
    OfferedImage("CC-Ubuntu22.04", "u22", created_at="2024-05-01"),
    OfferedImage("CC-Ubuntu22.04-CUDA", "u22c", created_at="2024-06-01"),
    OfferedImage("CC-Ubuntu22.04-CUDA-20240326", "u22c-old", created_at="2024-03-26"),
    OfferedImage("CC-Ubuntu20.04-CUDA", "u20c", created_at="2024-02-01"),
    OfferedImage("CC-CentOS8", "c8", created_at="2022-01-01"),
]
GPU = Requirements(gpu_required=True, gpu_memory_gb=8, cuda_required=True)


class Files:
    def __init__(self, files: dict[str, str]) -> None:
        self.files = files


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def advisor(fake: FakeOpenAI) -> Iterator[Advisor]:
    advisor = Advisor(base_url=fake.base_url, api_key=API_KEY, model="planner", max_retries=0)
    yield advisor
    advisor.close()


def test_a_good_analysis_answer_is_used_and_marked_as_the_models(fake, advisor):
    fake.answer_json(
        {
            "cpu_cores": 8,
            "ram_gb": 32,
            "gpu_required": True,
            "gpu_memory_gb": 20,
            "disk_gb": 80,
            "os_type": "ubuntu",
            "os_version": "22.04",
            "cuda_required": True,
            "python_version": "3.10",
            "reasoning": "torch training",
        }
    )
    decision = advisor.analyse_repository(Files(TORCH_FILES))
    assert decision.source is DecisionSource.MODEL
    assert decision.fallback_reason is None
    assert decision.value.gpu_memory_gb == 20
    assert decision.reasoning == "torch training"
    assert decision.value.frameworks == ("torch",)
    request = fake.requests[0]
    assert request.body["response_format"] == {"type": "json_object"}
    assert request.body["model"] == "planner"
    assert "=== requirements.txt ===\ntorch==2.0.0" in request.user_prompt
    assert request.authorization == f"Bearer {API_KEY}"


def test_both_image_stages_use_valid_model_answers(fake, advisor):
    fake.answer_json(
        {
            "candidates": [
                "CC-Ubuntu22.04-CUDA",
                "CC-Ubuntu22.04-CUDA-20240326",
                "CC-Ubuntu20.04-CUDA",
            ],
            "reasoning": "CUDA Ubuntu images",
        }
    )
    fake.answer_json({"selected_image": "CC-Ubuntu22.04-CUDA", "reasoning": "latest CUDA"})
    shortlist = advisor.shortlist_images(GPU, IMAGES)
    assert shortlist.source is DecisionSource.MODEL
    candidates = [image for image in IMAGES if image.name in shortlist.value.candidates]
    choice = advisor.choose_image(GPU, candidates)
    assert choice.source is DecisionSource.MODEL
    assert (choice.value.name, choice.value.id) == ("CC-Ubuntu22.04-CUDA", "u22c")
    assert '"min_disk_gb"' in fake.requests[1].user_prompt


def test_a_good_lease_duration_is_used(fake, advisor):
    fake.answer_json({"duration_hours": 12, "reasoning": "a short experiment"})
    decision = advisor.choose_lease_duration(GPU, now=NOW)
    assert (decision.value.hours, decision.source) == (12, DecisionSource.MODEL)
    assert "Current time: 2025-12-04T10:30:00+00:00" in fake.requests[0].user_prompt


def test_garbage_falls_back_to_the_rules_and_says_why(fake, advisor):
    fake.answer_text("Sure! The project needs a big GPU.")
    decision = advisor.analyse_repository(Files(TORCH_FILES))
    assert decision.source is DecisionSource.RULES
    assert decision.value.gpu_required
    assert decision.fallback_reason.startswith("the model's answer was not usable: ")
    assert "not valid JSON" in decision.fallback_reason
    assert "torch" in decision.reasoning


def test_a_body_that_is_not_json_falls_back(fake, advisor):
    fake.answer_garbage_body()
    decision = advisor.choose_lease_duration(GPU, now=NOW)
    assert decision.source is DecisionSource.RULES
    assert decision.value.hours == DEFAULT_LEASE_HOURS


def test_an_image_that_was_not_offered_falls_back_to_the_tree(fake, advisor):
    fake.answer_json({"selected_image": "CC-Windows11", "reasoning": "why not"})
    decision = advisor.choose_image(GPU, IMAGES)
    assert decision.source is DecisionSource.RULES
    assert decision.value.name == "CC-Ubuntu22.04-CUDA"
    assert "'selected_image' 'CC-Windows11' is not one of the candidates" in (
        decision.fallback_reason
    )


def test_a_shortlist_with_unknown_images_falls_back_to_the_tree(fake, advisor):
    fake.answer_json({"candidates": ["CC-Ubuntu22.04-CUDA", "CC-Nope", "CC-CentOS8"]})
    decision = advisor.shortlist_images(GPU, IMAGES)
    assert decision.source is DecisionSource.RULES
    assert decision.value.candidates[0] == "CC-Ubuntu22.04-CUDA"
    assert "not offered" in decision.fallback_reason


def test_a_lease_longer_than_a_week_falls_back_to_a_day(fake, advisor):
    fake.answer_json({"duration_hours": 500, "reasoning": "forever"})
    decision = advisor.choose_lease_duration(GPU, now=NOW)
    assert (decision.value.hours, decision.source) == (24, DecisionSource.RULES)
    assert "between 1 and 168" in decision.fallback_reason


def test_a_model_that_hangs_past_the_timeout_falls_back(fake):
    advisor = Advisor(
        base_url=fake.base_url, api_key=API_KEY, model="m", timeout=0.3, max_retries=0
    )
    fake.hang(seconds=30)
    decision = advisor.choose_lease_duration(GPU, now=NOW)
    advisor.close()
    assert decision.source is DecisionSource.RULES
    assert decision.fallback_reason == "the model did not answer within 0.3 s"


def test_rate_limiting_falls_back(fake, advisor):
    fake.rate_limit()
    decision = advisor.analyse_repository(Files({"requirements.txt": "flask\n"}))
    assert decision.source is DecisionSource.RULES
    assert not decision.value.gpu_required
    assert decision.fallback_reason == "the model endpoint is rate-limiting requests (HTTP 429)"


def test_a_refused_key_falls_back_without_echoing_the_key(fake, advisor, caplog):
    fake.fail(401)
    with caplog.at_level(logging.DEBUG):
        decision = advisor.choose_lease_duration(GPU, now=NOW)
    assert decision.fallback_reason == "the API key was refused (HTTP 401)"
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(advisor)


def test_an_unreachable_endpoint_falls_back(fake):
    fake.stop()
    advisor = Advisor(base_url=fake.base_url, api_key=API_KEY, model="m", max_retries=0)
    decision = advisor.choose_lease_duration(GPU, now=NOW)
    assert decision.fallback_reason == "the model endpoint could not be reached"


def test_without_a_key_the_model_is_not_asked(fake):
    advisor = Advisor(base_url=fake.base_url, api_key=None, model="m")
    decision = advisor.analyse_repository(Files(TORCH_FILES))
    assert decision.source is DecisionSource.RULES
    assert decision.fallback_reason == "no API key is configured"
    assert fake.requests == []


def test_a_duration_the_user_gave_is_kept_within_a_week_without_asking(fake, advisor):
    decision = advisor.choose_lease_duration(GPU, now=NOW, requested_hours=400)
    assert decision.value.hours == 168
    assert decision.as_record()["source"] == "rules"
    assert fake.requests == []


def test_the_node_type_comes_from_the_tree(advisor):
    decision = advisor.choose_node_type(GPU)
    assert (decision.value.node_type, decision.source) == ("gpu_rtx_5000", DecisionSource.RULES)


def test_select_image_runs_both_stages_and_falls_back_per_stage(fake, advisor):
    fake.answer_text("no idea")
    fake.answer_json({"selected_image": "CC-Ubuntu22.04-CUDA-20240326", "reasoning": "pinned"})
    shortlist, choice = advisor.select_image(GPU, IMAGES)
    assert shortlist.source is DecisionSource.RULES
    assert choice.source is DecisionSource.MODEL
    assert (choice.value.name, choice.value.id) == ("CC-Ubuntu22.04-CUDA-20240326", "u22c-old")
