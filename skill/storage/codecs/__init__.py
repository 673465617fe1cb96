"""The model and artifact formats, registered here and only here: adding a framework's format is one module
in this package and one line below.

`MODEL_CODECS` are tried in order for `save_model` (the name's extension decides: a pickle under another
format's name is never written); `VALUE_CODECS` for `save_artifact` values that are neither bytes, text, a
file nor plain data (those are `skill.storage.artifact_values`'), with pickle as the last resort. A saved
model is read back by the codec of the format its record names, after its bytes were verified.
"""

from __future__ import annotations

import os
from typing import Any

from ...errors import InvalidInput
from .base import Codec
from .booster_codec import Booster
from .dataframe_codec import DataFrame
from .figure_codec import Figure
from .joblib_codec import Joblib
from .keras_codec import Keras
from .onnx_codec import Onnx
from .pickle_codec import Pickle
from .torch_codec import SUFFIXES as TORCH_SUFFIXES
from .torch_codec import Torch

PICKLE = Pickle()
MODEL_CODECS: tuple[Codec, ...] = (PICKLE, Onnx(), Joblib(), Torch(), Booster(), Keras())
VALUE_CODECS: tuple[Codec, ...] = (DataFrame(), Figure())
_BY_FORMAT = {codec.format: codec for codec in MODEL_CODECS}

_USE_PICKLE = "or name it .pkl/.joblib to pickle it"
# extensions that name a format save_model cannot produce from an object that does not offer it
_FOREIGN_FORMATS = {
    ".onnx": ("ONNX", ("export it with torch.onnx.export or skl2onnx and save_artifact the .onnx file "
                       "(or pass the onnx.ModelProto itself)")),
    ".pt": ("a PyTorch file", "torch.save writes it, and torch is not loaded (so this is no torch model)"),
    ".pth": ("a PyTorch file", "torch.save writes it, and torch is not loaded (so this is no torch model)"),
    ".json": ("a booster's JSON model", ("only an object with save_model (XGBoost, CatBoost) writes it; "
                                         "save_artifact writes data as JSON")),
    ".ubj": ("an XGBoost UBJSON model", "only an object with save_model (XGBoost) writes it"),
    ".txt": ("a LightGBM text model", ("only a lightgbm Booster (with save_model) writes it; "
                                       "save_artifact writes text")),
    ".cbm": ("a CatBoost model", "only a CatBoost model (with save_model) writes it"),
    ".keras": ("a Keras file", "only a Keras model (with save) writes it"),
    ".h5": ("a Keras/HDF5 file", "only a Keras model (with save) writes it"),
    ".hdf5": ("an HDF5 file", "write it with h5py or Keras and save_artifact the file"),
    ".safetensors": ("safetensors", "write it with safetensors' save_file and save_artifact the file"),
    ".pb": ("a TensorFlow graph", "export it with tf.saved_model.save and save_artifact the files"),
    ".tflite": ("a TensorFlow Lite model", "convert it with tf.lite.TFLiteConverter and save_artifact the file"),
    ".ckpt": ("a checkpoint", "write it with the framework's checkpoint call and save_artifact the file"),
    ".npy": ("a NumPy array file", "np.save it and save_artifact the file"),
    ".npz": ("a NumPy archive", "np.savez it and save_artifact the file"),
    ".gguf": ("a GGUF model", "convert it with its own tools and save_artifact the file"),
    ".pmml": ("PMML", "export it with a PMML exporter (sklearn2pmml) and save_artifact the file"),
    ".mlmodel": ("a Core ML model", "convert it with coremltools and save_artifact the file"),
}



def model_codec(model: Any, suffix: str, name: str) -> Codec:
    """The codec that writes `model` under a name ending in `suffix`; InvalidInput (one line, with what would
    work) when the extension names a format this object cannot be written in. A path is a file to copy, which
    only the torch codec takes (a checkpoint torch.save wrote): no path is ever pickled as a model."""
    if isinstance(model, os.PathLike) and suffix not in TORCH_SUFFIXES:
        raise InvalidInput(f"model for {name!r}", os.fspath(model), "a model object (a path only to a file "
                           "torch.save wrote, under a .pt/.pth name); save_artifact copies any other file")
    for codec in MODEL_CODECS:
        if codec.accepts(model, suffix):
            return codec
    raise refuse_format(model, name, suffix)


def value_codec(obj: Any, suffix: str) -> Codec:
    """The codec for an artifact value of a library's type (a DataFrame, a Figure), else pickle."""
    return next((codec for codec in VALUE_CODECS if codec.accepts(obj, suffix)), PICKLE)


def decode_model(info: Any, data: bytes) -> Any:
    """The model object from bytes whose sha256 has been checked, by the format recorded at save time."""
    codec = _BY_FORMAT.get(info.format)
    if codec is None:
        raise InvalidInput(f"format of {info.name!r}", info.format,
                           "a model saved by save_model (pickle, joblib, torch, keras, native or onnx); this one is "
                           "an artifact: read the file itself")
    return codec.decode(info, data)


def refuse_format(model: Any, name: str, suffix: str) -> InvalidInput:
    """One line: this extension names a format we cannot write from this object (never a pickle under
    another format's name), and what would work."""
    known = _FOREIGN_FORMATS.get(suffix)
    if known is not None:
        what, hint = known
        problem = f"{suffix} is {what}, which save_model cannot produce from this object"
    else:
        problem = f"save_model knows no format named {suffix}"
        hint = ("it writes pickle (.pkl, .pickle), joblib (.joblib), torch (.pt/.pth), boosters' own "
                "(.json/.ubj/.txt/.cbm), Keras (.keras/.h5) and ONNX protos (.onnx); write other formats "
                "yourself and save_artifact the file")
    err = InvalidInput("model file name", name, hint)
    err.message = (f"cannot save a {type(model).__name__} as {name!r}: {problem} (it will not write a pickle "
                   f"under that name); {hint}, {_USE_PICKLE}")
    err.args = (err.message,)
    return err


__all__ = ["MODEL_CODECS", "VALUE_CODECS", "Codec", "decode_model", "model_codec", "refuse_format", "value_codec"]
