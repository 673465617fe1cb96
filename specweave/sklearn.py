"""scikit-learn autologging: every outermost `fit` becomes a run (a search, a sweep of runs).

    import specweave
    specweave.autolog(increment="0042")   # or: from specweave.sklearn import autolog
    model.fit(X, y)
    specweave.autolog(disable=True)

Needs the `sklearn` extra.
"""

from __future__ import annotations

from skill.extras import require

require("sklearn", "sklearn")

from skill.integrations.sklearn_autolog import autolog  # noqa: E402

__all__ = ["autolog"]
