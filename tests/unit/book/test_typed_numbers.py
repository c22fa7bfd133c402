"""No number typed into a chapter's prose: every number a reader sees is glued from execution.

The scan removes what may hold numbers (math, code cells and inline code, roles such as
``{glue:text}`` and ``{footcite:t}``, labels, directive options, links) and then looks for
digits in what is left. A digit is allowed only

* in a year, in a pointer into a paper (``Table 6``, ``Figure 2``, ``Section 5``,
  ``Eq. (4)``, ``Theorem 1``, ``Part II``...), in the name of a data set or model
  (:data:`NAMES`), or in the marker of a numbered list;
* in a phrase of the chapter's allowlist, ``allowed_numbers`` in
  ``tests/claims/partN/<chapter>.yml``, each with the reason it is not glued (a name such as
  "1-nearest-neighbour", a constant of a formula).

Everything else is a number that could silently disagree with what the code computes:
glue it, or write it as a formula or in words.
"""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
PAGES = [Path(c["file"]) for part in TOC["parts"] if part.get("numbered") for c in part["chapters"]]

POINTER = re.compile(
    r"\b(?:Tables?|Figures?|Fig\.|Sections?|Sec\.|Eqs?\.|Equations?|Theorems?|Propositions?|"
    r"Corollar(?:y|ies)|Lemmas?|Appendix|Chapters?|Parts?|Definitions?|Remarks?|Algorithms?)"
    r"\s+\(?[A-Z]?\d+(?:\.\d+)*[a-z]?\)?(?:\s*(?:,|and|-|–)\s*\(?[A-Z]?\d+(?:\.\d+)*[a-z]?\)?)*"
)
YEAR = re.compile(r"\b(?:19|20)\d\d[a-z]?\b")
NAMES = ("CIFAR-100", "CIFAR-10", "CINIC-10", "ResNet18", "1-nearest-neighbour", "1-NN")
"""Names with digits in them, the same in every chapter."""


def prose(text):
    """The text of a MyST page a reader sees as words, without what may hold numbers."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # front matter
    text = re.sub(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", "", text, flags=re.S | re.M)  # fenced blocks
    text = re.sub(r"\$\$.*?\$\$", "", text, flags=re.S)  # display math
    text = re.sub(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", "", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$(?:[^$\\]|\\.)+?\$", "", text, flags=re.S)  # inline math
    text = re.sub(r"\{[\w:-]+\}`[^`]*`", "", text)  # roles: {glue:text}`..`, {footcite:t}`..`
    text = re.sub(r"``.*?``|`[^`\n]*`", "", text)  # inline code
    text = re.sub(r"^\(.*\)=\s*$", "", text, flags=re.M)  # labels
    text = re.sub(r"^:[\w-]+:.*$", "", text, flags=re.M)  # directive options
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"<[^>]+>", "", text)  # html tags
    text = re.sub(r"^\s*\d+\.\s", " ", text, flags=re.M)  # numbered-list markers
    return text


def typed_numbers(text, allowed=()):
    """``(number, context)`` for each digit-holding word of ``text``'s prose that is not allowed."""
    words = prose(text)
    for phrase in sorted((*allowed, *NAMES), key=len, reverse=True):
        words = words.replace(phrase, " ")
    words = POINTER.sub(" ", YEAR.sub(" ", words))
    found = []
    for line in words.splitlines():
        for match in re.finditer(r"\S*\d\S*", line):
            start = max(0, match.start() - 30)
            found.append((match.group(), line[start : match.end() + 30].strip()))
    return found


def allowlist(page):
    path = ROOT / "tests" / "claims" / page.parent.name / f"{page.stem}.yml"
    entries = (
        (yaml.safe_load(path.read_text()) or {}).get("allowed_numbers") or []
        if path.is_file()
        else []
    )
    for entry in entries:
        assert set(entry) == {"text", "why"}, f"{path.name}: each allowed number needs text and why"
    return [entry["text"] for entry in entries]


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_no_number_is_typed_into_the_prose(page):
    found = typed_numbers((ROOT / page).read_text(), allowlist(page))
    listed = "\n".join(f"  {number!r} in: ...{context}..." for number, context in found)
    assert found == [], f"{page}: numbers typed into the prose (glue them or allow them):\n{listed}"


def test_the_scan_sees_typed_numbers_and_ignores_glued_ones():
    page = (
        "---\njupytext: 1\n---\n(label-2)=\n# A page\n\n"
        "The error is {glue:text}`err:.2f`% with $n = 500$ and ``seed = 3`` (Table 6, "
        "{footcite:t}`paper2018`, 2018). But 4.2% was typed.\n\n"
        "```{code-cell} python\nx = 12\n```\n\nThe 1-nearest-neighbour rule on CIFAR-10, a\n"
        "12-fold gain over $x_1\n+ x_2$.\n\n1. A numbered step.\n"
    )
    assert [number for number, _ in typed_numbers(page)] == ["4.2%", "12-fold"]
    assert [number for number, _ in typed_numbers(page, allowed=["12-fold"])] == ["4.2%"]
