"""Deterministic rules for every provisioning decision, used when the model can't be.

These are the seed's decision trees taken literally, plus a requirements analysis that reads the
same files the model would. They are pure functions over plain data, so a deployment without an
API key (or with a model that answers nonsense) still gets a sound, explainable plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from provisioning.ai.schemas import (
    MAX_CANDIDATES,
    MAX_LEASE_HOURS,
    MIN_LEASE_HOURS,
    ImageChoice,
    ImageInfo,
    ImageShortlist,
    LeaseDuration,
    NodeTypeChoice,
    Requirements,
)

# The error table's defaults when the model is unavailable. (Its default node type,
# compute_cascadelake_r640, is not used: the node-type tree always has an answer from the files.)
DEFAULT_IMAGE = "CC-Ubuntu22.04"
DEFAULT_LEASE_HOURS = 24
SHORTEST_RETRY_HOURS = 4

# The node-type tree's leaves. The tree names the high-memory family only as compute_*_384gb;
# Dagyard reserves its Cascade Lake member unless the caller lists the node types its site has.
GPU_LARGE_NODE = "gpu_a100"
GPU_MEDIUM_NODE = "gpu_rtx_6000"
GPU_SMALL_NODE = "gpu_rtx_5000"
HIGH_MEMORY_NODE = "compute_cascadelake_384gb"
MANY_CORES_NODE = "compute_cascadelake_r640"
STANDARD_NODE = "compute_haswell"
HIGH_MEMORY_PATTERN = re.compile(r"^compute_.+_384gb$")

# What each node type offers, for trying a sibling when the first choice has no free node.
GPU_NODE_MEMORY_GB = {GPU_SMALL_NODE: 16, GPU_MEDIUM_NODE: 24, GPU_LARGE_NODE: 40}
COMPUTE_NODE_SIZES = {  # cores (threads), RAM in GB
    STANDARD_NODE: (48, 128),
    "compute_skylake": (48, 192),
    MANY_CORES_NODE: (96, 192),
    "compute_icelake_r650": (112, 256),
    HIGH_MEMORY_NODE: (96, 384),
}

GPU_PACKAGES = frozenset(
    [
        "torch",
        "pytorch",
        "torchvision",
        "torchaudio",
        "pytorch-cuda",
        "tensorflow",
        "tensorflow-gpu",
        "tf-nightly",
        "jax",
        "jaxlib",
        "cupy",
        "cudatoolkit",
        "cuda-toolkit",
        "cuda-python",
        "pycuda",
        "numba-cuda",
        "triton",
        "vllm",
        "xformers",
        "deepspeed",
        "flash-attn",
        "onnxruntime-gpu",
        "paddlepaddle-gpu",
    ]
)
# Large-model tooling needs more GPU memory than a plain training script.
GPU_LARGE_PACKAGES = frozenset({"vllm", "deepspeed", "flash-attn", "xformers"})
GPU_MEDIUM_PACKAGES = frozenset({"transformers", "accelerate", "diffusers", "bitsandbytes"})
DATA_PACKAGES = frozenset(
    {"numpy", "pandas", "scipy", "scikit-learn", "polars", "dask", "pyspark", "xgboost", "lightgbm"}
)
FRAMEWORKS = tuple(
    [
        "torch",
        "tensorflow",
        "jax",
        "transformers",
        "scikit-learn",
        "pandas",
        "django",
        "flask",
        "fastapi",
        "celery",
        "streamlit",
        "ray",
    ]
)

_REQUIREMENT_NAME = re.compile(r"^\s*(?:-\s+)?([A-Za-z0-9][A-Za-z0-9._-]*)")
_QUOTED_REQUIREMENT = re.compile(
    r"""["']([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:[\[<>=!~;@ ][^"']*)?["']"""
)
_PYTHON_IN_TEXT = (
    re.compile(r"requires-python\s*=\s*[\"'][^\"'\d]*(3\.\d{1,2})"),
    re.compile(r"python_requires\s*=\s*[\"'][^\"'\d]*(3\.\d{1,2})"),
    re.compile(r"^\s*-\s*python\s*[=<>~]*\s*(3\.\d{1,2})", re.MULTILINE),
    re.compile(r"^\s*FROM\s+(?:\S+/)?python:(3\.\d{1,2})", re.MULTILINE | re.IGNORECASE),
)
_DOCKER_BASE = re.compile(r"^\s*FROM\s+(\S+)", re.MULTILINE | re.IGNORECASE)
_VERSION_IN_NAME = re.compile(r"(\d{1,2}(?:\.\d{1,2})?)")


NO_IMAGE_MESSAGE = (
    "There are no CC-* images to choose from. Check the cloud region, and that the project can "
    "see the cloud's public images."
)


class NoImageAvailable(ValueError):
    """The cloud offered no image at all, so neither the model nor the rules can pick one."""


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-")


def packages_named(files: Mapping[str, str]) -> frozenset[str]:
    """Package names mentioned as dependencies in requirements, pyproject, setup.py and conda."""
    names: set[str] = set()
    for line in files.get("requirements.txt", "").splitlines():
        if not line.strip().startswith(("#", "-r", "--")):
            names.update(match.group(1) for match in [_REQUIREMENT_NAME.match(line)] if match)
    for filename in ("pyproject.toml", "setup.py"):
        names.update(m.group(1) for m in _QUOTED_REQUIREMENT.finditer(files.get(filename, "")))
    for line in files.get("environment.yml", "").splitlines():
        stripped = line.strip()
        if stripped.startswith("- ") and ":" not in stripped:
            match = _REQUIREMENT_NAME.match(stripped[2:])
            if match:
                names.add(match.group(1).split("=")[0])
    return frozenset(_normalise(name) for name in names)


def python_version_of(files: Mapping[str, str]) -> str | None:
    """The lowest Python the project declares, from the first file that says."""
    for filename in ("pyproject.toml", "setup.py", "environment.yml", "Dockerfile"):
        for pattern in _PYTHON_IN_TEXT:
            match = pattern.search(files.get(filename, ""))
            if match:
                return match.group(1)
    return None


def _docker_hints(dockerfile: str) -> tuple[bool, str | None, str | None]:
    """(needs CUDA, os type, os version) from the Dockerfile's base images."""
    cuda, os_type, os_version = False, None, None
    for base in _DOCKER_BASE.findall(dockerfile):
        base = base.lower()
        cuda = cuda or "nvidia/cuda" in base or "cuda" in base.split(":")[-1]
        if "ubuntu" in base:
            os_type = "ubuntu"
            found = re.search(r"ubuntu:?(\d{2}\.\d{2})", base)
            os_version = found.group(1) if found else os_version
        elif "centos" in base or "rockylinux" in base:
            os_type = "centos"
            found = re.search(r":(\d+)", base)
            os_version = found.group(1) if found else os_version
    return cuda, os_type, os_version


