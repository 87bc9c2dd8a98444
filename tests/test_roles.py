"""Column roles (inferred from real headers, set with --role), readable labels and trait words, and
the role/RFM offer playbook: right offers for telling segments, distinct lists while the catalogue
can tell segments apart, a note naming the missing role when it cannot."""
from __future__ import annotations

import csv
import doctest

import pytest

from training.__main__ import main
from training.description.offers import CatalogueError as PlaybookError, assign_offers, load_catalogue as load_playbook, offers_for_segment
from training.reading.roles import ROLES, RoleError, infer_roles, parse_role_flags, readable_label, trait_text

TELECOM = ["State", "Account Length", "Area Code", "Phone", "Int'l Plan", "VMail Plan", "VMail Message",
           "Day Mins", "Day Calls", "Day Charge", "Eve Mins", "Eve Calls", "CustServ Calls", "Churn?"]
CDNOW = ["id", "x", "t_x", "T", "zbar", "age"]


def header(path) -> list[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle))


def test_roles_of_the_demo_schema(shared_data):
    assert infer_roles(header(shared_data / "customer_segmentation_data.csv")) == {
        "id": None, "age": "age", "gender": None, "income": "income", "spending_score": "spend",
        "membership_years": "tenure", "purchase_frequency": "frequency", "preferred_category": None,
        "last_purchase_amount": "avg_order_value"}


def test_roles_of_the_mall_customers(shared_data):
    assert infer_roles(header(shared_data / "Mall_Customers.csv")) == {
        "CustomerID": None, "Gender": None, "Age": "age", "Annual Income (k$)": "income",
        "Spending Score (1-100)": "spend"}


def test_roles_of_the_invoices_and_their_customer_features(shared_data):
    assert set(infer_roles(header(shared_data / "online_retail_invoices.csv")).values()) == {None}
    assert infer_roles(["recency_days", "frequency", "monetary", "tenure_days", "avg_order_value"]) == {
        "recency_days": "recency", "frequency": "frequency", "monetary": "monetary", "tenure_days": "tenure",
        "avg_order_value": "avg_order_value"}


def test_cryptic_names_get_no_role_but_a_readable_label():
    roles = infer_roles(CDNOW)
    assert roles == {"id": None, "x": None, "t_x": None, "T": None, "zbar": None, "age": "age"}
    assert [readable_label(c, roles[c]) for c in CDNOW] == [
        "ID", "Column x", "Column t_x", "Column T", "Column zbar", "Age"]
    assert readable_label("x", "frequency") == "Orders (x)"
    assert readable_label("t_x", "recency") == "Time since last order (t_x)"


def test_telecom_roles_tell_support_calls_from_usage():
    roles = infer_roles(TELECOM)
    assert roles["CustServ Calls"] == "support" and roles["Day Calls"] == "engagement"
    assert roles["Account Length"] == "tenure" and roles["Churn?"] == "churn_risk"
    assert roles["Day Charge"] == "spend" and roles["Area Code"] is None and roles["State"] is None
    assert readable_label("CustServ Calls", "support") == "Customer service calls"
    assert readable_label("Int'l Plan") == "International plan"
    assert readable_label("VMail Message") == "Voicemail message"


@pytest.mark.parametrize("column, label", [
    ("Annual Income (k$)", "Annual income (k$)"), ("Spending Score (1-100)", "Spending score (1-100)"),
    ("spending_score", "Spending score"), ("membership_years", "Membership years"),
    ("recency_days", "Days since last order"), ("monetary", "Total spent"), ("frequency", "Orders"),
    ("CustomerID", "Customer ID"), ("InvoiceNo", "Invoice number"), ("num_orders", "Number of orders"),
    ("sessions_last_30d", "Sessions last 30 days"), ("NPS", "NPS"), ("avg_order_value", "Average order value")])
def test_readable_labels(column, label):
    assert readable_label(column, infer_roles([column])[column]) == label
    assert "_" not in label


def test_trait_words():
    assert trait_text("frequency", "high") == "frequent buyers"
    assert trait_text("support", "high") == "many support calls"
    assert trait_text("recency", "low") == "recent customers"
    assert trait_text("income", "high") == "high income" and trait_text("age", "high") == "older"
    assert trait_text("Annual income (k$)", "high") == "high annual income"
    assert trait_text("Column t_x", "low") == "low column t_x"
    with pytest.raises(ValueError, match="direction must be 'high' or 'low', got 'up'"):
        trait_text("age", "up")
    assert all(r.good in ("higher", "lower", None) and r.label and r.high and r.low for r in ROLES.values())


def test_role_flags_parse_and_override_inference():
    flags = parse_role_flags(["frequency=x", "recency = T_X", "none=age"], CDNOW)
    assert flags == {"x": "frequency", "t_x": "recency", "age": None}
    assert infer_roles(CDNOW, flags) == {"id": None, "x": "frequency", "t_x": "recency", "T": None,
                                         "zbar": None, "age": None}


