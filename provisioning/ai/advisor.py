"""The four provisioning questions put to an OpenAI-compatible model, with the rules as a net.

Every call asks for a JSON object, checks it with ``schemas``, and on any failure at all (no key,
timeout, rate limit, unreachable endpoint, garbage, a value Dagyard did not offer) answers with
the deterministic rules instead. Each decision says where it came from and, for a fallback, why
the model's answer was not used, so a deployment can show its user exactly that.

The API key lives only in the client: it is never logged, and any text that could echo it (an
endpoint's error message) is scrubbed before it becomes a fallback reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

import openai

from provisioning.ai import fallbacks
from provisioning.ai.schemas import (
    IMAGE_CHOICE_SHAPE,
    IMAGE_SHORTLIST_SHAPE,
    LEASE_DURATION_SHAPE,
    REPOSITORY_ANALYSIS_SHAPE,
    ImageChoice,
    ImageInfo,
    ImageShortlist,
    LeaseDuration,
    NodeTypeChoice,
    Requirements,
    SchemaViolation,
    parse_image_choice,
    parse_image_shortlist,
    parse_json_object,
    parse_lease_duration,
    parse_requirements,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT_SECONDS = 30.0
SYSTEM_PROMPT = (
    "You are a system administrator planning a bare-metal server on an OpenStack research cloud "
    "(Chameleon-style CC-* images, Blazar leases). Answer with one JSON object of exactly the "
    "requested shape and nothing else."
)


class DecisionSource(StrEnum):
    MODEL = "model"
    RULES = "rules"


class Reasoned(Protocol):
    @property
    def reasoning(self) -> str: ...


@dataclass(frozen=True)
class Decision(Generic[T]):
    """One decision, where it came from, and (for rules) why the model's answer was not used."""

    value: T
    source: DecisionSource
    fallback_reason: str | None = None

    @property
    def reasoning(self) -> str:
        return str(getattr(self.value, "reasoning", ""))

    def as_record(self) -> dict[str, Any]:
        """A JSON-ready summary for a deployment's history."""
        return {
            "source": self.source.value,
            "reasoning": self.reasoning,
            "fallback_reason": self.fallback_reason,
        }


class FilesLike(Protocol):
    @property
    def files(self) -> Mapping[str, str]: ...


def _shape_text(shape: Mapping[str, str]) -> str:
    return json.dumps(dict(shape), indent=2)


def _image_details(image: ImageInfo) -> dict[str, Any]:
    return {
        "name": image.name,
        "id": image.id,
        "size_bytes": image.size,
        "min_disk_gb": image.min_disk,
        "min_ram_mb": image.min_ram,
        "created_at": image.created_at,
    }


class _NoApiKey(Exception):
    """No key configured: the model is not asked at all."""


