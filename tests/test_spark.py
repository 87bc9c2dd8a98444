"""The Spark engine against the local one, on a real multi-process cluster: `local-cluster[2,1,1024]`
is a driver and two executor JVMs talking over loopback (one session for the module).

Same cleaning report, same k and verdict on the same sample, Spark's own transform and the
bundle agreeing on 100,000 rows, the log1p branch built like `training.selection.preprocess`, the scorer's
output and row errors equal to the local scorer's, the app serving a Spark-built bundle unchanged,
and clear errors for bad input, bad masters and options Spark does not support.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from model.tables.export import FORMULA_PREFIXES
from model.contract.errors import CSVError
from model.serving.predictor import Predictor
from model.orders.customers import FEATURES, customer_features
from model.orders.columns import TransactionsError
from tests.conftest import ROOT
from training.synthetic import customers as synthetic
from model.tables.cells import to_numbers
from training.reading.table import clean_file
from training.engines import spark_rules as R
from training.engines.spark_clean import clean
from training.engines.spark_fit import agreement, as_frame, run_fit
from training.engines.spark_model import fit_preprocess, sklearn_preprocessor
from training.engines.spark_read import read_table
from training.engines.spark_score import score_table
from training.engines.spark_session import SparkEngineError, ship_code, spark_session
from training.engines.spark_tx import customer_features as spark_customers
from training.__main__ import main as cli_main
from training.fit import FitOptions, fit
from training.selection.preprocess import make_preprocessor
from training.score import score_file
from training.selection.select_k import select_k
from training.synthetic.orders import generate_transactions

pytestmark = [
    pytest.mark.spark, pytest.mark.slow,
    # pyspark 4.3 with pandas 3: a blanket notice, and pandas deprecating the `copy=` keyword that
    # pyspark's Arrow → pandas conversion passes. The conversions used here (doubles, strings,
    # arrays of doubles, nullable Int32/Float64, bool) are checked value by value below.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated:pandas.errors.Pandas4Warning"),
]
MASTER = "local-cluster[2,1,1024]"
SESSION_TIMEOUT_S = 360
SEED = 3
BOOTSTRAP = 5  # per-segment stability refits (driver sample, both engines): few keep the module short
# Short-lived JVMs: the C1 compiler only. The default tiered JIT spends the first minutes of three
# JVMs compiling with C2 on 2 cores (measured: the module's fit 166 s → 85 s); results are the same.
QUICK_JIT = "-XX:TieredStopAtLevel=1"
CONF = {"spark.sql.files.maxPartitionBytes": "120000",  # several partitions even for small files
        "spark.driver.extraJavaOptions": QUICK_JIT, "spark.executor.extraJavaOptions": QUICK_JIT}


@pytest.fixture(scope="module")
def silent_master():
    """A port that accepts connections and never answers, and a process asking Spark to use it
    as its master (started first: it runs while the other tests do)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in range(16)], daemon=True).start()
    code = textwrap.dedent(f"""
        from training.engines.spark_session import SparkEngineError, spark_session
        try:
            spark_session("spark://127.0.0.1:{server.getsockname()[1]}", timeout_s=15)
        except SparkEngineError as exc:
            print("ERROR:", exc)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    yield proc
    proc.kill()
    server.close()


@pytest.fixture(scope="module")
def spark(silent_master):
    # a bound against a hang, not a speed target: three JVMs starting beside the other xdist worker
    # on a loaded 2-core machine took more than the engine's 120 s default
    session = spark_session(MASTER, conf=CONF, timeout_s=SESSION_TIMEOUT_S)
    ship_code(session)
    yield session
    session.stop()


def _messy(rows: int, seed: int) -> pd.DataFrame:
    """The synthetic table with its mess, plus unparseable numbers, an unnamed increasing id,
    free text and a constant column (all three excluded by the rules)."""
    frame, _ = synthetic.generate(rows, seed=seed)
    frame = frame.drop(columns=["id"]).astype(object)
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(frame), 40, replace=False)
    frame.loc[idx[:30], "income"] = "n/a"
    frame.loc[idx[30:], "age"] = " 4o "
    frame.insert(0, "cust", np.arange(len(frame)) * 3 + 100)
    frame["note"] = [f"free text {i}" for i in range(len(frame))]
    frame["const"] = "x"
    return frame


@pytest.fixture(scope="module")
def messy_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("spark") / "messy.csv"
    _messy(4000, 5).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(spark, messy_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("spark-bundle") / "b"
    return run_fit(spark, FitOptions(data=str(messy_csv), out=out, seed=SEED, compare=False, bootstrap=BOOTSTRAP)), out


def test_number_rule_is_the_local_rule(spark):
    texts = ["1e5", " 3 ", "+.5", "5.", "inf", "Infinity", "nan", "1d", "0x10", "1_000", "1,5", "--1",
             "1e400", "١٢", "True", "\u00a012\u00a0", "1e", "-0", "1.e5", "\t7\n", "\x1c8\x1f", "  ",
             "1e-400", "12 34", "0X1P3", "0x1p3", "1D", "2f", "+Infinity", "１２", ".", "+", "e5", "-.5e-3",
             "00012"]
    from pyspark.sql import functions as F
    got = spark.createDataFrame([(t,) for t in texts], "v string").select(R.number(F.col("v")).alias("n")).collect()
    nums, _ = to_numbers(np.array(texts, dtype=object))
    spark_nums = np.array([np.nan if r["n"] is None else r["n"] for r in got])
    np.testing.assert_array_equal(np.isnan(spark_nums), np.isnan(nums))
    np.testing.assert_array_equal(spark_nums[~np.isnan(nums)], nums[~np.isnan(nums)])


def test_cleaning_report_equals_the_local_engine(spark, fitted, messy_csv, tmp_path):
    local = clean_file(messy_csv)
    fit_, _ = fitted
    assert fit_.cleaned.report == local.report
    assert local.report["id_column"] == "cust"  # unnamed, found by the increasing-numbers rule
    assert set(local.report["excluded_columns"]) == {"note", "const"}
    assert local.report["unparseable_numbers_set_missing"] == {"income": 30, "age": 10}
    # the same values, too: level counts and per-column sums
    for c in local.categorical:
        assert fit_.cleaned.level_counts[c] == local.frame[c].value_counts().to_dict()
    # Parquet input, decided on the Spark side (every column above the distinct-text limit)
    parquet = tmp_path / "messy.parquet"
    pd.read_csv(messy_csv, dtype=str, keep_default_na=False).replace("", None).to_parquet(parquet)
    spark_side = clean(read_table(spark, parquet), low_card=40)
    try:
        assert spark_side.report == local.report
        from pyspark.sql import functions as F
        sums = spark_side.frame.agg(*[F.sum(spark_side.safe[c]) for c in local.numeric]).first()
        np.testing.assert_allclose(list(sums), [local.frame[c].sum() for c in local.numeric], rtol=1e-12)
    finally:
        spark_side.frame.unpersist()


def test_same_k_and_verdict_as_local_on_the_same_sample(fitted, messy_csv):
    fit_, _ = fitted
    local = clean_file(messy_csv)
    prep = make_preprocessor(local.numeric, local.categorical,
                             [sorted(local.frame[c].dropna().unique()) for c in local.categorical])
    z_local = prep.fit(local.frame).transform(fit_.sample).astype(float)
    np.testing.assert_allclose(z_local, fit_.sample_z, atol=0.05)  # Spark's median vs pandas' only
    here = select_k(z_local, seed=SEED, n_numeric=len(local.numeric))
    spark_sel = fit_.manifest.selection
    assert here["k"] == spark_sel.k == 5
    assert here["clusterability"]["verdict"] == spark_sel.clusterability.verdict


def test_local_engine_finds_the_same_segments(fitted, messy_csv, tmp_path):
    fit_, bundle = fitted
    local = fit(FitOptions(data=messy_csv, out=tmp_path / "local", seed=SEED, compare=False,
                           bootstrap=BOOTSTRAP)).manifest
    ours_m = fit_.manifest
    assert local.k == ours_m.k
    assert local.clusterability.verdict == ours_m.clusterability.verdict
    # the same schema rules (build_schema): names, labels, roles, transforms, levels, limits
    assert [(f.name, f.label, f.role, f.kind) for f in local.schema.features] == \
        [(f.name, f.label, f.role, f.kind) for f in ours_m.schema.features]
    assert [f.levels for f in local.schema.categorical] == [f.levels for f in ours_m.schema.categorical]
    for a, b in zip(local.schema.numeric, ours_m.schema.numeric):
        assert (a.min, a.max, a.hard_min, a.hard_max, a.integer, a.transform) == \
            (b.min, b.max, b.hard_min, b.hard_max, b.integer, b.transform), a.name
    n = fit_.cleaned.rows
    assert ours_m.training.rows == local.training.rows == n
    assert ours_m.engine.name == "spark" and local.engine.name == "local"
    assert {s.archetype for s in ours_m.segments} == {s.archetype for s in local.segments}
    assert sum(s.size for s in ours_m.segments) == n  # sizes from all rows, not the sample
    assert ours_m.rules is not None and ours_m.drift_reference is not None
    assert all(s.stability is not None for s in ours_m.segments)
    rows = clean_file(messy_csv).frame
    ours = Predictor.from_dir(bundle).predict_frame(rows)["segment_id"].to_numpy(dtype=int)
    theirs = Predictor.from_dir(tmp_path / "local").predict_frame(rows)["segment_id"].to_numpy(dtype=int)
    assert adjusted_rand_score(theirs, ours) >= 0.95


def test_spark_transform_and_bundle_agree_on_100k_rows(spark, fitted, tmp_path):
    fit_, bundle = fitted
    from pyspark.ml.functions import vector_to_array
    from training.engines.spark_model import assign
    frame, _ = synthetic.generate(100_000, seed=99, mess=False)
    frame = frame.drop(columns=["id"])
    rng = np.random.default_rng(1)
    frame = frame.astype({c: float for c in fit_.cleaned.numeric}).astype({c: object for c in fit_.cleaned.categorical})
    for c in frame.columns:  # 1 % missing cells: imputation on both sides
        frame.loc[rng.choice(len(frame), 1000, replace=False), c] = np.nan
    safe = fit_.cleaned.safe
    cols = [safe[c] for c in fit_.cleaned.features]
    frame[fit_.cleaned.features].set_axis(cols, axis=1).to_parquet(tmp_path / "rows.parquet")
    sdf = spark.read.parquet(str(tmp_path / "rows.parquet"))
    scored = assign(fit_.prep.model.transform(sdf), fit_.kmeans,
                    keep=[*cols, vector_to_array("features").alias("_z")]).toPandas()
    rows = as_frame(scored, fit_.cleaned, cols)
    z = np.stack(scored["_z"].to_numpy())
    sk = agreement(fit_.pipeline.predict(rows), scored["segment"].to_numpy(), z, fit_.kmeans.centres)
    served = Predictor.from_dir(bundle).predict_frame(rows)
    assert served["error"].eq("").all()
    bundle_agree = agreement(served["segment_id"].to_numpy(dtype=int), scored["segment"].to_numpy(),
                             z, fit_.kmeans.centres)
    for got in (sk, bundle_agree):
        assert got["rows"] == 100_000
        assert got["differ_outside_ties"] == 0 and got["same"] / got["rows"] >= 0.9999, got
    np.testing.assert_allclose(fit_.pipeline.named_steps["prep"].transform(rows), z, atol=1e-9)
    recorded = fit_.manifest.metrics.engine_agreement
    assert recorded.differ_outside_ties == 0 and recorded.rows == fit_.cleaned.rows and recorded.share >= 0.9999


def _scoring_input(path) -> None:
    frame, _ = synthetic.generate(2500, seed=21)
    frame = frame.astype(object)
    frame.loc[3, "age"] = 500  # beyond the hard limit
    frame.loc[5, "gender"] = "robot"  # not a level
    frame.loc[1500, "preferred_category"] = "=HYPERLINK(1)"
    frame.loc[7, "income"] = None  # imputed, with a note
    frame["comment"] = ["=cmd()" if i % 7 == 0 else f"c{i}" for i in range(len(frame))]
    frame.to_csv(path, index=False)


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _same_output(ours: pd.DataFrame, theirs: pd.DataFrame, text: list[str]) -> None:
    """The Spark scorer's Parquet equals the local scorer's CSV: text cell by cell (the CSV
    neutralises formulas), numbers within float tolerance."""
    assert list(ours.columns) == list(theirs.columns)
    for c in text:
        assert [_neutral(v) for v in ours[c].fillna("")] == theirs[c].tolist(), c
    assert ["" if pd.isna(v) else str(int(v)) for v in ours["segment_id"]] == theirs["segment_id"].tolist()
    np.testing.assert_allclose(ours["margin"].astype(float).fillna(-1),
                               pd.to_numeric(theirs["margin"]).fillna(-1), atol=1e-9)
    assert ours["unlike_training"].astype(str).tolist() == theirs["unlike_training"].tolist()


def _same_summary(spark_summary: dict, local: dict) -> bool:
    """The same counts, segments, errors and value; `read` says what each reader did (the local
    one sniffed a comma, Spark assumes one)."""
    assert spark_summary["read"]["delimiter"].startswith("',' (comma)")
    assert local["read"]["delimiter"].startswith("',' (comma)")
    drop = lambda s: {k: v for k, v in s.items() if k != "read"}  # noqa: E731
    assert drop(spark_summary) == drop(local)
    return True


def test_scoring_equals_the_local_scorer(spark, fitted, tmp_path, capsys):
    _, bundle = fitted
    data = tmp_path / "new.csv"
    _scoring_input(data)
    local = score_file(bundle, data, tmp_path / "local.csv")
    got = score_table(spark, bundle, str(data), str(tmp_path / "out.parquet"))
    assert _same_summary(got, local) and local["rejected"] == 3 and local["errors"][0]["line"] == 5
    parts = list((tmp_path / "out.parquet").glob("part-*.parquet"))
    assert len(parts) >= 2  # partitioned: one part per input partition
    ours = pd.read_parquet(tmp_path / "out.parquet")
    theirs = pd.read_csv(tmp_path / "local.csv", dtype=str, keep_default_na=False)
    _same_output(ours, theirs, ["segment_name", "runner_up", "why", "offers", "notes", "error", "gender",
                                "comment", "id"])
    np.testing.assert_allclose(ours["income"].astype(float).fillna(-1),
                               pd.to_numeric(theirs["income"]).fillna(-1), rtol=1e-12)
    # the CLI front door, CSV output: the same summary printed, formula cells neutralised
    code = cli_main(["score", "--engine", "spark", "--spark-master", MASTER, "--bundle", str(bundle),
                     "--data", str(data), "--out", str(tmp_path / "out.csv")])
    assert code == 0 and spark.sparkContext._jsc is not None  # the module's session is not stopped
    printed = capsys.readouterr().out
    assert f"scored {local['scored']:,} rows, rejected {local['rejected']:,}" in printed
    text = "".join(p.read_text() for p in sorted((tmp_path / "out.csv").glob("part-*.csv")))
    assert "\"'=cmd()\"" in text and "\"=cmd()\"" not in text  # formula cells neutralised


def test_bad_cells_are_row_errors_as_in_the_local_scorer(spark, fitted, tmp_path):
    _, bundle = fitted
    frame, _ = synthetic.generate(300, seed=2)
    frame = frame.astype(object)
    frame.loc[[10, 20, 30, 40, 50, 60, 70], "age"] = ["abc", "inf", "NaN", "x", "y", "z", "w"]
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    local = score_file(bundle, bad, tmp_path / "l.csv")
    got = score_table(spark, bundle, str(bad), str(tmp_path / "o.parquet"))
    assert _same_summary(got, local) and local["rejected"] >= 7
    assert local["errors"][0]["line"] == 12 and "age" in local["errors"][0]["error"]
    ours = pd.read_parquet(tmp_path / "o.parquet")
    theirs = pd.read_csv(tmp_path / "l.csv", dtype=str, keep_default_na=False)
    _same_output(ours, theirs, ["age", "segment_name", "why", "notes", "error"])  # age stays text
    short = tmp_path / "short.csv"
    frame.drop(columns=["age"]).to_csv(short, index=False)
    with pytest.raises(CSVError) as local_err:
        score_file(bundle, short, tmp_path / "l2.csv")
    with pytest.raises(CSVError) as ours_err:
        score_table(spark, bundle, str(short), str(tmp_path / "o2.parquet"))
    assert str(ours_err.value) == str(local_err.value) and "missing required column(s): 'age'" in str(ours_err.value)


def test_log_branch_is_built_like_the_local_preprocessor(spark):
    """Columns marked log1p: impute → log1p → scale in Spark ML, and a scikit-learn pipeline with
    exactly `make_preprocessor`'s steps and the same numbers (population std)."""
    rng = np.random.default_rng(4)
    n = 400
    local = pd.DataFrame({"a": rng.normal(50, 10, n), "b": rng.lognormal(3, 1, n), "c": rng.poisson(3, n) * 1.0,
                          "g": rng.choice(["x", "y", "z"], n).astype(object)})
    local.loc[[3, 9], "b"] = np.nan
    local.loc[[4], "g"] = np.nan
    safe = {"a": "f0", "b": "f1", "c": "f2", "g": "f3"}
    sdf = spark.createDataFrame([tuple(None if pd.isna(v) else v for v in r) for r in local.itertuples(index=False)],
                                "f0 double, f1 double, f2 double, f3 string")
    prep = fit_preprocess(sdf, numeric=["a", "b", "c"], categorical=["g"], safe=safe, n_rows=n, log=["b", "c"])
    ours = sklearn_preprocessor(prep)
    reference = make_preprocessor(["a", "b", "c"], ["g"], [["x", "y", "z"]], log=["b", "c"]).fit(local)
    assert [(name, list(step.named_steps), cols) for name, step, cols in ours.transformers] == \
        [(name, list(step.named_steps), cols) for name, step, cols in reference.transformers]
    from pyspark.ml.functions import vector_to_array
    z = np.array([r["z"] for r in prep.model.transform(sdf).select(vector_to_array("features").alias("z")).collect()])
    np.testing.assert_allclose(ours.transform(local), z, atol=1e-9)  # the bundle computes what Spark fitted
    # and what scikit-learn would have fitted, but for Spark's approximate median of b
    np.testing.assert_allclose(ours.transform(local), reference.transform(local), atol=0.02)


def test_spark_options_without_the_spark_engine_are_refused_by_name(tmp_path, capsys):
    assert cli_main(["fit", "--spark-conf", "spark.executor.memory=1g", "--out", str(tmp_path / "b")]) == 2
    assert "--spark-conf only apply with --engine spark" in capsys.readouterr().err


def test_unusable_files_get_clear_errors(spark, messy_csv, tmp_path):
    with pytest.raises(CSVError, match="no such file or directory"):
        clean(read_table(spark, tmp_path / "nope.csv"))
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n" + "1,2,3\n" * 20)
    with pytest.raises(CSVError, match=r"every row must have 3 fields like the header, but 2 rows do not"):
        clean(read_table(spark, ragged))
    semi = tmp_path / "semi.csv"
    semi.write_text("a;b\n1;2\n")
    with pytest.raises(CSVError, match=r"delimiter must be a comma"):
        read_table(spark, semi)
    with pytest.raises(CSVError, match="cannot read .* as Parquet"):
        read_table(spark, messy_csv, fmt="parquet")
    with pytest.raises(ValueError) as ours:
        clean(read_table(spark, messy_csv), features=["age", "salary"])
    with pytest.raises(ValueError) as local:
        clean_file(messy_csv, features=["age", "salary"])
    assert str(ours.value) == str(local.value) and "no column named 'salary'" in str(ours.value)


def test_masters_that_cannot_work_fail_fast_and_clearly(silent_master):
    with pytest.raises(SparkEngineError, match=r"--spark-master must be one of local\[\*\]"):
        spark_session("mesos://somewhere:5050")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(SparkEngineError, match=rf"cannot reach the Spark master spark://127.0.0.1:{closed} "
                                               r"\(127.0.0.1:\d+: Connection refused\)"):
        spark_session(f"spark://127.0.0.1:{closed}")  # refused before any JVM starts
    out, _ = silent_master.communicate(timeout=150)  # the bound: 15 s after its JVM is up
    assert "did not accept the application within 15 s" in out, out


def test_the_app_serves_a_spark_bundle_unchanged(fitted, messy_csv, artifacts_dir):
    from tests.server import running_app
    from training.engines.spark_partitions import shuffle_partitions
    fit_, bundle = fitted
    manifest = fit_.manifest
    assert manifest.engine.name == "spark" and manifest.engine.master == MASTER
    size = messy_csv.stat().st_size  # the shuffle partitions were chosen from the file's size, and recorded
    assert manifest.engine.shuffle_partitions == shuffle_partitions(size, 8) == 8
    assert manifest.engine.shuffle_basis.startswith(f"{size / 2**20:,.1f} MiB of input")
    assert manifest.engine.version.startswith("4.")
    card = (bundle / "README.md").read_text()
    assert f"Spark {manifest.engine.version} on `{MASTER}`" in card
    agree = manifest.metrics.engine_agreement
    from markdown_it import MarkdownIt  # what a reader of the card sees (the card escapes punctuation)
    import re
    shown = re.sub(r"<[^>]+>", "", MarkdownIt("commonmark").render(card))
    assert f"agree on {agree.same:,} of {agree.rows:,} rows ({agree.ties:,} ties" in shown  # a sentence, not a dict
    example = manifest.example
    with running_app({"MODEL_DIR": str(bundle)}, log_path=artifacts_dir / "app-spark.log") as url:
        got = httpx.post(url + "/predict", json=example, timeout=30).json()
        names = [s["name"] for s in httpx.get(url + "/segments", timeout=30).json()["segments"]]
    assert got == Predictor.from_dir(bundle).predict_one(example)
    assert names == [s.name for s in manifest.segments]


# --- order logs ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def order_log(tmp_path_factory):
    """The synthetic UCI-like log with its mess: duplicates, guests, bad and future dates, returns,
    cancelled invoices, customers with only returns."""
    frame, planted = generate_transactions(400, seed=5)
    path = tmp_path_factory.mktemp("spark-tx") / "orders.csv"
    frame.to_csv(path, index=False)
    assert all(planted.mess[k] for k in ("exact_duplicates", "guest_orders", "bad_dates", "returns_only_customers"))
    return path


def _same_report(mine, theirs):
    mine, theirs = dict(mine), dict(theirs)
    theirs.pop("read", None)  # how the local reader sniffed the file; Spark reads comma CSV or Parquet
    mine["returns"], theirs["returns"] = dict(mine["returns"]), dict(theirs["returns"])
    netted = mine["returns"].pop("amount_netted"), theirs["returns"].pop("amount_netted")
    assert netted[0] == pytest.approx(netted[1], abs=0.011)  # sums in another order, rounded to cents
    assert mine == theirs


def _same_customers_and_report(spark, source, path, **kw):
    """Spark's customers and report against the local engine's on the same log."""
    local = customer_features(source, **kw)
    ours = spark_customers(read_table(spark, path), name=path.name, **kw)
    got = ours.cleaned.frame.orderBy("_row").toPandas()
    assert got["customer_id"].tolist() == local.frame["customer_id"].tolist()  # the same customers, same order
    for j, f in enumerate(FEATURES):
        np.testing.assert_allclose(got[f"f{j}"], local.frame[f].astype(float), rtol=1e-12, err_msg=f)
    _same_report(ours.report, {**local.report, "source": path.name})
    assert ours.transforms["log1p"] == local.transforms["log1p"]
    assert ours.transforms["skewness"] == pytest.approx(local.transforms["skewness"], abs=1e-3)
    ours.cleaned.frame.unpersist()
    return local


def test_mixed_dates_markers_and_quantities_equal_the_local_engine(spark, tmp_path):
    rows = ["InvoiceNo,InvoiceDate,CustomerID,TotalPrice",
            "1,2011-12-09 08:26,100,10.00", "2,13/12/2011 09:00,100.0,11.00", "3,9 Dec 2011,101,12.00",
            "4,31/02/2011,101,13.00", "5,,102,14.00", "6,someday,102,15.00", '7,"2011-12-10",103,"16.00"',
            "8,05.12.2011,103,17.00", "9,2099-01-01,103,1.00", "C10,2011-12-11,103,-4.50",
            "C11,2011-12-11,104,-3.00", "12,2011-12-01,,9.00", "13,2011-12-02,105,n/a",
            "14,2011-12-09 08:26,100,10.00", "1,2011-12-09 08:26,100,10.00"]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(rows) + "\n")
    rep = _same_customers_and_report(spark, path, path).report
    assert rep["dates"]["unparseable"]["examples"][0] == {"line": 5, "value": "31/02/2011"}
    assert rep["dropped"]["exact_duplicate"] == 1 and rep["customers_only_returns"]["examples"] == ["104"]
    # quantity × price, no order column, day-first dates by request, a given as_of; from Parquet
    log = pd.DataFrame([("7", "01/05/2024 10:00", "2", "1.50"), ("7", "01/05/2024 10:00", "1", "4.00"),
                        ("7", "03/05/2024 09:00", "-1", "1.50"), ("8", "02/05/2024 12:00", "3", "2.00"),
                        ("8", "20/05/2024 12:00", "1", "2.00"), ("8", "04/05/2024 12:00", "-1", "2.00")]
                       * 3, columns=["Customer", "Date", "Qty", "Unit Price"]).astype(str)
    log["Customer"] = [f"{c}{i // 6}" for i, c in enumerate(log["Customer"])]  # text ids, sorted as text
    parquet = tmp_path / "qty.parquet"
    log.to_parquet(parquet, index=False)
    rep = _same_customers_and_report(spark, log, parquet, dayfirst=True, as_of="2024-05-10").report
    assert rep["dropped"]["future_date"] == 3 and "as requested" in rep["dates"]["notes"][0]
    assert rep["dates"]["future"]["examples"][0] == {"row": 5, "value": "20/05/2024 12:00"}
    # a log whose columns cannot be recognised: the local engine's message, naming columns and flags
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("a,b,c\nx,1,2\ny,3,4\n")
    with pytest.raises(TransactionsError) as ours:
        spark_customers(read_table(spark, unknown), name=unknown.name)
    with pytest.raises(TransactionsError) as local:
        customer_features(unknown)
    assert str(ours.value) == str(local.value) and "--customer" in str(ours.value)


