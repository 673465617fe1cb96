"""Hugging Face transformers: `Trainer(..., callbacks=[SpecweaveCallback()])`.

    from specweave.huggingface import SpecweaveCallback

    trainer = Trainer(model, args, train_dataset=ds, callbacks=[SpecweaveCallback(log_model=True)])

`report_to` takes only transformers' own names, so pass the callback in `callbacks`. Needs the
`huggingface` extra.
"""

from __future__ import annotations

from skill.extras import require

require("transformers", "huggingface")

from skill.integrations.hf_callback import SpecweaveCallback  # noqa: E402

__all__ = ["SpecweaveCallback"]
