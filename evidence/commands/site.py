"""``site``: build the static, versioned site (every page model rendered to files any static host serves)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("site", help="build the static site (claims, studies, explorer views, methods, data)",
                       description="Build the static, versioned site into DIR: the top level is the latest data "
                                   "version, v/DATA_VERSION/ a fixed copy. Same data, same bytes.")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (new, empty or an earlier build)")
    p.add_argument("--base-url", metavar="URL",
                   help="the site's public address (default: $EVIDENCE_SITE_URL, else http://localhost:8000)")
    p.add_argument("--app-url", metavar="URL", help="the interactive app's address, to link each page to it")
    p.add_argument("--quiet", action="store_true", help="print only errors")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evidence.cli import UserError, command_dataset
    from evidence.commands.export import _protected
    from evidence.curation.tables import build_tables
    from evidence.publishing.site import SiteError, build_site

    dataset = command_dataset(args)
    try:
        out = Path(args.out).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
        raise UserError(f"--out {args.out}: cannot follow its symbolic links ({exc})") from None
    for protected in _protected(dataset.data_dir):
        if out == protected or out.is_relative_to(protected):
            raise UserError(f"refusing to build the site inside the data directory ({protected}); choose another "
                            "--out")
    say = (lambda _m: None) if args.quiet else (lambda m: print(m, file=sys.stderr))
    try:
        report = build_site(dataset, build_tables(dataset), Path(args.out), base_url=args.base_url,
                            app_url=args.app_url, progress=say)
    except SiteError as exc:
        raise UserError(str(exc)) from None
    if not args.quiet:
        print(f"site: {report.pages} pages, {report.files} files in {report.out} (data version {report.version}, "
              f"also under v/{report.version}/) in {report.seconds:.1f} s")
    return 0