class Advisor:
    """Asks the model each question; answers from the rules whenever the model can't."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        model: str,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = 1,
    ) -> None:
        self._model = model
        self._timeout = timeout
        self._api_key = api_key or ""
        self._client: openai.OpenAI | None = None
        if self._api_key:
            self._client = openai.OpenAI(
                api_key=self._api_key,
                base_url=base_url or None,
                timeout=timeout,
                max_retries=max_retries,
            )

    def __repr__(self) -> str:
        return f"Advisor(model={self._model!r}, key={'set' if self._api_key else 'missing'})"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- the four calls -------------------------------------------------------------------

    def analyse_repository(self, snapshot: FilesLike) -> Decision[Requirements]:
        """AI call 1: requirements from the repository's environment files."""
        files = snapshot.files
        listing = "\n\n".join(f"=== {name} ===\n{text}" for name, text in files.items())
        prompt = (
            "Analyze these configuration files of a project and estimate the hardware it needs.\n\n"
            f"{listing or '(the repository has none of the usual environment files)'}\n\n"
            "GPU libraries (torch, tensorflow, jax, CUDA) mean gpu_required=true. Return JSON "
            f"with these keys:\n{_shape_text(REPOSITORY_ANALYSIS_SHAPE)}"
        )
        decision = self._decide(
            "repository analysis",
            prompt,
            parse_requirements,
            lambda: fallbacks.analyse_requirements(files),
        )
        if decision.source is DecisionSource.MODEL:
            # The frameworks are facts read from the files, not estimates: the rules name them.
            frameworks = fallbacks.analyse_requirements(files).frameworks
            decision = Decision(
                dataclasses.replace(decision.value, frameworks=frameworks), decision.source
            )
        return decision

    def shortlist_images(
        self, requirements: Requirements, images: Sequence[ImageInfo]
    ) -> Decision[ImageShortlist]:
        """AI call 2: 3-5 candidate images out of the offered list."""
        offered = [image.name for image in images]
        listing = "\n".join(f"- {image.name} (created {image.created_at})" for image in images)
        prompt = (
            f"Requirements:\n{json.dumps(requirements.as_dict(), indent=2)}\n\n"
            f"Available images:\n{listing}\n\n"
            "Pick 3 to 5 candidates: match the OS type and version, CUDA only if a GPU is "
            f"required, prefer recent images. Return JSON:\n{_shape_text(IMAGE_SHORTLIST_SHAPE)}"
        )
        return self._decide(
            "image shortlist",
            prompt,
            lambda data: parse_image_shortlist(data, offered=offered),
            lambda: fallbacks.shortlist_images(requirements, images),
        )

    def choose_image(
        self, requirements: Requirements, candidates: Sequence[ImageInfo]
    ) -> Decision[ImageChoice]:
        """AI call 3: the one image to boot, out of the candidates' details."""
        details = [_image_details(image) for image in candidates]
        prompt = (
            f"Requirements:\n{json.dumps(requirements.as_dict(), indent=2)}\n\n"
            f"Candidate images:\n{json.dumps(details, indent=2)}\n\n"
            "Select the best one: its minimum disk and RAM must fit the requirements, prefer "
            f"newer images and a matching CUDA version. Return JSON:\n"
            f"{_shape_text(IMAGE_CHOICE_SHAPE)}"
        )
        return self._decide(
            "image choice",
            prompt,
            lambda data: parse_image_choice(data, candidates=candidates),
            lambda: fallbacks.choose_image(requirements, candidates),
        )

    def select_image(
        self, requirements: Requirements, images: Sequence[ImageInfo]
    ) -> tuple[Decision[ImageShortlist], Decision[ImageChoice]]:
        """Both image stages: shortlist from all images, then one from the shortlist's details."""
        shortlist = self.shortlist_images(requirements, images)
        candidates = [image for image in images if image.name in shortlist.value.candidates]
        return shortlist, self.choose_image(requirements, candidates)

    def choose_lease_duration(
        self,
        requirements: Requirements,
        *,
        now: dt.datetime,
        project_type: str | None = None,
        requested_hours: int | None = None,
    ) -> Decision[LeaseDuration]:
        """AI call 4: how many hours to reserve. A duration the user gave is never questioned."""
        if requested_hours is not None:
            return Decision(
                fallbacks.choose_lease_duration(requirements, requested_hours=requested_hours),
                DecisionSource.RULES,
                "the user set the duration",
            )
        kind = project_type or ", ".join(requirements.frameworks) or "general software project"
        prompt = (
            f"Current time: {now.isoformat(timespec='seconds')}\n"
            f"Requirements:\n{json.dumps(requirements.as_dict(), indent=2)}\n"
            f"Project type: {kind}\n\n"
            "Recommend a lease duration: 24 hours unless the project clearly needs otherwise, at "
            f"least 1 and at most 168 hours. Return JSON:\n{_shape_text(LEASE_DURATION_SHAPE)}"
        )
        return self._decide(
            "lease duration",
            prompt,
            parse_lease_duration,
            lambda: fallbacks.choose_lease_duration(requirements),
        )

    def choose_node_type(
        self, requirements: Requirements, *, known_node_types: Sequence[str] = ()
    ) -> Decision[NodeTypeChoice]:
        """The node type always comes from the seed's tree; no model call decides hardware class."""
        return Decision(
            fallbacks.choose_node_type(requirements, known_node_types=known_node_types),
            DecisionSource.RULES,
            "the node type is always chosen by the decision tree",
        )

    # --- machinery ------------------------------------------------------------------------

    def _decide(
        self,
        call: str,
        prompt: str,
        parse: Callable[[dict[str, Any]], T],
        rules: Callable[[], T],
    ) -> Decision[T]:
        try:
            value = parse(parse_json_object(self._ask(prompt)))
        except Exception as error:  # any failure at all means the rules answer instead
            reason = self._describe(error)
            logger.warning("AI %s falls back to the rules: %s", call, reason)
            return Decision(rules(), DecisionSource.RULES, reason)
        logger.info("AI %s answered by the model %s", call, self._model)
        return Decision(value, DecisionSource.MODEL)

    def _ask(self, prompt: str) -> str | None:
        if self._client is None:
            raise _NoApiKey
        completion = self._client.chat.completions.create(
            model=self._model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": prompt},
            ],
            response_format={"type": "json_object"},
            temperature=0,
        )
        if not completion.choices:
            raise SchemaViolation("the answer held no choices")
        return completion.choices[0].message.content

    def _describe(self, error: Exception) -> str:
        if isinstance(error, _NoApiKey):
            text = "no API key is configured"
        elif isinstance(error, openai.APITimeoutError):
            text = f"the model did not answer within {self._timeout:g} s"
        elif isinstance(error, openai.RateLimitError):
            text = "the model endpoint is rate-limiting requests (HTTP 429)"
        elif isinstance(error, openai.AuthenticationError):
            text = "the API key was refused (HTTP 401)"
        elif isinstance(error, openai.APIStatusError):
            text = f"the model endpoint answered HTTP {error.status_code}"
        elif isinstance(error, openai.APIConnectionError):
            text = "the model endpoint could not be reached"
        elif isinstance(error, SchemaViolation):
            text = f"the model's answer was not usable: {error}"
        else:
            text = f"the model call failed ({type(error).__name__})"
        return text.replace(self._api_key, "***") if self._api_key else text
