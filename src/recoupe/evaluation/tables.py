"""The terminal tables of ``recoupe eval``: eval v2's strict and fact-level scores per set and
pooled over the sets, then the v1 tables kept for one release."""

from __future__ import annotations

from typing import Any

from .scoring import Counts

__all__ = ["format_overall", "format_table", "v2_lines"]


def _f(x: Any) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def v2_lines(systems: dict[str, Any]) -> list[str]:
    """Eval v2's tables: strict extraction P/R/F1 and the fact-level cross-check scores."""
    lines = ["Extraction, strict content-checked matching (eval v2): P / R / F1, predictions (ungrounded)"]
    for name, system in systems.items():
        e = system.get("extraction_v2")
        if e:
            m = e["micro"]
            lines.append(
                f"  {name:<20} {_f(m['precision'])} {_f(m['recall'])} {_f(m['f1'])}   "
                f"{e['predicted']:>4} ({e['ungrounded']})"
            )
    lines += [
        "",
        "Facts (eval v2): verdict acc / macro-F1, corroborated P / R, conflicts found / gold (false),",
        "conflicts reported corroborated, B-cubed F1 over all gold claims, origin accuracy (facts)",
    ]
    for name, system in systems.items():
        f = system.get("facts_v2")
        if f:
            c, k = f["corroborated"], f["conflicts"]
            lines.append(
                f"  {name:<12} verdict {_f(f['verdict_accuracy'])} / {_f(f['verdict_macro_f1'])}  "
                f"corroborated {_f(c['precision'])} / {_f(c['recall'])}  conflicts {k['tp']}/{k['tp'] + k['fn']} "
                f"({k['fp']} false)  as-corroborated {f['conflicts_reported_corroborated']}  "
                f"B3 {_f(f['bcubed']['f1'])}  origins {_f(f['origin_accuracy'])} ({f['origin_facts']})"
            )
    return lines


def format_table(result: dict[str, Any]) -> str:
    """A terminal table: eval v2's strict and fact-level scores, then the v1 tables (P/R/F1 per
    article, grounding, cross-check), kept beside them for one release."""
    title = (
        f"set {result.get('set', 'seeds')}  backend {result['backend']}  model {result['model']}  "
        f"gold {result['gold_hash'][:12]}"
    )
    lines = [title, ""]
    systems = result["systems"]
    lines += v2_lines(systems)
    lines += ["", "-- v1 (lenient matching, kept for one release) --"]
    extraction_systems = [s for s in ("recoupe", "recoupe-model-only", "baseline", "langextract") if s in systems]
    lines.append("Extraction (precision / recall / F1)")
    header = f"{'article':<24}" + "".join(f"{s[:22]:>24}" for s in extraction_systems)
    lines.append(header)
    first = systems[extraction_systems[0]]["extraction"]
    for art in first["articles"]:
        aid = art["article_id"]
        row = f"{aid:<24}"
        for s in extraction_systems:
            a = next(x for x in systems[s]["extraction"]["articles"] if x["article_id"] == aid)
            row += f"{_f(a['counts']['precision']):>8}{_f(a['counts']['recall']):>8}{_f(a['counts']['f1']):>8}"
        lines.append(row)
    for label, key in (("micro", "micro"), ("macro", "macro")):
        row = f"{'overall (' + label + ')':<24}"
        for s in extraction_systems:
            m = systems[s]["extraction"][key]
            row += f"{_f(m['precision']):>8}{_f(m['recall']):>8}{_f(m['f1']):>8}"
        lines.append(row)
    lines.append("")
    lines.append("Grounding (share of predicted claims: exact / normalized / fuzzy / none)")
    for s in extraction_systems:
        g = systems[s]["extraction"]["grounding"]
        sh = g["shares"]
        lines.append(
            f"  {s:<19} {g['total']:>4} claims  exact {_f(sh.get('exact'))}  normalized {_f(sh.get('normalized'))}  "
            f"fuzzy {_f(sh.get('fuzzy'))}  none {_f(sh.get('none'))}"
        )
    lines.append("")
    lines.append("Cross-check (relation macro-F1, contradiction P/R, B-cubed F1, verdict accuracy)")
    for s in ("recoupe", "oracle", "baseline", "langextract"):
        if s in systems and "crosscheck" in systems[s]:
            c = systems[s]["crosscheck"]
            lines.append(
                f"  {s:<12} relation {_f(c['relation_macro_f1'])}  contradiction P {_f(c['contradiction']['precision'])} "
                f"R {_f(c['contradiction']['recall'])}  B3 {_f(c['bcubed']['f1'])}  verdict {_f(c['verdict']['accuracy'])}"
            )
    lines.append("")
    for s in systems:
        u = systems[s].get("usage")
        p = systems[s].get("pairing")
        if u:
            extra = f"; pairs {p['candidate_pairs']}/{p['all_pairs']}, to model {p['sent_to_model']}" if p else ""
            lines.append(
                f"  {s:<12} model calls {u['calls']}, tokens {u['prompt_tokens']} + {u['completion_tokens']}{extra}"
            )
    return "\n".join(lines)


def _pooled_v2(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Strict extraction counts and verdict counts pooled over every set, per system."""
    pooled: dict[str, dict[str, Any]] = {}
    for result in results:
        for name, system in result["systems"].items():
            row = pooled.setdefault(
                name,
                {
                    "tp": 0,
                    "fp": 0,
                    "fn": 0,
                    "facts": 0,
                    "right": 0,
                    "conflicts": 0,
                    "found": 0,
                    "false": 0,
                    "worst": 0,
                    "has_e": False,
                    "has_f": False,
                },
            )
            if "extraction_v2" in system:
                m = system["extraction_v2"]["micro"]
                row.update(tp=row["tp"] + m["tp"], fp=row["fp"] + m["fp"], fn=row["fn"] + m["fn"], has_e=True)
            if "facts_v2" in system:
                f = system["facts_v2"]
                row["facts"] += f["gold_facts"]
                row["right"] += sum(c["gold"] == c["predicted"] for c in f["cases"])
                row["conflicts"] += f["conflicts"]["tp"] + f["conflicts"]["fn"]
                row["found"] += f["conflicts"]["tp"]
                row["false"] += f["conflicts"]["fp"]
                row["worst"] += f["conflicts_reported_corroborated"]
                row["has_f"] = True
    return pooled


def format_overall(results: list[dict[str, Any]]) -> str:
    """One table over every set: strict extraction P/R/F1 and verdict accuracy, pooled."""
    lines = [f"overall, {len(results)} set(s): {', '.join(r['set'] for r in results)}"]
    for name, row in _pooled_v2(results).items():
        parts = [f"  {name:<20}"]
        if row["has_e"]:
            c = Counts.of(row["tp"], row["fp"], row["fn"])
            parts.append(f"strict P {_f(c.precision)} R {_f(c.recall)} F1 {_f(c.f1)}")
        if row["has_f"]:
            accuracy = row["right"] / row["facts"] if row["facts"] else None
            parts.append(
                f"verdict {_f(accuracy)} over {row['facts']} facts, conflicts {row['found']}/{row['conflicts']} "
                f"({row['false']} false), as-corroborated {row['worst']}"
            )
        lines.append("  ".join(parts))
    return "\n".join(lines)
