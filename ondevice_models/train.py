"""Train the two credit models on the German credit data, seeded, with a hold-out report.

1. A WOE-binned logistic **scorecard**: features with an information value below 0.02 are
   dropped, and so is any feature whose coefficient comes out with the wrong sign (a higher
   WOE must mean less risk); points on a points-to-double-odds scale.
2. A **gradient-boosted** model (LightGBM) on the same WOE inputs, every feature constrained
   monotone: by construction of WOE, a higher value must never raise the probability of default.

`python -m ondevice_models.train --out DIR` retrains from scratch, prints the report and writes
the ONNX files and the model card into DIR (see ondevice_models/export.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ondevice_models.data import FEATURES, SEED, Dataset, load_german_credit, split
from ondevice_models.woe import Binning, fit_binnings, woe_matrix

MIN_IV = 0.02
COEFFICIENT_DECIMALS = 8  # the scorecard's coefficients and intercept, rounded
# Points scale: 600 points at good:bad odds of 3:1 (a 25% default rate), 40 points to double the odds.
BASE_POINTS, BASE_ODDS, PDO = 600.0, 3.0, 40.0
FACTOR = PDO / math.log(2)
OFFSET = BASE_POINTS - FACTOR * math.log(BASE_ODDS)
GBM_PARAMS = {
    "n_estimators": 300,
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_child_samples": 25,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "monotone_constraints_method": "advanced",
    "n_jobs": 2,
    "deterministic": True,
    "force_row_wise": True,
    "verbose": -1,
}
# Figures published for the same data, for comparison. The Statlog project (Michie, Spiegelhalter
# and Taylor, "Machine Learning, Neural and Statistical Classification", 1994) scored methods on
# this data by average misclassification cost with the data set's own cost matrix (a bad applicant
# approved costs 5, a good one declined 1): logistic discrimination 0.538, the best method
# (linear discriminant) 0.535, the default rule 0.700. Quoted from the book's German credit table;
# not re-checked against the book from this machine (no copy here, and no public page found that
# reproduces the table). The default rule's figure checks by arithmetic: with 70% good applicants
# the cheaper constant rule is to decline everyone, 0.7 x 1 = 0.700 (approving everyone costs
# 0.3 x 5 = 1.5). DESIGN.md section 7 measured AUC of about 0.78 (logistic) and 0.80 (LightGBM)
# with 5-fold cross-validation.
PUBLISHED = {"statlog_cost_logistic": 0.538, "statlog_cost_best": 0.535, "statlog_cost_default": 0.700}
BAD_APPROVED_COST, GOOD_DECLINED_COST = 5.0, 1.0


@dataclass
class Scorecard:
    binnings: list[Binning]  # the features kept, in model order
    coefficients: np.ndarray  # on WOE, predicting the log-odds of default
    intercept: float

    def log_odds(self, woe: np.ndarray) -> np.ndarray:
        return woe @ self.coefficients + self.intercept

    def points(self, woe: np.ndarray) -> np.ndarray:
        return OFFSET - FACTOR * self.log_odds(woe)

    def attribute_points(self) -> list[list[float]]:
        """Points each bin of each feature adds, the base points shared out evenly."""
        base = (OFFSET - FACTOR * self.intercept) / len(self.binnings)
        return [[base - FACTOR * c * w for w in b.woe] for b, c in zip(self.binnings, self.coefficients, strict=True)]


@dataclass
class TrainedModels:
    scorecard: Scorecard
    gbm: object  # lightgbm.LGBMClassifier on the scorecard's WOE features
    train: Dataset
    test: Dataset

    def woe(self, data: Dataset) -> np.ndarray:
        return woe_matrix(self.scorecard.binnings, data)

    def native_outputs(self, data: Dataset) -> dict[str, np.ndarray]:
        woe = self.woe(data)
        log_odds = self.scorecard.log_odds(woe)
        return {
            "woe": woe,
            "points": self.scorecard.points(woe),
            "scorecard_pd": 1 / (1 + np.exp(-log_odds)),
            "gbm_pd": self.gbm.predict_proba(woe.astype(np.float32))[:, 1].astype(np.float64),
        }


def fit_scorecard(train: Dataset) -> Scorecard:
    from sklearn.linear_model import LogisticRegression

    binnings = [b for b in fit_binnings(train, FEATURES) if b.iv >= MIN_IV]
    while True:
        woe = woe_matrix(binnings, train)
        model = LogisticRegression(C=1.0, max_iter=1000).fit(woe, train.bad)
        # lbfgs stops at tol 1e-4; the last digits depend on the BLAS build, so keep 8 decimals
        # and the bundle rebuilds byte for byte on any machine
        coefficients = np.round(model.coef_[0].astype(np.float64), COEFFICIENT_DECIMALS)
        wrong = [i for i, c in enumerate(coefficients) if c >= 0]  # higher WOE must lower the risk
        if not wrong:
            return Scorecard(binnings, coefficients, round(float(model.intercept_[0]), COEFFICIENT_DECIMALS))
        del binnings[max(wrong, key=lambda i: coefficients[i])]


def fit_gbm(scorecard: Scorecard, train: Dataset):
    import lightgbm

    woe = woe_matrix(scorecard.binnings, train).astype(np.float32)
    model = lightgbm.LGBMClassifier(
        **GBM_PARAMS, random_state=SEED, monotone_constraints=[-1] * len(scorecard.binnings)
    )
    return model.fit(woe, train.bad)


def train_models() -> TrainedModels:
    train, test = split(load_german_credit())
    scorecard = fit_scorecard(train)
    return TrainedModels(scorecard, fit_gbm(scorecard, train), train, test)


# --- metrics ------------------------------------------------------------------------------------


def auc(bad: np.ndarray, risk: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(bad, risk))


def ks(bad: np.ndarray, risk: np.ndarray) -> float:
    """Kolmogorov–Smirnov: the largest gap between the bads' and goods' cumulative shares."""
    order = np.argsort(-risk, kind="stable")
    bads = np.cumsum(bad[order]) / bad.sum()
    goods = np.cumsum(1 - bad[order]) / (1 - bad).sum()
    return float(np.max(np.abs(bads - goods)))


def brier(bad: np.ndarray, pd: np.ndarray) -> float:
    return float(np.mean((pd - bad) ** 2))


def statlog_cost(bad: np.ndarray, pd: np.ndarray) -> float:
    """Average cost with the data set's cost matrix, declining when that is cheaper on expectation
    (PD above 1/6)."""
    decline = pd * BAD_APPROVED_COST > (1 - pd) * GOOD_DECLINED_COST
    cost = np.where(decline & (bad == 0), GOOD_DECLINED_COST, 0.0) + np.where(
        ~decline & (bad == 1), BAD_APPROVED_COST, 0.0
    )
    return float(cost.mean())


def calibration_table(bad: np.ndarray, pd: np.ndarray, groups: int = 5) -> list[dict]:
    order = np.argsort(pd, kind="stable")
    rows = []
    for chunk in np.array_split(order, groups):
        rows.append(
            {
                "count": len(chunk),
                "predicted": round(float(pd[chunk].mean()), 4),
                "observed": round(float(bad[chunk].mean()), 4),
                "pd_range": [round(float(pd[chunk].min()), 4), round(float(pd[chunk].max()), 4)],
            }
        )
    return rows


def report(models: TrainedModels) -> dict:
    test = models.native_outputs(models.test)
    bad = models.test.bad
    out = {"rows": {"train": len(models.train), "test": len(models.test)}, "published": PUBLISHED}
    for name, pd in (("scorecard", test["scorecard_pd"]), ("gbm", test["gbm_pd"])):
        out[name] = {
            "auc": round(auc(bad, pd), 4),
            "ks": round(ks(bad, pd), 4),
            "brier": round(brier(bad, pd), 4),
            "statlog_cost": round(statlog_cost(bad, pd), 4),
            "calibration": calibration_table(bad, pd),
        }
    out["scorecard"]["features"] = [b.feature for b in models.scorecard.binnings]
    return out


def print_report(data: dict) -> None:
    print(f"German credit: {data['rows']['train']} train / {data['rows']['test']} test rows, seed {SEED}")
    print(f"{'model':<10} {'AUC':>6} {'KS':>6} {'Brier':>6} {'cost':>6}")
    for name in ("scorecard", "gbm"):
        m = data[name]
        print(f"{name:<10} {m['auc']:>6.3f} {m['ks']:>6.3f} {m['brier']:>6.3f} {m['statlog_cost']:>6.3f}")
    p = data["published"]
    print(
        f"published (Statlog, average cost): logistic {p['statlog_cost_logistic']}, best {p['statlog_cost_best']}, "
        f"default rule (decline everyone) {p['statlog_cost_default']}; not re-checked against the book"
    )
    for name in ("scorecard", "gbm"):
        print(f"calibration, {name} (fifths by predicted PD): predicted / observed")
        for row in data[name]["calibration"]:
            print(f"  {row['count']:>4}  {row['predicted']:.3f} / {row['observed']:.3f}")
    print(f"scorecard features ({len(data['scorecard']['features'])}): {', '.join(data['scorecard']['features'])}")


if __name__ == "__main__":
    print_report(report(train_models()))