@pytest.mark.parametrize("flag, message", [
    ("incme=zbar", "unknown role 'incme' (did you mean 'income'?); roles are: recency, frequency, monetary"),
    ("income=salary", "no column named 'salary'; columns are: 'id', 'x', 't_x', 'T', 'zbar', 'age'"),
    ("income", "--role must look like ROLE=COLUMN (e.g. income=Salary), got 'income'"),
    ("=x", "--role must look like ROLE=COLUMN"),
])
def test_bad_role_flags_say_what_is_allowed(flag, message):
    with pytest.raises(RoleError) as err:
        parse_role_flags([flag], CDNOW)
    assert message in str(err.value)


def test_one_column_cannot_take_two_roles():
    with pytest.raises(RoleError, match="column 'x' is given two roles \\(frequency and monetary\\)"):
        parse_role_flags(["frequency=x", "monetary=x"], CDNOW)


def trait(role, direction, z=1.0, feature=None):
    return {"role": role, "direction": direction, "z": z if direction == "high" else -z,
            "feature": feature or role, "text": trait_text(role, direction) if role else f"{direction} {feature}"}


@pytest.fixture(scope="module")
def playbook():
    return load_playbook()


def titles(offers):
    return [o["title"] for o in offers]


def claims(*ids):
    """Claims as training.description.claims makes them (here only their ids matter)."""
    return [{"id": i, "text": i} for i in ids]


def test_churn_risk_segment_gets_retention_not_onboarding(playbook):
    churn = offers_for_segment([trait("support", "high", 1.6), trait("tenure", "low", 0.9)], None, playbook,
                               claims=claims("new"))
    assert titles(churn)[:2] == ["Proactive service review call", "Retention offer with a service credit"]
    assert "New-member onboarding series" not in titles(churn)
    newcomers = offers_for_segment([trait("tenure", "low", 0.9)], None, playbook, claims=claims("new"))
    assert titles(newcomers)[0] == "New-member onboarding series"


def test_onboarding_needs_a_recent_first_order_not_just_low_tenure(playbook):
    """CDNOW: everyone joined in one quarter, 16 months ago; a shorter tenure is no new customer."""
    old_joiners = offers_for_segment([trait("tenure", "low", 0.9)], {"Promising": 0.6}, playbook, claims=claims("lapsed"))
    assert not {"New-member onboarding series", "New-customer onboarding series"} & set(titles(old_joiners))
    assert "Win-back campaign" in titles(old_joiners)


@pytest.mark.parametrize("mix, said, first", [
    ({"Champions": 0.7}, ("active", "high_value", "frequency_high"), "VIP tier with early access"),
    ({"At Risk": 0.5, "Can't Lose Them": 0.1}, ("lapsed", "high_value"), "Win-back offer on their favourite category"),
    ({"New Customers": 0.4, "Promising": 0.2}, ("new",), "New-customer onboarding series"),
    ({"Lost": 0.8}, ("lapsed",), "One last reactivation offer, then suppress"),
    ({"Hibernating": 0.5}, ("lapsed",), "Low-cost seasonal reactivation campaign"),
])
def test_rfm_playbook(playbook, mix, said, first):
    offers = offers_for_segment([], mix, playbook, claims=claims(*said))
    assert offers[0]["title"] == first and offers[0]["source"].startswith("RFM: ")
    assert 2 <= len(offers) <= 4
    assert all(set(o["requires"]) <= set(said) for o in offers)


@pytest.mark.parametrize("mix, said", [
    ({"Champions": 0.7}, ("lapsed", "high_value")),  # a "champion" label on customers gone for a year
    ({"At Risk": 0.5}, ("active",)),
    ({"New Customers": 0.6}, ("lapsed",)),
])
def test_an_rfm_label_alone_earns_no_offer_the_numbers_contradict(playbook, mix, said):
    offers = offers_for_segment([], mix, playbook, claims=claims(*said))
    assert all(set(o["requires"]) <= set(said) for o in offers)
    assert not {"VIP tier with early access", "Win-back offer on their favourite category",
                "New-customer onboarding series"} & set(titles(offers)), titles(offers)


def test_strongest_evidence_comes_first(playbook):
    offers = offers_for_segment([trait("monetary", "high", 0.6), trait("recency", "high", 1.8)],
                                {"At Risk": 0.35}, playbook, claims=claims("lapsed", "high_value"))
    assert titles(offers)[0] == "Win-back campaign"  # lapsed (1) outweighs RFM 2 × 35 % and spend 0.6
    assert "Premium tier benefits" not in titles(offers)  # it says "still buying"


