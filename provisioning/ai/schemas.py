"""The shapes of the four AI answers, the plain data they become, and a strict checker.

A model's answer is untrusted input: it is parsed as JSON, every field is type-checked, and every
choice must be one of the values Dagyard offered. Anything else raises ``SchemaViolation``, which
the advisor turns into a fallback to the rules. Hand-written rather than jsonschema so that the
check also knows the offered values of this very call (the images listed, the candidates kept).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

OS_TYPES = ("ubuntu", "centos")
MIN_LEASE_HOURS = 1
MAX_LEASE_HOURS = 168
MAX_CANDIDATES = 5
MIN_CANDIDATES = 3


class SchemaViolation(ValueError):
    """A model's answer that is not JSON, has the wrong shape, or picks a value not offered."""


class ImageInfo(Protocol):
    """What the decisions need to know about a cloud image (the cloud module's images fit)."""

    @property
    def name(self) -> str: ...

    @property
    def id(self) -> str: ...

    @property
    def size(self) -> int | None: ...

    @property
    def min_disk(self) -> int | None: ...

    @property
    def min_ram(self) -> int | None: ...

    @property
    def created_at(self) -> str | None: ...


@dataclass(frozen=True)
class Requirements:
    """Hardware and software a repository needs (AI call 1, or the rules from its files)."""

    cpu_cores: int = 4
    ram_gb: int = 16
    gpu_required: bool = False
    gpu_memory_gb: int = 0
    disk_gb: int = 50
    os_type: str = "ubuntu"
    os_version: str = "22.04"
    cuda_required: bool = False
    python_version: str | None = None
    special_requirements: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = ()
    reasoning: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["special_requirements"] = list(self.special_requirements)
        data["frameworks"] = list(self.frameworks)
        return data


@dataclass(frozen=True)
class ImageShortlist:
    """Stage 1 of image selection: 3-5 candidate names out of the offered CC-* images."""

    candidates: tuple[str, ...]
    reasoning: str = ""


@dataclass(frozen=True)
class ImageChoice:
    """Stage 2 of image selection: the one image to boot, by name and id."""

    name: str
    id: str
    reasoning: str = ""


@dataclass(frozen=True)
class NodeTypeChoice:
    """The Blazar node type to reserve (rules only: the seed asks no model for it)."""

    node_type: str
    reasoning: str = ""


@dataclass(frozen=True)
class LeaseDuration:
    """How long to reserve the node, always within 1-168 hours."""

    hours: int
    reasoning: str = ""


# The JSON each call asks for, shown to the model in its prompt and enforced by the parsers below.
REPOSITORY_ANALYSIS_SHAPE: Mapping[str, str] = {
    "cpu_cores": "integer >= 1",
    "ram_gb": "number >= 1",
    "gpu_required": "boolean",
    "gpu_memory_gb": "number >= 0",
    "disk_gb": "number >= 1",
    "os_type": "one of " + ", ".join(OS_TYPES),
    "os_version": "string, e.g. 22.04",
    "cuda_required": "boolean",
    "python_version": "string like 3.11, or null",
    "special_requirements": "list of strings (optional)",
    "reasoning": "string (optional)",
}
IMAGE_SHORTLIST_SHAPE: Mapping[str, str] = {
    "candidates": "list of 3-5 distinct image names, each one of the offered images",
    "reasoning": "string",
}
IMAGE_CHOICE_SHAPE: Mapping[str, str] = {
    "selected_image": "one of the candidate image names",
    "reasoning": "string",
}
LEASE_DURATION_SHAPE: Mapping[str, str] = {
    "duration_hours": f"integer from {MIN_LEASE_HOURS} to {MAX_LEASE_HOURS}",
    "reasoning": "string",
}

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
_PYTHON_VERSION = re.compile(r"^3\.\d{1,2}$")


def parse_json_object(content: str | None) -> dict[str, Any]:
    """The answer's JSON object; a single surrounding code fence is tolerated, nothing else."""
    if not content or not content.strip():
        raise SchemaViolation("the answer was empty")
    fenced = _FENCE.match(content)
    text = fenced.group(1) if fenced else content
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise SchemaViolation(f"the answer is not valid JSON ({error.msg})") from None
    if not isinstance(data, dict):
        raise SchemaViolation(f"the answer is JSON {type(data).__name__}, not an object")
    return data


def _field(data: Mapping[str, Any], name: str) -> Any:
    if name not in data:
        raise SchemaViolation(f"'{name}' is missing")
    return data[name]


def _integer(data: Mapping[str, Any], name: str, *, low: int, high: int) -> int:
    value = _field(data, name)
    # bool is an int in Python; a model answering `true` for a count is wrong, not 1.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaViolation(f"'{name}' must be a number, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise SchemaViolation(f"'{name}' must be a whole number, got {value!r}")
    if not low <= value <= high:
        raise SchemaViolation(f"'{name}' must be between {low} and {high}, got {value!r}")
    return int(value)


