"""A small, real training script: logistic regression by gradient descent, tracked by specweave.

It trains a majority-class baseline and three learning rates on a synthetic
two-class problem, and one run that fails on purpose (its failure is recorded,
so nobody repeats it). Run it from this folder: `python train.py`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from specweave import track_experiment


def make_data(seed: int = 7, n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    true_w = np.array([2.0, -1.0, 0.5, 0.0])
    y = (X @ true_w + rng.normal(scale=0.8, size=n) > 0).astype(int)
    split = int(n * 0.75)
    return X[:split], y[:split], X[split:], y[split:]


def scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    tp = int(((y_pred == 1) & (y_true == 1)).sum())
    fp = int(((y_pred == 1) & (y_true == 0)).sum())
    fn = int(((y_pred == 0) & (y_true == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float((y_true == y_pred).mean()), "precision": precision, "recall": recall, "f1": f1}


def train_logreg(X: np.ndarray, y: np.ndarray, lr: float, epochs: int, exp) -> np.ndarray:
    w = np.zeros(X.shape[1] + 1)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    for epoch in range(epochs):
        p = 1.0 / (1.0 + np.exp(-(Xb @ w)))
        loss = -np.mean(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))
        w -= lr * Xb.T @ (p - y) / len(y)
        exp.log_metric("loss", loss, step=epoch)
    return w


def main() -> None:
    X_train, y_train, X_test, y_test = make_data()

    with track_experiment("baseline-majority") as exp:
        exp.set_description("Predicts the most frequent class: the floor every model must beat.")
        majority = int(np.bincount(y_train).argmax())
        exp.log_params({"strategy": "most_frequent", "data_seed": 7})
        exp.log_metrics(scores(y_test, np.full_like(y_test, majority)))
        exp.log_metric("training_time", 0.0)
        exp.log_note("Baseline: most_frequent")

    for lr in (0.01, 0.1, 1.0):
        with track_experiment(f"logreg-lr{lr}") as exp:
            exp.log_params({"model": "logistic-regression", "learning_rate": lr, "epochs": 200, "data_seed": 7})
            start = time.perf_counter()
            w = train_logreg(X_train, y_train, lr, 200, exp)
            exp.log_metric("training_time", time.perf_counter() - start)
            Xb = np.hstack([X_test, np.ones((len(X_test), 1))])
            y_pred = (Xb @ w > 0).astype(int)
            exp.log_metrics(scores(y_test, y_pred))
            exp.save_model({"weights": w.tolist()}, "model.pkl")
            exp.save_artifact("predictions.csv", pd.DataFrame({"y_true": y_test, "y_pred": y_pred}))
            exp.add_tag("logreg")

    try:
        with track_experiment("logreg-lr100") as exp:
            exp.log_params({"model": "logistic-regression", "learning_rate": 100.0, "epochs": 200})
            w = train_logreg(X_train, y_train, 100.0, 5, exp)
            raise FloatingPointError("loss diverged at learning_rate=100")
    except FloatingPointError:
        exp.log_note("Reason: learning rate far too high; keep it <= 1.0")


if __name__ == "__main__":
    main()
