"""Throughput benchmark: recoupe (extract + cross-check) and LangExtract against a loopback stub.

    python benchmarks/throughput.py [--sizes 10 100 1000] [--latency 0.2] [--concurrency 16]
                                    [--out benchmarks/results/throughput.json] [--skip-langextract]

A stub OpenAI-compatible server (``benchmarks/stub_server.py``) runs in its own process and answers
every request after ``--latency`` seconds with a minimal schema-valid answer. For every corpus size
(``benchmarks/synthetic_corpus.py``: deterministic French business news), each of these runs in a
fresh Python process, so that peak memory is that of one run:

* ``check``: ``recoupe.check(articles, Settings(concurrency=C, use_cache=False, ...))``, extraction
  then cross-checking (pairing, rules, model adjudication of the undecided pairs);
* ``extract``: ``recoupe.extract(...)``, extraction only;
* ``langextract``: LangExtract 1.7.1 on the same stub, corpus and concurrency (``max_workers=C``,
  ``batch_length=max(C, --lx-batch-length)``), set up as ``recoupe eval`` sets it up otherwise.

Measured: wall time, model calls and tokens by stage, peak RSS, the process CPU time, and the
floor ``K * latency / C`` (K model calls) that no client can beat with C requests in flight.
See ``benchmarks/README.md`` for how to read the numbers.

``--profile N`` instead runs ``check`` on N articles under cProfile (concurrency 1, so that every
call is in the profiled thread) and prints where the CPU time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "throughput.json"
RESULT_PREFIX = "RESULT "
MODES = ("check", "extract", "langextract", "requests")
DEFAULT_MODES = ("check", "extract", "langextract")


# -- helpers shared by the parent and the workers ------------------------------------------------
def _control(base_url: str, command: str) -> dict[str, Any]:
    """Ask the stub for its counters (``__stats__``) or to reset them (``__reset__``)."""
    body = json.dumps({"model": command, "messages": []}).encode()
    request = urllib.request.Request(
        base_url.rstrip("/") + "/chat/completions", data=body, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read())
    return json.loads(payload["choices"][0]["message"]["content"])


def _peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident memory of this process (or, with ``RUSAGE_CHILDREN``, of its largest child
    that has ended)."""
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    rss = resource.getrusage(who).ru_maxrss
    return round(rss / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def _children_cpu_s() -> float:
    """CPU seconds of this process's children that have ended (the extraction workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _MemorySampler:
    """The peak, over the run, of the memory of this process and all its descendants together:
    resident (VmRSS) and proportional (Pss, shared pages split among their sharers), read from
    /proc every 0.2 s (Linux; elsewhere the fields stay None)."""

    def __init__(self, every: float = 0.2) -> None:
        import threading

        self.peak_rss_mb: float | None = None
        self.peak_pss_mb: float | None = None
        self._stop = threading.Event()
        if not Path("/proc/self/status").exists():
            return
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    @staticmethod
    def _tree(pid: int) -> list[int]:
        pids, i = [pid], 0
        while i < len(pids):
            try:
                children = Path(f"/proc/{pids[i]}/task/{pids[i]}/children").read_text().split()
            except OSError:
                children = []
            pids.extend(int(c) for c in children)
            i += 1
        return pids

    @staticmethod
    def _kib(path: str, field: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(field):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            pids = self._tree(os.getpid())
            rss = sum(self._kib(f"/proc/{p}/status", "VmRSS:") for p in pids) / 1024
            pss = sum(self._kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in pids) / 1024
            self.peak_rss_mb = round(max(self.peak_rss_mb or 0.0, rss), 1)
            self.peak_pss_mb = round(max(self.peak_pss_mb or 0.0, pss), 1)

    def stop(self) -> None:
        self._stop.set()


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _source_digest() -> str | None:
    """sha256 over recoupe's Python sources and prompts (names relative, contents), so that a result
    can be tied to the code it measured."""
    import hashlib

    try:
        import recoupe
    except ImportError:
        return None
    package = Path(recoupe.__file__).resolve().parent
    roots = [package, package.parent.parent / "prompts"]
    digest = hashlib.sha256()
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".md") and "__pycache__" not in p.parts):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# -- workers ---------------------------------------------------------------------------------------
#: ``--requests``: how recoupe sends its requests (``Settings.async_requests``)
REQUESTS = {"auto": None, "threads": False, "async": True}


def _settings(
    base_url: str, concurrency: int, chunk_chars: int | None = None, requests: str = "auto", processes: int = 1
) -> Any:
    from recoupe import Settings

    return Settings(
        model="stub",
        base_url=base_url,
        concurrency=concurrency,
        use_cache=False,
        timeout=30,
        chunk_chars=chunk_chars,
        async_requests=REQUESTS[requests],
        processes=processes,
    )


def _chunk_stats(articles: list[Any], settings: Any) -> dict[str, int]:
    from recoupe.chunking import make_chunks

    counts = [len(make_chunks(a, max_chars=settings.target_chars)) for a in articles]
    return {
        "chunks": sum(counts),
        "max_chunks_per_article": max(counts, default=0),
        "target_chars": settings.target_chars,
    }


def _claim_kinds(claims: list[Any]) -> dict[str, Any]:
    by_method: dict[str, int] = {}
    for c in claims:
        method = str(getattr(c, "method", "model"))
        by_method[method] = by_method.get(method, 0) + 1
    return {"claims_by_method": by_method, "claims_without_subject": sum(1 for c in claims if not c.subject)}


class _Timed:
    """Wraps a module-level function to add up its wall and CPU time (called from one thread)."""

    def __init__(self, module: Any, name: str) -> None:
        self.module, self.name, self.fn = module, name, getattr(module, name)
        self.calls, self.wall, self.cpu = 0, 0.0, 0.0
        setattr(module, name, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        w, c = time.perf_counter(), time.thread_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.calls += 1
            self.wall += time.perf_counter() - w
            self.cpu += time.thread_time() - c

    def result(self) -> dict[str, Any]:
        return {"calls": self.calls, "wall_s": round(self.wall, 3), "cpu_s": round(self.cpu, 3)}


def _run_check(articles: list[Any], settings: Any) -> tuple[dict[str, Any], Any]:
    import recoupe
    from recoupe.crosscheck import run as crosscheck_run

    timed = {name: _Timed(crosscheck_run, name) for name in ("candidate_indexes", "compare_features", "build_facts")}
    done: list[float] = []
    t0 = time.perf_counter()
    report = recoupe.check(articles, settings, on_done=lambda *_: done.append(time.perf_counter()))
    wall = time.perf_counter() - t0
    stages = report.usage.stages
    verdicts: dict[str, int] = {}
    for fact in report.facts:
        verdicts[fact.verdict.value] = verdicts.get(fact.verdict.value, 0) + 1
    extract_wall = (max(done) - t0) if done else 0.0
    out = {
        "wall_s": wall,
        "phases": {
            "extract_wall_s": round(extract_wall, 3),
            "verify_wall_s": round(wall - extract_wall, 3),
            **{name: t.result() for name, t in timed.items()},
        },
        "claims": report.pairing.claims,
        **_claim_kinds(report.claims()),
        "pairing": report.pairing.model_dump(),
        "facts": len(report.facts),
        "verdicts": verdicts,
        "failures": len(report.failures),
        "usage": {name: s.model_dump() for name, s in stages.items()},
    }
    return out, report


#: recoupe's own work per article in extraction (called from the caller's thread on both paths):
#: the functions of ``recoupe.extraction.driver`` whose time the extract runs add up.
_EXTRACT_PHASES = ("split_sentences", "make_chunks", "build_claim", "coverage_claims")


def _run_extract(articles: list[Any], settings: Any) -> dict[str, Any]:
    import recoupe
    from recoupe.extraction import driver

    timed = {name: _Timed(driver, name) for name in _EXTRACT_PHASES}
    t0 = time.perf_counter()
    extraction = recoupe.extract(articles, settings)
    wall = time.perf_counter() - t0
    phases = {name: t.result() for name, t in timed.items()}
    return {
        "phases": {**phases, "own_cpu_s": round(sum(p["cpu_s"] for p in phases.values()), 3)},
        "wall_s": wall,
        "claims": len(extraction.claims()),
        **_claim_kinds(extraction.claims()),
        "failures": len(extraction.failures),
        "usage": {name: s.model_dump() for name, s in extraction.usage.stages.items()},
    }


def _run_requests(articles: list[Any], settings: Any) -> dict[str, Any]:
    """The request path alone: one extraction request per article (its first 1000 characters as
    the TARGET), through ``run_concurrently`` and ``LLM.complete`` as extraction sends them, and
    nothing of recoupe's own work per article (no splitting, grounding or coverage)."""
    from recoupe.extraction.schema import EXTRACT_PROMPT, ClaimDrafts
    from recoupe.llm import LLM, load_prompt, run_concurrently

    prompt = load_prompt(EXTRACT_PROMPT)
    t0 = time.perf_counter()
    llm = LLM(settings)
    try:

        def ask(article: Any) -> Any:
            return llm.complete(
                stage="extract",
                prompt=prompt,
                variables={"target": article.text[:1000], "context": ""},
                response_model=ClaimDrafts,
                article_id=article.id,
                chunk_index=0,
            )

        outcomes = [r for _, r in run_concurrently(ask, articles, llm.concurrency)]
    finally:
        llm.close()
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "claims": sum(len(r.claims) for r in outcomes if not isinstance(r, BaseException)),
        "failures": sum(isinstance(r, BaseException) for r in outcomes),
        "usage": {name: s.model_dump() for name, s in llm.usage.stages.items()},
    }


