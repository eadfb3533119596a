"""The seed's decision trees, branch by branch, and the rules' requirements analysis."""

from __future__ import annotations

import pytest

from provisioning.ai.fallbacks import (
    DEFAULT_IMAGE,
    NoImageAvailable,
    analyse_requirements,
    choose_image,
    choose_image_by_tree,
    choose_lease_duration,
    choose_node_type,
    lease_attempts,
    packages_named,
    python_version_of,
    shortlist_images,
)
from provisioning.ai.schemas import OfferedImage, Requirements

IMAGES = (
    OfferedImage("CC-Ubuntu22.04", "u22", created_at="2024-05-01T00:00:00Z"),
    OfferedImage("CC-Ubuntu22.04-20230101", "u22-old", created_at="2023-01-01T00:00:00Z"),
    OfferedImage("CC-Ubuntu20.04", "u20", created_at="2024-04-01T00:00:00Z"),
    OfferedImage("CC-Ubuntu22.04-CUDA", "u22c", created_at="2024-06-01T00:00:00Z"),
    OfferedImage("CC-Ubuntu22.04-CUDA-20240326", "u22c-old", created_at="2024-03-26T00:00:00Z"),
    OfferedImage("CC-Ubuntu20.04-CUDA", "u20c", created_at="2024-02-01T00:00:00Z"),
    OfferedImage("CC-CentOS8", "c8", created_at="2022-01-01T00:00:00Z"),
    OfferedImage("CC-CentOS7", "c7", created_at="2021-01-01T00:00:00Z"),
    OfferedImage("CC-CentOS8-CUDA", "c8c", created_at="2022-02-01T00:00:00Z"),
)


@pytest.mark.parametrize(
    ("gpu", "os_type", "os_version", "expected"),
    [
        (True, "ubuntu", "22.04", "CC-Ubuntu22.04-CUDA"),
        (True, "ubuntu", "20.04", "CC-Ubuntu20.04-CUDA"),
        (True, "centos", "8", "CC-CentOS8-CUDA"),
        (False, "ubuntu", "22.04", "CC-Ubuntu22.04"),
        (False, "ubuntu", "20.04", "CC-Ubuntu20.04"),
        (False, "centos", "8", "CC-CentOS8"),
        (False, "centos", "7", "CC-CentOS7"),
    ],
)
def test_image_tree_picks_the_newest_image_of_each_branch(gpu, os_type, os_version, expected):
    requirements = Requirements(
        gpu_required=gpu, gpu_memory_gb=8 if gpu else 0, os_type=os_type, os_version=os_version
    )
    choice = choose_image_by_tree(requirements, IMAGES)
    assert choice.name == expected
    assert choice.id == next(image.id for image in IMAGES if image.name == expected)
    assert choice.reasoning.startswith("Image tree:")


def test_image_tree_keeps_the_os_family_when_no_image_matches_the_version():
    requirements = Requirements(gpu_required=True, gpu_memory_gb=8, os_version="24.04")
    assert choose_image_by_tree(requirements, IMAGES).name == "CC-Ubuntu22.04-CUDA"


def test_image_tree_falls_back_to_the_default_image_when_the_branch_is_empty():
    images = [image for image in IMAGES if "CentOS" not in image.name]
    requirements = Requirements(os_type="centos", os_version="8")
    shortlist = shortlist_images(requirements, images)
    assert shortlist.candidates == (DEFAULT_IMAGE,)
    assert "fell back" in shortlist.reasoning


def test_shortlist_holds_at_most_five_images_newest_first():
    images = [
        OfferedImage(f"CC-Ubuntu22.04-{day}", day, created_at=f"2024-01-{day}")
        for day in ("01", "02", "03", "04", "05", "06", "07")
    ]
    shortlist = shortlist_images(Requirements(), images)
    newest = ("07", "06", "05", "04", "03")
    assert shortlist.candidates == tuple(f"CC-Ubuntu22.04-{day}" for day in newest)


def test_stage_two_skips_a_newer_image_whose_minimums_the_node_does_not_meet():
    candidates = [
        OfferedImage("CC-Ubuntu22.04-big", "big", min_disk=500, created_at="2024-09-01"),
        OfferedImage("CC-Ubuntu22.04", "fits", min_disk=20, min_ram=2048, created_at="2024-01-01"),
    ]
    choice = choose_image(Requirements(disk_gb=50), candidates)
    assert choice.id == "fits"
    assert "minimum disk and RAM" in choice.reasoning


def test_stage_two_refuses_an_empty_candidate_list():
    with pytest.raises(NoImageAvailable, match="There are no CC-\\* images to choose from"):
        choose_image(Requirements(), [])


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        (Requirements(gpu_required=True, gpu_memory_gb=40), "gpu_a100"),
        (Requirements(gpu_required=True, gpu_memory_gb=25), "gpu_a100"),
        (Requirements(gpu_required=True, gpu_memory_gb=24), "gpu_rtx_6000"),
        (Requirements(gpu_required=True, gpu_memory_gb=17), "gpu_rtx_6000"),
        (Requirements(gpu_required=True, gpu_memory_gb=16), "gpu_rtx_5000"),
        (Requirements(gpu_required=True, gpu_memory_gb=8), "gpu_rtx_5000"),
        (Requirements(ram_gb=300, cpu_cores=96), "compute_cascadelake_384gb"),
        (Requirements(ram_gb=256, cpu_cores=64), "compute_cascadelake_r640"),
        (Requirements(ram_gb=64, cpu_cores=49), "compute_cascadelake_r640"),
        (Requirements(ram_gb=64, cpu_cores=48), "compute_haswell"),
        (Requirements(), "compute_haswell"),
    ],
)
def test_node_type_tree_follows_every_branch_and_boundary(requirements, expected):
    choice = choose_node_type(requirements)
    assert choice.node_type == expected
    assert choice.reasoning


