#!/usr/bin/python3
"""Regenerates tests/reference/fixtures/copula_reference.json from SciPy.

    /usr/bin/python3 tests/reference/copula_reference.py

Checks for the copula kernels (tests/analytics_eval/copula_test.cpp): Kendall's tau-b
(scipy.stats.kendalltau) on real home/away scores (many ties) and on a synthetic
sample, average ranks (scipy.stats.rankdata), Student-t and normal quantiles and
distribution functions, and copula log densities from scipy's multivariate normal / t.
"""
import csv
import json
import os

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def main():
    home, away = [], []
    with open(os.path.join(ROOT, "share", "nfl", "games.csv"), newline="") as fh:
        for r in csv.DictReader(fh):
            if r["home_score"] != "" and 2020 <= int(r["season"]) <= 2024:
                home.append(float(r["home_score"]))
                away.append(float(r["away_score"]))
    rng = np.random.RandomState(7)
    sx = rng.normal(size=300)
    sy = 0.5 * sx + rng.normal(size=300)
    probes = [1e-4, 0.001, 0.025, 0.1, 0.3, 0.5, 0.77, 0.95, 0.999]
    nus = [1.0, 2.0, 3.0, 4.5, 7.0, 30.0, 100.0]
    xs = [-40.0, -5.0, -1.3, 0.0, 0.2, 2.5, 12.0]
    dens = []
    for rho, nu, u, v in [(0.3, 4.0, 0.2, 0.7), (-0.5, 10.0, 0.9, 0.05), (0.8, 2.0, 0.99, 0.97), (0.1, 30.0, 0.5, 0.5)]:
        x, y = stats.t.ppf(u, nu), stats.t.ppf(v, nu)
        mvt = stats.multivariate_t(loc=[0, 0], shape=[[1, rho], [rho, 1]], df=nu)
        lt = float(mvt.logpdf([x, y]) - stats.t.logpdf(x, nu) - stats.t.logpdf(y, nu))
        gx, gy = stats.norm.ppf(u), stats.norm.ppf(v)
        mvn = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]])
        lg = float(mvn.logpdf([gx, gy]) - stats.norm.logpdf(gx) - stats.norm.logpdf(gy))
        dens.append({"rho": rho, "nu": nu, "u": u, "v": v, "log_t": lt, "log_gaussian": lg})
    fixture = {
        "scores_2020_2024": {"home": home, "away": away, "tau_b": float(stats.kendalltau(home, away).statistic),
                             "ranks_home_first20": stats.rankdata(home)[:20].tolist()},
        "synthetic": {"x": sx.tolist(), "y": sy.tolist(), "tau_b": float(stats.kendalltau(sx, sy).statistic)},
        "normal_ppf": [[p, float(stats.norm.ppf(p))] for p in probes],
        "t_ppf": [[p, nu, float(stats.t.ppf(p, nu))] for p in probes for nu in nus],
        "t_cdf": [[x, nu, float(stats.t.cdf(x, nu))] for x in xs for nu in nus],
        "log_density": dens,
    }
    path = os.path.join(HERE, "fixtures", "copula_reference.json")
    with open(path, "w") as fh:
        json.dump(fixture, fh, separators=(",", ":"))
        fh.write("\n")
    print(f"{path}: n={len(home)} tau_b={fixture['scores_2020_2024']['tau_b']:.6f}")


if __name__ == "__main__":
    main()
