"""People own the segments: edits of a bundle (model/editing) — rename, offers, merge, another k — are
normal bundles that serve exactly what they say, re-derive every number honestly from stored
aggregates, and refuse bad input with a sentence before anything is written."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from model.contract.bundle import read_bundle
from model.contract.files import SAMPLE, SERVING, SUMMARY
from model.contract.errors import EditError
from model.contract.stats import STATS, read_stats
from model.editing.apply import apply_edit
from model.editing.files import write_edited
from model.editing.spec import build_spec, parse_offers
from model.serving.predictor import Predictor


@pytest.fixture(scope="module")
def fitted(synth_csv, tmp_path_factory):
    """A bundle fitted on the synthetic customers (no bootstrap, no comparison: quick), its
    statistics, and the cleaned training frame its clusters were measured on."""
    from training.fit import FitOptions, fit
    from training.reading.inputs import TxOptions, load_input
    out = tmp_path_factory.mktemp("edit") / "b"
    fit(FitOptions(data=synth_csv[0], out=out, seed=3, bootstrap=0, compare=False))
    bundle = read_bundle(out)
    stats = read_stats(out / STATS, expected_sha256=bundle.manifest.files[STATS])
    frame = load_input(data=synth_csv[0], transactions=None, tx=TxOptions(), features=None, id_column=None,
                       role_flags=()).frame
    return out, bundle, stats, frame


def _written(edited, source, tmp_path, name="e"):
    write_edited(edited, source, tmp_path / name)
    return Predictor.from_dir(tmp_path / name)


def test_rename_changes_words_not_numbers(fitted, tmp_path):
    out, bundle, stats, _ = fitted
    name = "Sports <b>fans</b> | & co"
    edited = apply_edit(bundle, stats, build_spec(renames=[f"2={name}"]))
    served = _written(edited, out, tmp_path)
    for f in (SERVING, SAMPLE, SUMMARY):  # nothing a customer is scored with moved
        assert (tmp_path / "e" / f).read_bytes() == (out / f).read_bytes()
    seg = served.manifest.segments[2]
    assert seg.name == name and seg.named_by == "people"
    assert [s.name for s in served.segments if s.id != 2] == [s.name for s in bundle.manifest.segments if s.id != 2]
    assert seg.traits == bundle.manifest.segments[2].traits  # the measured traits are still shown
    assert served.manifest.rules.fidelity == pytest.approx(bundle.manifest.rules.fidelity, abs=1e-6)
    card = (tmp_path / "e" / "README.md").read_text()
    assert "<b>" not in card and r"Sports \<b\>fans\<\/b\> \| \& co (named by people)" in card
    assert "renamed segment 2" in card
    assert f"segment 2 ({name})" in (tmp_path / "e" / "segment_rules.sql").read_text()


def test_a_merged_segment_serves_exactly_its_parts_customers(fitted, tmp_path):
    out, bundle, stats, frame = fitted
    before = Predictor.from_dir(out)
    edited = apply_edit(bundle, stats, build_spec(merges=["1,3"]))
    served = _written(edited, out, tmp_path)
    assert served.k == bundle.manifest.k - 1 and served.compiled.grouped
    a, b = before.predict_frame(frame[before.schema.names]), served.predict_frame(frame[served.schema.names])
    expect = a["segment_id"].map(edited.id_map)
    assert (b["segment_id"] == expect).all()
    assert (b["runner_up"] != b["segment_id"]).all()
    # sizes are the counts of the training customers the served model puts in each segment
    counts = b["segment_id"].value_counts().sort_index().tolist()
    assert counts == [s.size for s in served.segments]
    merged = served.segments[1]
    assert merged.size == bundle.manifest.segments[1].size + bundle.manifest.segments[3].size
    assert merged.parts == [1, 3] and merged.stability is None and merged.stability_reading == "edited, not re-measured"
    records = frame[served.schema.names].head(200).astype(object).where(frame.head(200).notna(), None)
    one = [served.predict_one(r) for r in records.to_dict("records")]
    assert [o["segment_id"] for o in one] == b["segment_id"].head(200).tolist()
    assert [o["runner_up"]["segment_id"] for o in one] == b["runner_up"].head(200).tolist()
    assert np.allclose([o["margin"] for o in one], b["margin"].head(200))
    assert all(o["why"] for o in one if o["margin"] > 0.05)
    many = served.predict_many(records.to_dict("records"))  # the batch of JSON records: the same answers
    assert [m["segment_id"] for m in many] == [o["segment_id"] for o in one]
    assert [m["why"] for m in many] == [o["why"] for o in one]


def test_a_merged_segment_is_re_derived_from_its_parts(fitted):
    _, bundle, stats, frame = fitted
    edited = apply_edit(bundle, stats, build_spec(merges=["1,3"]))
    p1, p3, m = bundle.manifest.segments[1], bundle.manifest.segments[3], edited.manifest.segments[1]
    members = frame[Predictor(bundle).predict_frame(frame[bundle.manifest.schema.names])["segment_id"].isin([1, 3])]
    for col, prof in m.profile.numeric.items():
        assert prof.mean == pytest.approx(members[col].mean(), rel=1e-4)  # exact
        lo, hi = sorted((p1.profile.numeric[col].median, p3.profile.numeric[col].median))
        assert lo - 1e-9 <= prof.median <= hi + 1e-9  # the union's median lies between the parts'
        spread = members[col].quantile(0.75) - members[col].quantile(0.25)
        assert abs(prof.median - members[col].median()) <= 0.1 * spread  # approximate, and close
    for col, shares in m.profile.categorical.items():
        real = members[col].value_counts(normalize=True)
        assert all(shares[lv] == pytest.approx(real[lv], abs=1e-4) for lv in shares)  # exact
    traits = {(t.feature, t.direction, t.level) for t in m.traits}
    for part in (p1, p3):  # a trait is kept only when every part has it
        assert traits <= {(t.feature, t.direction, t.level) for t in part.traits}
    for offer in m.offers:  # an offer stays when what earned it still holds
        assert {(b.feature, b.direction, b.level) for b in offer.basis} <= traits
    rules = edited.manifest.rules
    assert sum(r.rows for r in rules.rules) == rules.rows
    assert rules.fidelity == pytest.approx(sum(r.agree for r in rules.rules) / rules.rows)
    assert edited.manifest.metrics.silhouette is None and edited.manifest.edit.not_remeasured
    assert "not re-measured" in edited.manifest.clusterability.summary


def test_another_k_is_served_without_a_refit(fitted, tmp_path):
    out, bundle, stats, frame = fitted
    k = next(c for c in stats.ks if c != bundle.manifest.k)
    edited = apply_edit(bundle, stats, build_spec(k=k))
    served = _written(edited, out, tmp_path)
    cand = stats.candidate(k)
    assert served.k == k and [s.name for s in served.segments] == [s.name for s in cand.segments]
    assert np.array_equal(served.compiled.centres, np.array(cand.centres))
    assert served.bundle.sample["segment"].tolist() == cand.sample
    counts = served.predict_frame(frame[served.schema.names])["segment_id"].value_counts().sort_index().tolist()
    assert counts == [s.size for s in served.segments]
    back = apply_edit(served.bundle, stats, build_spec(k=bundle.manifest.k))  # and back to the fitted k
    assert [s.as_dict() for s in back.manifest.segments] == [s.as_dict() for s in bundle.manifest.segments]


def test_people_offers_replace_the_list_and_their_preconditions_are_checked(fitted):
    _, bundle, stats, _ = fitted
    seg = bundle.manifest.segments[0]
    held = next(iter(sorted(_claims(seg))))
    offers = parse_offers(f"""segments:
  0:
    - title: Second thing first
      rationale: Reordered by the team.
    - title: Club night
      rationale: They come back for events.
      requires: [{held}]