@pytest.fixture(scope="module")
def fitted_log(spark, order_log, tmp_path_factory):
    out = tmp_path_factory.mktemp("spark-tx-bundle") / "b"
    opts = FitOptions(transactions=order_log, out=out, seed=SEED, compare=False, bootstrap=BOOTSTRAP)
    return run_fit(spark, opts), out


def test_a_fit_on_an_order_log_is_the_local_fit(fitted_log, order_log, tmp_path):
    fit_, bundle = fitted_log
    m = fit_.manifest
    local = fit(FitOptions(transactions=order_log, out=tmp_path / "local", seed=SEED, compare=False,
                           bootstrap=BOOTSTRAP)).manifest
    assert m.engine.name == "spark" and m.transactions is not None
    # the same cleaning, line for line: every kind of mess, the examples with their file lines
    _same_report(m.transactions.report, local.transactions.report)
    rep = m.transactions.report
    assert all(rep["dropped"][k] for k in ("exact_duplicate", "no_customer", "unparseable_date",
                                           "future_date", "only_returns_customer"))
    assert rep["return_lines"] and rep["dates"]["unparseable"]["examples"][0]["line"] > 1
    assert m.transactions.log1p == local.transactions.log1p and m.transactions.customers == local.transactions.customers
    assert m.transactions.dropped == local.transactions.dropped and m.transactions.as_of == local.transactions.as_of
    assert [f.transform for f in m.schema.numeric] == [f.transform for f in local.schema.numeric]
    assert (m.k, m.clusterability.verdict) == (local.k, local.clusterability.verdict)
    agree = m.metrics.engine_agreement
    assert agree.differ_outside_ties == 0 and agree.rows == m.transactions.customers
    # the bundle scores a log like a locally trained one: the local scorer's order-log path, and
    # the same segments as the local bundle (up to the numbering of the segments)
    scored = score_file(bundle, order_log, tmp_path / "scored.csv", log=True)
    assert scored["rows"] == m.transactions.customers and scored["rejected"] == 0
    ours = pd.read_csv(tmp_path / "scored.csv")["segment_id"]
    score_file(tmp_path / "local", order_log, tmp_path / "scored-local.csv", log=True)
    theirs = pd.read_csv(tmp_path / "scored-local.csv")["segment_id"]
    assert adjusted_rand_score(theirs, ours) > 0.99
    assert sorted(s.name for s in m.segments) == sorted(s.name for s in local.segments)


