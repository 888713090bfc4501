"""Vet a student's `.keras` file before anything loads it.

A `.keras` file is a zip of `config.json`, `metadata.json` and `model.weights.h5`. Keras's own
`safe_mode=True` refuses Lambda layers, but older releases had bypasses, so the file is checked
first: only the expected members, bounded sizes, and a config whose every object is a built-in
Keras class (no Lambda, no custom or registered objects, no modules outside `keras`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

MEMBERS = {"config.json", "metadata.json", "model.weights.h5"}
MAX_UNCOMPRESSED = 512 * 1024 * 1024
MAX_CONFIG = 4 * 1024 * 1024
FORBIDDEN_CLASSES = {"Lambda", "TFOpLambda", "TorchModuleWrapper", "JaxLayer", "FlaxLayer", "SlicingOpLambda"}


class UnsafeModel(ValueError):
    """The .keras file is not a plain Keras model made of built-in layers."""


def _walk(node, path: str = "config"):
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")


def check_config(config: dict) -> None:
    for where, obj in _walk(config):
        if "class_name" not in obj:
            continue
        name = obj.get("class_name")
        module = obj.get("module")
        registered = obj.get("registered_name")
        if name in FORBIDDEN_CLASSES:
            raise UnsafeModel(f"{where}: {name} layers are not accepted (they carry code)")
        if module is not None and not (module == "keras" or str(module).startswith("keras.")):
            raise UnsafeModel(f"{where}: class {name} from module {module!r} is not a Keras built-in")
        if registered not in (None, name) and not str(registered).startswith("keras"):
            raise UnsafeModel(f"{where}: custom object {registered!r} is not accepted")
        config_of = obj.get("config")
        if isinstance(config_of, dict) and config_of.get("function_type") == "lambda":
            raise UnsafeModel(f"{where}: serialized Python functions are not accepted")


def inspect_keras_file(path: Path) -> dict:
    """Raise UnsafeModel unless `path` is a plain .keras archive; return its config."""
    if path.suffix != ".keras":
        raise UnsafeModel(f"{path.name}: only .keras files are accepted (not .h5 or SavedModel)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeModel(f"{path.name} is not a .keras archive: {exc}") from exc
    with archive:
        infos = archive.infolist()
        names = {i.filename for i in infos}
        unexpected = names - MEMBERS
        if unexpected:
            raise UnsafeModel(f"{path.name} holds unexpected files: {sorted(unexpected)[:5]}")
        if "config.json" not in names:
            raise UnsafeModel(f"{path.name} has no config.json")
        if sum(i.file_size for i in infos) > MAX_UNCOMPRESSED:
            raise UnsafeModel(f"{path.name} unpacks to more than {MAX_UNCOMPRESSED // 2**20} MiB")
        info = archive.getinfo("config.json")
        if info.file_size > MAX_CONFIG:
            raise UnsafeModel(f"{path.name}: config.json is too large")
        try:
            config = json.loads(archive.read("config.json"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise UnsafeModel(f"{path.name}: config.json is not JSON") from exc
    if not isinstance(config, dict):
        raise UnsafeModel(f"{path.name}: config.json is not an object")
    check_config(config)
    return config
