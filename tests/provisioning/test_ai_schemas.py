"""The checker refuses every answer that is malformed or picks a value Dagyard did not offer."""

from __future__ import annotations

import pytest

from provisioning.ai.schemas import (
    OfferedImage,
    SchemaViolation,
    parse_image_choice,
    parse_image_shortlist,
    parse_json_object,
    parse_lease_duration,
    parse_requirements,
)

GOOD_REQUIREMENTS = {
    "cpu_cores": 4,
    "ram_gb": 16,
    "gpu_required": True,
    "gpu_memory_gb": 8,
    "disk_gb": 50,
    "os_type": "ubuntu",
    "os_version": "22.04",
    "cuda_required": True,
    "python_version": "3.9",
    "special_requirements": ["CUDA 11.x", "cuDNN"],
}
OFFERED = ["CC-Ubuntu22.04", "CC-Ubuntu22.04-CUDA", "CC-Ubuntu20.04-CUDA", "CC-CentOS8"]


def test_the_seeds_example_answer_becomes_requirements():
    requirements = parse_requirements(GOOD_REQUIREMENTS)
    assert requirements.gpu_required
    assert requirements.gpu_memory_gb == 8
    assert requirements.special_requirements == ("CUDA 11.x", "cuDNN")


def test_fractional_sizes_round_up_so_the_node_is_never_too_small():
    assert parse_requirements({**GOOD_REQUIREMENTS, "ram_gb": 15.2}).ram_gb == 16


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cpu_cores": "four"}, "'cpu_cores' must be a number"),
        ({"cpu_cores": True}, "'cpu_cores' must be a number"),
        ({"cpu_cores": 2.5}, "whole number"),
        ({"cpu_cores": 0}, "between 1"),
        ({"gpu_required": "yes"}, "'gpu_required' must be true or false"),
        ({"os_type": "windows"}, "'os_type' must be one of"),
        ({"os_version": "jammy"}, "'os_version' must look like"),
        ({"python_version": "python3"}, "'python_version' must look like"),
        ({"gpu_memory_gb": 0}, "above 0"),
        ({"special_requirements": "CUDA"}, "list of strings"),
    ],
)
def test_requirements_with_a_wrong_field_are_refused(change, message):
    with pytest.raises(SchemaViolation, match=message):
        parse_requirements({**GOOD_REQUIREMENTS, **change})


def test_requirements_without_a_field_are_refused():
    data = dict(GOOD_REQUIREMENTS)
    del data["disk_gb"]
    with pytest.raises(SchemaViolation, match="'disk_gb' is missing"):
        parse_requirements(data)


@pytest.mark.parametrize("content", ["", "   ", "not json", "[1, 2]", '{"a": 1'])
def test_anything_but_a_json_object_is_refused(content):
    with pytest.raises(SchemaViolation):
        parse_json_object(content)


def test_a_fenced_json_object_is_read():
    assert parse_json_object('```json\n{"a": 1}\n```') == {"a": 1}


def test_a_shortlist_of_offered_images_is_accepted():
    shortlist = parse_image_shortlist(
        {"candidates": OFFERED[:3], "reasoning": "ok"}, offered=OFFERED
    )
    assert shortlist.candidates == tuple(OFFERED[:3])


@pytest.mark.parametrize(
    ("candidates", "message"),
    [
        (["CC-Ubuntu22.04", "CC-Made-Up", "CC-CentOS8"], "not offered"),
        (["CC-Ubuntu22.04"], "3 to 5"),
        (["CC-Ubuntu22.04", "CC-Ubuntu22.04", "CC-CentOS8"], "more than once"),
        ("CC-Ubuntu22.04", "list of image names"),
    ],
)
def test_a_bad_shortlist_is_refused(candidates, message):
    with pytest.raises(SchemaViolation, match=message):
        parse_image_shortlist({"candidates": candidates}, offered=OFFERED)


def test_a_short_offer_allows_a_short_shortlist():
    assert parse_image_shortlist({"candidates": ["A"]}, offered=["A"]).candidates == ("A",)


def test_the_final_image_must_be_a_candidate_and_carries_its_id():
    candidates = [OfferedImage("CC-Ubuntu22.04-CUDA", "id-1"), OfferedImage("CC-Ubuntu22.04", "2")]
    choice = parse_image_choice({"selected_image": "CC-Ubuntu22.04-CUDA"}, candidates=candidates)
    assert choice.id == "id-1"
    with pytest.raises(SchemaViolation, match="not one of the candidates"):
        parse_image_choice({"selected_image": "CC-CentOS8"}, candidates=candidates)


@pytest.mark.parametrize(("hours", "ok"), [(1, True), (168, True), (0, False), (169, False)])
def test_lease_hours_outside_a_week_are_refused_not_clamped(hours, ok):
    data = {"duration_hours": hours, "reasoning": "r"}
    if ok:
        assert parse_lease_duration(data).hours == hours
    else:
        with pytest.raises(SchemaViolation, match="between 1 and 168"):
            parse_lease_duration(data)


def test_an_empty_shortlist_is_refused_even_when_nothing_was_offered():
    with pytest.raises(SchemaViolation, match="1 to 5"):
        parse_image_shortlist({"candidates": []}, offered=[])
