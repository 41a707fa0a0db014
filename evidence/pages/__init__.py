"""One model per page kind (claim, study, claims index, explorer view, methods), in plain data.

The Streamlit pages, the static site, the HTML report and the journalist bundle all render these
models, so a number, a caption or a sentence exists in one place.  ``paths`` maps the app's permalinks
to the static site's pages (pandas-free, like ``index``); the other modules import the analysis stack.
"""