def _quantity(data: Mapping[str, Any], name: str, *, low: float, high: float) -> int:
    """A size in GB; fractions round up because a node with less than asked is too small."""
    value = _field(data, name)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise SchemaViolation(f"'{name}' must be a number, got {value!r}")
    if not low <= value <= high:
        raise SchemaViolation(f"'{name}' must be between {low:g} and {high:g}, got {value!r}")
    return math.ceil(value)


def _boolean(data: Mapping[str, Any], name: str) -> bool:
    value = _field(data, name)
    if not isinstance(value, bool):
        raise SchemaViolation(f"'{name}' must be true or false, got {value!r}")
    return value


def _string(data: Mapping[str, Any], name: str, *, optional: bool = False) -> str:
    if optional and data.get(name) is None:
        return ""
    value = _field(data, name)
    if not isinstance(value, str):
        raise SchemaViolation(f"'{name}' must be a string, got {value!r}")
    return value.strip()


def _string_list(data: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = data.get(name, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SchemaViolation(f"'{name}' must be a list of strings, got {value!r}")
    return tuple(item.strip() for item in value)


def parse_requirements(data: Mapping[str, Any]) -> Requirements:
    """AI call 1: the repository's requirements. Unknown keys are ignored; they decide nothing."""
    os_type = _string(data, "os_type").lower()
    if os_type not in OS_TYPES:
        raise SchemaViolation(f"'os_type' must be one of {', '.join(OS_TYPES)}, got {os_type!r}")
    os_version = _string(data, "os_version")
    if not re.fullmatch(r"\d{1,2}(\.\d{1,2})?", os_version):
        raise SchemaViolation(f"'os_version' must look like 22.04 or 8, got {os_version!r}")
    python_version = data.get("python_version")
    if python_version is not None:
        python_version = _string(data, "python_version")
        if not _PYTHON_VERSION.fullmatch(python_version):
            raise SchemaViolation(f"'python_version' must look like 3.11, got {python_version!r}")
    gpu_required = _boolean(data, "gpu_required")
    gpu_memory_gb = _quantity(data, "gpu_memory_gb", low=0, high=1024)
    if gpu_required and gpu_memory_gb == 0:
        raise SchemaViolation("'gpu_memory_gb' must be above 0 when 'gpu_required' is true")
    return Requirements(
        cpu_cores=_integer(data, "cpu_cores", low=1, high=1024),
        ram_gb=_quantity(data, "ram_gb", low=1, high=8192),
        gpu_required=gpu_required,
        gpu_memory_gb=gpu_memory_gb if gpu_required else 0,
        disk_gb=_quantity(data, "disk_gb", low=1, high=100_000),
        os_type=os_type,
        os_version=os_version,
        cuda_required=_boolean(data, "cuda_required"),
        python_version=python_version or None,
        special_requirements=_string_list(data, "special_requirements"),
        reasoning=_string(data, "reasoning", optional=True),
    )


def parse_image_shortlist(data: Mapping[str, Any], *, offered: Sequence[str]) -> ImageShortlist:
    """AI call 2: 3-5 distinct names, each among ``offered`` (fewer only if fewer were offered)."""
    candidates = _field(data, "candidates")
    if not isinstance(candidates, list) or not all(isinstance(c, str) for c in candidates):
        raise SchemaViolation(f"'candidates' must be a list of image names, got {candidates!r}")
    names = tuple(dict.fromkeys(c.strip() for c in candidates))
    if len(names) != len(candidates):
        raise SchemaViolation("'candidates' lists an image more than once")
    least = max(1, min(MIN_CANDIDATES, len(offered)))
    if not least <= len(names) <= MAX_CANDIDATES:
        raise SchemaViolation(
            f"'candidates' must hold {least} to {MAX_CANDIDATES} images, got {len(names)}"
        )
    unknown = [name for name in names if name not in set(offered)]
    if unknown:
        raise SchemaViolation(f"'candidates' names images that were not offered: {unknown}")
    return ImageShortlist(candidates=names, reasoning=_string(data, "reasoning", optional=True))


def parse_image_choice(data: Mapping[str, Any], *, candidates: Sequence[ImageInfo]) -> ImageChoice:
    """AI call 3: one image, which must be one of the candidates it was shown."""
    selected = _string(data, "selected_image")
    by_name = {image.name: image for image in candidates}
    if selected not in by_name:
        raise SchemaViolation(f"'selected_image' {selected!r} is not one of the candidates")
    return ImageChoice(
        name=selected,
        id=by_name[selected].id,
        reasoning=_string(data, "reasoning", optional=True),
    )


def parse_lease_duration(data: Mapping[str, Any]) -> LeaseDuration:
    """AI call 4: whole hours from 1 to 168; anything outside is refused, not clamped."""
    hours = _integer(data, "duration_hours", low=MIN_LEASE_HOURS, high=MAX_LEASE_HOURS)
    return LeaseDuration(hours=hours, reasoning=_string(data, "reasoning", optional=True))


@dataclass(frozen=True)
class OfferedImage:
    """A plain ImageInfo for prompts, tests and callers that hold no cloud object."""

    name: str
    id: str = ""
    size: int | None = None
    min_disk: int | None = None
    min_ram: int | None = None
    created_at: str | None = None
