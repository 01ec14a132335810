"""axe-core as the accessibility tests run it: the rules, the two findings inside Dash's own
widgets that are ignored (docs/accessibility.md), and the findings of one page as text."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe

# WCAG 2.0-2.2 A and AA, and axe's best practices (headings in order, one h1, landmarks).
AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                   "wcag22aa", "best-practice"]},
             "resultTypes": ["violations"]}
# Two findings inside Dash 4.4's own widgets, which we cannot change from the app (the upstream
# sources are cited in docs/accessibility.md). Matched by rule *and* the widget's class, so the
# same rule anywhere else still fails.
DASH_WIDGET_FINDINGS = {
    # A hidden input that passes Tab focus on to the dropdown's button (a Safari workaround).
    ("aria-hidden-focus", "dash-dropdown-focus-target"),
    # The date range's wrapper announces its calendar pop-up on a div without a role.
    ("aria-allowed-attr", "dash-datepicker-input-wrapper"),
}


def axe_violations(axe: Axe, page) -> list[str]:
    """axe's findings on the page as shown, one line per rule, minus Dash's own."""
    found = []
    for violation in axe.run(page, options=AXE_RULES).response["violations"]:
        nodes = [n for n in violation["nodes"]
                 if not any(rule == violation["id"] and f'class="{cls}' in n["html"]
                            for rule, cls in DASH_WIDGET_FINDINGS)]
        if nodes:
            first = nodes[0]
            why = (first.get("any") or first.get("all") or first.get("none") or [{}])[0]
            found.append(f"{violation['id']} ({violation['impact']}) x{len(nodes)}: "
                         f"{first['html'][:160]} — {why.get('message', '')}")
    return found
