"""A commit that changes no code the pipeline runs changes nothing it publishes.

A copy of the repository runs `airwatch run` with its own sources; a README change committed there
trains and publishes nothing new, while a change to the training code changes the training stage's
code version (and only that one), which is what makes the next run train again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_harness")]
REPO = Path(__file__).resolve().parents[1]
# The copy's sources, not the editable install's: drop scikit-build's redirecting finder first.
RUN = """
import sys
sys.meta_path = [f for f in sys.meta_path if "Redirecting" not in type(f).__name__]
sys.path.insert(0, sys.argv.pop(1))
import airwatch
assert airwatch.__file__.startswith(sys.path[0]), airwatch.__file__
from airwatch.cli import main
main()
"""


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}  # fmt: skip
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def published(store: Path) -> dict[str, list[str]]:
    def keys(prefix: str) -> list[str]:
        return sorted(str(p.relative_to(store)) for p in (store / prefix).rglob("*") if p.is_file())

    return {"processed": keys("processed"), "training": keys("models")}


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    if not (REPO / ".git").exists():
        pytest.skip("needs the git checkout of the project")
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    core = importlib.util.find_spec("airwatch._core")
    assert core is not None and core.origin is not None
    shutil.copy(core.origin, clone / "src" / "airwatch")  # the built extension (not in git)
    return clone


def test_a_readme_commit_publishes_nothing_new_and_a_code_change_changes_its_stage(
    copy: Path, tmp_path: Path, sample_dir: Path
) -> None:
    from prefect.settings import PREFECT_API_URL

    folder = tmp_path / "input"
    folder.mkdir()
    for year in (2000, 2001):
        shutil.copy(sample_dir / f"ozone_daily_{year}_cook_county_IL.csv.gz", folder)
    store = tmp_path / "store"
    env = {**os.environ, "AIRWATCH_STORE": str(store), "AIRWATCH_INPUT_DIR": str(folder),
           "AIRWATCH_TRAIN__VALIDATION_DAYS": "120", "AIRWATCH_TRAIN__LIGHTGBM_ROUNDS": "20",
           "AIRWATCH_TRAIN__QUANTILE_ROUNDS": "10", "AIRWATCH_WEATHER__MODE": "none",
           "PREFECT_API_URL": str(PREFECT_API_URL.value())}  # fmt: skip

    def run() -> None:
        done = subprocess.run([sys.executable, "-c", RUN, str(copy / "src"), "run"], env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr

    run()
    first = published(store)
    assert len(first["training"]) >= 2  # a training report and a promotion

    with (copy / "README.md").open("a") as readme:
        readme.write("\nA line of documentation.\n")
    git(copy, "commit", "-qam", "docs")
    run()
    assert published(store) == first  # nothing re-processed, nothing retrained, no new model version

    # The mechanism that told the README apart: the code version of each stage, from the copy's sources.
    before = code_versions(copy)
    train = copy / "src" / "airwatch" / "domain" / "train.py"
    text = train.read_text()
    assert '"num_leaves": 15' in text  # else the edit below would change nothing
    train.write_text(text.replace('"num_leaves": 15', '"num_leaves": 16'))
    with (copy / "src" / "airwatch" / "domain" / "transform.py").open("a") as module:
        module.write("\n# A comment changes no stage's code version.\n")
    git(copy, "commit", "-qam", "a different number of leaves, and a comment")
    after = code_versions(copy)
    changed = sorted(stage for stage in before if before[stage] != after[stage])
    # Only the stages that run the changed code: train (its next run trains again) and replay, which
    # fits the champion's configuration with the same training code.
    assert changed == ["replay", "train"]


def code_versions(repo: Path) -> dict[str, str]:
    code = RUN.replace(
        "from airwatch.cli import main\nmain()",
        "from airwatch import lineage\nprint(json.dumps(lineage.code_versions()))",
    )
    done = subprocess.run([sys.executable, "-c", "import json\n" + code, str(repo / "src")], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