def analyse_requirements(files: Mapping[str, str]) -> Requirements:
    """Requirements from the repository's files: GPU libraries mean a GPU node, and so on."""
    packages = packages_named(files)
    readme = files.get("README.md", "").lower()
    docker_cuda, docker_os, docker_os_version = _docker_hints(files.get("Dockerfile", ""))
    gpu_packages = sorted(packages & GPU_PACKAGES)
    readme_gpu = bool(re.search(r"\b(cuda|nvidia gpu|requires (a )?gpu)\b", readme))
    gpu = bool(gpu_packages) or docker_cuda or readme_gpu
    reasons: list[str] = []
    if gpu_packages:
        reasons.append(f"GPU libraries in the dependencies ({', '.join(gpu_packages)})")
    if docker_cuda:
        reasons.append("the Dockerfile builds on a CUDA image")
    if readme_gpu and not gpu_packages:
        reasons.append("the README asks for a GPU")
    if not gpu:
        reasons.append("no GPU library, CUDA base image or GPU mention found")
    if packages & GPU_LARGE_PACKAGES:
        gpu_memory = 40
        reasons.append("large-model tooling needs a GPU with more than 24 GB")
    elif packages & GPU_MEDIUM_PACKAGES:
        gpu_memory = 16
    else:
        gpu_memory = 8
    data_heavy = bool(packages & DATA_PACKAGES) or gpu
    python_version = python_version_of(files)
    if python_version:
        reasons.append(f"Python {python_version} declared")
    frameworks = tuple(name for name in FRAMEWORKS if name in packages)
    if "pytorch" in packages and "torch" not in frameworks:
        frameworks = ("torch", *frameworks)
    special = ["CUDA", "cuDNN"] if gpu else []
    return Requirements(
        cpu_cores=8 if gpu else 4,
        ram_gb=32 if gpu else (16 if data_heavy else 8),
        gpu_required=gpu,
        gpu_memory_gb=gpu_memory if gpu else 0,
        disk_gb=100 if gpu else 50,
        os_type=docker_os or "ubuntu",
        os_version=docker_os_version or ("22.04" if (docker_os or "ubuntu") == "ubuntu" else "8"),
        cuda_required=gpu,
        python_version=python_version,
        special_requirements=tuple(special),
        frameworks=frameworks,
        reasoning="; ".join(reasons) + ".",
    )


