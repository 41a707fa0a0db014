"""A chart as every renderer needs it: the figure, the exact rows it draws, a caption and a text summary."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go


@dataclass(frozen=True, eq=False)
class Chart:
    """``name`` names the chart's data files; ``summary`` is the sentence read to those who cannot see it."""

    name: str
    title: str
    figure: go.Figure
    data: pd.DataFrame
    caption: str
    summary: str

    @property
    def has_data(self) -> bool:
        return len(self.figure.data) > 0

    @classmethod
    def of(cls, panel, name: str) -> Chart:
        """From a claim panel (:class:`evidence.synthesis.claim_evidence.Panel`)."""
        return cls(name, panel.title, panel.figure, panel.data, panel.caption, panel.summary or panel.headline)