def _run_langextract(articles: list[Any], settings: Any, base_url: str, batch_length: int) -> dict[str, Any]:
    import langextract as lx

    from recoupe.evaluation.langextract_baseline import langextract_kwargs

    concurrency = settings.concurrency
    kwargs = langextract_kwargs(settings, base_url)
    kwargs["config"].provider_kwargs["max_workers"] = concurrency
    kwargs["max_workers"] = concurrency
    kwargs["batch_length"] = batch_length
    documents = [lx.data.Document(text=a.text, document_id=a.id) for a in articles]
    t0 = time.perf_counter()
    annotated = list(lx.extract(documents, **kwargs))
    wall = time.perf_counter() - t0
    extractions = [e for doc in annotated for e in (doc.extractions or [])]
    grounded = [e for e in extractions if e.char_interval is not None and e.char_interval.start_pos is not None]
    return {
        "wall_s": wall,
        "documents": len(annotated),
        "claims": len(grounded),
        "extractions": len(extractions),
        "params": {
            "max_workers": concurrency,
            "batch_length": batch_length,
            "max_char_buffer": kwargs["max_char_buffer"],
            "extraction_passes": kwargs["extraction_passes"],
        },
    }


def _heartbeat(base_url: str, label: str, every: float) -> None:
    """A line on stderr every ``every`` seconds, so that a long run shows it is alive."""
    import threading

    started = time.perf_counter()

    def beat() -> None:
        while True:
            time.sleep(every)
            try:
                calls = _control(base_url, "__count__")["calls"]
            except Exception:  # noqa: BLE001 - a heartbeat never fails a run
                calls = "?"
            print(
                f"    ... {label}: {time.perf_counter() - started:.0f} s, {calls} model calls so far",
                file=sys.stderr,
                flush=True,
            )

    threading.Thread(target=beat, daemon=True).start()