def test_scoring_an_order_log_equals_the_local_scorer(spark, fitted, fitted_log, order_log, tmp_path):
    _, bundle = fitted_log
    summary = score_table(spark, bundle, order_log, tmp_path / "scored.parquet", log=True)
    expected = score_file(bundle, order_log, tmp_path / "local.csv", log=True)
    assert _same_summary(summary, expected)  # counts per segment, errors, the log's lines and customers
    got = pd.read_parquet(tmp_path / "scored.parquet").sort_values("customer_id", key=lambda s: s.astype(int))
    want = pd.read_csv(tmp_path / "local.csv", dtype={"customer_id": str})
    assert list(got.columns) == list(want.columns)
    assert got["customer_id"].tolist() == want["customer_id"].tolist()
    assert got["segment_id"].tolist() == want["segment_id"].tolist()
    np.testing.assert_allclose(got[list(FEATURES)].to_numpy(float), want[list(FEATURES)].to_numpy(float))
    np.testing.assert_allclose(got["margin"].to_numpy(float), want["margin"].to_numpy(float), atol=1e-9)
    assert got["rfm_label"].tolist() == want["rfm_label"].tolist()
    with pytest.raises(ValueError, match="trained on a customer table .* not on an order log"):
        score_table(spark, fitted[1], order_log, tmp_path / "x.parquet", log=True)
