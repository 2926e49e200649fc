"""Figures for the report (seaborn on matplotlib, vector SVG)."""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import NullFormatter

__all__ = [
    "convergence_figure",
    "deviation_figure",
    "histogram_figure",
    "maps_figure",
    "ratio_figure",
    "scaling_figure",
    "variants_figure",
]

sns.set_theme(context="paper", style="whitegrid", font_scale=0.9)
plt.rcParams.update({"svg.fonttype": "path", "figure.dpi": 100})
_MEASURED, _FIT, _PREDICTED = "#1f77b4", "#1f77b4", "#d62728"


def _svg(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _grid(n: int) -> tuple[Any, list[Any]]:
    cols = min(n, 2)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.6 * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _short(name: str, width: int = 44) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def scaling_figure(parts: list[dict[str, Any]]) -> bytes:
    """Log-log plots: measured means with CIs, the fitted power law and the predicted slope."""
    fig, axes = _grid(len(parts))
    for ax, part in zip(axes, parts, strict=True):
        table = part["table"]
        x = np.array([r["level"] for r in table], dtype=float)
        y = np.array([r["mean"] for r in table])
        lo = np.array([r["ci"][0] for r in table])
        hi = np.array([r["ci"][1] for r in table])
        ax.errorbar(
            x,
            y,
            yerr=[np.maximum(y - lo, 0), np.maximum(hi - y, 0)],
            fmt="o",
            color=_MEASURED,
            ms=4,
            capsize=3,
            label="measured (95% CI)",
        )
        grid = np.geomspace(x.min(), x.max(), 50)
        fit = part["fit"]
        if fit and all(v > 0 for v in y):
            ax.plot(
                grid,
                np.exp(fit["intercept"]) * grid ** fit["slope"],
                "-",
                color=_FIT,
                lw=1,
                label=f"fit: slope {fit['slope']:.3f}",
            )
            pred = part["decision"]["predicted"]
            if pred is not None:
                anchor = math.exp(np.mean(np.log(y)) - pred * np.mean(np.log(x)))
                ax.plot(grid, anchor * grid**pred, "--", color=_PREDICTED, lw=1, label=f"predicted slope {pred:g}")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log axis run into each other
        if all(v > 0 for v in lo):
            ax.set_yscale("log")
        ax.set_title(_short(part["name"]), fontsize=8)
        ax.set_xlabel("level (d, or n)")
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _svg(fig)


def ratio_figure(parts: list[dict[str, Any]]) -> bytes:
    """Ratios (treated / reference) against the level, with CIs and the predicted power law."""
    fig, axes = _grid(len(parts))
    for ax, part in zip(axes, parts, strict=True):
        table = part["table"]
        n = np.array([r["level"] for r in table], dtype=float)
        ratio = np.array([r["ratio"] for r in table])
        lo = np.array([r["ci"][0] for r in table])
        hi = np.array([r["ci"][1] for r in table])
        ax.errorbar(
            n,
            ratio,
            yerr=[ratio - lo, hi - ratio],
            fmt="o",
            color=_MEASURED,
            ms=4,
            capsize=3,
            label="measured ratio (95% CI)",
        )
        grid = np.geomspace(n.min() * 0.9, n.max() * 1.1, 50)
        pred = part["decision"]["predicted"]
        if pred is not None:
            ax.plot(grid, grid**pred, "--", color=_PREDICTED, lw=1, label=f"n^{pred:g} (predicted)")
        fit = part["fit"]
        if fit:
            ax.plot(
                grid,
                np.exp(fit["intercept"]) * grid ** fit["slope"],
                "-",
                color=_FIT,
                lw=1,
                label=f"fit: slope {fit['slope']:.3f}",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("pool size n")
        ax.set_title(_short(part["name"]), fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _svg(fig)


def deviation_figure(parts: list[dict[str, Any]]) -> bytes:
    """Forest plot of deviations from the prediction with CIs, the margin and the band shaded."""
    fig, ax = plt.subplots(figsize=(6.8, 0.45 * len(parts) + 0.9))
    for i, part in enumerate(parts):
        d = part["decision"]
        lo, hi = d["deviation_ci"]
        ax.errorbar(
            d["deviation"],
            i,
            xerr=[[d["deviation"] - lo], [hi - d["deviation"]]],
            fmt="o",
            color=_MEASURED,
            ms=4,
            capsize=3,
        )
    margins = parts[0]["decision"]["margins"] or ""
    ax.axvline(0, color=_PREDICTED, lw=1, ls="--")
    try:
        margin = float(margins.split("±")[1].split()[0].rstrip(","))
        band = float(margins.split("±")[2].split()[0])
        ax.axvspan(-band, band, color="0.92", zorder=0, label=f"band ±{band:g}")
        ax.axvspan(-margin, margin, color="0.8", zorder=0, label=f"margin ±{margin:g}")
        ax.legend(fontsize=6, loc="lower right")
    except (IndexError, ValueError):
        pass
    ax.set_yticks(range(len(parts)))
    ax.set_yticklabels([_short(p["name"], 60) for p in parts], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("deviation from the prediction (relative for constants)")
    fig.tight_layout()
    return _svg(fig)


def convergence_figure(parts: list[dict[str, Any]], xlabel: str = "networks (per level)") -> bytes:
    """Estimates as the number of networks (or the width) grows, with the prediction."""
    fig, axes = _grid(len(parts))
    for ax, part in zip(axes, parts, strict=True):
        conv = part["convergence"]
        n = np.array([c["n"] for c in conv])
        est = np.array([c["estimate"] for c in conv])
        ax.fill_between(n, [c["lo"] for c in conv], [c["hi"] for c in conv], color=_MEASURED, alpha=0.2)
        ax.plot(n, est, "o-", color=_MEASURED, ms=3, label="estimate (95% CI)")
        pred = part["decision"]["predicted"]
        if pred is not None:
            ax.axhline(pred, color=_PREDICTED, ls="--", lw=1, label="predicted")
        ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_title(_short(part["name"]), fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _svg(fig)


def training_figure(rows: dict[str, list[dict[str, Any]]]) -> bytes:
    """Each statistic against the training step: per panel (a measured quantity), one line per series (a grid
    point, a dataset) with its 95% interval band. ``rows`` maps a panel title to table rows carrying ``step``,
    ``series``, ``estimate`` and ``ci``."""
    fig, axes = _grid(len(rows))
    palette = sns.color_palette("viridis", n_colors=max(len({r["series"] for r in rs}) for rs in rows.values()))
    for ax, (title, table) in zip(axes, rows.items(), strict=True):
        for color, series in zip(palette, sorted({r["series"] for r in table}, key=str), strict=False):
            pts = sorted((r for r in table if r["series"] == series), key=lambda r: r["step"])
            steps = np.array([r["step"] for r in pts], dtype=float)
            ax.fill_between(steps, [r["ci"][0] for r in pts], [r["ci"][1] for r in pts], color=color, alpha=0.2)
            ax.plot(steps, [r["estimate"] for r in pts], "o-", color=color, ms=3, label=str(series))
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_title(_short(title), fontsize=8)
        ax.legend(fontsize=6)
    fig.tight_layout()
    return _svg(fig)


def maps_figure(part: dict[str, Any]) -> bytes:
    """Predicted and measured per-input maps of E[(∂f/∂x_i)²] (channel 0), and their ratio."""
    shape = part["maps"]["shape"]
    pred = np.array(part["maps"]["predicted"]).reshape(shape)
    meas = np.array(part["maps"]["measured"]).reshape(shape)
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.3))
    vmin, vmax = min(pred.min(), meas.min()), max(pred.max(), meas.max())
    for ax, data, title in ((axes[0], pred, "predicted (H)"), (axes[1], meas, "measured (Monte Carlo)")):
        im = ax.imshow(data, vmin=vmin, vmax=vmax, cmap="viridis")
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.colorbar(im, ax=axes[:2], fraction=0.03)
    im2 = axes[2].imshow(meas / pred, cmap="coolwarm", vmin=0.8, vmax=1.2)
    axes[2].set_title("measured / predicted", fontsize=8)
    axes[2].axis("off")
    fig.colorbar(im2, ax=axes[2], fraction=0.05)
    return _svg(fig)


def variants_figure(table: list[dict[str, Any]], ylabel: str) -> bytes:
    """Bar chart of a statistic per architecture variant, with 95% CIs."""
    fig, ax = plt.subplots(figsize=(3.6, 2.4))
    names = [r["variant"] for r in table]
    means = np.array([r["mean"] for r in table])
    errs = 1.96 * np.array([r["se"] for r in table])
    sns.barplot(x=names, y=means, ax=ax, color=_MEASURED, errorbar=None)
    ax.errorbar(range(len(names)), means, yerr=errs, fmt="none", color="black", capsize=4)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return _svg(fig)


def histogram_figure(parts: list[dict[str, Any]]) -> bytes:
    """Histograms (log10 scale) of per-input ratios such as bound / smallest perturbation found, with the
    threshold the claim must respect."""
    fig, axes = _grid(len(parts))
    for ax, part in zip(axes, parts, strict=False):
        h = part["histogram"]
        values = np.asarray(h["values"], dtype=float)
        values = values[np.isfinite(values) & (values > 0)]
        if values.size:
            sns.histplot(np.log10(values), ax=ax, color=_MEASURED, bins=30)
        ax.axvline(np.log10(h["threshold"]), color=_PREDICTED, linestyle="--", label=f"{h['threshold']:g}")
        ax.set_xlabel(f"log10 {h['xlabel']}")
        ax.set_title(_short(part["name"]), fontsize=8)
    fig.tight_layout()
    return _svg(fig)