def worker(args: argparse.Namespace) -> int:
    """One measured run in this (fresh) process; prints one ``RESULT {json}`` line."""
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    import recoupe
    import recoupe.crosscheck  # noqa: F401
    from synthetic_corpus import make_corpus

    if args.worker == "langextract":
        import langextract  # noqa: F401

    articles = make_corpus(args.n, seed=args.seed)
    settings = _settings(args.base_url, args.concurrency, args.chunk_chars, args.requests, args.processes)
    chunking = _chunk_stats(articles, settings) if args.worker in ("check", "extract") else {}
    _control(args.base_url, "__reset__")
    _heartbeat(args.base_url, f"{args.worker} n={args.n}", every=60.0)
    rss_before = _peak_rss_mb()
    memory = _MemorySampler()
    mono0 = time.monotonic()
    cpu0 = time.process_time()
    children0 = _children_cpu_s()
    if args.worker == "check":
        out, _ = _run_check(articles, settings)
    elif args.worker == "extract":
        out = _run_extract(articles, settings)
    elif args.worker == "requests":
        out = _run_requests(articles, settings)
    else:
        out = _run_langextract(articles, settings, args.base_url, max(args.concurrency, args.lx_batch_length))
    cpu = time.process_time() - cpu0
    children_cpu = _children_cpu_s() - children0
    mono1 = time.monotonic()
    memory.stop()
    stub = _control(args.base_url, "__stats__")
    first, last = stub.pop("first_arrival_monotonic"), stub.pop("last_arrival_monotonic")
    out["lags"] = {
        # from the call to the first request reaching the stub: set-up before any request is sent
        "before_first_request_s": round(first - mono0, 3) if first is not None else None,
        # from the last request's answer (arrival + latency) to the call's return
        "after_last_answer_s": round(mono1 - (last + args.latency), 3) if last is not None else None,
    }
    out.update(
        mode=args.worker,
        n=args.n,
        requests="async" if settings.use_async else "threads",
        concurrency=args.concurrency,
        latency=args.latency,
        processes=args.processes,
        cpu_s=round(cpu + children_cpu, 3),
        cpu_parent_s=round(cpu, 3),
        cpu_workers_s=round(children_cpu, 3),
        rss_before_mb=rss_before,
        peak_rss_mb=_peak_rss_mb(),
        # with worker processes: the largest worker's peak, and the peak of the sum over this
        # process and its workers (sampled every 0.2 s), resident and proportional (shared pages
        # divided among the processes that share them)
        workers_peak_rss_mb=_peak_rss_mb(resource.RUSAGE_CHILDREN),
        total_peak_rss_mb=memory.peak_rss_mb,
        total_peak_pss_mb=memory.peak_pss_mb,
        stub=stub,
        **chunking,
    )
    print(RESULT_PREFIX + json.dumps(out), flush=True)
    return 0


