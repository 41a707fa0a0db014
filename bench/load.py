"""Load: N concurrent sessions against one ``streamlit run`` server, driven at the protocol level.

Each session is one websocket to ``/_stcore/stream`` speaking Streamlit's own protobufs (``BackMsg`` out,
``ForwardMsg`` in), as the browser does, without a browser: it opens the landing page, a claim page and the
explorer in turn, each timed from the ``rerun_script`` request to ``script_finished``.  An error is a view that
timed out, lost its connection, did not finish successfully or rendered an exception box.  For each N the
server's peak resident memory (sampled every 50 ms, and VmHWM) and its CPU seconds per page view are read
from /proc.  Bounded: N = 10, 25, 50 (3 views each), a per-view timeout and an overall deadline; the server
is always stopped.

    python -m bench.load [--sessions 10,25,50] [--view-timeout 120] [--deadline 900]   (make bench-load)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.browser import Server
from evidence.curation.load import REPO_ROOT, load_dataset

APP = REPO_ROOT / "app.py"
RESULTS = REPO_ROOT / "bench" / "results" / "load.json"
PAGES = ("landing", "claim", "explorer")
FINISHED_SUCCESSFULLY = 0  # ForwardMsg.script_finished


@dataclass
class View:
    page: str
    seconds: float | None
    error: str | None = None


@dataclass
class Round:
    sessions: int
    views: list[View] = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0


async def _view(ws, page_name: str, query: str, timeout: float) -> tuple[float, str | None]:
    msg = BackMsg()
    msg.rerun_script.page_name = page_name
    msg.rerun_script.query_string = query
    start = time.perf_counter()
    await ws.send(msg.SerializeToString())
    error = None
    async with asyncio.timeout(timeout):
        while True:
            fm = ForwardMsg()
            fm.ParseFromString(await ws.recv())
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element" \
                    and fm.delta.new_element.WhichOneof("type") == "exception":
                error = "exception: " + fm.delta.new_element.exception.message[:120]
            elif kind == "script_finished":
                if fm.script_finished != FINISHED_SUCCESSFULLY:
                    error = error or f"script_finished status {fm.script_finished}"
                return time.perf_counter() - start, error


async def _session(url: str, claim_id: str, timeout: float) -> list[View]:
    steps = [("landing", "", ""), ("claim", "claim", f"claim={claim_id}"), ("explorer", "explorer", "")]
    views: list[View] = []
    try:
        async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=timeout,
                                      ping_interval=None) as ws:  # a browser sends no pings either
            for page, name, query in steps:
                try:
                    seconds, error = await _view(ws, name, query, timeout)
                except TimeoutError:
                    views.append(View(page, None, f"no script_finished within {timeout:.0f} s"))
                    break
                views.append(View(page, seconds, error))
    except (OSError, websockets.WebSocketException, TimeoutError) as exc:
        views.append(View(steps[len(views)][0] if len(views) < 3 else "?", None, f"connection: {exc}"[:160]))
    for page, _, _ in steps[len(views):]:
        views.append(View(page, None, "not reached"))
    return views


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class _Sampler(threading.Thread):
    """The server's resident memory every 50 ms, while a round runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, _rss_mb(self.pid))
            except OSError:
                return
            self.done.wait(0.05)


def run_round(server: Server, sessions: int, claim_ids: list[str], timeout: float) -> Round:
    pid = server.proc.pid
    url = f"ws://127.0.0.1:{server.port}/_stcore/stream"
    sampler = _Sampler(pid)
    cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
    sampler.start()

    async def all_sessions() -> list[list[View]]:
        return await asyncio.gather(*(_session(url, claim_ids[i % len(claim_ids)], timeout)
                                      for i in range(sessions)))

    results = asyncio.run(all_sessions())
    sampler.done.set()
    sampler.join()
    out = Round(sessions, [v for views in results for v in views])
    out.wall_s, out.cpu_s = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
    out.peak_rss_mb = max(sampler.peak, server.peak_rss_mb() or 0.0)
    return out


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def summarise(r: Round) -> dict:
    pages = {}
    for page in PAGES:
        views = [v for v in r.views if v.page == page]
        ok = [v.seconds for v in views if v.seconds is not None and v.error is None]
        pages[page] = {"views": len(views), "ok": len(ok), "errors": len(views) - len(ok),
                       "p50_s": _pct(ok, 50), "p95_s": _pct(ok, 95)}
    done = sum(p["ok"] for p in pages.values())
    errors = sorted({v.error for v in r.views if v.error})
    return {"sessions": r.sessions, "pages": pages, "wall_s": r.wall_s, "server_cpu_s": r.cpu_s,
            "cpu_s_per_view": r.cpu_s / done if done else None, "server_peak_rss_mb": r.peak_rss_mb,
            "error_kinds": errors[:5]}


def table(rounds: list[dict]) -> str:
    def s(x):
        return "—" if x is None else f"{x:.2f}"
    lines = ["| sessions | page | views | errors | p50 s | p95 s | server peak MB | server CPU s / view |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rounds:
        for i, (page, p) in enumerate(r["pages"].items()):
            tail = (f"{r['server_peak_rss_mb']:.0f} | {s(r['cpu_s_per_view'])}" if i == 0 else " | ")
            lines.append(f"| {r['sessions'] if i == 0 else ''} | {page} | {p['views']} | {p['errors']} | "
                         f"{s(p['p50_s'])} | {s(p['p95_s'])} | {tail} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", default="10,25,50", help="comma-separated concurrent session counts")
    parser.add_argument("--view-timeout", type=float, default=120.0, help="seconds before a view counts as failed")
    parser.add_argument("--deadline", type=float, default=900.0, help="stop starting rounds after this many s")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.sessions.split(",") if n.strip()]
    if not counts or min(counts) < 1 or max(counts) > 200:
        parser.error("--sessions: counts between 1 and 200")
    claim_ids = [c.id for c in load_dataset().claims]
    started = time.monotonic()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="bench-load-cache-") as cache, \
            Server(APP, env={"EVIDENCE_CACHE_DIR": cache}) as server:
        server.wait_healthy()
        warm = run_round(server, 1, claim_ids, args.view_timeout)  # first views pay for parsing and imports
        print(f"warm-up (1 session, not counted): {', '.join(f'{v.page} {v.seconds or 0:.2f} s' for v in warm.views)}")
        for n in counts:
            if time.monotonic() - started > args.deadline:
                print(f"deadline of {args.deadline:.0f} s reached: {n} sessions not run")
                break
            result = summarise(run_round(server, n, claim_ids, args.view_timeout))
            rounds.append(result)
            print(f"{n} sessions: {result['wall_s']:.1f} s wall, "
                  f"{sum(p['errors'] for p in result['pages'].values())} error(s) {result['error_kinds'] or ''}")
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "cores": os.cpu_count(), "claims": len(claim_ids),
              "view_timeout_s": args.view_timeout, "rounds": rounds}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(rounds))
    print(f"(written to {args.out})")
    return 0 if all(p["errors"] == 0 for r in rounds for p in r["pages"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
