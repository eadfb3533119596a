"""Repository snapshots from real git repositories that the tests create on disk."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from provisioning.ai.fallbacks import analyse_requirements, choose_node_type
from provisioning.repo_analysis import (
    MAX_FILE_BYTES,
    RepositoryCloneFailed,
    display_url,
    snapshot_repository,
)


def make_repository(root: Path, files: dict[str, str]) -> str:
    """A committed repository holding ``files``; returns its file:// URL."""
    root.mkdir(parents=True)
    repo = git.Repo.init(root)
    for name, text in files.items():
        (root / name).write_text(text)
    repo.index.add(list(files))
    actor = git.Actor("Dagyard Tests", "tests@dagyard.invalid")
    repo.index.commit("sample project", author=actor, committer=actor)
    repo.close()
    return root.as_uri()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_a_torch_project_is_read_and_needs_a_gpu_node(tmp_path, work_dir):
    url = make_repository(
        tmp_path / "torch-project",
        {
            "requirements.txt": "torch==2.0.0\nnumpy>=1.21.0\n",
            "README.md": "# Machine Learning Project\nThis project requires GPU support.\n",
            "train.py": "print('training')\n",
        },
    )
    snapshot = snapshot_repository(url, work_dir=work_dir)
    assert set(snapshot.files) == {"requirements.txt", "README.md"}
    assert len(snapshot.commit) == 40
    assert "=== requirements.txt ===\ntorch==2.0.0" in snapshot.prompt_text()
    requirements = analyse_requirements(snapshot.files)
    assert requirements.gpu_required
    assert choose_node_type(requirements).node_type == "gpu_rtx_5000"
    assert list(work_dir.iterdir()) == []


def test_a_plain_web_app_needs_a_standard_cpu_node(tmp_path, work_dir):
    url = make_repository(
        tmp_path / "web-app",
        {
            "pyproject.toml": '[project]\nname = "shop"\nrequires-python = ">=3.11"\n'
            'dependencies = ["flask>=3", "gunicorn"]\n',
            "Dockerfile": "FROM python:3.11-slim\nCOPY . /app\n",
        },
    )
    snapshot = snapshot_repository(url, work_dir=work_dir)
    requirements = analyse_requirements(snapshot.files)
    assert not requirements.gpu_required
    assert requirements.frameworks == ("flask",)
    assert requirements.python_version == "3.11"
    assert choose_node_type(requirements).node_type == "compute_haswell"


def test_a_conda_environment_is_read(tmp_path, work_dir):
    url = make_repository(
        tmp_path / "conda-lab",
        {"environment.yml": "name: lab\ndependencies:\n  - python=3.10\n  - jax\n  - pandas\n"},
    )
    requirements = analyse_requirements(snapshot_repository(url, work_dir=work_dir).files)
    assert requirements.gpu_required
    assert requirements.python_version == "3.10"
    assert "jax" in requirements.frameworks


def test_files_are_cut_to_ten_kilobytes(tmp_path, work_dir):
    url = make_repository(tmp_path / "big", {"README.md": "x" * (MAX_FILE_BYTES * 3)})
    snapshot = snapshot_repository(url, work_dir=work_dir)
    assert len(snapshot.files["README.md"]) == MAX_FILE_BYTES
    assert snapshot.truncated == frozenset({"README.md"})


def test_a_missing_repository_fails_clearly_after_a_retry_and_leaves_nothing(tmp_path, work_dir):
    url = (tmp_path / "does-not-exist").as_uri()
    with pytest.raises(RepositoryCloneFailed) as caught:
        snapshot_repository(url, work_dir=work_dir)
    message = str(caught.value)
    assert message.startswith(f"Could not clone {url} after 2 attempts:")
    assert "Check that the URL is right" in message
    assert list(work_dir.iterdir()) == []


def test_a_url_that_looks_like_an_option_is_refused_before_git_runs(work_dir):
    with pytest.raises(RepositoryCloneFailed, match="that is not a repository URL"):
        snapshot_repository("--upload-pack=touch /tmp/owned", work_dir=work_dir)
    assert list(work_dir.iterdir()) == []


def test_credentials_in_a_url_never_reach_messages():
    assert display_url("https://user:t0ken@example.com/a/b.git") == "https://example.com/a/b.git"
    assert display_url("file:///tmp/x") == "file:///tmp/x"


def test_a_failed_clone_never_echoes_the_token_in_its_url(work_dir):
    url = "https://dagyard:s3cret-token@127.0.0.1:9/private/repo.git"
    with pytest.raises(RepositoryCloneFailed) as caught:
        snapshot_repository(url, work_dir=work_dir)
    assert "s3cret-token" not in str(caught.value)
    assert "https://127.0.0.1:9/private/repo.git" in str(caught.value)