def test_segments_the_catalogue_can_tell_apart_get_different_lists(playbook):
    champions = [trait("frequency", "high", 1.3), trait("monetary", "high", 1.1)]
    active, lapsed = claims("active", "high_value"), claims("lapsed", "high_value")
    segments = [{"id": i, "traits": t, "rfm_mix": m, "claims": c} for i, (t, m, c) in enumerate([
        (champions, {"Champions": 0.6}, active),
        (champions + [trait("tenure", "high", 0.55)], {"Champions": 0.6}, active),  # one more, weaker trait
        ([trait("recency", "high", 1.5)], {"At Risk": 0.6}, lapsed),
        ([trait("recency", "high", 1.4)], {"At Risk": 0.5, "Can't Lose Them": 0.2}, lapsed),
        ([trait("income", "high")], None, ()), ([trait("income", "low")], None, ()),
    ])]
    plain = [titles(offers_for_segment(s["traits"], s["rfm_mix"], playbook, claims=s["claims"])) for s in segments]
    assert plain[0] == plain[1]  # on their own, the two champion segments would look the same
    got = assign_offers(segments, playbook)
    lists = [tuple(titles(g["offers"])) for g in got]
    assert len(set(lists)) == len(lists) and all(g["note"] is None for g in got)
    assert list(lists[0]) == plain[0]  # the first (largest) keeps its best offers
    assert lists[1] == (*plain[1][:3], "Anniversary rewards")  # its weakest offer gave way
    assert all(2 <= len(x) <= 4 for x in lists)


def test_indistinguishable_segments_get_a_note_naming_the_role(playbook):
    segments = [{"id": 0, "traits": [trait(None, "high", feature="t_x")], "rfm_mix": {}},
                {"id": 1, "traits": [trait(None, "low", feature="zbar")], "rfm_mix": {}},
                {"id": 2, "traits": [trait("income", "high")], "rfm_mix": {}}]
    got = assign_offers(segments, playbook)
    assert titles(got[0]["offers"]) == titles(got[1]["offers"]) == ["Personalised newsletter", "Referral reward"]
    assert "same offers as segment 1" in got[0]["note"] and "--role ROLE=t_x" in got[0]["note"]
    assert "same offers as segment 0" in got[1]["note"] and "--role ROLE=zbar" in got[1]["note"]
    assert got[2]["note"] is None and titles(got[2]["offers"])[0] == "Premium product line preview"


def test_missing_rule_for_a_role_is_named(playbook):
    segments = [{"id": 0, "traits": [trait("churn_risk", "low")]}, {"id": 1, "traits": []}]
    got = assign_offers(segments, playbook)
    assert "the catalogue has no rule for role churn_risk (low): add one" in got[0]["note"]
    assert "they differ on no trait" in got[1]["note"]


@pytest.mark.parametrize("rule, message", [
    ("{id: a, match: {role: incme, direction: high}, offers: [{title: t, rationale: r}]}",
     "rules[0] (id 'a').match: unknown role 'incme'; roles are: recency, frequency"),
    ("{id: a, match: {role: income, direction: up}, offers: [{title: t, rationale: r}]}",
     "direction must be high or low, got 'up'"),
    ("{id: a, match: {rfm: Champs}, offers: [{title: t, rationale: r}]}",
     "unknown RFM label(s) ['Champs']; labels are: Champions, Loyal Customers"),
    ("{id: a, match: {rfm: Lost, min_share: 2}, offers: [{title: t, rationale: r}]}", "min_share must be"),
    ("{id: a, match: {role: income, direction: high}, offers: [{title: t}]}",
     "every offer needs a title and a rationale"),
    ("{id: a, match: {all: []}, offers: [{title: t, rationale: r}]}", "`all` needs a non-empty list"),
])
def test_malformed_playbook_names_the_rule(tmp_path, rule, message):
    path = tmp_path / "p.yaml"
    path.write_text(f"rules:\n  - {rule}\ndefault:\n  - {{title: a, rationale: b}}\n  - {{title: c, rationale: d}}\n")
    with pytest.raises(PlaybookError) as err:
        load_playbook(path)
    assert message in str(err.value)


def test_synth_transactions_cli(tmp_path, capsys):
    out, labels = tmp_path / "log.csv", tmp_path / "planted.csv"
    assert main(["synth", "--transactions", "--customers", "60", "--seed", "3", "--out", str(out),
                 "--labels", str(labels)]) == 0
    printed = capsys.readouterr().out
    assert "order lines of 60 customers" in printed and "planted:" in printed
    assert header(out) == ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
                           "CustomerID", "Country"]
    assert header(labels) == ["customer_id", "behaviour"]
    from model.orders.customers import customer_features
    assert customer_features(out).report["customers"] == 60
    assert main(["synth", "--transactions", "--customers", "3", "--out", str(out)]) == 2
    assert "n_customers must be at least 6, got 3" in capsys.readouterr().err


def test_docstring_examples_run():
    import training.reading.roles
    result = doctest.testmod(training.reading.roles)
    assert result.attempted >= 2 and result.failed == 0
