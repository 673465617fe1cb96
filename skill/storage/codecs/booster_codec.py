"""A gradient-boosting library's own model file: XGBoost (`.json`/`.ubj`), LightGBM (`.txt`), CatBoost (`.cbm`),
written by the model's `save_model` and read back by the recorded class's `load_model`."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from ...errors import InvalidInput
from ...schemas.records import ArtifactInfo
from .base import Codec, loaded_from_file, missing, top_module, written_to_file

SUFFIXES = {".json": None, ".ubj": None, ".txt": "lightgbm", ".cbm": "catboost"}  # suffix -> its only library
LIBRARIES = ("xgboost", "lightgbm", "catboost")  # the only classes a `native` record may name


def _recorded_class(info: ArtifactInfo) -> Any:
    parts = (info.model_class or "").split(".")
    if parts[0] not in LIBRARIES or len(parts) < 2:
        raise InvalidInput(f"recorded class of {info.name!r}", info.model_class,
                           f"a model class of {', '.join(LIBRARIES)} (the libraries whose native "
                           f"format save_model writes)")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value: Any = import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.split(".", 1)[0] == parts[0]:
                raise missing(parts[0], f"loading {info.name!r}") from None
            continue
        for attr in parts[cut:]:
            value = getattr(value, attr, None)
        if isinstance(value, type):
            return value
    raise InvalidInput(f"recorded class of {info.name!r}", info.model_class, "a class that its library defines")


class Booster(Codec):
    format = "native"

    def accepts(self, obj: Any, suffix: str) -> bool:
        only = SUFFIXES.get(suffix, "-")
        return (suffix in SUFFIXES and callable(getattr(obj, "save_model", None))
                and (only is None or top_module(obj) == only))

    def encode(self, obj: Any, suffix: str, name: str) -> tuple[bytes, str]:
        return written_to_file(suffix, obj.save_model), "native"

    def decode(self, info: ArtifactInfo, data: bytes) -> Any:
        cls = _recorded_class(info)

        def load(path: str) -> Any:
            if cls.__module__.split(".", 1)[0] == "lightgbm" and cls.__name__ == "Booster":
                return cls(model_file=path)
            model = cls()
            model.load_model(path)
            return model

        return loaded_from_file(Path(info.name).suffix.lower(), data, load)


__all__ = ["Booster"]
