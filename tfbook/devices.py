"""Which ``requires-<thing>`` cells run, decided the same way for the tests, the book build and the
Colab notebooks.

A flag value is ``none``, ``auto`` (the things present on this machine) or a comma list of things.
The tests take it from ``pytest --accelerators``, the book build from ``TFBOOK_ACCELERATORS``.

    python -m tfbook.devices VALUE    # prints what VALUE enables here; a bad value: one line, exit 2
"""

from __future__ import annotations

import glob
import importlib.metadata
import os
import shutil
import subprocess
import sys

ENV_VAR = "TFBOOK_ACCELERATORS"
# tag `requires-<key>` -> what the cell needs, as shown to readers
DEVICES = {
    "gpu": "GPU",
    "tpu": "TPU",
    "tfserving": "TensorFlow Serving (tensorflow_model_server)",
    # Colab's TPU runtime has a TPU but no TensorFlow that reaches it: TPUStrategy needs tensorflow-tpu
    "tf-tpu": "TPU 和能使用它的 TensorFlow（tensorflow-tpu，Cloud TPU 虚拟机）",
    # a Colab runtime (root, apt and the internet): 5.6 installs TensorFlow Serving there
    "colab": "Google Colab",
}
ALLOWED = "none, auto, " + ", ".join(DEVICES) + " or a comma list such as gpu,tpu"

# How each thing is detected: Python expressions over os, glob, importlib, shutil and subprocess, evaluated here
# and copied into the generated Colab notebooks (tfbook.colab), so that both follow one rule.
# TPU: the device files of TPU VMs (/dev/accel* on v2-v4, /dev/vfio/<n> on v5e and later) or the
# variables Colab and Cloud TPU set.
PRESENT = {
    "gpu": 'shutil.which("nvidia-smi") is not None'
    ' and "GPU" in subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout',
    "tpu": 'bool(glob.glob("/dev/accel*")'
    ' or [p for p in glob.glob("/dev/vfio/*") if os.path.basename(p).isdigit()]'
    ' or any(os.environ.get(v) for v in ("TPU_ACCELERATOR_TYPE", "COLAB_TPU_ADDR", "TPU_NAME")))',
    "tfserving": 'shutil.which("tensorflow_model_server") is not None',
}
PRESENT["colab"] = 'any(d.metadata["Name"] == "google-colab" for d in importlib.metadata.distributions())'
PRESENT["tf-tpu"] = (
    f'({PRESENT["tpu"]}) and any(d.metadata["Name"] == "tensorflow-tpu" for d in importlib.metadata.distributions())'
)


def parse(value: str) -> str | set[str]:
    """'none' -> set(), 'auto' -> 'auto', 'gpu,tpu' -> {'gpu', 'tpu'}; anything else is rejected."""
    value = (value or "").strip().lower()
    if value in ("none", "auto"):
        return set() if value == "none" else "auto"
    names = {name.strip() for name in value.split(",")}
    unknown = sorted(name for name in names if name not in DEVICES)
    if unknown or not names:
        raise ValueError(f"accelerators: unknown value {value!r}; allowed: {ALLOWED}")
    return names


def present(thing: str) -> bool:
    scope = {"os": os, "glob": glob, "importlib": importlib, "shutil": shutil, "subprocess": subprocess}
    return bool(eval(PRESENT[thing], scope))


def detect() -> set[str]:
    """The accelerators (and services) present on this machine."""
    return {thing for thing in PRESENT if present(thing)}


def resolve(value: str) -> set[str]:
    """The set of things whose cells run for a flag value ('auto' = those detected)."""
    parsed = parse(value)
    return detect() if parsed == "auto" else parsed


def required(cell) -> set[str]:
    """What a cell asks for through `requires-*` tags; an unknown tag is an error."""
    tags = cell.get("metadata", {}).get("tags", [])
    wanted = {tag.removeprefix("requires-") for tag in tags if tag.startswith("requires-")}
    unknown = sorted(wanted - set(DEVICES))
    if unknown:
        raise ValueError(f"unknown tag requires-{unknown[0]}; known: " + ", ".join(f"requires-{d}" for d in DEVICES))
    return wanted


if __name__ == "__main__":
    value = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(ENV_VAR, "auto")
    try:
        print(f"{ENV_VAR}={value}: runs the cells of", ", ".join(sorted(resolve(value))) or "no requires-* tag")
    except ValueError as err:
        sys.exit(f"{ENV_VAR}: {err}")
