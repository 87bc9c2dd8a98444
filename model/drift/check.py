"""Drift of a new file against a bundle's training data: what the `monitor` command and the app's
Monitor tab run. A customer table is compared as it is; for a bundle trained on an order log, a
log is first turned into customers (`model.orders.customers`), as when scoring."""
from __future__ import annotations

from typing import Any

import pandas as pd

from model.tables.batch import has_columns
from model.tables.reading import read_csv_strict
from model.drift.report import MonitorError, drift_report
from model.serving.predictor import Predictor
from model.orders.customers import ID_COLUMN, customer_features


def monitor_upload(predictor: Predictor, data: bytes, *, previous: bytes | None = None, max_bytes: int,
                   max_rows: int, id_column: str | None = None) -> dict[str, Any]:
    """The drift report (`model.drift.report.drift_report`) of `data`; with `previous` (an earlier scored
    file holding the id column and segment_id) the migration matrix too."""
    manifest = predictor.manifest
    if manifest.drift_reference is None:
        raise MonitorError("this bundle stores no drift reference: rebuild it with `python -m training fit`")
    frame = new_customers(predictor, data, max_bytes=max_bytes, max_rows=max_rows)
    scored = predictor.predict_frame(frame)
    earlier = None if previous is None else read_csv_strict(previous, max_bytes=max_bytes, max_rows=max_rows)
    return drift_report(manifest.drift_reference.as_dict(), frame, scored, previous_scored=earlier,
                        id_column=id_column or manifest.schema.id_column)


def new_customers(predictor: Predictor, data: bytes, *, max_bytes: int, max_rows: int) -> pd.DataFrame:
    """The customers of an upload: the table itself (text cells), or an order log's customers."""
    schema, tx = predictor.schema, predictor.manifest.transactions
    if tx is not None and not has_columns(data, schema.names):
        log = read_csv_strict(data, max_bytes=max_bytes, max_rows=max_rows)
        same = {role: col for role, col in tx.columns.items() if col in set(log.columns)}
        return customer_features(log, **same).frame.rename(columns={ID_COLUMN: schema.id_column or ID_COLUMN})
    return read_csv_strict(data, max_bytes=max_bytes, max_rows=max_rows, required_columns=schema.names)
