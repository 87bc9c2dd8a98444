"""space.scored and space.files: one folder per call, atomic writes, the disk budget, race-free
pruning, nothing left behind; and the check that a handler's file is an upload."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from model.contract.errors import DiskBudgetError
from space.files import DiskBudget, uploaded_file
from space.scored import BatchFiles, sweep_orphans


def budget(total: int, per_client: int | None = None) -> DiskBudget:
    return DiskBudget(max_total=total, max_per_client=per_client or total, block=1)


def test_every_write_gets_its_own_folder_and_leaves_no_temporary_file(tmp_path):
    files = BatchFiles(tmp_path, budget=budget(10**6))
    paths = [files.write(f"row {i}\n".encode(), stem="customers") for i in range(5)]
    assert len({p.parent for p in paths}) == 5 and {p.name for p in paths} == {"scored_customers.csv"}
    assert [p.read_bytes() for p in paths] == [f"row {i}\n".encode() for i in range(5)]
    assert not list(files.root.rglob(".partial-*"))
    assert all(p.parent.parent == files.root for p in paths)


@pytest.mark.parametrize("stem, expected", [("../../etc/passwd", "etc_passwd"), ("", "upload"),
                                            ("a b;c", "a_b_c"), ("x" * 100, "x" * 40)])
def test_file_names_are_made_of_safe_characters(stem, expected, tmp_path):
    path = BatchFiles(tmp_path, budget=budget(10**6)).write(b"x", stem=stem)
    assert path.name == f"scored_{expected}.csv"


def test_disk_budget_evicts_the_oldest_calls_first(tmp_path):
    files = BatchFiles(tmp_path, budget=budget(2500))
    paths = []
    for i in range(6):
        paths.append(files.write(bytes([65 + i]) * 1000, stem=f"c{i}"))
        os.utime(paths[-1], (time.time() - 100 + i, time.time() - 100 + i))  # distinct ages
        assert files.usage() <= 2500
    assert [p.exists() for p in paths] == [False] * 4 + [True] * 2


def test_calls_older_than_max_age_are_removed(tmp_path):
    files = BatchFiles(tmp_path, budget=budget(10**6), max_age_s=60)
    old = files.write(b"old", stem="a")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    os.utime(old.parent, (time.time() - 3600, time.time() - 3600))
    new = files.write(b"new", stem="b")
    assert not old.exists() and new.exists()


def test_one_file_over_the_budget_is_refused_and_leaves_nothing(tmp_path):
    files = BatchFiles(tmp_path, budget=budget(100))
    first = files.write(b"x" * 50, stem="a")
    with pytest.raises(DiskBudgetError, match="may take at most"):
        files.write(b"y" * 500, stem="b")
    assert first.exists() and len(list(files.root.glob("call-*"))) == 1 and files.budget.usage() == 50


def test_pruning_races_with_itself_and_with_outside_deletion(tmp_path):
    """The red team's crash: glob → stat → unlink raced once files were an hour old. Eight
    writers pruning each other's old calls, and a thread deleting scored files behind their back
    (as Gradio's cache cleaner does): no exception, and the budget holds once they are done."""
    files = BatchFiles(tmp_path, budget=budget(20_000), max_age_s=0.05)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(k: int) -> None:
        try:
            for i in range(40):
                files.write(b"z" * 1000, stem=f"w{k}-{i}")
        except BaseException as exc:  # noqa: BLE001 - any exception is the failure under test
            errors.append(exc)

    def vandal() -> None:
        while not stop.is_set():
            try:
                for p in list(files.root.glob("call-*/scored_*.csv"))[:3]:  # what Gradio knows
                    p.unlink(missing_ok=True)
            except FileNotFoundError:  # a folder pruned mid-glob
                pass
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    cleaner = threading.Thread(target=vandal)
    cleaner.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    stop.set()
    cleaner.join(10)
    assert errors == []
    files.prune()
    assert files.usage() <= files.budget.usage() <= 20_000


def test_close_deletes_everything_and_can_run_twice(tmp_path):
    files = BatchFiles(tmp_path, budget=budget(10**6))
    path = files.write(b"customer rows", stem="a")
    files.close()
    files.close()
    assert not path.exists() and not files.root.exists()


def test_orphans_of_dead_processes_are_swept_but_live_ones_are_kept(tmp_path):
    live = BatchFiles(tmp_path, budget=budget(10**6))
    kept = live.write(b"still being served", stem="a")
    code = ("import os, sys; sys.path.insert(0, sys.argv[2]); from space.files import DiskBudget; from space.scored import BatchFiles; "
            "f = BatchFiles(sys.argv[1], budget=DiskBudget(max_total=10**6, max_per_client=10**6)); print(f.write(b'orphan', stem='x'), flush=True); "
            "os._exit(0)")  # no atexit, like SIGKILL
    child = subprocess.run([sys.executable, "-c", code, str(tmp_path), str(Path(__file__).resolve().parents[1])],
                           capture_output=True, text=True, check=True)
    orphan = Path(child.stdout.strip())
    assert orphan.exists()
    assert sweep_orphans(tmp_path, keep=live.root) == 1
    assert not orphan.parent.parent.exists() and kept.exists()
    unrelated = tmp_path / "segments-batch-no-lock"
    unrelated.mkdir()
    assert sweep_orphans(tmp_path) == 0 and unrelated.exists()  # no lock file: not ours to judge


# -- uploaded_file --------------------------------------------------------------------------------
@pytest.fixture
def cache(tmp_path) -> Path:
    (tmp_path / "cache" / "abc").mkdir(parents=True)
    (tmp_path / "cache" / "abc" / "up.csv").write_text("age\n1\n")
    (tmp_path / "secret.csv").write_text("db_password\n")
    return tmp_path / "cache"


def test_an_upload_is_accepted_in_every_shape_gradio_hands_over(cache):
    path = str(cache / "abc" / "up.csv")

    class Named(str):
        name = path
    for value in (path, {"path": path}, Named(path)):
        assert uploaded_file(value, upload_dir=cache, uploaded={path}) == Path(path).resolve()


@pytest.mark.parametrize("value", ["{secret}", "{cache}/abc/../../secret.csv", "{cache}/abc/link.csv",
                                   "{cache}/abc/missing.csv", "{cache}/abc", "relative.csv", "", "a\x00b", None, 7,
                                   {"path": "{secret}"}])
def test_anything_else_is_refused_without_being_read(value, cache):
    secret = cache.parent / "secret.csv"
    (cache / "abc" / "link.csv").symlink_to(secret)

    def fill(v):
        return v.format(secret=secret, cache=cache) if isinstance(v, str) else v
    value = {"path": fill(value["path"])} if isinstance(value, dict) else fill(value)
    with pytest.raises(ValueError, match="was not uploaded to this app") as info:
        uploaded_file(value, upload_dir=cache)
    assert "db_password" not in str(info.value)


def test_a_file_in_the_cache_that_nobody_uploaded_is_refused(cache):
    """Gradio copies a file named in a request into its cache before the handler runs; being in
    the folder is not enough when the list of uploads is known."""
    copied = cache / "abc" / "up.csv"
    with pytest.raises(ValueError, match="was not uploaded"):
        uploaded_file(str(copied), upload_dir=cache, uploaded={str(cache / "other.csv")})
    assert uploaded_file(str(copied), upload_dir=cache, uploaded={str(cache / "abc" / ".." / "abc" / "up.csv")})


# -- DiskBudget ---------------------------------------------------------------------------------------
def _claimed(b: DiskBudget, folder: Path, name: str, size: int, owner: str) -> Path:
    claim = b.reserve(size, owner=owner)
    path = folder / name
    path.write_bytes(b"x" * size)
    claim.attach(path)
    return path


def test_a_client_over_its_limit_loses_its_own_oldest_files_not_others(tmp_path):
    b = budget(10_000, per_client=3_000)
    theirs = _claimed(b, tmp_path, "other", 1_000, "10.0.0.2")
    mine = [_claimed(b, tmp_path, f"m{i}", 1_000, "10.0.0.1") for i in range(5)]
    assert [p.exists() for p in mine] == [False, False, True, True, True] and theirs.exists()
    assert b.usage("10.0.0.1") == 3_000 and b.usage() == 4_000
    assert b.owner_of(mine[-1]) == "10.0.0.1" and b.owner_of(theirs) == "10.0.0.2"


def test_over_the_total_everybody_s_oldest_go_first(tmp_path):
    b = budget(3_000, per_client=2_000)
    paths = [_claimed(b, tmp_path, f"f{i}", 1_000, f"10.0.0.{i}") for i in range(5)]
    assert [p.exists() for p in paths] == [False, False, True, True, True] and b.usage() == 3_000


def test_room_being_written_is_never_taken_and_gone_files_are_dropped(tmp_path):
    b = budget(2_000)
    writing = b.reserve(1_500, owner="a")  # not attached yet
    with pytest.raises(DiskBudgetError, match="try again shortly"):
        b.reserve(1_000, owner="b")
    writing.release()
    gone = _claimed(b, tmp_path, "gone", 1_500, "a")
    gone.unlink()  # Gradio's cache cleaner deleted it
    kept = _claimed(b, tmp_path, "kept", 1_000, "b")
    assert kept.exists() and b.usage() == 1_000


def test_claims_count_whole_blocks_and_folders_by_their_files(tmp_path):
    b = DiskBudget(max_total=10 * 4096, max_per_client=10 * 4096)
    claim = b.reserve(10, owner="a")
    assert b.usage() == 4096
    folder = tmp_path / "call"
    folder.mkdir()
    (folder / "x").write_bytes(b"y" * 5000)
    claim.attach(folder)
    assert b.usage() == 8192 and b.owner_of(folder / "x") == "a"
    with pytest.raises(DiskBudgetError, match="one visitor's files may take at most"):
        b.reserve(11 * 4096, owner="a")


def test_the_upload_a_request_reads_is_not_deleted_to_make_room_for_its_output(tmp_path):
    """A fit reserves room for its bundle while the worker still has to read the upload: making that
    room deletes the client's other old files, never the upload itself."""
    disk = budget(10**6, per_client=300)
    uploads = []
    for name in ("old.csv", "in-use.csv"):
        path = tmp_path / name
        path.write_bytes(b"x" * 100)
        disk.reserve(100, owner="visitor").attach(path)
        uploads.append(path)
    files = BatchFiles(tmp_path / "out", budget=disk)
    with files.folder(incoming=150, owner="visitor", keep=(uploads[1],)) as folder:
        (folder / "bundle.zip").write_bytes(b"y" * 150)
    assert not uploads[0].exists() and uploads[1].exists()
    with pytest.raises(DiskBudgetError):  # the bundle may go, the upload may not: 100 + 250 > 300
        with files.folder(incoming=250, owner="visitor", keep=(uploads[1],)):
            pass
    assert uploads[1].exists()


def test_a_file_two_visitors_uploaded_stays_while_one_of_them_still_holds_it(tmp_path):
    """Gradio stores an upload under the hash of its bytes, so two visitors who upload the same file
    (a public data set) share one path. Evicting the first visitor's claim must not delete the file
    the second visitor's claim still holds (it did: the second visitor's fit then found no file)."""
    b = budget(10**6, per_client=2_000)
    shared = tmp_path / "abc123" / "Mall_Customers.csv"
    shared.parent.mkdir()
    shared.write_bytes(b"x" * 1_000)
    b.reserve(1_000, owner="10.0.0.1").attach(shared)
    b.reserve(1_000, owner="10.0.0.2").attach(shared)
    for i in range(2):  # the first visitor's later files push its claim on the shared file out
        _claimed(b, tmp_path, f"later{i}", 1_000, "10.0.0.1")
    assert b.owner_of(shared) == "10.0.0.2" and shared.exists()
    assert b.usage("10.0.0.1") == 2_000
    for i in range(2):  # once nobody holds it, it goes like any other file
        _claimed(b, tmp_path, f"theirs{i}", 1_000, "10.0.0.2")
    assert not shared.exists()
