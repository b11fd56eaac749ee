#!/usr/bin/python3
"""Regenerates tests/reference/fixtures/calibration_*.json from scikit-learn.

Run with Debian's interpreter and packages (apt-get install python3-sklearn):
    /usr/bin/python3 tests/reference/calibration_reference.py
The fixtures are committed; the C++ tests (tests/analytics_eval/calibration_test.cpp)
compare the project's kernels against them. Nothing in the product runs this script.

What is compared, and against which scikit-learn routine:
  Platt      sklearn.calibration._sigmoid_calibration(logit(p), y)  -> (a, b), p' = expit(-(a f + b))
  isotonic   sklearn.isotonic.IsotonicRegression(out_of_bounds="clip") on p
  Brier      sklearn.metrics.brier_score_loss
  log loss   sklearn.metrics.log_loss
  curve      sklearn.calibration.calibration_curve(y, p, n_bins=10, strategy="uniform")
  ECE        sum over the same bins of count/N * |prob_true - prob_pred| (numpy)
  CV         out-of-fold predictions for explicit fold labels (KFold(5, shuffle, random_state=0))
"""
import csv
import json
import os
import sys

import numpy as np
import sklearn
from scipy.special import expit
from sklearn.calibration import _sigmoid_calibration, calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss, log_loss
from sklearn.model_selection import KFold

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(HERE, "fixtures")
BINS = 10


def logit(p):
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-15, 1 - 1e-15)
    return np.log(q / (1 - q))


def implied(ml):
    return 100.0 / (ml + 100.0) if ml > 0 else -ml / (-ml + 100.0)


def platt(p, y):
    a, b = _sigmoid_calibration(logit(p), y)
    return float(a), float(b)


def platt_gradient(p, y, a, b):
    f = logit(p)
    prior1 = float(np.sum(y > 0))
    prior0 = len(y) - prior1
    t = np.where(y > 0, (prior1 + 1) / (prior1 + 2), 1 / (prior0 + 2))
    r = t - expit(-(a * f + b))
    return float(np.abs(np.dot(r, f)) + np.abs(np.sum(r)))


def case(name, p, y, note):
    p = np.asarray(p, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    a, b = platt(p, y)
    iso = IsotonicRegression(out_of_bounds="clip").fit(p, y.astype(np.float64))
    probe = np.concatenate([np.linspace(-0.1, 1.1, 61), p[:25]])
    prob_true, prob_pred = calibration_curve(y, p, n_bins=BINS, strategy="uniform")
    edges = np.linspace(0.0, 1.0, BINS + 1)
    ids = np.searchsorted(edges[1:-1], p)
    counts = np.bincount(ids, minlength=BINS)
    nonzero = counts[counts > 0]
    ece = float(np.sum(nonzero / len(p) * np.abs(prob_true - prob_pred)))
    folds = np.zeros(len(p), dtype=np.int64)
    for k, (_, test) in enumerate(KFold(n_splits=5, shuffle=True, random_state=0).split(p)):
        folds[test] = k
    oof_platt = np.zeros(len(p))
    oof_iso = np.zeros(len(p))
    for k in range(5):
        tr, te = folds != k, folds == k
        ak, bk = platt(p[tr], y[tr])
        oof_platt[te] = expit(-(ak * logit(p[te]) + bk))
        oof_iso[te] = IsotonicRegression(out_of_bounds="clip").fit(p[tr], y[tr].astype(np.float64)).predict(p[te])
    fixture = {
        "name": name,
        "note": note,
        "sklearn_version": sklearn.__version__,
        "p": p.tolist(),
        "y": y.tolist(),
        "platt": {"a": a, "b": b, "gradient_l1_at_sklearn_solution": platt_gradient(p, y, a, b),
                  "probe": probe.tolist(), "predict": expit(-(a * logit(probe) + b)).tolist()},
        "isotonic": {"thresholds_x": iso.X_thresholds_.tolist(), "thresholds_y": iso.y_thresholds_.tolist(),
                     "probe": probe.tolist(), "predict": iso.predict(probe).tolist()},
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p)),
        "curve": {"bins": BINS, "prob_true": prob_true.tolist(), "prob_pred": prob_pred.tolist(),
                  "counts": nonzero.tolist()},
        "ece": ece,
        "cv": {"folds": 5, "fold": folds.tolist(), "platt": oof_platt.tolist(), "isotonic": oof_iso.tolist()},
    }
    path = os.path.join(OUT, f"calibration_{name}.json")
    with open(path, "w") as fh:
        json.dump(fixture, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"{path}: n={len(p)} platt=({a:.6f}, {b:.6f}) iso_thresholds={len(iso.X_thresholds_)}"
          f" brier={fixture['brier']:.6f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.RandomState(20261128)
    n = 600
    z = rng.normal(0.0, 1.2, n)
    y = (rng.uniform(size=n) < expit(z)).astype(np.int64)
    p = expit(0.7 * z + 0.2)  # a miscalibrated (under-confident, biased) forecaster
    case("synthetic", p, y, "numpy RandomState(20261128): z~N(0,1.2), y~Bernoulli(expit z), p=expit(0.7z+0.2)")
    p_ties = np.round(p, 2)  # many tied probabilities
    case("synthetic_ties", p_ties, y, "the synthetic forecaster rounded to 2 decimals (ties in x and y)")

    rows = []
    with open(os.path.join(ROOT, "share", "nfl", "games.csv"), newline="") as fh:
        for r in csv.DictReader(fh):
            if r["season"] not in ("2018", "2019") or r["home_score"] == "" or not r["home_moneyline"]:
                continue
            res = int(r["home_score"]) - int(r["away_score"])
            if res == 0:
                continue  # ties are left out of the binary outcome
            qh, qa = implied(float(r["home_moneyline"])), implied(float(r["away_moneyline"]))
            rows.append((qh / (qh + qa), 1 if res > 0 else 0))
    case("market_2018_2019", [r[0] for r in rows], [r[1] for r in rows],
         "share/nfl/games.csv seasons 2018-2019, played, not tied: no-vig home probability vs home win")


if __name__ == "__main__":
    sys.exit(main())
