"""`python -m training edit`: people's changes to a bundle's segments, from the command line — the
same edit core as the Space's Edit tab (`model.editing`), written to a new bundle folder."""
from __future__ import annotations

import argparse
from pathlib import Path

from model.contract.bundle import read_bundle
from model.contract.stats import STATS, read_stats
from model.editing.apply import apply_edit
from model.editing.files import write_edited
from model.editing.spec import build_spec, parse_offers


def add_edit_parser(sub: argparse._SubParsersAction, default_bundle: Path) -> None:
    """The `edit` subcommand and its flags."""
    e = sub.add_parser(
        "edit", help="rename segments, edit their offers, merge segments or choose another k; writes a new bundle",
        description="Edit a bundle's segments and write the result to a new folder (a normal bundle: verified "
                    "files, card and SQL rendered again). Segment ids refer to the bundle's segments — with --k, "
                    "to that k's segments — before any merge of this edit. What cannot be measured again "
                    "(bootstrap stability of a merged segment) is marked 'edited, not re-measured'.")
    e.add_argument("--bundle", type=Path, default=default_bundle, help="the bundle to edit")
    e.add_argument("--rename", action="append", default=[], metavar="ID=NAME", help="rename a segment (repeatable)")
    e.add_argument("--merge", action="append", default=[], metavar="ID,ID",
                   help="merge two or more segments into one (repeatable)")
    e.add_argument("--k", metavar="K", help="start from another k of the evidence table (no refit)")
    e.add_argument("--offers", dest="offers_file", type=Path, metavar="FILE.yaml",
                   help="new offers per segment: `segments: {ID: [{title, rationale, requires?}, ...]}`")
    e.add_argument("--out", type=Path, required=True, help="a new (or empty) folder for the edited bundle")
    e.set_defaults(func=cmd_edit)


def cmd_edit(args: argparse.Namespace) -> int:
    offers = None
    if args.offers_file is not None:
        offers = parse_offers(Path(args.offers_file).read_bytes(), where=f"--offers {args.offers_file}")
    spec = build_spec(k=args.k, merges=args.merge, renames=args.rename, offers=offers)
    bundle = read_bundle(args.bundle)
    stats_file = Path(args.bundle) / STATS
    stats = read_stats(stats_file, expected_sha256=bundle.manifest.files.get(STATS)) if stats_file.is_file() else None
    edited = apply_edit(bundle, stats, spec)
    final = write_edited(edited, args.bundle, args.out)
    read_bundle(args.out)  # the written bundle verifies as any other
    print("changed:")
    for line in edited.changes:
        print(f"  - {line}")
    print(f"\n{final.k} segments:")
    for s in final.segments:
        who = " (named by people)" if s.named_by == "people" else ""
        stab = f" — stability: {s.stability_reading}" if s.stability is None and s.stability_reading else ""
        print(f"  [{s.id}] {s.name}{who} — {s.share:.1%}{stab} — offers: "
              + ("; ".join(o.title for o in s.offers) or "none: add one with --offers"))
    if final.edit is not None:
        for what in final.edit.not_remeasured:
            print(f"not re-measured: {what}")
        print(f"served: {final.edit.served}")
    print(f"\nedited bundle written to {args.out}")
    return 0