def _is_cuda(name: str) -> bool:
    return "cuda" in name.lower()


def _family_prefix(os_type: str) -> str:
    return "CC-Ubuntu" if os_type == "ubuntu" else "CC-CentOS"


def _newest_first(images: Iterable[ImageInfo]) -> list[ImageInfo]:
    # Creation time first; the name breaks ties (a dated build sorts before its undated alias).
    return sorted(images, key=lambda image: (image.created_at or "", image.name), reverse=True)


def _version_matches(name: str, os_version: str) -> bool:
    found = _VERSION_IN_NAME.search(name.removeprefix("CC-Ubuntu").removeprefix("CC-CentOS"))
    if not found:
        return False
    return os_version in (found.group(1), found.group(1).split(".")[0])


def image_family(requirements: Requirements, images: Sequence[ImageInfo]) -> list[ImageInfo]:
    """The image tree's branches: CUDA or not, then Ubuntu or CentOS, then the OS version.

    Returns the matching images newest first. An empty version match keeps the whole OS family,
    because an older or newer release of the right OS beats no image at all.
    """
    gpu = requirements.gpu_required or requirements.cuda_required
    prefix = _family_prefix(requirements.os_type)
    family = [
        image for image in images if image.name.startswith(prefix) and _is_cuda(image.name) == gpu
    ]
    versioned = [image for image in family if _version_matches(image.name, requirements.os_version)]
    return _newest_first(versioned or family)


def shortlist_images(requirements: Requirements, images: Sequence[ImageInfo]) -> ImageShortlist:
    """Stage 1 by the rules: up to five images of the tree's branch, newest first."""
    family = image_family(requirements, images)
    gpu = "CUDA" if requirements.gpu_required or requirements.cuda_required else "non-CUDA"
    branch = f"{gpu} {_family_prefix(requirements.os_type)}* images for {requirements.os_version}"
    if family:
        return ImageShortlist(
            candidates=tuple(image.name for image in family[:MAX_CANDIDATES]),
            reasoning=f"Image tree: {branch}, newest first.",
        )
    fallback = [image for image in images if image.name == DEFAULT_IMAGE] or _newest_first(images)
    return ImageShortlist(
        candidates=tuple(image.name for image in fallback[:MAX_CANDIDATES]),
        reasoning=f"Image tree: no {branch}; fell back to {fallback[0].name if fallback else ''}.",
    )


def _fits(requirements: Requirements, image: ImageInfo) -> bool:
    disk_ok = image.min_disk is None or image.min_disk <= requirements.disk_gb
    ram_ok = image.min_ram is None or image.min_ram <= requirements.ram_gb * 1024
    return disk_ok and ram_ok


def choose_image(requirements: Requirements, candidates: Sequence[ImageInfo]) -> ImageChoice:
    """Stage 2 by the rules: the newest candidate whose minimum disk and RAM the node meets.

    Raises NoImageAvailable when there is no candidate at all: nothing can boot then.
    """
    if not candidates:
        raise NoImageAvailable(NO_IMAGE_MESSAGE)
    ranked = image_family(requirements, candidates) or _newest_first(candidates)
    fitting = [image for image in ranked if _fits(requirements, image)]
    chosen = (fitting or ranked)[0]
    why = "newest candidate of the tree's branch"
    if not fitting:
        why += " (none states minimums the node meets)"
    elif fitting[0] is not ranked[0]:
        why += " whose minimum disk and RAM the node meets"
    return ImageChoice(name=chosen.name, id=chosen.id, reasoning=f"Image tree: {why}.")


def choose_image_by_tree(requirements: Requirements, images: Sequence[ImageInfo]) -> ImageChoice:
    """Both stages by the rules, straight from the full image list."""
    shortlist = shortlist_images(requirements, images)
    kept = [image for image in images if image.name in shortlist.candidates]
    choice = choose_image(requirements, kept)
    return ImageChoice(
        name=choice.name, id=choice.id, reasoning=f"{shortlist.reasoning} {choice.reasoning}"
    )


