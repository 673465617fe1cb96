"""Project's text helpers: numbers, durations, places, datasets and diffs written as the core writes
them, so a face shows them without importing the layers below. A mixin of `Project` (skill/project.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from .schemas.reproduction import ExperimentDiff


class TextMethods:
    """The core's way of writing a value, one call each."""

    if TYPE_CHECKING:
        store: Path

    @staticmethod
    def diff_text(diff: ExperimentDiff) -> str:
        """`diff(...)` as the text every face shows."""
        from .repro.diff_text import diff_text

        return diff_text(diff)

    @staticmethod
    def number_text(value: Any) -> str:
        """A number as the reports write it: short, exact enough (`0.8123`, `1.2e-05`, `NaN`)."""
        from .analysis.render import short_number

        return short_number(value)

    @staticmethod
    def column_text(values: list[Any]) -> list[str]:
        """A column of numbers as the reports write it: one precision for the column where that reads."""
        from .analysis.render import column_numbers

        return column_numbers(values)

    @staticmethod
    def duration_text(seconds: Any) -> str:
        """A duration as the reports write it (`42s`, `3m 05s`, `1h 02m`)."""
        from .analysis.render import short_duration

        return short_duration(seconds)

    def artifact_place(self, artifact: Any) -> str:
        """What a listing adds after an artifact's size and hash: nothing for bytes in git, else where
        its bytes are (in the object store, not pulled, damaged)."""
        from .storage.objects import place_note

        return place_note(self.store, artifact)

    @staticmethod
    def dataset_text(dataset: Any) -> str:
        """A recorded dataset in one line: `file data/train.csv, 1.2 MB, sha256 1a2b3c4d5e6f`."""
        from .repro.datasets import describe

        return describe(dataset)

    @staticmethod
    def param_value(text: str) -> object:
        """A param given as text, typed as the importers type them: "0.1" -> 0.1, "true" -> True."""
        from .storage.mlflow_store import decode_param

        return decode_param(text)

    @staticmethod
    def jsonable(value: object) -> object:
        """`value` with what JSON cannot say spelled as the store spells it (NaN, Infinity, paths, dates)."""
        from .storage.encoding import to_jsonable

        return to_jsonable(value)

