"""Fetch the files that tell what a repository needs, and nothing else.

The clone is shallow, lives in a temporary folder and is always deleted: Dagyard keeps only the
few environment files (10 KB each at most), which is all the analysis reads and all a prompt can
hold. A clone that fails is tried once more, because networks hiccup; then the user gets a message
that says what to check.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit, urlunsplit

import git

logger = logging.getLogger(__name__)

ENVIRONMENT_FILES = (
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "environment.yml",
    "Dockerfile",
    "README.md",
)
MAX_FILE_BYTES = 10 * 1024
CLONE_ATTEMPTS = 2
# A worker has no terminal: git must fail at once rather than wait for a password or a host key.
NON_INTERACTIVE_GIT = {"GIT_TERMINAL_PROMPT": "0", "GIT_SSH_COMMAND": "ssh -o BatchMode=yes"}

CLONE_FAILED_MESSAGE = (
    "Could not clone {url} after {attempts} attempts: {reason}. Check that the URL is right and "
    "the repository is reachable (and public, or readable with your credentials), or try a "
    "different repository."
)


class RepositoryCloneFailed(Exception):
    """The repository could not be cloned, even on the second try."""


@dataclass(frozen=True)
class RepoSnapshot:
    """The environment files of one commit of a repository, each cut to 10 KB."""

    url: str
    commit: str
    files: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    truncated: frozenset[str] = frozenset()

    def prompt_text(self) -> str:
        """The files as the model reads them: a header line, then the content."""
        return "\n\n".join(f"=== {name} ===\n{text}" for name, text in self.files.items())


def display_url(url: str) -> str:
    """The URL without any user or token in it, fit for messages and logs."""
    parts = urlsplit(url)
    if not parts.netloc or "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _clone(url: str, destination: Path) -> git.Repo:
    if not url.strip() or url.lstrip().startswith("-"):
        # A leading dash would reach git as an option, not a repository.
        raise RepositoryCloneFailed(
            CLONE_FAILED_MESSAGE.format(url=url, attempts=0, reason="that is not a repository URL")
        )
    last_error: Exception | None = None
    for attempt in range(1, CLONE_ATTEMPTS + 1):
        shutil.rmtree(destination, ignore_errors=True)
        try:
            return git.Repo.clone_from(
                url, destination, env=NON_INTERACTIVE_GIT, depth=1, single_branch=True
            )
        except (git.GitCommandError, OSError) as error:
            last_error = error
            logger.warning("Clone of %s failed (attempt %d)", display_url(url), attempt)
    reason = _clone_reason(last_error, url)
    raise RepositoryCloneFailed(
        CLONE_FAILED_MESSAGE.format(url=display_url(url), attempts=CLONE_ATTEMPTS, reason=reason)
    )


def _clone_reason(error: Exception | None, url: str) -> str:
    if isinstance(error, git.GitCommandError):
        lines = [line.strip() for line in str(error.stderr or "").splitlines() if line.strip()]
        last = lines[-1] if lines else f"git exit {error.status}"
        text = last.removeprefix("stderr:").strip(" '")
    else:
        text = str(error)
    # git echoes the URL it was given; a token in it must not reach the message.
    return text.replace(url, display_url(url))


def _read_limited(path: Path) -> tuple[str, bool]:
    with path.open("rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)
    return data[:MAX_FILE_BYTES].decode("utf-8", errors="replace"), len(data) > MAX_FILE_BYTES


def snapshot_repository(url: str, *, work_dir: Path | None = None) -> RepoSnapshot:
    """Clone ``url``, keep its environment files, delete the clone whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix="dagyard-repo-", dir=work_dir))
    try:
        repo = _clone(url, folder / "checkout")
        try:
            # An empty repository has no commit yet; its (absent) files are still an answer.
            commit = repo.head.commit.hexsha if repo.head.is_valid() else ""
            root = Path(repo.working_tree_dir or folder / "checkout")
        finally:
            repo.close()
        files: dict[str, str] = {}
        truncated: set[str] = set()
        for name in ENVIRONMENT_FILES:
            path = root / name
            # A symlink could point outside the clone; only regular files are read.
            if path.is_file() and not path.is_symlink():
                files[name], cut = _read_limited(path)
                if cut:
                    truncated.add(name)
        return RepoSnapshot(
            url=display_url(url),
            commit=commit,
            files=MappingProxyType(files),
            truncated=frozenset(truncated),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
