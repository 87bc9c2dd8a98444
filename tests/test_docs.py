"""Documentation that cannot run is a bug: every code block of README.md, of the generated model
card and of the API tab runs here against real servers (the app on 127.0.0.1, the loopback Hub)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.docs import ROOT, Context, blocks, prepared, run_block
from tests.hub_server import HubServer
from tests.server import free_port

README = ROOT / "README.md"
TOKEN = "hf_loopbackTokenForDocs0123456789abcdef"
DOC_ENV = {"HF_HUB_OFFLINE": "0", "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_SERVER_NAME": "127.0.0.1"}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODEL_", "HF_"))}
    return {**env, **DOC_ENV, "GRADIO_SERVER_PORT": str(free_port()), **extra}


@pytest.fixture(scope="module")
def hub():
    server = HubServer(token=TOKEN).start()
    yield server
    server.stop()


def test_every_readme_block_is_run_or_says_why_not():
    found = blocks(README.read_text(encoding="utf-8"), "README.md")
    assert len(found) >= 8
    for b in found:
        assert b.lang in ("python", "bash", "json") or b.directive.startswith("skip:"), b.id
        if b.directive.startswith("skip:"):
            assert len(b.directive) > len("skip: ") + 10, f"{b.id}: say why it is not run"
    skipped = [b for b in found if b.directive.startswith("skip:")]
    assert len(skipped) <= 4, [b.id for b in skipped]  # make test itself, files for a browser, Spark …


def test_training_commands_of_blocks_not_run_here_parse():
    """A block not run here (the Spark commands: Spark start-up costs minutes on 2 cores; the
    engine itself is tested in tests/test_spark.py) still names real commands and options."""
    import shlex

    from training.__main__ import build_parser
    commands = []
    for b in blocks(README.read_text(encoding="utf-8"), "README.md"):
        if b.directive.startswith("skip:") and b.lang == "bash":
            for line in b.code.replace("\\\n", " ").splitlines():
                words = shlex.split(line)
                if words[1:3] == ["-m", "training"]:
                    commands.append(words[3:])
    assert len(commands) >= 3, commands
    for argv in commands:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit:
            pytest.fail(f"python -m training {' '.join(argv)}: the CLI refuses it")
        assert args.engine == "spark", argv


def test_readme_blocks_run_in_order(app_url, hub, shared_data, tmp_path):
    """A newcomer's session: in an empty folder with their own CSV files, every block in order."""
    for name in ("customer_segmentation_data.csv", "Mall_Customers.csv", "online_retail_invoices.csv"):
        shutil.copy(shared_data / name, tmp_path / name)
    shutil.copy(shared_data / "customer_segmentation_data.csv", tmp_path / "customers.csv")
    ctx = Context(cwd=tmp_path, env=_env(HF_ENDPOINT=hub.url), subs={
        "http://127.0.0.1:7860": app_url, "you/segments-app": app_url, "hf_…": TOKEN,
        ".venv/bin/python": f"{ROOT}/.venv/bin/python" if (ROOT / ".venv/bin/python").exists() else "python",
        "make run": f"make -s -C {ROOT} run", "python app.py": f"python {ROOT}/app.py",
    })
    ran = []
    for b in blocks(README.read_text(encoding="utf-8"), "README.md"):
        if b.directive.startswith("skip:"):
            continue
        ctx.env["GRADIO_SERVER_PORT"] = str(free_port())
        run_block(b, ctx, timeout=600)
        ran.append(b.id)
    assert ran
    assert (tmp_path / "bundles" / "mine" / "manifest.json").is_file()  # the training block made a bundle
    assert hub.head("you/customer-segments")  # the publishing block pushed it


def _card_blocks(bundle: Path) -> list:
    found = blocks((bundle / "README.md").read_text(encoding="utf-8"), "model card")
    assert [b.lang for b in found] == ["python", "python"], [b.id for b in found]
    return found


def test_model_card_snippets_run(app_url, default_bundle, predictor, tmp_path):
    """The committed default card: gradio_client against the running app, skops in the repo folder;
    both print the example customer's segment (its name and offers, its id)."""
    repo = tmp_path / "repo"
    shutil.copytree(default_bundle, repo)  # what `hf download` of the model repo gives
    ctx = Context(cwd=repo, env=_env(), subs={"http://127.0.0.1:7860/": app_url + "/"})
    client_block, skops_block = _card_blocks(repo)
    expected = predictor.predict_one(predictor.manifest.example)
    out = run_block(client_block, ctx)
    printed = out.stdout.strip().splitlines()[-1]  # after gradio_client's "Loaded as API: …"
    assert printed == f"{expected['segment_name']} {[o['title'] for o in expected['offers']]}"
    out = run_block(skops_block, ctx)
    assert out.stdout.strip() == f"[{expected['segment_id']}]"


def test_model_card_names_the_space_it_was_pushed_with(app_url, default_bundle, tmp_path):
    """`push --space` knows the Space: the card links it and its snippet calls it."""
    from model.contract.bundle import read_bundle
    from model.derived.card import set_space
    repo = tmp_path / "repo"
    shutil.copytree(default_bundle, repo)
    set_space(repo, "acme/segments-app")
    text = (repo / "README.md").read_text(encoding="utf-8")
    assert "https://huggingface.co/spaces/acme/segments-app" in text and 'Client("acme/segments-app")' in text
    assert read_bundle(repo).manifest.space_id == "acme/segments-app"  # hashes still verify
    client_block, _ = _card_blocks(repo)
    run_block(client_block, Context(cwd=repo, env=_env(), subs={'"acme/segments-app"': f'"{app_url}/"'}))


def test_api_tab_snippets_run(app_url, predictor, tmp_path):
    from space.render.pages import api_help
    found = blocks(api_help(predictor.schema, app_url + "/"), "API tab")
    assert [b.lang for b in found] == ["python", "bash", "json", "python"]
    ctx = Context(cwd=tmp_path, env=_env())
    outputs = [run_block(b, ctx) for b in found]
    assert predictor.predict_one(predictor.schema.example())["segment_name"] in outputs[0].stdout
    assert '"segment_id"' in outputs[1].stdout and '"predictions"' in outputs[1].stdout
    assert app_url + "/gradio_api/mcp/" in outputs[2].stdout
    assert "segment_customer" in outputs[3].stdout and "cluster" in outputs[3].stdout


def test_substitution_changes_only_addresses():
    from tests.docs import Block
    b = Block("x", 0, "python", '>>> c = Client("http://127.0.0.1:7860/")\n>>> c.predict(a=1)\nnot code\n')
    code = prepared(b, Context(cwd=Path("."), env={}, subs={"http://127.0.0.1:7860/": "http://h:1/"}))
    assert code == 'c = Client("http://h:1/")\nc.predict(a=1)'