def test_node_type_tree_resolves_the_high_memory_family_from_the_sites_node_types():
    choice = choose_node_type(
        Requirements(ram_gb=300),
        known_node_types=["compute_haswell", "compute_skylake_384gb", "gpu_a100"],
    )
    assert choice.node_type == "compute_skylake_384gb"


@pytest.mark.parametrize(
    ("requested", "hours"), [(None, 24), (1, 1), (168, 168), (0, 1), (-5, 1), (500, 168), (12, 12)]
)
def test_lease_duration_defaults_to_a_day_and_stays_within_a_week(requested, hours):
    duration = choose_lease_duration(Requirements(), requested_hours=requested)
    assert duration.hours == hours
    assert duration.reasoning


def test_torch_in_requirements_means_a_cuda_node_with_a_small_gpu():
    requirements = analyse_requirements(
        {"requirements.txt": "torch==2.0.0\nnumpy>=1.21.0\n# comment\n-r other.txt\n"}
    )
    assert requirements.gpu_required
    assert requirements.cuda_required
    assert requirements.gpu_memory_gb == 8
    assert "torch" in requirements.frameworks
    assert "torch" in requirements.reasoning
    assert choose_node_type(requirements).node_type == "gpu_rtx_5000"


def test_large_model_tooling_asks_for_a_large_gpu():
    requirements = analyse_requirements({"requirements.txt": "vllm\ntransformers\n"})
    assert requirements.gpu_memory_gb > 24
    assert choose_node_type(requirements).node_type == "gpu_a100"


def test_a_plain_web_app_needs_no_gpu():
    requirements = analyse_requirements(
        {
            "pyproject.toml": '[project]\nrequires-python = ">=3.11"\n'
            'dependencies = ["django>=5.2", "gunicorn"]\n',
            "README.md": "# Shop\nA small web shop.",
        }
    )
    assert not requirements.gpu_required
    assert requirements.python_version == "3.11"
    assert requirements.frameworks == ("django",)
    assert "no GPU library" in requirements.reasoning


def test_a_conda_environment_names_its_packages_and_python():
    files = {
        "environment.yml": "name: lab\ndependencies:\n  - python=3.9\n  - pytorch=2.1\n"
        "  - cudatoolkit=11.8\n  - pip:\n    - tensorflow==2.15\n"
    }
    assert {"pytorch", "cudatoolkit", "tensorflow", "python"} <= packages_named(files)
    requirements = analyse_requirements(files)
    assert requirements.gpu_required
    assert requirements.python_version == "3.9"
    assert {"torch", "tensorflow"} <= set(requirements.frameworks)


def test_a_cuda_dockerfile_and_its_ubuntu_release_are_read():
    requirements = analyse_requirements(
        {"Dockerfile": "FROM nvidia/cuda:12.2.0-runtime-ubuntu20.04\nRUN echo hi\n"}
    )
    assert requirements.gpu_required
    assert requirements.os_type == "ubuntu"
    assert requirements.os_version == "20.04"


def test_python_version_comes_from_setup_py_or_a_python_base_image():
    assert python_version_of({"setup.py": "setup(python_requires='>=3.8')"}) == "3.8"
    assert python_version_of({"Dockerfile": "FROM python:3.12-slim"}) == "3.12"
    assert python_version_of({}) is None


def test_the_lease_ladder_tries_shorter_leases_then_gpu_siblings_that_still_fit():
    requirements = Requirements(gpu_required=True, gpu_memory_gb=20)
    attempts = lease_attempts(requirements, node_type="gpu_rtx_6000", hours=24)
    assert [(a.node_type, a.hours) for a in attempts] == [
        ("gpu_rtx_6000", 24),
        ("gpu_rtx_6000", 12),
        ("gpu_rtx_6000", 6),
        ("gpu_a100", 24),
    ]
    assert all(attempt.reasoning for attempt in attempts)


def test_the_lease_ladder_offers_only_compute_nodes_with_enough_cores_and_ram():
    requirements = Requirements(cpu_cores=64, ram_gb=150)
    attempts = lease_attempts(requirements, node_type="compute_cascadelake_r640", hours=4)
    assert [a.node_type for a in attempts] == [
        "compute_cascadelake_r640",
        "compute_cascadelake_384gb",
        "compute_icelake_r650",
    ]


def test_the_lease_ladder_of_an_unknown_node_type_is_the_plan_alone():
    attempts = lease_attempts(Requirements(), node_type="storage_hier", hours=2)
    assert [(a.node_type, a.hours) for a in attempts] == [("storage_hier", 2)]
