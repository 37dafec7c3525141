"""Feedback pages: what each student sees about each notebook.

The pages are written from the grader's own results, never from nbgrader's
feedback, which shows hidden tests and full tracebacks into the grader by
design.  A page shows, per checkpoint, passed or not, the diagnosis in plain
words, the requests that show it, and what to change; it never shows the
student's code, the reference policy or any test source.
"""

import html
from pathlib import Path

_STYLE = (
    "body{font-family:sans-serif;max-width:50em;margin:2em auto}"
    ".pass{border-left:4px solid #1a7f37}.fail{border-left:4px solid #cf222e}"
    "section{padding:4px 12px;margin:12px 0}"
)


def write_feedback(row, notebooks, out_dir):
    """Write one page per notebook of the assignment for ``row``; return paths."""
    folder = Path(out_dir) / row["student"]
    folder.mkdir(parents=True, exist_ok=True)
    pages = []
    for notebook in notebooks:
        stem = Path(notebook).stem
        page = folder / f"{stem}.html"
        page.write_text(render_page(row, stem), encoding="utf-8")
        pages.append(page)
    return pages


def render_page(row, stem):
    """The HTML page of one student's notebook."""
    e = html.escape
    checkpoints = [c for c in row["checkpoints"] if c["notebook"] == stem]
    parts = [
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(stem)}"
        f"</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(stem)}: feedback for {e(row['student'])}</h1>",
        f"<p>Total for the assignment: {row['score']:g}/{row['max_score']:g}"
        " points.</p>",
    ]
    notes = [n for n in row["notes"] if stem in n or not _names_a_notebook(n)]
    if notes:
        parts.append("<ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    if not checkpoints:
        parts.append(
            "<p>This notebook has no graded checkpoint, so grading does not run it.</p>"
        )
    for check in checkpoints:
        parts.append(_section(check))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _names_a_notebook(note):
    return ".ipynb" in note


def _section(check):
    e = html.escape
    passed = check["earned"] == check["points"]
    word = "passed" if passed else "not yet"
    lines = [
        f"<section class='{'pass' if passed else 'fail'}'>",
        f"<h2>{e(check['title'])}: {word}, "
        f"{check['earned']:g}/{check['points']:g} points</h2>",
    ]
    if not passed:
        if check["message"]:
            lines.append(
                f"<p><strong>{e(check['code'])}</strong>: {e(check['message'])}</p>"
            )
        if check["counterexamples"]:
            items = "".join(f"<li>{e(c)}</li>" for c in check["counterexamples"])
            lines.append(f"<p>The requests that show it:</p><ul>{items}</ul>")
        if check["next_step"]:
            lines.append(f"<p>What to change: {e(check['next_step'])}</p>")
    lines.append("</section>")
    return "\n".join(lines)
