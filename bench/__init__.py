"""Speed and memory benchmarks on synthetic data at 1x, 10x and 100x the curated dataset.

``python -m bench`` (or ``make bench``) generates valid synthetic data (:mod:`bench.generate`), measures
loading, every page under AppTest against a bare Streamlit page, ``streamlit run`` in headless Chromium,
the text checker and the server's peak memory, prints a table with the targets, and writes
``bench/results/<date>.json`` and ``bench/results/latest.json`` (``--quick``: ``*-quick.json``).
"""
