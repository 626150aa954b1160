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


LOADER_PAGES = sorted(p for p in (ROOT / "chapters").rglob("*.md") if "keras.utils.get_file" in p.read_text("utf-8"))

PROBE = r"""
import hashlib, json, os, sys
from pathlib import Path
import jupytext, keras, numpy as np, pandas as pd, tensorflow as tf

results = {}
for page in sys.argv[2:]:
    cells = [c.source for c in jupytext.read(page).cells if c.cell_type == "code"]
    cell = next(source for source in cells if "keras.utils.get_file" in source)
    for case in ("missing", "damaged"):
        data = Path(sys.argv[1]) / Path(page).stem / case
        data.mkdir(parents=True)
        if case == "damaged":
            # the catalogue's files only: data/ also holds what pages write (logs/, exports)
            for name in os.environ["TFBOOK_DATASET_FILES"].split(","):
                (data / name).parent.mkdir(parents=True, exist_ok=True)
                real = Path(os.environ["TFBOOK_REAL_DATA"]) / name
                (data / name).write_bytes(real.read_bytes() + b"one more line\n")
        before = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file())
        names = dict(os=os, hashlib=hashlib, Path=Path, np=np, pd=pd, keras=keras, tf=tf, DATA=data)
        try:
            exec(cell, names)
            # a cell that only defines the loader (4.2) is given the call of the next cell
            if "titanic_file" in names:
                names["titanic_file"]("train.csv")
            if "load_imdb" in names:
                names["load_imdb"]()
            message = None
        except Exception as err:
            message = f"{type(err).__name__}: {err}"
        after = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file())
        results[f"{page}:{case}"] = {"message": message, "kept": before == after}
print(json.dumps(results))
"""


@pytest.mark.skipif(not LOADER_PAGES, reason="no page downloads a dataset")
def test_loaders_name_a_missing_or_damaged_file_offline(tmp_path):
    """Each page's loader cell, offline: a missing file names itself, its folder and its URL; a damaged one
    (a line appended) says its checksum does not match, expected and found, and is left where it was."""
    import json

    if not all((DATA / f).exists() for f, _, _ in ROWS):
        pytest.skip("datasets not placed")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9")
    env["TFBOOK_REAL_DATA"] = str(DATA)
    env["TFBOOK_DATASET_FILES"] = ",".join(f for f, _, _ in ROWS)
    pages = [str(p) for p in LOADER_PAGES]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), *pages], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    for page in pages:
        name = Path(page).name
        missing, damaged = results[f"{page}:missing"], results[f"{page}:damaged"]
        assert missing["message"] and "could not be downloaded" in missing["message"], (name, missing)
        assert "https://raw.githubusercontent.com/" in missing["message"], (name, missing)
        message = damaged["message"] or ""
        assert "is damaged" in message and "sha256" in message, (name, damaged)
        shas = re.findall(r"\b[0-9a-f]{64}\b", message)
        assert len(shas) == 2 and shas[0] != shas[1] and shas[1] in CATALOGUE, (name, message)
        assert damaged["kept"], f"{name}: the damaged file was deleted"
