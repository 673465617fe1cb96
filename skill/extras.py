"""Optional libraries: imported only when an integration is used, with a one-line hint when absent."""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import MissingExtra


def require(module: str, extra: str) -> ModuleType:
    """Import `module` or raise MissingExtra naming the pip extra that brings it.

    Only a missing top-level package is turned into MissingExtra; an import
    error inside an installed library (a broken install) propagates as is, so
    its real cause stays visible.
    """
    try:
        return import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".", 1)[0]
        if exc.name and exc.name.split(".", 1)[0] == top:
            raise MissingExtra(top, extra) from None
        raise


__all__ = ["require"]
