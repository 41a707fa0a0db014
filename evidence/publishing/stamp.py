"""What every export and page carries: project, licence, data version, dates, how to cite, permalinks.

Kept free of pandas and plotting so that light pages (the landing page) can name and stamp files
without importing the analysis stack.
"""

from __future__ import annotations

import os
import re
from datetime import date
from urllib.parse import quote as _urlquote

from evidence.curation import last_search
from evidence.curation.load import Dataset

PROJECT = "Ketamine evidence tracker"
TITLE = "Ketamine for depression: marketing claims vs published evidence"
LICENCE = "Data: CC BY 4.0; code: MIT"
# Where the figures come from: on every page of the app and of the static site.
SOURCE = "Source: curated from PubMed, PMC and journal abstracts; every figure carries its verbatim quote"
DEFAULT_BASE_URL = "http://localhost:8501"


def resolve_base_url(explicit: str | None = None) -> str:
    """The public address of the dashboard: explicit, else ``$EVIDENCE_BASE_URL``, else localhost."""
    return (explicit or os.environ.get("EVIDENCE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")


def claim_url(claim_id: str, base: str | None = None) -> str:
    return f"{resolve_base_url(base)}/claim?claim={_urlquote(claim_id, safe='')}"


def search_statement(dataset: Dataset) -> str:
    """How far the reading goes: the last recorded literature search (``data/last_search.json``), or none."""
    return last_search.statement(*last_search.read(dataset.data_dir))


def how_to_cite(dataset: Dataset, *, today: date | None = None, base: str | None = None) -> str:
    today = today or date.today()
    return (f"{PROJECT}. {TITLE}. Data version {dataset.version} (data last changed "
            f"{dataset.modified or 'unknown'}; {search_statement(dataset)}). {resolve_base_url(base)} "
            f"(accessed {today.isoformat()}). {LICENCE}.")


def stamp(dataset: Dataset, *, today: date | None = None, base: str | None = None) -> dict[str, str]:
    """What every export carries: data version and date, export date, licence, source, how to cite."""
    today = today or date.today()
    return {
        "data_version": dataset.version,
        "data_modified": dataset.modified,
        "exported": today.isoformat(),
        "licence": LICENCE,
        "source": PROJECT,
        "url": resolve_base_url(base),
        "how_to_cite": how_to_cite(dataset, today=today, base=base),
        "last_search": search_statement(dataset),
    }


def export_filename(table_name: str, dataset: Dataset, ext: str, *, today: date | None = None) -> str:
    """``outcomes_v8b301a0fbf4c_2026-11-21.csv``: table, data version, export date."""
    safe = re.sub(r"[^A-Za-z0-9_\-]+", "_", table_name).strip("_") or "export"
    return f"{safe}_v{dataset.version}_{(today or date.today()).isoformat()}.{ext.lstrip('.')}"
