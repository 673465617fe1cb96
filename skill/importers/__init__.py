"""Importers: runs of MLflow, Weights & Biases, TensorBoard and CSV files brought into the store as native runs.

One module per source reads it with its own library's reader where one exists (`mlflow_source`,
`mlflow_files`, `wandb_files`, `tensorboard_events`, `csv_file`); `writer` turns each source run into an
experiment folder through the storage functions a tracked run uses; `importer.import_runs` ties them.
"""
