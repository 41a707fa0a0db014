"""Streamlit glue shared by the pages: data loading, permalinks, chart blocks, the footer.

Data are loaded once per content hash (``st.cache_resource`` keyed on the hash,
so no DataFrame is copied on a rerun); an invalid data directory shows the
validator's error list instead of a traceback.  Widgets that define a view are
bound to the URL's query parameters so that a pasted link restores the view.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import streamlit as st

from evidence.curation.load import Dataset, content_hash, data_dir, validate
from evidence.publishing import stamp

if TYPE_CHECKING:  # pandas, plotly and the tables are imported only by the pages that use them
    import pandas as pd
    import plotly.graph_objects as go

    from evidence.curation.tables import Tables

PAGES = {
    "claims": "evidence/ui/claims.py", "claim": "evidence/ui/claim.py", "explorer": "evidence/ui/explorer.py",
    "study": "evidence/ui/study.py", "check": "evidence/ui/check.py", "methods": "evidence/ui/methods.py",
}


MAX_ERRORS_SHOWN = 200  # a broken file can yield thousands; the page stays light


@st.cache_resource(show_spinner=False, max_entries=4)
def _load(directory: str, version: str) -> tuple[Dataset | None, list[str]]:
    dataset, errors = validate(directory)
    return dataset, [str(e) for e in errors]


@st.cache_resource(show_spinner=False, max_entries=4)
def _tables(version: str, _dataset: Dataset) -> Tables:
    from evidence.curation.tables import build_tables

    return build_tables(_dataset)


def tables_for(dataset: Dataset) -> Tables:
    """The tidy tables of this data version (built once, on the first page that needs them)."""
    return _tables(dataset.version, dataset)


def dataset() -> Dataset:
    """The validated dataset; stops the page with the validator's error list if invalid."""
    directory = data_dir()
    try:
        found = directory.is_dir()
        resolved = str(directory.resolve())
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python 3.11)
        found = False
    if not found:
        st.error(f"Data directory not found (or not readable): `{directory}`")
        st.stop()
    loaded, errors = _load(resolved, content_hash(directory))
    if loaded is None:
        st.error(f"The data in `{directory}` did not validate ({len(errors)} error(s)); fix them and reload.")
        shown = errors[:MAX_ERRORS_SHOWN]
        more = f"\n… and {len(errors) - len(shown):,} more (run `python -m evidence validate` for all)" \
            if len(errors) > len(shown) else ""
        st.code("\n".join(shown) + more, language=None)
        st.stop()
    return loaded


def data() -> tuple[Dataset, Tables]:
    """The validated dataset and its tables."""
    loaded = dataset()
    return loaded, tables_for(loaded)


# --------------------------------------------------------------------------- permalinks
# A link may carry anything: every bound widget takes only values it offers, clamps numbers into its range, and
# says what it refused (a journalist following a broken link must be told, not shown something else).

def param(key: str, default: str | None = None) -> str | None:
    return st.query_params.get(key, default)


def param_list(key: str, options: list[str]) -> list[str]:
    return [v for v in st.query_params.get_all(key) if v in options]


def quoted(given: str, limit: int = 80) -> str:
    """A value from the link (or a file's name) inside a message: quoted, cut, and escaped, since ``st.error`` and
    ``st.warning`` render Markdown and a link could otherwise put an image or a link into the app's own box."""
    return plain(repr(given[:limit]))


def _refused(label: str, given: str, shown: str) -> None:
    st.warning(f"The link's {label.lower()} {quoted(given)} is not available here; showing {plain(shown)}.",
               icon="⚠️")


def bound_multiselect(label: str, key: str, options: list[str], **kwargs) -> list[str]:
    """A multiselect whose value lives in the URL (``?key=a&key=b``)."""
    if key not in st.session_state:
        st.session_state[key] = param_list(key, options)
        unknown = [v for v in st.query_params.get_all(key) if v not in options]
        if unknown:
            _refused(label, ", ".join(unknown), "the other choices" if st.session_state[key] else "all")
    value = st.multiselect(label, options, key=key, **kwargs)
    _set_param(key, value)
    return value


# A text value longer than this is refused, not cut: a cut address would fetch another page without saying so.
MAX_TEXT_PARAM = 2000


def _one(label: str, key: str) -> None:
    """A link that gives a one-value setting twice (``?claim=a&claim=b``): say which is shown, keep only it."""
    values = st.query_params.get_all(key)
    if len(values) > 1:
        st.warning(f"The link gives the {label.lower()} {len(values)} times; showing the last, "
                   f"{quoted(values[-1])}.", icon="⚠️")
        st.query_params[key] = values[-1]


