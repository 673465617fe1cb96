"""The exchange with other trackers: their runs brought in as native runs (`sw-ml import`), ours sent out
to an MLflow server (`sw-ml push`).

Import: one module per source reads it with its own library's reader where one exists (`mlflow_source`,
`mlflow_files`, `wandb_files`, `tensorboard_events`, `csv_file`); `writer` turns each source run into an
experiment folder through the storage functions a tracked run uses; `importer.import_runs` ties them.
Push: `mlflow_push.push_experiments` copies experiment folders to an MLflow server, idempotently.
Both sit below Project (which calls them) and use MLflow's vocabulary from `skill.storage.mlflow_store`.
"""