# -- derived numbers -------------------------------------------------------------------------------
def _derive(run: dict[str, Any]) -> dict[str, Any]:
    """Floor, ratio, per-article and per-claim numbers for one run."""
    L, C, n = run["latency"], run["concurrency"], run["n"]
    if run["mode"] == "langextract":
        kinds = run["stub"]["kinds"].get("langextract", {})
        by_stage = {"extract": kinds.get("calls", 0)}
        prompt = kinds.get("prompt_tokens", 0)
        completion = kinds.get("completion_tokens", 0)
    else:
        usage = run["usage"]
        by_stage = {name: s["calls"] for name, s in usage.items()}
        prompt = sum(s["prompt_tokens"] for s in usage.values())
        completion = sum(s["completion_tokens"] for s in usage.values())
    calls = sum(by_stage.values())
    wall = run["wall_s"]
    floor = calls * L / C
    # Tighter: whole rounds of C requests, and stages that cannot overlap. recoupe adjudicates only
    # once every claim is extracted (two phases); LangExtract sends batches of batch_length chunks,
    # one batch after the other.
    if run["mode"] == "langextract":
        b = run["params"]["batch_length"]
        full, rest = divmod(calls, b)
        floor_sched = L * (full * math.ceil(b / C) + math.ceil(rest / C))
    else:
        kx, ka = by_stage.get("extract", 0), by_stage.get("adjudicate", 0)
        floor_sched = L * (math.ceil(kx / C) + math.ceil(ka / C))
    claims = run.get("claims") or 0
    derived = {
        "calls": calls,
        "calls_by_stage": by_stage,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "floor_s": round(floor, 3),
        "floor_sched_s": round(floor_sched, 3),
        "ratio": round(wall / floor, 3) if floor else None,
        "ratio_sched": round(wall / floor_sched, 3) if floor_sched else None,
        "over_floor_s": round(wall - floor, 3),
        "articles_per_s": round(n / wall, 2) if wall else None,
        "per_article": {
            "calls": round(calls / n, 3) if n else None,
            "prompt_tokens": round(prompt / n, 1) if n else None,
            "completion_tokens": round(completion / n, 1) if n else None,
            "claims": round(claims / n, 3) if n else None,
            "cpu_ms": round(1000 * run["cpu_s"] / n, 2) if n else None,
        },
        "per_claim": {
            "calls": round(calls / claims, 3) if claims else None,
            "prompt_tokens": round(prompt / claims, 1) if claims else None,
            "completion_tokens": round(completion / claims, 1) if claims else None,
        },
        "cpu_ms_per_call": round(1000 * run["cpu_s"] / calls, 2) if calls else None,
    }
    pairing = run.get("pairing")
    if pairing:
        c, allp = pairing["claims"], pairing["all_pairs"]
        derived["pairing_ratios"] = {
            "candidates_per_claim": round(pairing["candidate_pairs"] / c, 3) if c else None,
            "adjudications_per_claim": round(pairing["sent_to_model"] / c, 3) if c else None,
            "candidates_over_all_pairs": round(pairing["candidate_pairs"] / allp, 5) if allp else None,
            "adjudications_over_all_pairs": round(pairing["sent_to_model"] / allp, 5) if allp else None,
            "decided_by_rule_share": (
                round(pairing["decided_by_rule"] / pairing["candidate_pairs"], 3)
                if pairing["candidate_pairs"]
                else None
            ),
        }
    run["wall_s"] = round(wall, 3)
    return derived


