"""Fitted candidates as files, which is how the registry stores them: readable, and never unpickled.

LightGBM models are LightGBM's own text format (the native Booster's; read back, the core predicts
them without LightGBM: train.StoredTrees); ridge is its affine form
(imputed values, scaler, coefficients) in JSON; climatology is its table in JSON. ``model.json``
names the candidate, its inputs and its parameters, and lists the files of its members (a blend).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from airwatch.domain.train import (
    BLEND,
    CLIMATOLOGY,
    PERSISTENCE,
    RIDGE,
    Blend,
    Climatology,
    DeltaModel,
    Forecaster,
    ForecastSet,
    HorizonModel,
    Persistence,
    RidgeForm,
    StoredTrees,
)

MANIFEST = "model.json"
SET_MANIFEST = "forecast_set.json"
FORMAT = 1


def set_to_files(models: ForecastSet) -> dict[str, bytes]:
    """A registered model's files: each horizon's point model and interval quantiles, in their own folders."""
    files: dict[str, bytes] = {}
    for h, model in models.horizons.items():
        for part in ("point", "lower", "upper"):
            files.update(to_files(getattr(model, part), f"h{h}/{part}/"))
    meta = {"format": FORMAT, "candidate": models.candidate, "horizons": sorted(models.horizons),
            "features": {str(h): models.features(h) for h in models.horizons}}  # fmt: skip
    files[SET_MANIFEST] = json.dumps(meta, indent=2).encode()
    return files


def set_from_files(files: dict[str, bytes]) -> ForecastSet:
    meta = json.loads(files[SET_MANIFEST])
    if meta.get("format") != FORMAT:
        raise ValueError(f"model format {meta.get('format')!r} is not {FORMAT}")
    horizons = {}
    for h in meta["horizons"]:
        lower, upper = (from_files(files, f"h{h}/{part}/") for part in ("lower", "upper"))
        assert isinstance(lower, DeltaModel) and isinstance(upper, DeltaModel)
        horizons[int(h)] = HorizonModel(from_files(files, f"h{h}/point/"), lower, upper)
    return ForecastSet(meta["candidate"], horizons)


def to_files(candidate: Forecaster, prefix: str = "") -> dict[str, bytes]:
    """Every file of a fitted candidate, by relative name."""
    meta: dict[str, Any] = {"format": FORMAT, "name": candidate.name, "params": candidate.params}
    files: dict[str, bytes] = {}
    if isinstance(candidate, Climatology):
        assert candidate.table_ is not None and candidate.month_ is not None, "fit first"
        meta["horizon"] = candidate.horizon
        table = {
            "site_month": [[s, int(m), float(v)] for (s, m), v in candidate.table_.items()],
            "month": [[int(m), float(v)] for m, v in candidate.month_.items()],
            "overall": candidate.overall_,
        }
        files[f"{prefix}climatology.json"] = json.dumps(table).encode()
    elif isinstance(candidate, DeltaModel):
        meta.update(features=candidate.features, seed=candidate.seed, half_life_years=candidate.half_life_years)
        if candidate.name == RIDGE:
            f = candidate.form_
            form = {"fill": f.fill.tolist(), "flagged": f.flagged.tolist(), "mean": f.mean.tolist(),
                    "scale": f.scale.tolist(), "coef": f.coef.tolist(), "intercept": f.intercept}  # fmt: skip
            files[f"{prefix}ridge.json"] = json.dumps(form).encode()
        else:
            files[f"{prefix}lightgbm.txt"] = candidate.model_text().encode()
    elif isinstance(candidate, Blend):
        meta.update(features=candidate.features, seed=candidate.seed, half_life_years=candidate.half_life_years)
        meta["members"] = []
        for i, member in enumerate(candidate.members_):
            member_files = to_files(member, f"{prefix}member{i}/")
            meta["members"].append(f"{prefix}member{i}/")
            files.update(member_files)
    elif not isinstance(candidate, Persistence):
        raise TypeError(f"cannot store a {type(candidate).__name__}")
    files[f"{prefix}{MANIFEST}"] = json.dumps(meta, indent=2).encode()
    return files


def from_files(files: dict[str, bytes], prefix: str = "") -> Forecaster:
    """The candidate to_files wrote, ready to predict."""
    meta = json.loads(files[f"{prefix}{MANIFEST}"])
    if meta.get("format") != FORMAT:
        raise ValueError(f"model format {meta.get('format')!r} is not {FORMAT}")
    name = meta["name"]
    if name == PERSISTENCE:
        return Persistence()
    if name == CLIMATOLOGY:
        table = json.loads(files[f"{prefix}climatology.json"])
        clim = Climatology(params=meta["params"], horizon=meta["horizon"])
        site_month = table["site_month"]
        index = pd.MultiIndex.from_tuples([(s, m) for s, m, _ in site_month], names=["site_id", "month"])
        clim.table_ = pd.Series([v for *_, v in site_month], index=index, dtype=np.float64)
        clim.month_ = pd.Series(dict((m, v) for m, v in table["month"]), dtype=np.float64)
        clim.overall_ = float(table["overall"])
        return clim
    if name == BLEND:
        blend = Blend(meta["features"], meta["params"], meta["seed"], meta["half_life_years"])
        blend.members_ = [from_files(files, p) for p in meta["members"]]  # type: ignore[misc]
        return blend
    model = DeltaModel(name, meta["features"], meta["params"], meta["seed"], meta["half_life_years"])
    if name == RIDGE:
        f = json.loads(files[f"{prefix}ridge.json"])
        model.form_ = RidgeForm(np.array(f["fill"], dtype=np.float64), np.array(f["flagged"], dtype=np.int64),
                                np.array(f["mean"], dtype=np.float64), np.array(f["scale"], dtype=np.float64),
                                np.array(f["coef"], dtype=np.float64), float(f["intercept"]))  # fmt: skip
    else:  # predicted by the core: LightGBM is not imported to serve a model (StoredTrees)
        model.form_ = StoredTrees(files[f"{prefix}lightgbm.txt"].decode())
    return model