""")
    edited = apply_edit(bundle, stats, build_spec(offers=offers))
    got = edited.manifest.segments[0].offers
    assert [o.title for o in got] == ["Second thing first", "Club night"] and got[0].source == "written by people"
    assert "offers of segment 0" in edited.changes[0]
    bad = parse_offers("segments:\n  0:\n    - {title: Win-back, rationale: Lapsed., requires: [lapsed]}\n")
    with pytest.raises(EditError, match="requires lapsed, which the segment's numbers do not support"):
        apply_edit(bundle, stats, build_spec(offers=bad))


def _claims(seg):
    from model.editing.segments import claim_ids
    return claim_ids(seg)


@pytest.mark.parametrize("spec, message", [
    ("segment 0's name for segment 1", "names must be unique"),
    (dict(renames=["1=   "]), "the new name of segment 1 is empty"),
    (dict(merges=["2,2"]), "cannot be merged with itself"),
    (dict(merges=["1,17"]), "cannot merge segment 17"),
    (dict(k=42), "k must be one of the evidence table's ks"),
    (dict(renames=["9=Nine"]), "there is no segment 9"),
    (dict(merges=["0,1", "1,2", "2,3", "3,4", "4,5", "5,6", "6,7", "7,8", "8,9"]), "cannot merge segment|keep at least two"),
    (dict(merges=["1,3"], renames=["1=One", "3=Three"]), "are merged, but the name differs"),
    (dict(), "nothing to change"),
])
def test_bad_edits_say_what_to_fix(fitted, spec, message):
    _, bundle, stats, _ = fitted
    if isinstance(spec, str):
        spec = dict(renames=[f"1={bundle.manifest.segments[0].name}"])
    with pytest.raises(EditError, match=message):
        apply_edit(bundle, stats, build_spec(**spec))


@pytest.mark.parametrize("text, message", [
    ("segments:\n  2: [title: x\n", "is not valid YAML at line 3"),
    ("offers: []\n", "must hold one key, `segments:`"),
    ("segments:\n  two: []\n", "must be a segment id"),
    ("segments:\n  2: []\n", "needs a list of at least one offer"),
    ("segments:\n  2:\n    - title: A\n", "the rationale is empty|must be text"),
    ("segments:\n  2:\n    - {title: A, rationale: x}\n    - {title: a, rationale: y}\n", "used twice"),
])
def test_an_offers_file_that_does_not_parse_names_the_problem(text, message):
    with pytest.raises(EditError, match=message):
        parse_offers(text)


def test_without_statistics_only_words_can_change(fitted, tmp_path):
    out, bundle, _, _ = fitted
    edited = apply_edit(bundle, None, build_spec(renames=["0=Young deal seekers"]))
    assert edited.manifest.segments[0].name == "Young deal seekers"
    with pytest.raises(EditError, match="no segment_stats.json"):
        apply_edit(bundle, None, build_spec(merges=["0,1"]))


def test_an_edited_bundle_is_a_normal_bundle_and_tampering_is_caught(fitted, tmp_path):
    out, bundle, stats, _ = fitted
    write_edited(apply_edit(bundle, stats, build_spec(merges=["0,2"], renames=["0=Big"])), out, tmp_path / "e")
    again = read_bundle(tmp_path / "e")
    assert again.manifest.edit is not None and again.manifest.edit.groups[0] == [0, 2]
    assert (tmp_path / "e" / "model.skops").read_bytes() == (out / "model.skops").read_bytes()
    assert "they do not include this edit" in again.manifest.edit.served
    with pytest.raises(Exception, match="not empty"):
        write_edited(apply_edit(bundle, stats, build_spec(renames=["0=Other"])), out, tmp_path / "e")
    data = bytearray((tmp_path / "e" / SERVING).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "e" / SERVING).write_bytes(bytes(data))
    with pytest.raises(Exception, match="does not match the manifest"):
        read_bundle(tmp_path / "e")


def test_grouped_serving_matches_brute_force(fitted):
    """Several centres per segment: the segment of the nearest centre, the runner-up the nearest
    other segment, in the frame path and the one-record path alike."""
    import dataclasses
    _, bundle, _, frame = fitted
    c = bundle.compiled
    owner = np.array([0, 0, 1, 1, 2][: len(c.centres)] + [2] * max(0, len(c.centres) - 5), dtype=np.int64)
    g = dataclasses.replace(c, centre_segment=owner)
    schema = bundle.manifest.schema
    check = schema.check_frame(frame[schema.names].head(500))
    num, codes = check.num, check.codes
    lab, run, two, _, ca, cb = g.run(num, codes, centres=True)
    z = c.transform(np.where(np.isnan(num), np.nan, num), codes)
    d = np.sqrt(((z[:, None, :] - c.centres[None]) ** 2).sum(axis=2))
    seg_d = np.stack([d[:, owner == s].min(axis=1) for s in range(owner.max() + 1)], axis=1)
    assert np.array_equal(lab, seg_d.argmin(axis=1))
    assert np.allclose(two[:, 0], np.sort(seg_d, axis=1)[:, 0]) and np.allclose(two[:, 1], np.sort(seg_d, axis=1)[:, 1])
    assert (owner[ca] == lab).all() and (owner[cb] == run).all() and (run != lab).all()
    from model.serving.single import OneCustomer
    single = OneCustomer(schema, bundle.manifest.segments[: owner.max() + 1], g)
    for i in range(0, 500, 37):
        nums = [None if np.isnan(x) else float(x) for x in num[i]]
        one = single.score(nums, [None if x < 0 else int(x) for x in codes[i]], centres=True)
        assert (one[0], one[1], one[8], one[9]) == (lab[i], run[i], ca[i], cb[i])
        assert one[2] == pytest.approx(two[i, 0]) and one[3] == pytest.approx(two[i, 1])


@pytest.fixture(scope="module")
def order_log(tmp_path_factory):
    """A bundle fitted on a synthetic order log: segments with claims, offers with preconditions, value."""
    from training.fit import FitOptions, fit
    from training.synthetic.orders import generate_transactions
    folder = tmp_path_factory.mktemp("log")
    log, _ = generate_transactions(1500, seed=4)
    log.to_csv(folder / "orders.csv", index=False)
    fit(FitOptions(transactions=folder / "orders.csv", out=folder / "b", seed=3, bootstrap=0, compare=False))
    bundle = read_bundle(folder / "b")
    return bundle, read_stats(folder / "b" / STATS)


def test_a_merge_keeps_only_claims_every_part_makes_and_recomputes_the_value(order_log):
    bundle, stats = order_log
    m = bundle.manifest
    assert m.value is not None and m.k >= 3
    a, b = 1, 2
    edited = apply_edit(bundle, stats, build_spec(merges=[f"{a},{b}"]))
    merged = edited.manifest.segments[edited.id_map[a]]
    parts = [m.segments[a], m.segments[b]]
    ids = {c.id for c in merged.claims}
    for part in parts:  # a claim of the union is one every part makes
        assert ids <= {c.id for c in part.claims}
    for c in merged.claims:  # as the part where it holds least states it: the union's median lies between
        values = [d.value for p in parts for d in p.claims if d.id == c.id and d.value is not None]
        if values and c.value is not None:
            assert c.value in (min(values), max(values))
    for o in merged.offers:
        assert set(o.requires) <= ids | {f"{t.role}_{t.direction}" for t in merged.traits if t.role}
    assert merged.name_claims == [] or set(merged.name_claims) <= ids
    assert merged.value.revenue == pytest.approx(parts[0].value.revenue + parts[1].value.revenue, abs=0.05)
    assert merged.value.customers == parts[0].value.customers + parts[1].value.customers
    shares = [s.value.revenue_share for s in edited.manifest.segments]
    assert sum(shares) == pytest.approx(1.0, abs=0.001)
    top = max(edited.manifest.segments, key=lambda s: s.value.revenue_per_customer)
    assert f"segment {top.id}, “{top.name}”" in edited.manifest.value.headline