def choose_node_type(
    requirements: Requirements, *, known_node_types: Sequence[str] = ()
) -> NodeTypeChoice:
    """The seed's node-type tree, branch by branch.

    ``known_node_types`` (the site's real names, when known) only resolves the tree's
    compute_*_384gb family to a concrete member.
    """
    if requirements.gpu_required:
        memory = requirements.gpu_memory_gb
        if memory > 24:
            return NodeTypeChoice(GPU_LARGE_NODE, f"GPU with {memory} GB (> 24 GB): A100.")
        if memory > 16:
            return NodeTypeChoice(GPU_MEDIUM_NODE, f"GPU with {memory} GB (> 16 GB): RTX 6000.")
        return NodeTypeChoice(GPU_SMALL_NODE, f"GPU with {memory} GB (<= 16 GB): RTX 5000.")
    if requirements.ram_gb > 256:
        family = sorted(name for name in known_node_types if HIGH_MEMORY_PATTERN.match(name))
        node = family[0] if family else HIGH_MEMORY_NODE
        why = f"No GPU, {requirements.ram_gb} GB RAM (> 256 GB): 384 GB node."
        return NodeTypeChoice(node, why)
    if requirements.cpu_cores > 48:
        return NodeTypeChoice(
            MANY_CORES_NODE, f"No GPU, {requirements.cpu_cores} cores (> 48): Cascade Lake R640."
        )
    return NodeTypeChoice(STANDARD_NODE, "No GPU, standard CPU and RAM: Haswell.")


def clamp_lease_hours(hours: int) -> int:
    return max(MIN_LEASE_HOURS, min(MAX_LEASE_HOURS, hours))


def choose_lease_duration(
    requirements: Requirements, *, requested_hours: int | None = None
) -> LeaseDuration:
    """24 hours unless the user asked for a length; either way within 1-168 hours."""
    if requested_hours is None:
        return LeaseDuration(DEFAULT_LEASE_HOURS, "Default lease of 24 hours.")
    hours = clamp_lease_hours(requested_hours)
    if hours != requested_hours:
        return LeaseDuration(
            hours,
            f"Asked for {requested_hours} hours; leases last {MIN_LEASE_HOURS}-{MAX_LEASE_HOURS}"
            f" hours, so {hours}.",
        )
    return LeaseDuration(hours, f"Asked for {hours} hours.")


@dataclass(frozen=True)
class LeaseAttempt:
    """One way to ask Blazar for a node: a node type and a lease length, and why to try it."""

    node_type: str
    hours: int
    reasoning: str


def _siblings_meeting(requirements: Requirements, node_type: str) -> list[str]:
    """Other node types of the same family that still meet the requirements, smallest first."""
    if node_type in GPU_NODE_MEMORY_GB:
        return [
            name
            for name, memory in sorted(GPU_NODE_MEMORY_GB.items(), key=lambda item: item[1])
            if name != node_type and memory >= requirements.gpu_memory_gb
        ]
    if node_type in COMPUTE_NODE_SIZES:
        return [
            name
            for name, (cores, ram) in sorted(COMPUTE_NODE_SIZES.items(), key=lambda item: item[1])
            if name != node_type and cores >= requirements.cpu_cores and ram >= requirements.ram_gb
        ]
    return []


def lease_attempts(
    requirements: Requirements, *, node_type: str, hours: int
) -> tuple[LeaseAttempt, ...]:
    """The ladder to walk when Blazar has no free node: the plan, shorter leases, then siblings.

    A shorter lease fits more gaps in a busy calendar, so it is tried first (halving down to
    four hours); then other node types of the same family that still meet the requirements, at
    the planned length. A user who named the node type should be offered only the first rung.
    """
    attempts = [LeaseAttempt(node_type, hours, "The planned node type and lease length.")]
    shorter = hours // 2
    while shorter >= SHORTEST_RETRY_HOURS:
        attempts.append(
            LeaseAttempt(node_type, shorter, f"A shorter lease ({shorter} h) fits more gaps.")
        )
        shorter //= 2
    for sibling in _siblings_meeting(requirements, node_type):
        attempts.append(
            LeaseAttempt(
                sibling,
                hours,
                f"{sibling} is of the same family as {node_type} and meets the requirements.",
            )
        )
    return tuple(attempts)