# -- the parent ------------------------------------------------------------------------------------
class Stub:
    """The stub server in its own process."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "stub_server.py"), "--latency", str(latency)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.process.stdout.readline() if self.process.stdout else ""
        if not line.startswith("BASE_URL "):
            self.close()
            raise RuntimeError(f"the stub server did not start (said {line!r})")
        self.base_url = line.split(" ", 1)[1].strip()

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.terminate()
            self.process.wait(timeout=10)


def _run_worker(mode: str, n: int, base_url: str, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        mode,
        "--n",
        str(n),
        "--base-url",
        base_url,
        "--concurrency",
        str(args.concurrency),
        "--latency",
        str(args.latency),
        "--seed",
        str(args.seed),
        "--lx-batch-length",
        str(args.lx_batch_length),
        "--requests",
        args.requests,
        "--processes",
        str(args.processes),
    ] + (["--chunk-chars", str(args.chunk_chars)] if args.chunk_chars else [])
    try:
        # stderr passes through: the workers' heartbeat and any warning from recoupe.
        done = subprocess.run(
            command, stdout=subprocess.PIPE, text=True, cwd=HERE, timeout=args.run_timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"mode": mode, "n": n, "timed_out": True, "timeout_s": args.run_timeout}
    results = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if done.returncode != 0 or not results:
        raise RuntimeError(f"{mode} on {n} articles failed (exit {done.returncode}); its stderr is above")
    return json.loads(results[-1][len(RESULT_PREFIX) :])


def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(r):
        return "  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=False)))

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells])


def format_tables(result: dict[str, Any]) -> str:
    runs = result["runs"]
    meta = result["meta"]
    out = [
        (
            f"latency {meta['latency']} s, concurrency {meta['concurrency']}, "
            f"{meta['cpu_count']} CPUs (load {meta['loadavg_at_start']}), python {meta['python']}"
        ),
        "",
        (
            "Time (floor = calls x latency / concurrency; fl.sched counts whole rounds of C calls per "
            "stage: recoupe adjudicates after extracting, LangExtract sends batch after batch)"
        ),
        _table(
            [
                "size",
                "system",
                "wall s",
                "floor s",
                "ratio",
                "fl.sched",
                "ratio_s",
                "wall-floor",
                "cpu s",
                "lag start",
                "lag end",
                "art/s",
                "peak inflight",
                "RSS MB",
            ],
            [
                [
                    r["n"],
                    r["mode"],
                    r["wall_s"],
                    r["floor_s"],
                    r["ratio"],
                    r["floor_sched_s"],
                    r["ratio_sched"],
                    r["over_floor_s"],
                    r["cpu_s"],
                    r["lags"]["before_first_request_s"],
                    r["lags"]["after_last_answer_s"],
                    r["articles_per_s"],
                    r["stub"]["peak_in_flight"],
                    r["peak_rss_mb"],
                ]
                for r in runs
            ],
        ),
        "",
        "Model calls and tokens",
        _table(
            [
                "size",
                "system",
                "calls",
                "extract",
                "adjud.",
                "prompt tok",
                "compl. tok",
                "claims",
                "calls/art",
                "tok/art",
                "calls/claim",
                "tok/claim",
                "cpu ms/call",
            ],
            [
                [
                    r["n"],
                    r["mode"],
                    r["calls"],
                    r["calls_by_stage"].get("extract", 0),
                    r["calls_by_stage"].get("adjudicate", 0),
                    r["prompt_tokens"],
                    r["completion_tokens"],
                    r["claims"],
                    r["per_article"]["calls"],
                    round((r["prompt_tokens"] + r["completion_tokens"]) / r["n"], 1),
                    r["per_claim"]["calls"],
                    round((r["prompt_tokens"] + r["completion_tokens"]) / r["claims"], 1) if r["claims"] else None,
                    r["cpu_ms_per_call"],
                ]
                for r in runs
            ],
        ),
    ]
    checks = [r for r in runs if r["mode"] == "check"]
    if checks:
        out += [
            "",
            "Cross-checking (check runs)",
            _table(
                [
                    "size",
                    "claims",
                    "all pairs",
                    "candidates",
                    "by rule",
                    "to model",
                    "cand/claim",
                    "model/claim",
                    "cand/all",
                    "model/all",
                    "pairing s",
                    "compare s",
                    "facts s",
                    "extract s",
                    "verify s",
                ],
                [
                    [
                        r["n"],
                        r["pairing"]["claims"],
                        r["pairing"]["all_pairs"],
                        r["pairing"]["candidate_pairs"],
                        r["pairing"]["decided_by_rule"],
                        r["pairing"]["sent_to_model"],
                        r["pairing_ratios"]["candidates_per_claim"],
                        r["pairing_ratios"]["adjudications_per_claim"],
                        r["pairing_ratios"]["candidates_over_all_pairs"],
                        r["pairing_ratios"]["adjudications_over_all_pairs"],
                        r["phases"]["candidate_indexes"]["wall_s"],
                        r["phases"]["compare_features"]["wall_s"],
                        r["phases"]["build_facts"]["wall_s"],
                        r["phases"]["extract_wall_s"],
                        r["phases"]["verify_wall_s"],
                    ]
                    for r in checks
                ],
            ),
        ]
    sizes = sorted({r["n"] for r in runs})
    by = {(r["n"], r["mode"]): r for r in runs}
    rows = []
    for n in sizes:
        rx, lx = by.get((n, "extract")), by.get((n, "langextract"))
        if rx and lx:
            rows.append(
                [
                    n,
                    rx["wall_s"],
                    rx["calls"],
                    rx["claims"],
                    lx["wall_s"],
                    lx["calls"],
                    lx["claims"],
                    round(lx["wall_s"] / rx["wall_s"], 2) if rx["wall_s"] else None,
                ]
            )
    if rows:
        out += [
            "",
            "Extraction only: recoupe.extract vs LangExtract (same stub, corpus, concurrency)",
            _table(["size", "recoupe s", "calls", "claims", "langextract s", "calls", "claims", "lx/recoupe"], rows),
        ]
    for r in result.get("timed_out", []):
        out.append(f"\n{r['mode']} on {r['n']} articles: gave up after {r['timeout_s']} s")
    return "\n".join(out)


#: Entry points whose cumulative time the profile summary shows: (label, file suffix, function).
#: They overlap where one calls another (the indentation says which contains which).
_HOT_SPOTS = [
    ("LLM.complete (one model call, all in)", "recoupe/llm/client.py", "complete"),
    ("  recoupe cache_key (hashing; only with the cache on)", "recoupe/llm/cache.py", "cache_key"),
    ("  prompt.render (jinja)", "recoupe/llm/prompts.py", "render"),
    ("  instructor JSON_SCHEMA request (once per response model)", "recoupe/llm/client.py", "_json_schema_request"),
    ("  openai post (no per-call parameter typing)", "openai/_base_client.py", "post"),
    ("    openai _build_request", "openai/_base_client.py", "_build_request"),
    ("    httpx Client.send (HTTP round trip)", "httpx/_client.py", "send"),
    ("    openai _process_response (ChatCompletion)", "openai/_base_client.py", "_process_response"),
    ("  instructor process_response (parse + validate)", "instructor/processing/response.py", "process_response"),
    ("  tenacity (transport retry loop)", "tenacity/__init__.py", "__iter__"),
    ("pydantic model_json_schema (all callers)", "pydantic/main.py", "model_json_schema"),
    ("split_sentences (pysbd)", "recoupe/chunking.py", "split_sentences"),
    ("make_chunks", "recoupe/chunking.py", "make_chunks"),
    ("build_claim (grounding, normalize)", "recoupe/extraction/claims.py", "build_claim"),
    ("coverage_claims", "recoupe/extraction/coverage.py", "coverage_claims"),
    ("crosscheck (pairing, rules, adjudication, facts)", "recoupe/crosscheck/run.py", "crosscheck"),
    ("  candidate_indexes", "recoupe/crosscheck/pairing.py", "candidate_indexes"),
    ("  compare_features (rules)", "recoupe/crosscheck/rules.py", "compare_features"),
    ("  adjudicate_pair", "recoupe/crosscheck/adjudicate.py", "adjudicate_pair"),
    ("  build_facts", "recoupe/crosscheck/facts.py", "build_facts"),
]


def _hot_spot_table(stats: Any, total: float, calls: int) -> str:
    """Cumulative time of each entry point of ``_HOT_SPOTS``; an entry with a caller (two more
    items) counts only the calls made from that caller."""
    rows = []
    for label, suffix, name, *caller in _HOT_SPOTS:
        cum, ncalls = 0.0, 0
        for (filename, _line, function), (_cc, nc, _tt, ct, callers) in stats.stats.items():
            if function != name or not filename.replace("\\", "/").endswith(suffix):
                continue
            if not caller:
                cum += ct
                ncalls += nc
                continue
            for (c_file, _c_line, c_function), c_stats in callers.items():
                if c_function == caller[1] and c_file.replace("\\", "/").endswith(caller[0]):
                    ncalls += c_stats[1]
                    cum += c_stats[3]
        if ncalls:
            rows.append(
                [
                    label,
                    ncalls,
                    round(cum, 3),
                    f"{100 * cum / total:.1f}%" if total else "-",
                    round(1000 * cum / calls, 3) if calls else None,
                ]
            )
    return _table(["entry point", "calls", "cum s", "of total", "ms per model call"], rows)


def profile(args: argparse.Namespace) -> int:
    """``check`` (or ``extract``) on ``args.profile`` articles under cProfile at concurrency 1, so
    that every call runs in the profiled thread. A warm-up run on two articles first, so that
    one-off costs (lazy imports, first client) stay out. cProfile slows Python code down about
    twofold; the shares matter more than the seconds."""
    import cProfile
    import io
    import pstats

    stub = Stub(args.latency)
    try:
        import recoupe
        from synthetic_corpus import make_corpus

        articles = make_corpus(args.profile, seed=args.seed)
        settings = _settings(stub.base_url, 1, args.chunk_chars)
        recoupe.check(make_corpus(2, seed=args.seed + 1), settings)  # warm-up
        profiler = cProfile.Profile()
        t0, c0 = time.perf_counter(), time.process_time()
        profiler.enable()
        if args.profile_mode == "check":
            out, _ = _run_check(articles, settings)
        else:
            out = _run_extract(articles, settings)
        profiler.disable()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        stub.close()
    calls = sum(s["calls"] for s in out["usage"].values())
    by_stage = {name: s["calls"] for name, s in out["usage"].items()}
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    total = sum(tt for (_cc, _nc, tt, _ct, _callers) in stats.stats.values())
    lines = [
        (
            f"profile: {args.profile_mode} on {args.profile} articles, {calls} model calls {by_stage}, "
            f"latency {args.latency} s, concurrency 1"
        ),
        (
            f"wall {wall:.2f} s, CPU {cpu:.2f} s ({1000 * cpu / max(calls, 1):.2f} ms CPU per model call, "
            "under the profiler)"
        ),
        "",
        _hot_spot_table(stats, total, calls),
        "",
    ]
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    text = "\n".join(lines) + stream.getvalue()
    text = text.replace(str(Path(sys.prefix)), "<venv>").replace(str(HERE.parent), "<repo>")
    text = text.replace(str(Path(sys.base_prefix)), "<python>")
    print(text)
    if args.profile_out:
        Path(args.profile_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.profile_out).write_text(text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="recoupe throughput benchmark against a loopback stub")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds the stub holds every answer")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--skip-langextract", action="store_true")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(DEFAULT_MODES),
        help=(
            "which runs to make for every size (default: the first three; requests: the extraction "
            "requests alone, one per article, without splitting, grounding or coverage)"
        ),
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up a run after this long and record it as timed out (default: no limit)",
    )
    parser.add_argument("--seed", type=int, default=20250301, help="corpus seed")
    parser.add_argument(
        "--lx-batch-length",
        type=int,
        default=0,
        help="LangExtract batch_length (at least --concurrency; default: --concurrency)",
    )
    parser.add_argument(
        "--chunk-chars",
        type=int,
        default=None,
        help="recoupe's extraction target size (default: recoupe's for an endpoint, 1000)",
    )
    parser.add_argument(
        "--requests",
        choices=sorted(REQUESTS),
        default="auto",
        help="recoupe's requests: from threads, from the event loop, or auto (the event loop above 32 in flight)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="recoupe's extraction worker processes (Settings.processes; default 1, in the run's process)",
    )
    parser.add_argument("--profile", type=int, metavar="N", help="profile check on N articles instead")
    parser.add_argument("--profile-mode", choices=("check", "extract"), default="check")
    parser.add_argument("--profile-out", type=Path, help="also write the profile text here")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        sys.path.insert(0, str(HERE))
        return worker(args)
    if args.profile:
        sys.path.insert(0, str(HERE))
        return profile(args)

    modes = [m for m in MODES if m in args.modes and not (args.skip_langextract and m == "langextract")]
    if "langextract" in modes and _version("langextract") is None:
        print("langextract is not installed: skipping it", file=sys.stderr)
        modes.remove("langextract")
    meta = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "latency": args.latency,
        "concurrency": args.concurrency,
        "sizes": args.sizes,
        "chunk_chars": args.chunk_chars,
        "requests": args.requests,
        "processes": args.processes,
        "seed": args.seed,
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "cpu_count": os.cpu_count(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "recoupe_source_sha256": _source_digest(),
        "versions": {
            name: _version(name) for name in ("recoupe", "openai", "instructor", "pydantic", "httpx", "langextract")
        },
    }
    result: dict[str, Any] = {"meta": meta, "runs": [], "timed_out": []}
    stub = Stub(args.latency)
    try:
        for n in args.sizes:
            for mode in modes:
                started = time.perf_counter()
                run = _run_worker(mode, n, stub.base_url, args)
                if run.get("timed_out"):
                    result["timed_out"].append(run)
                    print(f"  {mode:<11} n={n:<5} gave up after {args.run_timeout} s", file=sys.stderr, flush=True)
                    continue
                run.update(_derive(run))
                result["runs"].append(run)
                print(
                    f"  {mode:<11} n={n:<5} wall {run['wall_s']:.2f} s, floor {run['floor_s']:.2f} s, "
                    f"ratio {_fmt(run['ratio'])}, {run['calls']} calls "
                    f"({time.perf_counter() - started:.1f} s with start-up)",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        stub.close()
        if result["runs"] or result["timed_out"]:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(format_tables(result))
    print(f"\nwritten to {_rel(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