def bound_text(label: str, key: str, what: str | None = None, **kwargs) -> str:
    """A text box whose value lives in the URL; ``what`` names it in a notice (default: its label)."""
    what = what or label
    if key not in st.session_state:
        _one(what, key)
        given = param(key, "") or ""
        if len(given) > MAX_TEXT_PARAM:
            st.warning(f"The link's {what.lower()} is {len(given):,} characters long, more than "
                       f"{MAX_TEXT_PARAM:,}; it was not used.", icon="⚠️")
            given = ""
        st.session_state[key] = given
    value = st.text_input(label, key=key, **kwargs)
    _set_param(key, value)
    return value


def bound_toggle(label: str, key: str, **kwargs) -> bool:
    if key not in st.session_state:
        _one(label, key)
        st.session_state[key] = param(key) == "1"
        if param(key) not in (None, "", "0", "1"):
            _refused(label, param(key), "it off (the link should say 1 for on)")
    value = st.toggle(label, key=key, **kwargs)
    _set_param(key, "1" if value else "")
    return value


def _initial_choice(label: str, key: str, options: list[str]) -> str:
    _one(label, key)
    current = param(key)
    if current is not None and current not in options:
        _refused(label, current, f"{options[0]!r}")
    return current if current in options else options[0]


def bound_select(label: str, key: str, options: list[str], **kwargs) -> str:
    if key not in st.session_state:
        st.session_state[key] = _initial_choice(label, key, options)
    value = st.selectbox(label, options, key=key, **kwargs)
    _set_param(key, value)
    return value


def bound_record(label: str, key: str, ids: list[str], *, list_page: str, list_label: str, **kwargs) -> str:
    """The record a permalink names (``?claim=ID``): an unknown id stops the page with "not found" and a link
    to the list, instead of silently showing the first record."""
    if key not in st.session_state:
        _one(label, key)
    wanted = param(key)
    if key not in st.session_state and wanted is not None and wanted not in ids:
        st.title(f"{label} not found")
        st.error(f"There is no {label.lower()} with the id {quoted(wanted)} in this version of the data. "
                 "The link may be mistyped, or the record was renamed.")
        st.page_link(list_page, label=f"{list_label} →")
        st.stop()
    if not ids:
        st.info(f"There are no {label.lower()} records in the data.")
        st.stop()
    return bound_select(label, key, ids, **kwargs)


def bound_choice(label: str, key: str, options: list[str]) -> str:
    """A segmented control (one choice) whose value lives in the URL; never empty."""
    if key not in st.session_state:
        st.session_state[key] = _initial_choice(label, key, options)
    value = st.segmented_control(label, options, key=key) or options[0]
    _set_param(key, value)
    return value


def parse_range(raw: str | None, low: int, high: int) -> tuple[tuple[int, int], str | None]:
    """A ``"from-to"`` range from a link, clamped into ``[low, high]``; and why it was changed, if it was."""
    if not raw:
        return (low, high), None
    try:
        a, b = (int(part) for part in raw.split("-"))
    except ValueError:
        return (low, high), f"{raw[:40]!r} is not a range like {low}-{high}"
    if a > b:
        a, b = b, a
    if b < low or a > high:
        return (low, high), f"{raw[:40]} lies outside the data ({low}–{high})"
    clamped = (max(low, a), min(high, b))
    return clamped, None if clamped == (a, b) else f"{raw[:40]} was narrowed to the data's {low}–{high}"


def bound_range(label: str, key: str, low: int, high: int) -> tuple[int, int]:
    if key not in st.session_state:
        _one(label, key)
        st.session_state[key], why = parse_range(param(key), low, high)
        if why:
            st.warning(f"The link's {label.lower()}: {plain(why)}; showing {st.session_state[key][0]}–"
                       f"{st.session_state[key][1]}.", icon="⚠️")
    value = st.slider(label, low, high, key=key)
    _set_param(key, "" if value == (low, high) else f"{value[0]}-{value[1]}")
    return value


def _set_param(key: str, value: str | list[str]) -> None:
    if isinstance(value, list):
        if st.query_params.get_all(key) != value:
            if value:
                st.query_params[key] = value
            else:
                st.query_params.pop(key, None)
    elif (st.query_params.get(key) or "") != value:
        if value:
            st.query_params[key] = value
        else:
            st.query_params.pop(key, None)


def permalink_note() -> None:
    st.caption("Permalink: the address bar holds this exact view (page, selection and filters): "
               "copy it to cite or share.")


# --------------------------------------------------------------------------- curated text

_INLINE_MARKUP = str.maketrans({c: "\\" + c for c in "\\`*_[]<>!$~&"})


def plain(text: str | None) -> str:
    """Curated text for ``st.markdown`` shown as written, on one line.

    The characters that open inline markup (images, links, HTML, code, emphasis, LaTeX ``$``, entities) are
    backslash-escaped, as CommonMark allows for any ASCII punctuation, and so is a leading one (a heading, list
    or quote marker): no image, link or HTML in the data is rendered, and the reader's browser never fetches a
    URL a record names.
    """
    if not text:
        return ""
    line = " ".join(text.split()).translate(_INLINE_MARKUP)
    if line[0] in "#+-=>|":
        return "\\" + line
    return re.sub(r"^(\d+)([.)])", r"\1\\\2", line)  # "1. " would start an ordered list


