"""Ketamine evidence tracker: curated studies and marketing claims, checked against each other.

Core modules here never import Streamlit; the dashboard pages live in ``evidence.ui``.
"""

__version__ = "0.1.0"
