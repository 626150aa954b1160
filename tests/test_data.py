"""The dataset catalogue (data/README.md) and the files placed for offline use."""

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
ROWS = re.findall(r"^\| `([\w/.]+)` \| (\d+) \| `([0-9a-f]{64})` \|", CATALOGUE, re.M)
ORIGINS = re.findall(r"^- `(https://\S+)`$", CATALOGUE, re.M)
DATA = Path(os.environ.get("TFBOOK_DATA", ROOT / "data"))


def test_catalogue_rows_have_pinned_origins():
    assert ROWS, "no dataset rows in data/README.md"
    for file, _, _ in ROWS:
        origin = next(o for o in ORIGINS if o.endswith("/data/" + file))
        assert re.search(r"/[0-9a-f]{40}/", origin), f"{origin} is not pinned to a commit"


@pytest.mark.parametrize("file, size, sha256", ROWS, ids=[r[0] for r in ROWS])
def test_placed_file_matches_the_catalogue(file, size, sha256):
    path = DATA / file
    if not path.exists():
        pytest.skip(f"{path} not placed (offline: copy the mirror as .ci/run does; online: pages download it)")
    content = path.read_bytes()
    assert len(content) == int(size) and hashlib.sha256(content).hexdigest() == sha256


def test_loader_finds_placed_files_without_network():
    """keras.utils.get_file, as the pages call it, returns the placed file and downloads nothing."""
    placed = [(f, sha) for f, _, sha in ROWS if (DATA / f).exists()]
    if not placed:
        pytest.skip("no dataset placed under " + str(DATA))
    file, sha256 = placed[0]
    origin = next(o for o in ORIGINS if o.endswith("/data/" + file))
    code = (
        "import keras, sys; print(keras.utils.get_file(sys.argv[1], origin=sys.argv[2], file_hash=sys.argv[3],"
        " cache_dir=sys.argv[4], cache_subdir=sys.argv[5]))"
    )
    dataset, name = file.split("/")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    result = subprocess.run(
        [sys.executable, "-c", code, name, origin, sha256, str(DATA), dataset], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(DATA / file)