# Percent-encoded in a Markdown link target: ")" would close the link early, "(" and a backslash change how it
# parses, a space starts a link title and "<>" an autolink; the encoded URL still leads to the same page.
_LINK_TARGET = str.maketrans({c: f"%{ord(c):02X}" for c in "()<> \\"})


def md_link(label: str, url: str | None) -> str:
    """A Markdown link to an absolute http(s) URL, or the label as plain text when the URL is anything else
    (``javascript:``, ``data:``, relative): the label and the target can neither break out nor add markup."""
    from evidence.publishing.exports import is_web_url

    if not is_web_url(url):
        return plain(label)
    return f"[{plain(label)}]({url.translate(_LINK_TARGET)})"


def html_text(text: str | None) -> str:
    """Curated text inside an HTML block given to ``st.markdown(..., unsafe_allow_html=True)``: escaped, and on
    one line, since a blank line would end the HTML block and let Markdown (an image) through."""
    return html.escape(" ".join((text or "").split()))


def markdown_document(text: str) -> None:
    """A curated Markdown document (data/GAPS.md, data/CHANGELOG.md) with its formatting and links, but no
    image and no raw HTML (markdown-it with images and HTML off), so nothing in it makes the reader's browser
    fetch a URL."""
    from evidence.publishing.templating import curated_markdown

    st.html(curated_markdown().render(text))


# --------------------------------------------------------------------------- blocks

def stamped_name(name: str, dataset: Dataset, ext: str = "csv") -> str:
    """File name stamped with the data version and today's date (shared with the CLI exports)."""
    return stamp.export_filename(name, dataset, ext)


def download_table(frame: pd.DataFrame | Callable[[], pd.DataFrame], *, label: str, name: str, dataset: Dataset,
                   where=st) -> None:
    """CSV (first, for journalists) and its JSON twin, both of exactly ``frame`` (or what the callable
    returns); the JSON carries the data version, export date, licence, how to cite and the view's filters
    (the URL's query parameters).  Payloads are built only when clicked, not on every rerun."""
    from evidence.publishing import exports

    filters = {key: st.query_params.get_all(key) for key in st.query_params}

    def rows() -> pd.DataFrame:
        return frame() if callable(frame) else frame

    left, right = where.columns([1, 1])
    left.download_button(f"{label} (CSV)",
                         lambda: exports.table_export(rows(), "csv", dataset=dataset, table_name=name),
                         stamped_name(name, dataset), "text/csv", key=f"csv_{name}", on_click="ignore")
    right.download_button(f"{label} (JSON)",
                          lambda: exports.table_export(rows(), "json", dataset=dataset, table_name=name,
                                                       filters=filters),
                          stamped_name(name, dataset, "json"), "application/json", key=f"json_{name}",
                          on_click="ignore")


def chart_block(fig: go.Figure, frame: pd.DataFrame, *, caption: str, name: str, dataset: Dataset) -> None:
    """A chart with its caption, a toggle to see its data, and downloads of exactly that data."""
    st.plotly_chart(fig, key=f"chart_{name}", config={"displaylogo": False})
    st.caption(caption)
    if st.toggle("Show the data as a table", key=f"show_{name}"):
        from evidence.pages.cells import shown_frame

        st.dataframe(shown_frame(frame), hide_index=True)
    download_table(frame, label="This chart's data", name=name, dataset=dataset)


def link_columns(studies: pd.DataFrame) -> pd.DataFrame:
    """Studies with URL columns the dataframe renders as links."""
    from evidence.publishing.exports import doi_url, pubmed_url

    def present(value: object) -> bool:  # a missing id is NaN in the tables, and NaN is truthy ("/study/nan")
        return isinstance(value, str) and bool(value.strip())

    return studies.assign(
        pubmed=studies["pmid"].map(lambda p: pubmed_url(p) if present(p) else None),
        doi_link=studies["doi"].map(lambda d: doi_url(d) if present(d) else None),
        registry=studies["nct"].map(lambda n: f"https://clinicaltrials.gov/study/{n}" if present(n) else None),
    )


LINK_CONFIG = {
    "pubmed": st.column_config.LinkColumn("PubMed", display_text="PubMed"),
    "doi_link": st.column_config.LinkColumn("DOI", display_text="DOI"),
    "registry": st.column_config.LinkColumn("Registry", display_text="NCT"),
}


def footer(dataset: Dataset) -> None:
    st.divider()
    st.caption(
        f"Data version `{dataset.version}` (data last changed {dataset.modified}) · "
        f"{len(dataset.studies)} studies, {len(dataset.claims)} claims, {len(dataset.sources)} pages · "
        f"{stamp.SOURCE} · "
        f"{stamp.LICENCE} · See *Methods and data* for how to cite."
    )
